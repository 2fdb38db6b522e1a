/*
 * sse.h: Server-Sent Events streams of three kinds, each event rendered
 * once per kind and the same bytes handed to every stream of that kind:
 *
 *  - staff   (GET /api/v1/events): every event in full, as written to the
 *    log, a waiting ticket's place added;
 *  - display (GET /api/v1/display/events): what the wall screen shows, no
 *    category, token, print state or ticket id;
 *  - phone   (GET /api/v1/t/{token}/events): one ticket's status, place and
 *    estimate, sent when they change, nothing of anyone else.
 *
 * Every event id is the log's id. The last SSE_RING events' staff and
 * display renderings are kept in memory (filled from the log's tail at
 * start), so a stream that resumes with Last-Event-ID is served from memory
 * without reading the log. Beyond the ring a staff stream catches up from the
 * log in batches, and a display stream is told to reload ("reload" event).
 * A phone's event is the whole of its view, so a phone that resumes is sent
 * the view as it is now, once, if anything that concerns it happened since.
 *
 * A stream that has nothing to send suspends its connection (no thread, no
 * polling); an event or the 15-second keep-alive resumes it.
 *
 * The streams' side is split in two: struct sse_sub (attach, next frame,
 * detach) is what a stream reads, without libmicrohttpd, so the unit test
 * can hold many of them; sse_open ties one to an HTTP connection.
 */
#ifndef BRANCHQ_SSE_H
#define BRANCHQ_SSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <microhttpd.h>

#include "bus.h"
#include "queue.h"
#include "store.h"

#define SSE_KEEPALIVE_S 15
#define SSE_RETRY_MS 1000
#define SSE_RING 4096                /* events kept in memory for resume */
#define SSE_BATCH 64                 /* events read from the log at a time, beyond the ring */

enum sse_kind { SSE_STAFF, SSE_DISPLAY, SSE_PHONE };

/*
 * One rendered piece of a stream ("id: N\ndata: {...}\n\n", or a comment),
 * shared by every stream that sends it and freed with its last reference.
 */
struct sse_frame {
	int refs;                    /* < 0: static, never freed */
	int64_t id;                  /* the event id it carries; 0 for comments */
	size_t len;
	char text[];
};

/* Release a reference taken by sse_next. NULL is a no-op. */
void sse_frame_unref(struct sse_frame *f);

struct sse;
struct sse_group;

/* What one stream has read: owned by whoever attached it (sse_open, a test). */
struct sse_sub {
	struct sse *owner;
	enum sse_kind kind;
	int64_t cursor;              /* newest event id sent */
	uint64_t seq;                /* the next ring slot to read (staff, display) */
	struct sse_group *group;     /* the phones of its ticket (phone) */
	bool hello;                  /* the retry: preamble is still to be sent */
	bool keepalive;              /* send a comment when nothing else is due */
	bool closing;                /* end once what was sent is out */
	bool ended;                  /* sse_next said end of stream */
	void (*wake)(struct sse_sub *sub);   /* something became due; may be NULL */
	struct sse_sub *prev, *next;
};

/*
 * A registry of streams over queue q (its store, config and bus events),
 * the ring filled from the log's tail. Free with sse_free when none is attached.
 */
struct sse *sse_new(struct queue *q);
void sse_free(struct sse *s);

/*
 * Attach sub (zeroed by the caller, wake set as it likes) as a stream of
 * kind after event id from (-1: only what happens next; an id newer than
 * the log's newest counts as -1). A phone stream needs t, the newest leg of
 * its ticket; others ignore it. Returns BQ_OK, or an error (nothing attached).
 */
enum bq_err sse_attach(struct sse *s, struct sse_sub *sub, enum sse_kind kind, int64_t from,
    const struct ticket *t);
void sse_detach(struct sse_sub *sub);

/* How many streams of kind are attached now. */
int sse_count(const struct sse *s, enum sse_kind kind);

/*
 * The next frame sub should send, with a reference the caller releases, or
 * NULL when nothing is due now (sub->ended: the stream is over, or it could
 * not be read). Frames of the ring and of a phone group are the very same
 * objects for every stream of a kind.
 */
struct sse_frame *sse_next(struct sse_sub *sub);

/* Answer connection c with a stream of kind after from (see sse_attach). */
enum MHD_Result sse_open(struct sse *s, struct MHD_Connection *c, enum sse_kind kind,
    int64_t from, const struct ticket *t);

/* Bus subscriber: render a committed event once per kind and wake the streams it concerns. */
void sse_on_event(void *arg, const struct bus_event *ev);

/* Send a keep-alive comment on every stream (also finds clients that left). */
void sse_keepalive(struct sse *s);

/* When the keep-alive after one at now_ms is due (milliseconds on the same clock). */
int64_t sse_keepalive_next(int64_t now_ms);

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
