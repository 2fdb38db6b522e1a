/*
 * tls.c: read the certificate and key files named by [tls] and check that
 * libmicrohttpd can serve HTTPS with them (docs/security.md, "TLS").
 *
 * The check starts a libmicrohttpd daemon with no listening socket and no
 * thread, which loads the pair into GnuTLS the very way the real daemon
 * will, and stops it again: a key that does not match its certificate, a
 * file that is no PEM, or a libmicrohttpd built without TLS is then a
 * config error (`branchqd -n` shows it), with GnuTLS's own words, and never
 * a surprise at start-up.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <microhttpd.h>
#include <sodium.h>

#include "tls.h"

int
tls_pem_read(const char *path, bool secret, char **out, struct tls_file_id *id, char *why,
    size_t whylen)
{
	/* Non-blocking: a FIFO named by mistake must not hang a start or a reload. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	struct stat st;
	char *buf;
	size_t n = 0;

	*out = NULL;
	if (fd < 0) {
		snprintf(why, whylen, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(why, whylen, "%s is not a regular file", path);
		close(fd);
		return -1;
	}
	if (secret && (st.st_mode & (S_IROTH | S_IWOTH)) != 0) {
		snprintf(why, whylen, "%s is open to every user (mode %04o): make it readable by "
		    "the service's user only (chmod 600)", path, (unsigned)(st.st_mode & 07777));
		close(fd);
		return -1;
	}
	if (st.st_size <= 0 || st.st_size > TLS_PEM_MAX) {
		snprintf(why, whylen, "%s is %s (a PEM file of at most %d bytes is expected)", path,
		    st.st_size <= 0 ? "empty" : "too large", TLS_PEM_MAX);
		close(fd);
		return -1;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		snprintf(why, whylen, "out of memory reading %s", path);
		close(fd);
		return -1;
	}
	while (n < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + n, (size_t)st.st_size - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			snprintf(why, whylen, "cannot read %s: %s", path, r < 0 ? strerror(errno) :
			    "it shrank while being read");
			sodium_memzero(buf, n);
			free(buf);
			close(fd);
			return -1;
		}
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	/* libmicrohttpd takes the text up to its first NUL. */
	if (strlen(buf) != n) {
		snprintf(why, whylen, "%s contains a NUL byte: it is not a PEM file", path);
		tls_pem_free(buf);
		return -1;
	}
	if (id != NULL)
		*id = (struct tls_file_id){
			.dev = (uint64_t)st.st_dev,
			.ino = (uint64_t)st.st_ino,
			.size = (uint64_t)st.st_size,
			.mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec,
		};
	*out = buf;
	return 0;
}

void
tls_pem_free(char *pem)
{
	if (pem == NULL)
		return;
	sodium_memzero(pem, strlen(pem));
	free(pem);
}

/* What libmicrohttpd said first, for the message; the rest is its follow-up. */
struct tls_said {
	char *why;
	size_t whylen;
	bool said;
};

static void
tls_check_log(void *cls, const char *fmt, va_list ap)
{
	struct tls_said *s = cls;
	size_t n;

	if (s->said)
		return;
	s->said = true;
	vsnprintf(s->why, s->whylen, fmt, ap);
	n = strlen(s->why);
	while (n > 0 && (s->why[n - 1] == '\n' || s->why[n - 1] == '.'))
		s->why[--n] = '\0';
}

static enum MHD_Result
tls_check_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
    const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	(void)cls, (void)c, (void)url, (void)method, (void)version, (void)upload;
	(void)upload_size, (void)con_cls;
	return MHD_NO;
}

int
tls_check(const char *cert_pem, const char *key_pem, char *why, size_t whylen)
{
	struct tls_said said = { why, whylen, false };
	struct MHD_Daemon *d;

	if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
		snprintf(why, whylen, "this libmicrohttpd is built without TLS: serve plain HTTP "
		    "(no [tls]) behind a proxy that does TLS");
		return -1;
	}
	d = MHD_start_daemon(MHD_USE_TLS | MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ERROR_LOG, 0,
	    NULL, NULL, tls_check_request, NULL,
	    MHD_OPTION_EXTERNAL_LOGGER, tls_check_log, &said,
	    MHD_OPTION_HTTPS_MEM_CERT, cert_pem,
	    MHD_OPTION_HTTPS_MEM_KEY, key_pem,
	    MHD_OPTION_HTTPS_PRIORITIES, TLS_PRIORITIES,
	    MHD_OPTION_END);
	if (d == NULL) {
		if (!said.said)
			snprintf(why, whylen, "libmicrohttpd cannot use them");
		return -1;
	}
	MHD_stop_daemon(d);
	return 0;
}
