/*
 * sse.h: Server-Sent Events streams of the event log (GET /api/v1/events).
 *
 * A stream that has nothing to send suspends its connection (libmicrohttpd
 * then leaves it alone, costing no thread and no polling); a published
 * event or the 15-second keep-alive resumes it. Each event is read from the
 * store's log after the stream's cursor, so a client that reconnects with
 * Last-Event-ID misses nothing.
 */
#ifndef BRANCHQ_SSE_H
#define BRANCHQ_SSE_H

#include <stdbool.h>
#include <stdint.h>

#include <microhttpd.h>

#include "bus.h"
#include "store.h"

#define SSE_KEEPALIVE_S 15
#define SSE_RETRY_MS 1000

struct sse;

/* A registry of streams reading from store. Free with sse_free when none is open. */
struct sse *sse_new(struct store *store);
void sse_free(struct sse *s);

/* Answer connection c with a stream of the events after id from (-1: only new ones). */
enum MHD_Result sse_open(struct sse *s, struct MHD_Connection *c, int64_t from);

/* Bus subscriber: new events are in the log; wake every waiting stream. */
void sse_on_event(void *arg, const struct bus_event *ev);

/* Send a keep-alive comment on every stream (also finds clients that left). */
void sse_keepalive(struct sse *s);

/*
 * Whether a stream was resumed since the last call (and forget it). A stream
 * resumed while libmicrohttpd runs (an event published by a request on a
 * kept-alive connection) is picked up only by its next run, and nothing
 * wakes poll for it: the loop then polls without waiting.
 */
bool sse_take_resumed(struct sse *s);

/* End every stream (shutdown): each finishes what it was sending and closes. */
void sse_close_all(struct sse *s);

#endif
