/*
 * http.h: the HTTP server, libmicrohttpd in external-polling epoll mode. The
 * daemon's loop owns the thread: it polls http_fd() and calls http_run();
 * every request is answered on that one thread, which serialises all
 * changes without locks.
 *
 * Connections are budgeted so that staff requests are always served: event
 * streams (any text/event-stream reply, the "public" connections that live
 * for hours) may take at most HTTP_STREAM_SHARE of the connections, and
 * streams_per_address of them from one client address (config); past
 * either the stream is refused with a 503 and Retry-After. Every other
 * connection must deliver a whole request (headers and body) within
 * HTTP_REQUEST_DEADLINE_S of being accepted or of its previous reply, or it
 * is closed: that ends idle keep-alive connections and slowloris clients
 * alike. docs/architecture.md ("Connections") has the reasoning.
 */
#ifndef BRANCHQ_HTTP_H
#define BRANCHQ_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "api.h"
#include "sse.h"

#define HTTP_FD_RESERVE 64              /* descriptors kept for the database, workers, printer */
#define HTTP_CONNECTIONS_MIN 64          /* fewer descriptors than this and reserve: refuse to start */
#define HTTP_CONNECTIONS_MAX 10000       /* memory bound: about 32 KiB of buffers each at most */
#define HTTP_STREAM_SHARE 75             /* % of the connections event streams may hold */
#define HTTP_REQUEST_DEADLINE_S 10       /* to send a whole request, from accept or the last reply */
#define HTTP_IDLE_TIMEOUT_S 60           /* a reply the client stops reading (libmicrohttpd's timeout) */

struct http;

/*
 * Listen on listen ("ADDR:PORT"; ADDR is an IPv4 address, "localhost" or
 * "*"; PORT 0 picks a free one) and answer with api and sse. The connection
 * limit is the process's descriptor limit (RLIMIT_NOFILE, raise it first)
 * less HTTP_FD_RESERVE, at most HTTP_CONNECTIONS_MAX. With [tls] in the
 * api's config it serves HTTPS: it reads the certificate and key files
 * again and wipes its copy of the key once libmicrohttpd has it. Returns
 * NULL and a reason in err on failure.
 */
struct http *http_start(const char *listen, struct api *api, struct sse *sse,
    char *err, size_t errlen);

int http_fd(struct http *h);                 /* poll this for input */
int http_port(struct http *h);               /* the bound port */
void http_run(struct http *h);               /* close overdue connections, handle what is ready,
                                                group-commit the changes */
bool http_take_batch_waiting(struct http *h);/* changes wait for the next turn: poll without sleeping */
int http_commit_fd(struct http *h);          /* poll this: a group commit ended (-1: none runs apart) */
void http_commit_done(struct http *h);       /* answer the batch whose commit ended; start the next */
int64_t http_timeout_ms(struct http *h);     /* -1: no timer pending; counts request deadlines */
unsigned http_active(struct http *h);        /* requests not yet completed */
void http_quiesce(struct http *h);           /* stop accepting; refuse requests begun later */
void http_wake_pending(struct http *h);      /* retry requests that waited for a worker (voice, preview) */
void http_stop(struct http *h);              /* close everything and free */

#endif
