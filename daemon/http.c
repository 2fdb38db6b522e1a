/*
 * http.c: libmicrohttpd plumbing. It gathers a request (refusing bodies over
 * API_BODY_MAX with 413 before reading them when Content-Length says so),
 * hands it to api_handle, and sends the reply: JSON, an event stream, or an
 * error, which every path answers through http_send_error alone.
 *
 * libmicrohttpd runs in external-polling epoll mode with suspend/resume, so
 * the daemon's loop owns the only thread and no callback ever blocks on
 * another.
 *
 * Each TCP connection has a struct http_conn (libmicrohttpd's
 * notify-connection callback makes and frees it). While the connection owes
 * us a request it sits on h->armed with a deadline; the list is in arming
 * order, and every deadline is the same span after its arming, so the
 * oldest is first and http_run closes the overdue ones from the head. While
 * it carries an event stream it sits on h->streams instead, which is how
 * the stream caps are counted. libmicrohttpd has no call that closes a
 * connection, so an overdue one is shut down (shutdown(2)): libmicrohttpd
 * then reads end of file and closes it the ordinary way.
 *
 * With [tls] in the config, libmicrohttpd serves HTTPS itself (GnuTLS):
 * http_start reads the certificate and key once, hands them over and wipes
 * its copy of the key; every answer then carries Strict-Transport-Security.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "bday.h"
#include "http.h"
#include "clock.h"
#include "log.h"
#include "tls.h"
#include "metrics.h"

/* A refused stream is logged at most this often, so a flood does not flood the log. */

/* One TCP connection. */
struct http_conn {
	struct MHD_Connection *conn;
	struct http_conn *prev, *next;  /* in h->armed, in h->streams, or in neither */
	int64_t deadline_ms;            /* on h->armed: when it is closed (CLOCK_MONOTONIC) */
	bool armed;
	bool stream;                    /* on h->streams: it carries an event stream */
	bool has_addr;
	struct in_addr addr;            /* the client's (the listener is IPv4) */
};

struct http_list {
	struct http_conn *head, *tail;
};

struct http {
	struct MHD_Daemon *d;
	struct api *api;
	struct sse *sse;
	unsigned active;
	bool stopping;
	struct request *pending;     /* suspended until a worker's job ends (http_wake_pending) */
	unsigned conn_limit;         /* libmicrohttpd's connection limit */
	unsigned stream_limit;       /* event streams at most, all addresses together */
	unsigned nstreams;
	uint64_t seq;                /* requests begun */
	struct http_list armed;      /* connections that owe a request, oldest deadline first */
	struct http_list streams;    /* connections carrying an event stream */
	struct log_limit full_log, address_log, refusal_log;  /* floods log once a minute */
	struct request *batch;       /* changes gathered in this turn of the loop, in arrival order */
	struct request **batch_tail;
	struct request *flight;      /* the batch whose commit runs on the store's thread */
	bool batch_waiting;          /* changes were gathered after the turn's batch ran */
	bool tls;                    /* HTTPS: answers carry HSTS */
	struct log_limit handshake_log;  /* failed TLS handshakes: a scan logs once a minute */
};

/* An oversized body whose length was not announced is read and dropped up to this much, then cut. */
#define HTTP_DISCARD_MAX (1024 * 1024)

struct request {
	char *body;
	size_t len, cap;
	size_t discarded;    /* bytes of an oversized body thrown away */
	bool too_large;
	bool answered;       /* a response is queued already (413 mid-upload) */
	bool late;           /* began after shutdown started */
	int64_t now;         /* when it was first handed to the API: the same when asked again */
	uint64_t seq;        /* its number, for the API to find the job it queued again */
	struct MHD_Connection *conn;
	struct http_conn *hc;        /* its connection's; NULL when that ran out of memory */
	struct request *next_pending;
	bool batched;        /* a change: run with the others of its turn, after MHD_run */
	bool has_reply;      /* rep is its committed answer, to send when resumed */
	struct api_reply rep;
	char *url;           /* a batched request's path and method, kept while it is suspended */
	char method[16];
	struct request *next_batch;
	char addr[INET_ADDRSTRLEN];  /* the client's, "" when unknown */
	double started;              /* metrics_clock() when its headers had arrived */
	int route;                   /* api_routes index of its reply, for the metrics; -1 none */
};

static void
list_append(struct http_list *l, struct http_conn *hc)
{
	hc->prev = l->tail;
	hc->next = NULL;
	if (l->tail != NULL)
		l->tail->next = hc;
	else
		l->head = hc;
	l->tail = hc;
}

static void
list_remove(struct http_list *l, struct http_conn *hc)
{
	if (hc->prev != NULL)
		hc->prev->next = hc->next;
	else
		l->head = hc->next;
	if (hc->next != NULL)
		hc->next->prev = hc->prev;
	else
		l->tail = hc->prev;
	hc->prev = hc->next = NULL;
}

/* Take hc off whichever list holds it. */
static void
conn_unlist(struct http *h, struct http_conn *hc)
{
	if (hc->armed) {
		list_remove(&h->armed, hc);
		hc->armed = false;
	} else if (hc->stream) {
		list_remove(&h->streams, hc);
		hc->stream = false;
		h->nstreams--;
	}
}

/* hc owes a request from now on: HTTP_REQUEST_DEADLINE_S to deliver it whole. */
static void
conn_arm(struct http *h, struct http_conn *hc)
{
	conn_unlist(h, hc);
	hc->deadline_ms = mono_ms() + HTTP_REQUEST_DEADLINE_S * 1000;
	hc->armed = true;
	list_append(&h->armed, hc);
}

static struct http_conn *
conn_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *i = MHD_get_connection_info(c,
	    MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return i != NULL ? i->socket_context : NULL;
}

static void
http_on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
    enum MHD_ConnectionNotificationCode toe)
{
	struct http *h = cls;
	struct http_conn *hc = *socket_context;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *i;
		/* Out of memory: the connection is served, only without deadline or stream count. */
		if ((hc = calloc(1, sizeof(*hc))) == NULL)
			return;
		hc->conn = c;
		i = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		if (i != NULL && i->client_addr != NULL && i->client_addr->sa_family == AF_INET) {
			hc->addr = ((const struct sockaddr_in *)(const void *)i->client_addr)->sin_addr;
			hc->has_addr = true;
		}
		conn_arm(h, hc);
		*socket_context = hc;
		return;
	}
	if (hc == NULL)
		return;
	conn_unlist(h, hc);
	free(hc);
	*socket_context = NULL;
}

/*
 * Close every connection whose request is overdue. Shut down, not closed:
 * the descriptor stays libmicrohttpd's, which reads end of file at its next
 * run and closes the connection (calling http_on_connection).
 */
static void
http_expire(struct http *h)
{
	int64_t now = mono_ms();
	unsigned n = 0;

	while (h->armed.head != NULL && h->armed.head->deadline_ms <= now) {
		struct http_conn *hc = h->armed.head;
		const union MHD_ConnectionInfo *i = MHD_get_connection_info(hc->conn,
		    MHD_CONNECTION_INFO_CONNECTION_FD);
		conn_unlist(h, hc);
		if (i != NULL && shutdown(i->connect_fd, SHUT_RDWR) != 0 && errno != ENOTCONN)
			log_warn("http: shutdown of an overdue connection");
		n++;
	}
	if (n > 0)
		log_info("http: closed %u connection%s that sent no whole request within %d s", n,
		    n == 1 ? "" : "s", HTTP_REQUEST_DEADLINE_S);
}

/*
 * Whether one more event stream may open on hc: BQ_OK, or the cap it would
 * pass. Counting a client's streams walks the open ones: a few microseconds
 * at thousands, against a stream's lifetime of minutes.
 */
static enum bq_err
stream_admit(struct http *h, const struct http_conn *hc)
{
	int per_address = h->api->queue->cfg->streams_per_address;
	enum bq_err e = BQ_OK;

	if (h->nstreams >= h->stream_limit) {
		e = BQ_ERR_STREAMS_FULL;
	} else if (per_address > 0 && hc->has_addr) {
		int n = 0;
		for (const struct http_conn *o = h->streams.head; o != NULL && n < per_address;
		    o = o->next)
			if (o->has_addr && o->addr.s_addr == hc->addr.s_addr)
				n++;
		if (n >= per_address)
			e = BQ_ERR_TOO_MANY_STREAMS;
	}
	if (e == BQ_ERR_STREAMS_FULL) {
		log_limited(&h->full_log, "http: %u event streams open, the most allowed; refusing "
		    "more", h->nstreams);
	} else if (e != BQ_OK) {
		char ip[INET_ADDRSTRLEN] = "?";
		inet_ntop(AF_INET, &hc->addr, ip, sizeof(ip));
		log_limited(&h->address_log, "http: %s holds %d event streams, the most one address "
		    "may; refusing more", ip, per_address);
	}
	return e;
}

/*
 * What every answer carries: no script or style from anywhere but the
 * branch's own pages, no framing, no sniffing, and no Referer (the phone
 * page's address holds its token).
 */
static void
http_secure(struct MHD_Response *resp, bool tls)
{
	MHD_add_response_header(resp, "Content-Security-Policy", "default-src 'self'; "
	    "script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self'; "
	    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
	    "frame-ancestors 'none'");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	if (tls)
		MHD_add_response_header(resp, "Strict-Transport-Security", TLS_HSTS);
}

/* Whether c came over TLS: only an HTTPS daemon gives a connection a GnuTLS session. */
static bool
http_conn_tls(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *i = MHD_get_connection_info(c,
	    MHD_CONNECTION_INFO_GNUTLS_SESSION);

	return i != NULL && i->tls_session != NULL;
}

/* A reply's cookie and redirect, when it has them. */
static void
http_reply_headers(struct MHD_Response *resp, const struct api_reply *rep)
{
	if (rep == NULL)
		return;
	if (rep->set_cookie[0] != '\0')
		MHD_add_response_header(resp, "Set-Cookie", rep->set_cookie);
	if (rep->location[0] != '\0')
		MHD_add_response_header(resp, "Location", rep->location);
}

static enum MHD_Result
http_send_json(struct MHD_Connection *c, unsigned status, json_t *body, const char *allow,
    unsigned retry_after, const struct api_reply *rep)
{
	char *text = body != NULL ? json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(6)) : NULL;
	struct MHD_Response *resp;
	enum MHD_Result ret;
	size_t n;

	if (body != NULL && text == NULL)
		return MHD_NO;
	n = text != NULL ? strlen(text) : 0;
	if (text != NULL) {
		/* One newline so a person reading with curl sees a clean prompt. */
		char *t = realloc(text, n + 2);
		if (t == NULL) {
			free(text);
			return MHD_NO;
		}
		text = t;
		text[n++] = '\n';
		text[n] = '\0';
	}
	resp = MHD_create_response_from_buffer(n, text ? text : (void *)"", text ?
	    MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	if (resp == NULL) {
		free(text);
		return MHD_NO;
	}
	if (text != NULL)
		MHD_add_response_header(resp, "Content-Type", "application/json; charset=utf-8");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	http_secure(resp, http_conn_tls(c));
	http_reply_headers(resp, rep);
	if (allow != NULL)
		MHD_add_response_header(resp, "Allow", allow);
	if (retry_after > 0) {
		char secs[16];
		snprintf(secs, sizeof(secs), "%u", retry_after);
		MHD_add_response_header(resp, "Retry-After", secs);
	}
	ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* A body that is not JSON: a page, a sound, an image, a CSV file. */
static enum MHD_Result
http_send_raw(struct MHD_Connection *c, const struct api_reply *rep)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(rep->raw_len, (void *)rep->raw, MHD_RESPMEM_MUST_COPY);
	if (resp == NULL)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type", rep->content_type);
	/* API data kept as bytes (the hall's JSON) is never stored, as every JSON answer. */
	MHD_add_response_header(resp, "Cache-Control",
	    strncmp(rep->content_type, "application/json", 16) == 0 ? "no-store" : "no-cache");
	http_secure(resp, http_conn_tls(c));
	http_reply_headers(resp, rep);
	if (rep->disposition != NULL)
		MHD_add_response_header(resp, "Content-Disposition", rep->disposition);
	ret = MHD_queue_response(c, rep->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* The one place an error becomes an HTTP answer; retry_after 0 is the error's own advice. */
static enum MHD_Result
http_send_error_after(struct MHD_Connection *c, enum bq_err e, const char *message,
    const char *allow, unsigned retry_after)
{
	json_t *body = json_pack("{s:{s:s,s:s}}", "error", "code", bq_err_code(e), "message",
	    message != NULL && *message ? message : bq_err_message(e));
	enum MHD_Result ret;

	/* A message jansson refuses (not UTF-8) must not leave the answer without a body. */
	if (body == NULL)
		body = json_pack("{s:{s:s,s:s}}", "error", "code", bq_err_code(e), "message",
		    bq_err_message(e));
	ret = http_send_json(c, bq_err_status(e), body, allow, retry_after > 0 ? retry_after :
	    bq_err_retry_after(e), NULL);

	json_decref(body);
	return ret;
}

static enum MHD_Result
http_send_error(struct MHD_Connection *c, enum bq_err e, const char *message, const char *allow)
{
	return http_send_error_after(c, e, message, allow, 0);
}

static const char *
http_query(void *ctx, const char *key)
{
	return MHD_lookup_connection_value(ctx, MHD_GET_ARGUMENT_KIND, key);
}

static bool
content_length_too_large(struct MHD_Connection *c)
{
	const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_LENGTH);
	char *end;
	unsigned long long v;

	if (cl == NULL)
		return false;
	errno = 0;
	v = strtoull(cl, &end, 10);
	return errno != 0 || *end != '\0' || v > API_BODY_MAX;
}

/*
 * A change's request line, url with control characters escaped so that a
 * request cannot forge log lines. Refusals (401, 403, 421, 429) come in
 * floods when something hammers the daemon: they are counted, not logged
 * one by one (the audit trail has each refused staff action).
 */
static void
log_request(struct http *h, const char *method, const char *url, unsigned status)
{
	char clean[256];
	size_t n = 0;

	for (const unsigned char *p = (const unsigned char *)url; *p && n + 5 < sizeof(clean); p++) {
		if (*p < 0x20 || *p == 0x7f)
			n += (size_t)snprintf(clean + n, sizeof(clean) - n, "%%%02X", *p);
		else
			clean[n++] = (char)*p;
	}
	clean[n] = '\0';
	if (status == 401 || status == 403 || status == 421 || status == 429)
		log_limited(&h->refusal_log, "http: refused %s %s %u", method, clean, status);
	else
		log_info("%s %s %u", method, clean, status);
}

/* Send rep (and free it): an event stream, an error, a raw body or JSON. */
static enum MHD_Result
http_send_reply(struct http *h, struct MHD_Connection *c, const char *method, const char *url,
    struct request *r, struct api_reply *rep)
{
	enum MHD_Result ret;

	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		log_request(h, method, url, rep->status);
	r->route = rep->sse ? -1 : rep->route;
	if (rep->sse) {
		enum bq_err e;

		if (r->hc != NULL && (e = stream_admit(h, r->hc)) != BQ_OK) {
			api_reply_free(rep);
			return http_send_error(c, e, NULL, NULL);
		}
		ret = sse_open(h->sse, c, rep->sse_kind, rep->sse_from, &rep->sse_ticket);
		if (ret == MHD_YES && r->hc != NULL) {
			r->hc->stream = true;
			list_append(&h->streams, r->hc);
			h->nstreams++;
		}
	} else if (rep->err != BQ_OK) {
		ret = http_send_error_after(c, rep->err, rep->message, rep->allow, rep->retry_after);
	} else if (rep->raw != NULL) {
		ret = http_send_raw(c, rep);
	} else {
		ret = http_send_json(c, rep->status, rep->body, NULL, 0, rep);
	}
	api_reply_free(rep);
	return ret;
}

/*
 * A request that changes something: it joins the turn's batch and its group
 * commit. A reprint does not: it hands the paper to the printer's worker at
 * once, which must not happen for a change that could still fail with its
 * batch, so it commits on its own.
 */
static bool
http_is_change(const char *method, const char *url)
{
	size_t n = strlen(url), k = strlen("/reprint");

	if (n >= k && strcmp(url + n - k, "/reprint") == 0)
		return false;
	return strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0 &&
	    strcmp(method, "OPTIONS") != 0;
}

/* What the API is asked for request r, whose connection is c. */
static void
http_request_of(struct request *r, struct MHD_Connection *c, const char *method, const char *url,
    struct api_request *req)
{
	*req = (struct api_request){
		.method = method,
		.path = url,
		.content_type = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
		    MHD_HTTP_HEADER_CONTENT_TYPE),
		.body = r->body,
		.len = r->len,
		.last_event_id = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Last-Event-ID"),
		.query = http_query,
		.query_ctx = c,
		.now = r->now,
		.seq = r->seq,
		.late = r->late,
		.cookie = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_COOKIE),
		.authorization = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
		    MHD_HTTP_HEADER_AUTHORIZATION),
		.origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin"),
		.host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST),
		.csrf = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-CSRF-Token"),
		.addr = r->addr,
	};
}

/* Make rep the error e, dropping what it held. */
static void
reply_replace(struct api_reply *rep, enum bq_err e)
{
	int route = rep->route;

	api_reply_free(rep);
	memset(rep, 0, sizeof(*rep));
	rep->route = route;
	rep->err = e;
	rep->status = bq_err_status(e);
}

static enum MHD_Result
http_dispatch(struct http *h, struct MHD_Connection *c, const char *url, const char *method,
    struct request *r)
{
	struct api_request req;
	struct api_reply rep;

	if (r->has_reply) {
		r->has_reply = false;
		return http_send_reply(h, c, method, url, r, &r->rep);
	}
	if (!r->batched && http_is_change(method, url) && !h->stopping) {
		/* Answered after the turn's commit (http_run_batch), never before. */
		if ((r->url = strdup(url)) == NULL)
			return MHD_NO;
		snprintf(r->method, sizeof(r->method), "%s", method);
		r->batched = true;
		r->conn = c;
		*h->batch_tail = r;
		h->batch_tail = &r->next_batch;
		MHD_suspend_connection(c);
		return MHD_YES;
	}
	http_request_of(r, c, method, url, &req);
	api_handle(h->api, &req, &rep);
	if (rep.pending && h->stopping) {
		api_reply_free(&rep);
		return http_send_error(c, BQ_ERR_SHUTTING_DOWN, NULL, NULL);
	}
	if (rep.pending) {
		/* Asked again from the top when woken: the reply is then ready or an error. */
		r->conn = c;
		r->next_pending = h->pending;
		h->pending = r;
		MHD_suspend_connection(c);
		api_reply_free(&rep);
		return MHD_YES;
	}
	return http_send_reply(h, c, method, url, r, &rep);
}

static enum MHD_Result
http_on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
    const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	struct http *h = cls;
	struct request *r = *con_cls;

	(void)version;
	if (r == NULL) {
		if ((r = calloc(1, sizeof(*r))) == NULL)
			return MHD_NO;
		*con_cls = r;
		h->active++;
		r->late = h->stopping;
		r->now = clock_now();
		r->seq = ++h->seq;
		r->started = metrics_clock();
		r->route = -1;
		r->hc = conn_of(c);
		if (r->hc != NULL && r->hc->has_addr)
			inet_ntop(AF_INET, &r->hc->addr, r->addr, sizeof(r->addr));
		if (content_length_too_large(c)) {
			/* Answer now: the body is never read. */
			r->too_large = r->answered = true;
			return http_send_error(c, BQ_ERR_BODY_TOO_LARGE, NULL, NULL);
		}
		return MHD_YES;
	}
	if (*upload_size != 0) {
		size_t n = *upload_size;
		*upload_size = 0;
		if (r->too_large) {
			/*
			 * libmicrohttpd cannot answer in the middle of an upload, so the 413
			 * waits for the end of the body; a client that keeps sending past
			 * HTTP_DISCARD_MAX is cut off instead.
			 */
			r->discarded += n;
			return r->discarded > HTTP_DISCARD_MAX ? MHD_NO : MHD_YES;
		}
		if (r->len + n > API_BODY_MAX) {
			r->too_large = true;
			r->discarded = r->len + n;
			if (r->body != NULL)
				explicit_bzero(r->body, r->len);
			return MHD_YES;
		}
		if (r->len + n + 1 > r->cap) {
			size_t cap = r->len + n + 1 > 1024 ? API_BODY_MAX + 1 : 1024;
			char *nb = realloc(r->body, cap);
			if (nb == NULL)
				return MHD_NO;
			r->body = nb;
			r->cap = cap;
		}
		memcpy(r->body + r->len, upload, n);
		r->len += n;
		r->body[r->len] = '\0';
		return MHD_YES;
	}
	/* The request is whole: from here on any wait is ours, not the client's. */
	if (r->hc != NULL && r->hc->armed)
		conn_unlist(h, r->hc);
	if (r->answered)
		return MHD_YES;
	if (r->too_large) {
		r->answered = true;
		return http_send_error(c, BQ_ERR_BODY_TOO_LARGE, NULL, NULL);
	}
	return http_dispatch(h, c, url, method, r);
}

static void
http_on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct http *h = cls;
	struct request *r = *con_cls;

	if (r == NULL)
		return;
	if (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK)
		metrics_observe_request(h->api->metrics, r->route, metrics_clock() - r->started);
	/* A stream ends, or a reply is sent: a kept-alive connection owes the next request. */
	if (r->hc != NULL && r->hc == conn_of(c))
		conn_arm(h, r->hc);
	if (r->body != NULL) {
		explicit_bzero(r->body, r->cap);
		free(r->body);
	}
	if (r->has_reply)
		api_reply_free(&r->rep);
	free(r->url);
	free(r);
	*con_cls = NULL;
	h->active--;
}

/*
 * libmicrohttpd's messages. Under TLS a client that cannot or will not
 * complete a handshake (plain HTTP to the HTTPS port, an old phone, a port
 * scan) is counted and logged once a minute (log_limited), so that
 * anyone on the network cannot fill the journal.
 */
static void
http_log(void *cls, const char *fmt, va_list ap)
{
	struct http *h = cls;
	char line[512];
	size_t n;

	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n > 0 && line[n - 1] == '\n')
		line[--n] = '\0';
	if (h != NULL && h->tls && strstr(line, "andshake") != NULL) {
		log_limited(&h->handshake_log, "http: a TLS handshake failed (plain HTTP to the HTTPS "
		    "port, or a client without TLS 1.2): %s", line);
		return;
	}
	/*
	 * A display or phone that went away mid-stream is daily life, not a
	 * warning; over TLS, GnuTLS words it "forcibly closed by remote peer".
	 */
	if (strstr(line, "no longer available") != NULL ||
	    (h != NULL && h->tls && strstr(line, "forcibly closed by remote peer") != NULL))
		log_info("http: a client left: %s", line);
	else
		log_warnx("http: %s", line);
}

static int
parse_listen(const char *listen, struct sockaddr_in *sa, char *err, size_t errlen)
{
	char host[64];
	const char *colon = strrchr(listen, ':');
	char *end;
	long port;

	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	if (colon == NULL || (size_t)(colon - listen) >= sizeof(host) || colon == listen) {
		snprintf(err, errlen, "listen address \"%s\" is not ADDR:PORT", listen);
		return -1;
	}
	memcpy(host, listen, (size_t)(colon - listen));
	host[colon - listen] = '\0';
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || errno != 0 || port < 0 || port > 65535) {
		snprintf(err, errlen, "listen port in \"%s\" is not 0..65535", listen);
		return -1;
	}
	sa->sin_port = htons((uint16_t)port);
	if (strcmp(host, "*") == 0)
		sa->sin_addr.s_addr = htonl(INADDR_ANY);
	else if (strcmp(host, "localhost") == 0)
		sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	else if (inet_pton(AF_INET, host, &sa->sin_addr) != 1) {
		snprintf(err, errlen, "listen address \"%s\" is not an IPv4 address", host);
		return -1;
	}
	return 0;
}

/*
 * The config's [tls] files, read for libmicrohttpd: 0, or -1 with the
 * reason in err. config_tls_files checked them already; this reads them
 * again because the config holds no copy of a key.
 */
static int
http_tls_read(const struct tls_conf *t, char **cert, char **key, char *err, size_t errlen)
{
	char why[512];

	*cert = *key = NULL;
	if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
		snprintf(err, errlen, "[tls] is set, but this libmicrohttpd is built without TLS");
		return -1;
	}
	if (tls_pem_read(t->cert, false, cert, NULL, why, sizeof(why)) != 0 ||
	    tls_pem_read(t->key, true, key, NULL, why, sizeof(why)) != 0) {
		tls_pem_free(*cert);
		*cert = NULL;
		snprintf(err, errlen, "tls: %s", why);
		return -1;
	}
	return 0;
}

struct http *
http_start(const char *listen, struct api *api, struct sse *sse, char *err, size_t errlen)
{
	struct http *h = calloc(1, sizeof(*h));
	const struct config *cfg = api->queue->cfg;
	struct sockaddr_in sa;
	struct rlimit rl;
	rlim_t fds = HTTP_CONNECTIONS_MAX + HTTP_FD_RESERVE;
	char *cert = NULL, *key = NULL;
	unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;

	if (h == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (parse_listen(listen, &sa, err, errlen) != 0) {
		free(h);
		return NULL;
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		fds = rl.rlim_cur;
	if (fds < HTTP_FD_RESERVE + HTTP_CONNECTIONS_MIN) {
		snprintf(err, errlen, "only %llu file descriptors (RLIMIT_NOFILE); %d are needed at "
		    "least", (unsigned long long)fds, HTTP_FD_RESERVE + HTTP_CONNECTIONS_MIN);
		free(h);
		return NULL;
	}
	h->conn_limit = fds - HTTP_FD_RESERVE > HTTP_CONNECTIONS_MAX ? HTTP_CONNECTIONS_MAX :
	    (unsigned)(fds - HTTP_FD_RESERVE);
	h->stream_limit = h->conn_limit * HTTP_STREAM_SHARE / 100;
	h->api = api;
	h->sse = sse;
	h->batch_tail = &h->batch;
	h->tls = config_tls_on(cfg);
	if (h->tls) {
		if (http_tls_read(&cfg->tls, &cert, &key, err, errlen) != 0) {
			free(h);
			return NULL;
		}
		flags |= MHD_USE_TLS;
	}
	/* Without TLS the array is its end alone: the plain daemon's options, nothing more. */
	struct MHD_OptionItem tls_opts[] = {
		{ MHD_OPTION_HTTPS_MEM_CERT, 0, cert },
		{ MHD_OPTION_HTTPS_MEM_KEY, 0, key },
		{ MHD_OPTION_HTTPS_PRIORITIES, 0, TLS_PRIORITIES },
		{ MHD_OPTION_END, 0, NULL },
	};
	h->d = MHD_start_daemon(flags,
	    0, NULL, NULL, http_on_request, h,
	    MHD_OPTION_EXTERNAL_LOGGER, http_log, h,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
	    MHD_OPTION_NOTIFY_COMPLETED, http_on_completed, h,
	    MHD_OPTION_NOTIFY_CONNECTION, http_on_connection, h,
	    MHD_OPTION_CONNECTION_LIMIT, h->conn_limit,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_IDLE_TIMEOUT_S,
	    MHD_OPTION_ARRAY, h->tls ? tls_opts : tls_opts + 3,
	    MHD_OPTION_END);
	/* GnuTLS holds its own copy of the key from here on: ours goes. */
	tls_pem_free(key);
	tls_pem_free(cert);
	if (h->d == NULL) {
		if (h->tls)
			snprintf(err, errlen, "cannot serve HTTPS on %s (in use, not an address here, "
			    "or the [tls] files changed since the config was read: see the message "
			    "above)", listen);
		else
			snprintf(err, errlen, "cannot listen on %s (in use, or not an address here)",
			    listen);
		free(h);
		return NULL;
	}
	log_info("http: up to %u connections, %u of them event streams (%d per address%s); a "
	    "request must arrive whole within %d s", h->conn_limit, h->stream_limit,
	    api->queue->cfg->streams_per_address,
	    api->queue->cfg->streams_per_address == 0 ? ": no cap" : "", HTTP_REQUEST_DEADLINE_S);
	if (h->tls)
		log_info("http: HTTPS with certificate %s (TLS 1.2 and 1.3, by libmicrohttpd's GnuTLS)",
		    cfg->tls.cert);
	return h;
}

int
http_fd(struct http *h)
{
	const union MHD_DaemonInfo *i = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_EPOLL_FD);

	return i ? i->epoll_fd : -1;
}

int
http_port(struct http *h)
{
	const union MHD_DaemonInfo *i = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);

	return i ? i->port : 0;
}

/*
 * Answer every request of a batch: with its own answer, or with the
 * commit's error when the commit failed and its change is gone.
 */
static void
http_answer_batch(struct request *list, enum bq_err e)
{
	struct request *r;

	for (r = list; r != NULL; r = list) {
		list = r->next_batch;
		r->next_batch = NULL;
		if (e != BQ_OK && r->rep.err == BQ_OK)
			reply_replace(&r->rep, e);
		r->has_reply = true;
		MHD_resume_connection(r->conn);
	}
}

/*
 * Run the changes gathered so far as one batch (queue_batch_begin): each is
 * handled in arrival order, then the batch commits once. While that commit
 * runs on the store's thread (h->flight), reads go on and new changes
 * gather for the next batch; nothing is answered before its commit ended.
 * Returns true when the batch was answered at once (no commit thread).
 */
static bool
http_run_batch(struct http *h)
{
	struct request *list = h->batch, *r;

	if (h->flight != NULL || list == NULL)
		return false;
	h->batch = NULL;
	h->batch_tail = &h->batch;
	api_batch_begin(h->api);
	for (r = list; r != NULL; r = r->next_batch) {
		struct api_request req;

		http_request_of(r, r->conn, r->method, r->url, &req);
		api_handle(h->api, &req, &r->rep);
	}
	/*
	 * A change that waits on a worker (a sign-in's password check) wrote
	 * nothing yet: it leaves the batch, waits like a read, and comes back into
	 * a later batch when the worker is done.
	 */
	{
		struct request *keep = NULL, **tail = &keep, *next;

		for (r = list; r != NULL; r = next) {
			next = r->next_batch;
			r->next_batch = NULL;
			if (!r->rep.pending) {
				*tail = r;
				tail = &r->next_batch;
				continue;
			}
			api_reply_free(&r->rep);
			memset(&r->rep, 0, sizeof(r->rep));
			r->batched = false;
			free(r->url);
			r->url = NULL;
			r->next_pending = h->pending;
			h->pending = r;
		}
		list = keep;
	}
	if (list == NULL) {
		api_batch_commit(h->api);
		api_batch_collect(h->api);
		return false;
	}
	if (api_batch_commit(h->api)) {
		h->flight = list;
		return false;
	}
	http_answer_batch(list, api_batch_collect(h->api));
	return true;
}

void
http_run(struct http *h)
{
	http_expire(h);
	MHD_run(h->d);
	if (http_run_batch(h)) {
		/* Send the answers now: libmicrohttpd picks resumed connections up at its next run. */
		MHD_run(h->d);
	}
	/* Changes gathered but not yet run must not wait for a poll that may sleep. */
	h->batch_waiting = h->batch != NULL && h->flight == NULL;
}

int
http_commit_fd(struct http *h)
{
	return api_commit_fd(h->api);
}

void
http_commit_done(struct http *h)
{
	struct request *list = h->flight;
	enum bq_err e = api_batch_collect(h->api);

	if (list == NULL)
		return;
	h->flight = NULL;
	http_answer_batch(list, e);
	/* The changes that gathered meanwhile go next, while these answers are sent. */
	http_run_batch(h);
	MHD_run(h->d);
	h->batch_waiting = h->batch != NULL && h->flight == NULL;
}

bool
http_take_batch_waiting(struct http *h)
{
	bool b = h->batch_waiting;

	h->batch_waiting = false;
	return b;
}

int64_t
http_timeout_ms(struct http *h)
{
	MHD_UNSIGNED_LONG_LONG t;
	int64_t ms = -1;

	if (MHD_get_timeout(h->d, &t) == MHD_YES)
		ms = t > INT64_MAX ? INT64_MAX : (int64_t)t;
	if (h->armed.head != NULL) {
		int64_t left = h->armed.head->deadline_ms - mono_ms();
		if (left < 0)
			left = 0;
		if (ms < 0 || left < ms)
			ms = left;
	}
	return ms;
}

unsigned
http_active(struct http *h)
{
	return h->active;
}

void
http_quiesce(struct http *h)
{
	MHD_socket fd = MHD_quiesce_daemon(h->d);

	h->stopping = true;
	if (fd != MHD_INVALID_SOCKET)
		close(fd);
	/* Changes already gathered are committed and answered, not left suspended. */
	while (h->flight != NULL || h->batch != NULL) {
		if (h->flight != NULL)
			http_commit_done(h);
		else
			http_run_batch(h);
	}
	http_wake_pending(h);
}

void
http_wake_pending(struct http *h)
{
	struct request *r = h->pending, *next;

	h->pending = NULL;
	for (; r != NULL; r = next) {
		next = r->next_pending;
		r->next_pending = NULL;
		MHD_resume_connection(r->conn);
	}
}

void
http_stop(struct http *h)
{
	if (h == NULL)
		return;
	MHD_stop_daemon(h->d);
	free(h);
}
