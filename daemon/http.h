/*
 * http.h: the HTTP server, libmicrohttpd in external-polling epoll mode. The
 * daemon's loop owns the thread: it polls http_fd() and calls http_run();
 * every request is answered on that one thread, which serialises all
 * changes without locks.
 */
#ifndef BRANCHQ_HTTP_H
#define BRANCHQ_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "api.h"
#include "sse.h"

struct http;

/*
 * Listen on listen ("ADDR:PORT"; ADDR is an IPv4 address, "localhost" or
 * "*"; PORT 0 picks a free one) and answer with api and sse. Returns NULL and
 * a reason in err on failure.
 */
struct http *http_start(const char *listen, struct api *api, struct sse *sse,
    char *err, size_t errlen);

int http_fd(struct http *h);                 /* poll this for input */
int http_port(struct http *h);               /* the bound port */
void http_run(struct http *h);               /* handle whatever is ready; group-commit the changes */
bool http_take_batch_waiting(struct http *h);/* changes wait for the next turn: poll without sleeping */
int http_commit_fd(struct http *h);          /* poll this: a group commit ended (-1: none runs apart) */
void http_commit_done(struct http *h);       /* answer the batch whose commit ended; start the next */
int64_t http_timeout_ms(struct http *h);     /* -1: no timer pending */
unsigned http_active(struct http *h);        /* requests not yet completed */
void http_quiesce(struct http *h);           /* stop accepting; refuse requests begun later */
void http_wake_pending(struct http *h);      /* retry requests that waited for a worker (voice, preview) */
void http_stop(struct http *h);              /* close everything and free */

#endif
