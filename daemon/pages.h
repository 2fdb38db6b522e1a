/*
 * pages.h: the pages' static files (display/: HTML, CSS, JavaScript, the
 * chime), held in memory.
 *
 * The directory is read whole at start and again on reload, so serving a
 * page never touches the disk on the event loop, and only files that were
 * in the directory can ever be served: a request names a file, never a path.
 */
#ifndef BRANCHQ_PAGES_H
#define BRANCHQ_PAGES_H

#include <stddef.h>

#define PAGES_NAME_MAX 64
#define PAGES_FILE_MAX (4 * 1024 * 1024)   /* a larger file is skipped with a warning */
#define PAGES_MAX 256

struct page_file {
	char name[PAGES_NAME_MAX];     /* "display.html": letters, digits, '.', '-', '_' */
	const char *type;              /* Content-Type, from the extension */
	char *data;
	size_t len;
};

struct pages {
	struct page_file *files;       /* sorted by name */
	int n;
};

/*
 * Read every regular file of dir whose name is safe into *p, replacing what
 * *p held only on success. Returns 0, or -1 with a reason in err (p is then
 * unchanged). The caller frees *p with pages_free.
 */
int pages_load(struct pages *p, const char *dir, char *err, size_t errlen);

/* Free what *p holds and empty it. */
void pages_free(struct pages *p);

/* The file called name, or NULL. The pointer is valid until the next load or free. */
const struct page_file *pages_find(const struct pages *p, const char *name);

#endif
