/*
 * tls.h: the files of the config's [tls] section, read and checked for
 * libmicrohttpd, which serves HTTPS with GnuTLS. branchq has no TLS code of
 * its own: this module reads two PEM files, and asks libmicrohttpd whether
 * it can use them exactly as http_start will.
 */
#ifndef BRANCHQ_TLS_H
#define BRANCHQ_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TLS_PEM_MAX (64 * 1024)          /* a certificate chain or a key file, at most */
#define TLS_HSTS "max-age=31536000"      /* Strict-Transport-Security: https:// only, for a year */

/*
 * GnuTLS's NORMAL less what no branch needs: TLS 1.2 and 1.3 only (Debian's
 * NORMAL still offers 1.0 and 1.1), forward-secret key exchange only
 * (ECDHE), and AEAD ciphers only (no CBC). Every browser and phone of the
 * last ten years speaks this.
 */
#define TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:+AES-128-GCM:" \
	"+AES-256-GCM:+CHACHA20-POLY1305:-MAC-ALL:+AEAD:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA"

/* Which file was read: a reload compares these to see a renewed certificate. */
struct tls_file_id {
	uint64_t dev, ino, size;
	int64_t mtime_ns;
};

/*
 * Read the PEM file at path into a new NUL-terminated buffer *out (freed
 * with tls_pem_free), and say which file it was in *id (may be NULL). The
 * file must be a regular file of at most TLS_PEM_MAX bytes; a secret (the
 * key) must not be readable or writable by every user. Returns 0, or -1 with
 * the reason in why ("cannot open ...: No such file or directory").
 */
int tls_pem_read(const char *path, bool secret, char **out, struct tls_file_id *id, char *why,
    size_t whylen);

/* Wipe pem (a key's copy must not linger in freed memory) and free it. NULL is fine. */
void tls_pem_free(char *pem);

/*
 * Whether libmicrohttpd can serve HTTPS with this certificate and key and
 * TLS_PRIORITIES: it loads them into a daemon that has no socket, as
 * http_start does into the real one. Returns 0, or -1 with GnuTLS's reason
 * (or the lack of TLS in this libmicrohttpd) in why.
 */
int tls_check(const char *cert_pem, const char *key_pem, char *why, size_t whylen);

#endif
