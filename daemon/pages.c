/*
 * pages.c: load the pages' static files into memory (see pages.h).
 *
 * Names are checked, not paths resolved: a file whose name holds anything
 * but letters, digits, '.', '-' and '_' (or starts with '.') is ignored, so
 * nothing outside the directory, and nothing hidden, is ever served.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "pages.h"

static const struct {
	const char *ext;
	const char *type;
} types[] = {
	{ ".html", "text/html; charset=utf-8" },
	{ ".css",  "text/css; charset=utf-8" },
	{ ".js",   "text/javascript; charset=utf-8" },
	{ ".mjs",  "text/javascript; charset=utf-8" },
	{ ".json", "application/json; charset=utf-8" },
	{ ".svg",  "image/svg+xml" },
	{ ".png",  "image/png" },
	{ ".ico",  "image/x-icon" },
	{ ".wav",  "audio/wav" },
	{ ".txt",  "text/plain; charset=utf-8" },
	{ ".woff2", "font/woff2" },
};

static const char *
pages_type(const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		size_t e = strlen(types[i].ext);
		if (n > e && strcmp(name + n - e, types[i].ext) == 0)
			return types[i].type;
	}
	return NULL;
}

static int
pages_name_ok(const char *name)
{
	if (name[0] == '\0' || name[0] == '.' || strlen(name) >= PAGES_NAME_MAX)
		return 0;
	for (const char *c = name; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		    (*c >= '0' && *c <= '9') || *c == '.' || *c == '-' || *c == '_'))
			return 0;
	return 1;
}

/* Read the regular file name in dirfd into f; 0, or -1 (skipped, logged). */
static int
pages_read(int dirfd, const char *dir, const char *name, struct page_file *f)
{
	struct stat st;
	ssize_t got;
	size_t off = 0;
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -1;
	}
	if (st.st_size > PAGES_FILE_MAX) {
		log_warnx("pages: %s/%s is larger than %d bytes; not served", dir, name, PAGES_FILE_MAX);
		close(fd);
		return -1;
	}
	f->len = (size_t)st.st_size;
	if ((f->data = malloc(f->len + 1)) == NULL) {
		close(fd);
		return -1;
	}
	while (off < f->len && (got = read(fd, f->data + off, f->len - off)) > 0)
		off += (size_t)got;
	close(fd);
	if (off != f->len) {
		log_warnx("pages: %s/%s changed while it was read; not served", dir, name);
		free(f->data);
		return -1;
	}
	f->data[f->len] = '\0';
	memcpy(f->name, name, strlen(name) + 1);    /* pages_name_ok bounded it */
	return 0;
}

static int
pages_cmp(const void *a, const void *b)
{
	return strcmp(((const struct page_file *)a)->name, ((const struct page_file *)b)->name);
}

int
pages_load(struct pages *p, const char *dir, char *err, size_t errlen)
{
	struct pages next = { 0 };
	struct dirent *de;
	DIR *d = opendir(dir);

	if (d == NULL) {
		snprintf(err, errlen, "cannot read the pages directory %s: %s", dir, strerror(errno));
		return -1;
	}
	if ((next.files = calloc(PAGES_MAX, sizeof(*next.files))) == NULL) {
		closedir(d);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		const char *type = pages_type(de->d_name);
		if (type == NULL || !pages_name_ok(de->d_name))
			continue;
		if (next.n == PAGES_MAX) {
			log_warnx("pages: more than %d files in %s; the rest are not served", PAGES_MAX, dir);
			break;
		}
		if (pages_read(dirfd(d), dir, de->d_name, &next.files[next.n]) == 0)
			next.files[next.n++].type = type;
	}
	closedir(d);
	qsort(next.files, (size_t)next.n, sizeof(*next.files), pages_cmp);
	pages_free(p);
	*p = next;
	return 0;
}

void
pages_free(struct pages *p)
{
	for (int i = 0; i < p->n; i++)
		free(p->files[i].data);
	free(p->files);
	p->files = NULL;
	p->n = 0;
}

const struct page_file *
pages_find(const struct pages *p, const char *name)
{
	struct page_file key = { .len = 0 };

	if (p->n == 0 || strlen(name) >= sizeof(key.name))
		return NULL;
	memcpy(key.name, name, strlen(name) + 1);
	return bsearch(&key, p->files, (size_t)p->n, sizeof(*p->files), pages_cmp);
}
