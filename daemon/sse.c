/*
 * sse.c: one Server-Sent Events stream per display, page or phone.
 *
 * A stream's reader fills a small buffer with the events after its cursor
 * ("id: N\ndata: {json}\n\n"), read from the store's log in batches. With
 * nothing to send it suspends the connection and returns 0; sse_on_event and
 * sse_keepalive resume it. The first bytes tell the browser to reconnect
 * after SSE_RETRY_MS, so a display heals itself after a restart.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "sse.h"

#define SSE_BATCH 64

struct sse_stream {
	struct sse *owner;
	struct MHD_Connection *conn;
	struct sse_stream *prev, *next;
	int64_t cursor;              /* last event id written to buf */
	bool suspended;
	bool keepalive;              /* send a comment at the next read */
	bool closing;                /* end the stream once buf is sent */
	char *buf;
	size_t len, off, cap;
};

struct sse {
	struct store *store;
	struct sse_stream *head;
	bool closing;
	bool resumed;                /* a stream was resumed since sse_take_resumed */
};

struct sse *
sse_new(struct store *store)
{
	struct sse *s = calloc(1, sizeof(*s));

	if (s != NULL)
		s->store = store;
	return s;
}

void
sse_free(struct sse *s)
{
	free(s);
}

static bool
stream_append(struct sse_stream *st, const char *text, size_t n)
{
	if (st->len + n > st->cap) {
		size_t cap = st->cap ? st->cap : 4096;
		char *nb;
		while (cap < st->len + n)
			cap *= 2;
		if ((nb = realloc(st->buf, cap)) == NULL)
			return false;
		st->buf = nb;
		st->cap = cap;
	}
	memcpy(st->buf + st->len, text, n);
	st->len += n;
	return true;
}

static int
stream_add_event(void *arg, int64_t id, const char *type, const char *data)
{
	struct sse_stream *st = arg;
	char head[48];
	size_t mark = st->len;
	int n = snprintf(head, sizeof(head), "id: %lld\ndata: ", (long long)id);

	(void)type;  /* data carries the type too, so one onmessage handler sees all */
	if (data == NULL)
		data = "{}";
	if (!stream_append(st, head, (size_t)n) || !stream_append(st, data, strlen(data)) ||
	    !stream_append(st, "\n\n", 2)) {
		/* Out of memory: drop the partial event; it is sent on the next read. */
		st->len = mark;
		return 1;
	}
	st->cursor = id;
	return 0;
}

static void
stream_resume(struct sse_stream *st)
{
	if (st->suspended) {
		st->suspended = false;
		st->owner->resumed = true;
		MHD_resume_connection(st->conn);
	}
}

static ssize_t
sse_read(void *cls, uint64_t pos, char *out, size_t max)
{
	struct sse_stream *st = cls;
	size_t n;

	(void)pos;
	if (st->off == st->len) {
		st->off = st->len = 0;
		if (st->closing || st->owner->closing)
			return MHD_CONTENT_READER_END_OF_STREAM;
		if (store_events_after(st->owner->store, st->cursor, SSE_BATCH, stream_add_event,
		    st) != BQ_OK)
			return MHD_CONTENT_READER_END_WITH_ERROR;
		if (st->len == 0 && st->keepalive)
			stream_append(st, ": keepalive\n\n", 13);
		st->keepalive = false;
		if (st->len == 0) {
			st->suspended = true;
			MHD_suspend_connection(st->conn);
			return 0;
		}
	}
	n = st->len - st->off;
	if (n > max)
		n = max;
	memcpy(out, st->buf + st->off, n);
	st->off += n;
	return (ssize_t)n;
}

static void
sse_stream_free(void *cls)
{
	struct sse_stream *st = cls;
	struct sse *s = st->owner;

	if (st->prev)
		st->prev->next = st->next;
	else
		s->head = st->next;
	if (st->next)
		st->next->prev = st->prev;
	free(st->buf);
	free(st);
}

enum MHD_Result
sse_open(struct sse *s, struct MHD_Connection *c, int64_t from)
{
	struct sse_stream *st;
	struct MHD_Response *resp;
	int64_t last;
	char hello[64];
	enum MHD_Result ret;
	int n;

	/* Without the newest id a stream could replay the whole log: refuse, the client retries. */
	if (store_last_event_id(s->store, &last) != BQ_OK)
		return MHD_NO;
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return MHD_NO;
	st->owner = s;
	st->conn = c;
	/* An id from the future (a database replaced under the display) restarts at now. */
	st->cursor = from < 0 || from > last ? last : from;
	n = snprintf(hello, sizeof(hello), "retry: %d\n: branchq events\n\n", SSE_RETRY_MS);
	if (!stream_append(st, hello, (size_t)n)) {
		free(st);
		return MHD_NO;
	}
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, sse_read, st,
	    sse_stream_free);
	if (resp == NULL) {
		free(st->buf);
		free(st);
		return MHD_NO;
	}
	st->next = s->head;
	if (s->head)
		s->head->prev = st;
	s->head = st;
	MHD_add_response_header(resp, "Content-Type", "text/event-stream; charset=utf-8");
	MHD_add_response_header(resp, "Cache-Control", "no-cache");
	MHD_add_response_header(resp, "X-Accel-Buffering", "no");
	ret = MHD_queue_response(c, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ret;
}

void
sse_on_event(void *arg, const struct bus_event *ev)
{
	struct sse *s = arg;

	(void)ev;
	for (struct sse_stream *st = s->head; st != NULL; st = st->next)
		stream_resume(st);
}

void
sse_keepalive(struct sse *s)
{
	for (struct sse_stream *st = s->head; st != NULL; st = st->next) {
		st->keepalive = true;
		stream_resume(st);
	}
}

void
sse_close_all(struct sse *s)
{
	s->closing = true;
	for (struct sse_stream *st = s->head; st != NULL; st = st->next) {
		st->closing = true;
		stream_resume(st);
	}
}

bool
sse_take_resumed(struct sse *s)
{
	bool r = s->resumed;

	s->resumed = false;
	return r;
}
