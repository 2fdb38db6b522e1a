/*
 * api.c: the routes of /api/v1, /healthz and /metrics and their handlers.
 *
 * Bodies are parsed strictly: a JSON object, no duplicate keys, no unknown
 * fields, each field of its type. The ID number a lobby manager types is
 * never logged, stored or echoed, not even inside a parse error; the copies
 * branchq owns (the request buffer, the parsed string) are wiped as soon as
 * the ticket is issued or refused.
 *
 * Once a change has committed, the answer never turns into an error: if
 * reading the ticket's place fails, the ticket goes out without it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <sqlite3.h>
#include <strings.h>

#include "api.h"
#include "auth.h"
#include "bday.h"
#include "log.h"
#include "qr.h"
#include "render.h"
#include "report.h"
#include "advice_work.h"
#include "uplink.h"
#include "report_work.h"

#define API_MAX_SEGMENTS 8

struct route_ctx {
	struct api *a;
	struct api_request *req;
	struct api_reply *rep;
	char *seg[API_MAX_SEGMENTS];
	int nseg;
	struct principal who;        /* who asks (auth_resolve) */
	int64_t id;                  /* the path's {id}, a ticket's, once route() checked it */
	int counter;                 /* the path's {n}, a configured counter's; 0 when none */
	const char *audit_result;    /* what the audit row says, when not the reply's code */
	char audit_who[AUTH_NAME_MAX]; /* the name a failed sign-in gave */
	char owner[WORK_OWNER_MAX];  /* request_owner's text */
};

static void
reply_error(struct api_reply *rep, enum bq_err e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
reply_error(struct api_reply *rep, enum bq_err e, const char *fmt, ...)
{
	rep->err = e;
	rep->status = bq_err_status(e);
	rep->message[0] = '\0';
	if (fmt != NULL) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(rep->message, sizeof(rep->message), fmt, ap);
		va_end(ap);
	}
}

static void
reply_json(struct api_reply *rep, unsigned status, json_t *body)
{
	if (body == NULL) {
		reply_error(rep, BQ_ERR_INTERNAL, NULL);
		return;
	}
	rep->status = status;
	rep->body = body;
}

static bool
method_is(struct route_ctx *r, const char *method, const char *allow)
{
	if (strcmp(r->req->method, method) == 0 ||
	    (strcmp(method, "GET") == 0 && strcmp(r->req->method, "HEAD") == 0))
		return true;
	r->rep->allow = allow;
	reply_error(r->rep, BQ_ERR_METHOD_NOT_ALLOWED, "%s is not allowed here; use %s",
	    r->req->method, allow);
	return false;
}

/* s when it is short printable ASCII, safe to echo in a message; otherwise "?". */
static const char *
echo(const char *s, size_t max)
{
	size_t n = 0;

	for (const char *p = s; *p; p++, n++)
		if (n == max || *p < 0x20 || *p >= 0x7f || *p == '"' || *p == '\\')
			return "?";
	return s;
}

/* Only the media type counts: "application/json" with or without parameters. */
static bool
is_json(const char *content_type)
{
	size_t n = strlen("application/json");

	if (content_type == NULL || strncasecmp(content_type, "application/json", n) != 0)
		return false;
	content_type += n;
	while (*content_type == ' ' || *content_type == '\t')
		content_type++;
	return *content_type == '\0' || *content_type == ';';
}

/* What went wrong in a body, in words that never quote the body itself. */
static const char *
json_problem(const json_error_t *jerr)
{
	switch (json_error_code(jerr)) {
	case json_error_invalid_utf8: return "invalid UTF-8";
	case json_error_premature_end_of_input: return "the body ends too early";
	case json_error_end_of_input_expected: return "text after the JSON value";
	case json_error_duplicate_key: return "a key appears twice";
	case json_error_null_character:
	case json_error_null_byte_in_key: return "a NUL character in a string";
	case json_error_numeric_overflow: return "a number out of range";
	case json_error_stack_overflow: return "nested too deeply";
	default: return "invalid syntax";
	}
}

/* A whole positive decimal number, no sign, no spaces, at most max. */
static bool
parse_id(const char *s, int64_t max, int64_t *out)
{
	char *end;
	long long v;

	if (*s < '1' || *s > '9')
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v <= 0 || v > max)
		return false;
	*out = v;
	return true;
}

/*
 * Parse the body as a JSON object whose keys are all in allowed (NULL
 * terminated). An empty body is an empty object. On failure the reply is
 * set and NULL returned.
 */
static json_t *
body_object(struct route_ctx *r, const char *const *allowed)
{
	struct api_request *req = r->req;
	json_error_t jerr;
	json_t *o;
	const char *key;
	json_t *v;

	if (req->len == 0)
		return json_object();
	if (!is_json(req->content_type)) {
		reply_error(r->rep, BQ_ERR_UNSUPPORTED_MEDIA, "send the body as application/json");
		return NULL;
	}
	o = json_loadb(req->body, req->len, JSON_REJECT_DUPLICATES, &jerr);
	if (o == NULL) {
		/* jansson's own text quotes the input, which may hold an ID number. */
		reply_error(r->rep, BQ_ERR_MALFORMED_JSON, "malformed JSON at line %d column %d: %s",
		    jerr.line, jerr.column, json_problem(&jerr));
		return NULL;
	}
	if (!json_is_object(o)) {
		json_decref(o);
		reply_error(r->rep, BQ_ERR_MALFORMED_JSON, "the body must be a JSON object");
		return NULL;
	}
	json_object_foreach(o, key, v) {
		bool ok = false;
		for (int i = 0; allowed[i] != NULL && !ok; i++)
			ok = strcmp(allowed[i], key) == 0;
		if (!ok) {
			reply_error(r->rep, BQ_ERR_INVALID_FIELD, "unknown field \"%s\"", echo(key, 32));
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

/* Optional string field: *out NULL when absent. False (reply set) when not a string. */
static bool
field_string(struct route_ctx *r, json_t *o, const char *key, const char **out, size_t *len)
{
	json_t *v = json_object_get(o, key);

	*out = NULL;
	if (v == NULL)
		return true;
	if (!json_is_string(v)) {
		reply_error(r->rep, BQ_ERR_INVALID_FIELD, "\"%s\" must be a string", key);
		return false;
	}
	*out = json_string_value(v);
	if (len != NULL)
		*len = json_string_length(v);
	return true;
}

/* Resolve a service prefix; reply 404 and return -1 when there is none. */
static int
service_lookup(struct route_ctx *r, const char *id)
{
	int s = config_service_index(r->a->queue->cfg, id);

	if (s < 0)
		reply_error(r->rep, BQ_ERR_UNKNOWN_SERVICE, "no service \"%s\"", echo(id, 8));
	return s;
}

static bool
fail(struct route_ctx *r, enum bq_err e)
{
	if (e == BQ_OK)
		return false;
	reply_error(r->rep, e, NULL);
	return true;
}

/* A ticket with its place; without the place (null) if that cannot be read. */
static json_t *
ticket_with_pos(struct route_ctx *r, const struct ticket *t, bool with_token)
{
	struct ticket_pos pos;
	bool have = queue_position(r->a->queue, t, r->req->now, &pos) == BQ_OK;

	return render_ticket(r->a->queue->cfg, t, have ? &pos : NULL, with_token);
}

static void
wipe_string(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	if (json_is_string(v))
		explicit_bzero((char *)json_string_value(v), json_string_length(v));
}

/*
 * One device's pace against table (API_KIOSKS entries): at most rate a
 * minute after a burst (a generic cell rate: each request moves the
 * device's due time on by 60/rate s). False, with *wait_s the seconds until
 * its next is due, when it is ahead of its pace. A clock that steps back
 * only makes the device wait for its due time, never lets it past.
 */
static bool
device_paced(struct route_ctx *r, struct api_pace *table, int rate, int burst, unsigned *wait_s)
{
	int64_t now = r->req->now * 1000, step = 60000 / rate, tolerance = step * (burst - 1);
	struct api_pace *p = NULL;

	for (int i = 0; i < API_KIOSKS && p == NULL; i++)
		if (table[i].token_id == r->who.token_id)
			p = &table[i];
	if (p == NULL) {
		/* The device due the longest ago: forgetting it costs it nothing it had. */
		p = &table[0];
		for (int i = 1; i < API_KIOSKS; i++)
			if (table[i].due_ms < p->due_ms)
				p = &table[i];
		p->token_id = r->who.token_id;
		p->due_ms = now;
	}
	if (p->due_ms - now > tolerance) {
		*wait_s = (unsigned)((p->due_ms - tolerance - now + 999) / 1000);
		return false;
	}
	p->due_ms = (p->due_ms > now ? p->due_ms : now) + step;
	return true;
}

/*
 * A kiosk device issues at most kiosk_rate tickets a minute, after a burst
 * of API_KIOSK_BURST. Staff and API tokens are not paced: the lobby and a
 * bench issue as fast as they like. False, with 429 and Retry-After, when
 * this kiosk is ahead of its pace.
 */
static bool
kiosk_paced(struct route_ctx *r)
{
	int rate = r->a->queue->cfg->kiosk_rate;

	if (rate <= 0 || r->who.role != ROLE_KIOSK || r->who.token_id == 0)
		return true;
	if (device_paced(r, r->a->kiosks, rate, API_KIOSK_BURST, &r->rep->retry_after))
		return true;
	reply_error(r->rep, BQ_ERR_TOO_MANY_REQUESTS, "this kiosk issues tickets faster than "
	    "%d a minute; wait %u s (取号过于频繁，请稍候)", rate, r->rep->retry_after);
	return false;
}

static void
post_ticket(struct route_ctx *r)
{
	static const char *const fields[] = { "service", "category", "id_number", "lang", NULL };
	struct issue_req ir = { .category = -1, .lang = -1 };
	const char *service, *cat, *lang;
	struct ticket t;
	json_t *o;

	if ((o = body_object(r, fields)) == NULL)
		return;
	if (!field_string(r, o, "service", &service, NULL) ||
	    !field_string(r, o, "category", &cat, NULL) ||
	    !field_string(r, o, "lang", &lang, NULL) ||
	    !field_string(r, o, "id_number", &ir.id_number, &ir.id_len))
		goto out;
	if (service == NULL) {
		reply_error(r->rep, BQ_ERR_INVALID_FIELD, "\"service\" is required");
		goto out;
	}
	if ((ir.service = service_lookup(r, service)) < 0)
		goto out;
	if (cat != NULL && (ir.category = category_parse(cat)) < 0) {
		reply_error(r->rep, BQ_ERR_INVALID_CATEGORY,
		    "category must be normal, elderly, disabled, pregnant, military or foreign");
		goto out;
	}
	if (lang != NULL && (ir.lang = lang_parse(lang)) < 0) {
		reply_error(r->rep, BQ_ERR_INVALID_LANG, NULL);
		goto out;
	}
	if (kiosk_paced(r) && !fail(r, queue_issue(r->a->queue, &ir, r->req->now, &t)))
		reply_json(r->rep, 201, json_pack("{s:o}", "ticket", ticket_with_pos(r, &t, true)));
out:
	wipe_string(o, "id_number");
	json_decref(o);
}

static void
get_ticket(struct route_ctx *r)
{
	struct ticket t;

	if (!fail(r, queue_ticket(r->a->queue, r->id, r->req->now, &t)))
		reply_json(r->rep, 200, json_pack("{s:o}", "ticket", ticket_with_pos(r, &t, false)));
}

static void
post_ticket_action(struct route_ctx *r)
{
	const char *action = r->seg[4];
	int64_t id = r->id;
	static const char *const green_fields[] = { "category", "lang", NULL };
	static const char *const no_fields[] = { NULL };
	struct ticket t;
	enum bq_err e;
	json_t *o;

	if (strcmp(action, "green") == 0) {
		const char *cat, *lang;
		int c, l = -1;

		if ((o = body_object(r, green_fields)) == NULL)
			return;
		if (!field_string(r, o, "category", &cat, NULL) ||
		    !field_string(r, o, "lang", &lang, NULL)) {
			json_decref(o);
			return;
		}
		c = cat != NULL ? category_parse(cat) : -1;
		if (c <= CAT_NORMAL) {
			reply_error(r->rep, BQ_ERR_INVALID_CATEGORY, "category must be elderly, disabled, "
			    "pregnant, military or foreign");
			json_decref(o);
			return;
		}
		if (lang != NULL && (l = lang_parse(lang)) < 0) {
			reply_error(r->rep, BQ_ERR_INVALID_LANG, NULL);
			json_decref(o);
			return;
		}
		json_decref(o);
		e = queue_green(r->a->queue, id, c, l, r->req->now, &t);
	} else {
		if ((o = body_object(r, no_fields)) == NULL)
			return;
		json_decref(o);
		e = queue_cancel(r->a->queue, id, r->req->now, &t);
	}
	if (!fail(r, e))
		reply_json(r->rep, 200, json_pack("{s:o}", "ticket", ticket_with_pos(r, &t, false)));
}

static void
post_reprint(struct route_ctx *r)
{
	int64_t id = r->id;
	static const char *const no_fields[] = { NULL };
	struct ticket t;
	json_t *o;

	if ((o = body_object(r, no_fields)) == NULL)
		return;
	json_decref(o);
	if (!fail(r, printer_reprint(r->a->printer, id, r->req->now, &t)))
		reply_json(r->rep, 202, json_pack("{s:o}", "ticket", ticket_with_pos(r, &t, false)));
}

/*
 * Who asks, as a worker counts its share (work.h): a session, a device's
 * token, else the client's address. The text is r's, valid while r is.
 */
static const char *
request_owner(struct route_ctx *r)
{
	if (r->who.kind == WHO_SESSION)
		snprintf(r->owner, sizeof(r->owner), "session %.16s", r->who.session);
	else if (r->who.kind == WHO_TOKEN)
		snprintf(r->owner, sizeof(r->owner), "device %lld", (long long)r->who.token_id);
	else
		snprintf(r->owner, sizeof(r->owner), "%s", r->req->addr != NULL ? r->req->addr : "?");
	return r->owner;
}

/*
 * Drawn by the preview worker: the request waits suspended, as a voice call
 * does. Each client holds at most its share of drawings not yet made.
 */
static void
get_ticket_png(struct route_ctx *r)
{
	int64_t id = r->id;
	const unsigned char *png = NULL;
	size_t len = 0;
	struct work_from from = { request_owner(r), true };
	bool pending;

	if (fail(r, printer_png(r->a->printer, id, r->req->now, &from, &png, &len, &pending)))
		return;
	r->rep->status = 200;
	if (pending) {
		r->rep->pending = true;
		return;
	}
	r->rep->raw = png;
	r->rep->raw_len = len;
	r->rep->content_type = "image/png";
}

/* Counter i of the config as it is now, into *out; on failure *out is untouched. */
static enum bq_err
counter_now(struct queue *q, int i, int64_t now, json_t **out)
{
	struct counter_state cs;
	struct ticket cur;
	enum bq_err e;

	if ((e = queue_counter_state(q, q->cfg->counters[i].number, now, &cs, &cur)) != BQ_OK)
		return e;
	*out = render_counter(q->cfg, i, &cs, cs.ticket_id ? &cur : NULL);
	return BQ_OK;
}

static void
post_counter_action(struct route_ctx *r)
{
	const char *action = r->seg[4];
	int number = r->counter;
	static const char *const transfer_fields[] = { "service", "expect", NULL };
	static const char *const ticket_fields[] = { "expect", NULL };
	static const char *const call_fields[] = { "expect", "outcome", NULL };
	static const char *const no_fields[] = { NULL };
	int a = queue_action_parse(action), service = -1;
	int64_t expect = QUEUE_EXPECT_ANY;
	struct ticket t;
	bool has, ok = false;
	json_t *o, *cj, *ex;

	if (a < 0) {
		reply_error(r->rep, BQ_ERR_NOT_FOUND, "no counter action \"%s\"", echo(action, 16));
		return;
	}
	if (!method_is(r, "POST", "POST"))
		return;
	o = body_object(r, a == CA_TRANSFER ? transfer_fields : a == CA_CALL ? call_fields :
	    a == CA_PAUSE || a == CA_RESUME ? no_fields : ticket_fields);
	if (o == NULL)
		return;
	/* "expect": the ticket the teller sees at the counter (null: none), so a repeat is refused. */
	if ((ex = json_object_get(o, "expect")) != NULL) {
		if (json_is_null(ex)) {
			expect = 0;
		} else if (json_is_integer(ex) && json_integer_value(ex) > 0) {
			expect = json_integer_value(ex);
		} else {
			reply_error(r->rep, BQ_ERR_INVALID_FIELD, "\"expect\" must be a ticket id or null");
			goto out;
		}
	}
	if (a == CA_TRANSFER) {
		const char *svc;
		if (!field_string(r, o, "service", &svc, NULL))
			goto out;
		if (svc == NULL) {
			reply_error(r->rep, BQ_ERR_INVALID_FIELD, "\"service\" is required");
			goto out;
		}
		if ((service = service_lookup(r, svc)) < 0)
			goto out;
	}
	if (a == CA_CALL) {
		/* Whether the recalled customer, never started, came: asked when not said. */
		const char *oc;

		if (!field_string(r, o, "outcome", &oc, NULL))
			goto out;
		service = oc == NULL ? QUEUE_OUTCOME_ASK : strcmp(oc, "served") == 0 ? TS_SERVED :
		    strcmp(oc, "no_show") == 0 ? TS_NO_SHOW : -2;
		if (service == -2) {
			reply_error(r->rep, BQ_ERR_INVALID_FIELD, "\"outcome\" is served or no_show");
			goto out;
		}
	}
	ok = true;
out:
	json_decref(o);
	if (!ok || fail(r, queue_counter(r->a->queue, number, (enum counter_action)a, service,
	    expect, r->req->now, &t, &has)))
		return;
	if (a == CA_CALL && !has) {
		r->rep->status = 204;
		return;
	}
	/* The change is committed: a counter that cannot be read now goes out as null. */
	cj = json_null();
	counter_now(r->a->queue, config_counter_index(r->a->queue->cfg, number), r->req->now, &cj);
	reply_json(r->rep, 200, json_pack("{s:o,s:o}", "ticket",
	    has ? ticket_with_pos(r, &t, false) : json_null(), "counter", cj));
}

/* GET one counter (the path's), or all of them (none in the path). */
static void
get_counters(struct route_ctx *r)
{
	int number = r->counter;
	struct queue *q = r->a->queue;
	json_t *list, *c;

	if (number != 0) {
		if (!fail(r, counter_now(q, config_counter_index(q->cfg, number), r->req->now, &c))) {
			/* The USB keypad's keys ([counter_keys]), for the counter page. */
			json_t *keys = json_object();

			for (int k = 0; keys != NULL && k < CK_COUNT; k++)
				json_object_set_new(keys, counter_key_name(k),
				    json_string(q->cfg->counter_keys[k]));
			json_object_set_new(c, "keys", keys);
			reply_json(r->rep, 200, json_pack("{s:o}", "counter", c));
		}
		return;
	}
	list = json_array();
	for (int i = 0; i < q->cfg->ncounters; i++) {
		if (fail(r, counter_now(q, i, r->req->now, &c))) {
			json_decref(list);
			return;
		}
		json_array_append_new(list, c);
	}
	reply_json(r->rep, 200, json_pack("{s:o}", "counters", list));
}

#define COUNTER_NEXT_SHOWN 5

/*
 * What a teller sees coming: the next tickets this counter would call, one
 * call after another (the first is what "call" gets now), and every leg of
 * its current ticket, so a transferred customer's earlier services show.
 */
static void
get_counter_next(struct route_ctx *r)
{
	struct queue *q = r->a->queue;
	struct ticket next[COUNTER_NEXT_SHOWN], cur, *legs = NULL;
	struct counter_state cs;
	json_t *list, *lj;
	int n, nlegs = 0;

	if (fail(r, queue_next(q, r->counter, r->req->now, next, COUNTER_NEXT_SHOWN, &n)) ||
	    fail(r, queue_counter_state(q, r->counter, r->req->now, &cs, &cur)))
		return;
	if (cs.ticket_id != 0 && fail(r, queue_legs(q, &cur, &legs, &nlegs)))
		return;
	list = json_array();
	lj = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(list, ticket_with_pos(r, &next[i], false));
	for (int i = 0; i < nlegs; i++)
		json_array_append_new(lj, render_ticket(q->cfg, &legs[i], NULL, false));
	free(legs);
	reply_json(r->rep, 200, json_pack("{s:i,s:o,s:o}", "counter", r->counter, "next", list,
	    "legs", lj));
}

static void
get_services(struct route_ctx *r)
{
	struct queue *q = r->a->queue;
	struct queue_view v;

	if (!fail(r, queue_view_summary(q, r->req->now, &v))) {
		json_t *list = json_array();
		for (int s = 0; s < q->cfg->nservices; s++)
			json_array_append_new(list, render_service(&q->cfg->services[s], v.count[s],
			    v.open_counters[s]));
		reply_json(r->rep, 200, json_pack("{s:o}", "services", list));
	}
	queue_view_free(&v);
}

/*
 * The whole hall. Its JSON is kept: the same hall in the same second gives
 * the same bytes, so pages loading together (a reconnect after a restart,
 * every page's periodic reload) cost one rendering, not one each.
 */
static void
get_queue(struct route_ctx *r)
{
	struct api *a = r->a;
	struct queue_view v;
	uint64_t version;

	if (fail(r, queue_version(a->queue, r->req->now, &version)))
		return;
	if (a->queue_json == NULL || a->queue_version != version || a->queue_at != r->req->now) {
		json_t *body;
		char *text;

		if (fail(r, queue_view_load(a->queue, r->req->now, &v))) {
			queue_view_free(&v);
			return;
		}
		body = render_queue(a->queue->cfg, &v);
		queue_view_free(&v);
		text = body != NULL ? json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(6)) : NULL;
		json_decref(body);
		if (text == NULL) {
			reply_error(r->rep, BQ_ERR_INTERNAL, NULL);
			return;
		}
		/* One newline, as every JSON answer has, for a person reading with curl. */
		size_t n = strlen(text);
		char *t = realloc(text, n + 2);
		if (t == NULL) {
			free(text);
			reply_error(r->rep, BQ_ERR_INTERNAL, NULL);
			return;
		}
		t[n] = '\n';
		t[n + 1] = '\0';
		free(a->queue_json);
		a->queue_json = t;
		a->queue_len = n + 1;
		a->queue_version = version;
		a->queue_at = r->req->now;
	}
	r->rep->status = 200;
	r->rep->raw = a->queue_json;
	r->rep->raw_len = a->queue_len;
	r->rep->content_type = "application/json; charset=utf-8";
}

/*
 * An event stream of kind after the client's Last-Event-ID header or, for
 * an EventSource given a URL, its last_event_id query parameter.
 */
static void
get_events(struct route_ctx *r, enum sse_kind kind)
{
	const char *from = r->req->last_event_id;
	int64_t id;

	if (from == NULL && r->req->query != NULL)
		from = r->req->query(r->req->query_ctx, "last_event_id");
	r->rep->sse_from = -1;
	if (from != NULL && *from != '\0') {
		if (strcmp(from, "0") == 0) {
			r->rep->sse_from = 0;
		} else if (parse_id(from, INT64_MAX, &id)) {
			r->rep->sse_from = id;
		} else {
			reply_error(r->rep, BQ_ERR_INVALID_QUERY, "Last-Event-ID must be an event id");
			return;
		}
	}
	r->rep->sse = true;
	r->rep->sse_kind = kind;
	r->rep->status = 200;
}

/* GET /api/v1/display: the hall as the wall screen shows it, and the event it reflects. */
static void
get_display(struct route_ctx *r)
{
	struct queue_view v;

	if (!fail(r, queue_view_summary(r->a->queue, r->req->now, &v))) {
		json_t *o = render_display(r->a->queue->cfg, &v);
		/* The kiosk offers every green category the branch configured. */
		json_object_set_new(o, "green", render_green(r->a->queue->cfg));
		reply_json(r->rep, 200, o);
	}
	queue_view_free(&v);
}

/* A date query parameter; false (reply set) when present and not a real YYYY-MM-DD. */
static bool
query_date(struct route_ctx *r, const char *key, struct date *d, bool *given)
{
	const char *v = r->req->query != NULL ? r->req->query(r->req->query_ctx, key) : NULL;

	*given = v != NULL;
	if (v == NULL || date_parse(v, d) == 0)
		return true;
	reply_error(r->rep, BQ_ERR_INVALID_QUERY, "%s must be a date YYYY-MM-DD, not \"%s\"", key,
	    echo(v, 16));
	return false;
}

/*
 * GET /api/v1/reports/daily?date=D (no date: today so far) and
 * /api/v1/reports/range?from=D&to=D, each with format=json (default), csv or html.
 * Built by the reports' worker (report_work.h) while the request waits
 * suspended; on the loop only when that worker could not start.
 */
static void
get_report(struct route_ctx *r, bool range)
{
	static const char *const formats[] = { "json", "csv", "html" };
	static const char *const types[] = { "application/json; charset=utf-8",
	    "text/csv; charset=utf-8", "text/html; charset=utf-8" };
	struct queue *q = r->a->queue;
	const char *fmt = r->req->query != NULL ? r->req->query(r->req->query_ctx, "format") : NULL;
	struct report_job job;
	const struct report_result *res = NULL;
	struct report_result *own = NULL;
	const uint8_t *out;
	size_t len;
	bool has_from, has_to;
	int f = 0;

	if (fmt != NULL) {
		for (f = 0; f < 3 && strcmp(fmt, formats[f]) != 0; f++)
			;
		if (f == 3) {
			reply_error(r->rep, BQ_ERR_INVALID_QUERY, "format must be json, csv or html, "
			    "not \"%s\"", echo(fmt, 16));
			return;
		}
	}
	/* Zeroed whole: the worker's cache compares jobs byte for byte. */
	memset(&job, 0, sizeof(job));
	if (range) {
		if (!query_date(r, "from", &job.from, &has_from) ||
		    !query_date(r, "to", &job.to, &has_to))
			return;
		if (!has_from || !has_to) {
			reply_error(r->rep, BQ_ERR_INVALID_QUERY, "a range needs from and to (YYYY-MM-DD)");
			return;
		}
	} else {
		if (!query_date(r, "date", &job.from, &has_from))
			return;
		if (!has_from)
			job.from = bday_of(r->req->now, q->cfg->day_reset_min);
		job.to = job.from;
	}
	memcpy(&job.cfg, q->cfg, sizeof(job.cfg));
	job.now = r->req->now;
	job.request = r->req->seq;
	job.max_days = REPORT_RANGE_API_DAYS;
	job.format = (enum report_format)f;
	job.tellers = auth_may(&r->who, CAP_REPORTS, 0);
	if (r->a->reports == NULL) {
		if ((own = report_work_build(store_db(q->store), &job, &len)) == NULL) {
			reply_error(r->rep, BQ_ERR_INTERNAL, NULL);
			return;
		}
		res = own;
	} else {
		switch (work_lookup(r->a->reports, range ? "range" : "daily", &job, NULL, &out,
		    &len)) {
		case WORK_READY:
			res = (const struct report_result *)(const void *)out;
			break;
		case WORK_PENDING:
			r->rep->pending = true;
			r->rep->status = 200;
			return;
		case WORK_BUSY:
			reply_error(r->rep, BQ_ERR_REPORT_BUSY, NULL);
			return;
		default:
			reply_error(r->rep, BQ_ERR_INTERNAL, NULL);
			return;
		}
	}
	if (res->err != BQ_OK) {
		reply_error(r->rep, res->err, res->why[0] ? "%s" : NULL, res->why);
		free(own);
		return;
	}
	/* The worker's result lives until the loop's next lookup: http.c copies it before that. */
	if (own != NULL) {
		char *copy = malloc(res->len);
		if (copy == NULL) {
			free(own);
			reply_error(r->rep, BQ_ERR_INTERNAL, NULL);
			return;
		}
		memcpy(copy, res->body, res->len);
		r->rep->raw = copy;
		r->rep->raw_owned = true;
	} else {
		r->rep->raw = res->body;
	}
	r->rep->raw_len = res->len;
	free(own);
	r->rep->content_type = types[f];
	r->rep->status = 200;
	if (f == 1) {
		char d1[11], d2[11], name[24];
		date_format(job.from, d1);
		date_format(job.to, d2);
		if (range)
			snprintf(name, sizeof(name), "%s_%s", d1, d2);
		else
			snprintf(name, sizeof(name), "%s", d1);
		/* message is unused by a success: it holds the header's text. */
		snprintf(r->rep->message, sizeof(r->rep->message),
		    "attachment; filename=\"branchq-report-%s.csv\"", name);
		r->rep->disposition = r->rep->message;
	}
}

/*
 * GET /api/v1/advice?date=D (no date: the next business day): the staffing
 * advice, fitted from the branch's own history and simulated by the
 * advice's worker (advice_work.h) while the request waits suspended. Too
 * slow for the loop: with no worker it is refused as busy.
 */
static void
get_advice(struct route_ctx *r)
{
	struct queue *q = r->a->queue;
	struct advice_job job;
	const struct report_result *res;
	const uint8_t *out;
	size_t len;
	bool given;

	memset(&job, 0, sizeof(job));
	if (!query_date(r, "date", &job.date, &given))
		return;
	job.today = bday_of(r->req->now, q->cfg->day_reset_min);
	if (!given)
		job.date = bday_of(bday_start(job.today, q->cfg->day_reset_min) + 86400 + 43200,
		    q->cfg->day_reset_min);
	memcpy(&job.cfg, q->cfg, sizeof(job.cfg));
	/* The seed `branchqd advise` takes by default: the page and the command agree. */
	job.seed = 1;
	if (r->a->advice == NULL) {
		reply_error(r->rep, BQ_ERR_REPORT_BUSY, "the advice cannot be made now");
		return;
	}
	switch (work_lookup(r->a->advice, "advice", &job, NULL, &out, &len)) {
	case WORK_READY:
		break;
	case WORK_PENDING:
		r->rep->pending = true;
		r->rep->status = 200;
		return;
	case WORK_BUSY:
		reply_error(r->rep, BQ_ERR_REPORT_BUSY, NULL);
		return;
	default:
		reply_error(r->rep, BQ_ERR_INTERNAL, NULL);
		return;
	}
	res = (const struct report_result *)(const void *)out;
	if (res->err != BQ_OK) {
		reply_error(r->rep, res->err, res->why[0] ? "%s" : NULL, res->why);
		return;
	}
	/* The cache's result lives until the loop's next lookup: http.c copies it before that. */
	r->rep->raw = res->body;
	r->rep->raw_len = res->len;
	r->rep->content_type = "application/json; charset=utf-8";
	r->rep->status = 200;
}

/*
 * GET /api/v1/advice/live: 建议增开窗口 Open another counter as it stands:
 * the figures of the last advice.open_counter while the rest of the day
 * is predicted over its target, else null. For the lobby page's banner on
 * load; the staff stream carries each change.
 */
static void
get_live_advice(struct route_ctx *r)
{
	json_t *a = r->a->live;

	reply_json(r->rep, 200, json_pack("{s:O?}", "advice", a));
}

/*
 * GET /api/v1/voice/{number}/{counter}.wav?lang=zh|en: the spoken call. The
 * .txt form answers the phrases espeak-ng is given, one "voice: text" a line.
 * The number must look like a ticket number and the counter must exist, so
 * a client cannot make the daemon synthesise arbitrary text.
 */
static void
get_voice(struct route_ctx *r)
{
	const char *lang = r->req->query != NULL ? r->req->query(r->req->query_ctx, "lang") : NULL;
	const char *number = r->seg[3], *file = r->seg[4], *dot = strchr(file, '.');
	char digits[8];
	struct work_from from;
	struct counter_state cs;
	struct ticket cur;
	const uint8_t *wav;
	size_t len;
	int64_t n;
	bool en = false;

	if (!voice_number_valid(number)) {
		reply_error(r->rep, BQ_ERR_NOT_FOUND, "\"%s\" is not a ticket number (a letter and 3 or "
		    "4 digits)", echo(number, 8));
		return;
	}
	if (dot == NULL || (strcmp(dot, ".wav") != 0 && strcmp(dot, ".txt") != 0) ||
	    (size_t)(dot - file) >= sizeof(digits)) {
		reply_error(r->rep, BQ_ERR_NOT_FOUND, "ask for {counter}.wav, {counter}.txt or rate.wav");
		return;
	}
	memcpy(digits, file, (size_t)(dot - file));
	digits[dot - file] = '\0';
	/* rate.wav: the rating keypad's prompt for the number, not a call. */
	if (strcmp(digits, "rate") == 0)
		n = VOICE_RATE_PROMPT;
	else if (!parse_id(digits, MAX_COUNTER_NUMBER, &n) ||
	    config_counter_index(r->a->queue->cfg, (int)n) < 0) {
		reply_error(r->rep, BQ_ERR_UNKNOWN_COUNTER, "no counter %s", echo(digits, 8));
		return;
	}
	if (lang != NULL) {
		en = strcmp(lang, "en") == 0;
		if (!en && strcmp(lang, "zh") != 0) {
			reply_error(r->rep, BQ_ERR_INVALID_LANG, NULL);
			return;
		}
	}
	if (strcmp(dot, ".txt") == 0) {
		char zh[VOICE_TEXT_MAX], eng[VOICE_TEXT_MAX], text[2 * VOICE_TEXT_MAX + 64];
		int k;
		voice_text_zh(number, (int)n, zh, sizeof(zh));
		voice_text_en(number, (int)n, eng, sizeof(eng));
		k = snprintf(text, sizeof(text), "%s: %s\n%s%s%s%s", VOICE_ZH, zh, en ? VOICE_EN : "",
		    en ? ": " : "", en ? eng : "", en ? "\n" : "");
		if ((r->rep->raw = strdup(text)) == NULL) {
			reply_error(r->rep, BQ_ERR_INTERNAL, NULL);
			return;
		}
		r->rep->raw_owned = true;
		r->rep->raw_len = (size_t)k;
		r->rep->content_type = "text/plain; charset=utf-8";
		r->rep->status = 200;
		return;
	}
	if (r->a->voice == NULL) {
		reply_error(r->rep, BQ_ERR_VOICE_UNAVAILABLE, NULL);
		return;
	}
	/*
	 * The call the counter makes now is the hall's (whoever fetches it, the
	 * public display too) and goes first, unlimited: there are only a few.
	 * Anything else is staff's (first too, but within its share) or an
	 * anonymous client's (after them, within its share).
	 */
	if (queue_counter_state(r->a->queue, (int)n, r->req->now, &cs, &cur) == BQ_OK &&
	    cs.ticket_id != 0 && strcmp(cur.number, number) == 0) {
		from.owner = NULL;
		from.urgent = true;
	} else {
		from.owner = request_owner(r);
		from.urgent = r->who.kind != WHO_NONE;
	}
	switch (voice_lookup(r->a->voice, number, (int)n, en, &from, &wav, &len)) {
	case VOICE_READY:
		r->rep->status = 200;
		r->rep->raw = wav;
		r->rep->raw_len = len;
		r->rep->content_type = "audio/wav";
		break;
	case VOICE_PENDING:
		r->rep->pending = true;
		r->rep->status = 200;
		break;
	case VOICE_FAILED:
		reply_error(r->rep, BQ_ERR_VOICE_UNAVAILABLE, NULL);
		break;
	case VOICE_LIMITED:
		reply_error(r->rep, BQ_ERR_TOO_MANY_REQUESTS, "this client already waits for %d "
		    "calls to be synthesised; the hall's calls go first", VOICE_SHARE);
		break;
	}
}

/*
 * GET /api/v1/t/{token}: the customer's own ticket for the phone page, and
 * the branch's name: nothing about any other customer. The token is exactly
 * 32 lowercase hex digits; anything else is as unknown as a token nobody has.
 * GET /api/v1/t/{token}/events (events): the same ticket's stream.
 */
/*
 * The ticket a phone token names, into *t; false with 404 unknown_ticket
 * when the token is not 32 lowercase hex digits or nobody has it. Every
 * character of a token of the right length is looked at, and the lookup is
 * by the whole token, so the answer says nothing about other tokens.
 */
static bool
phone_ticket(struct route_ctx *r, const char *tok, struct ticket *t)
{
	bool hex = true;
	size_t i;

	for (i = 0; i <= TICKET_TOKEN_LEN && tok[i] != '\0'; i++)
		hex &= (tok[i] >= '0' && tok[i] <= '9') || (tok[i] >= 'a' && tok[i] <= 'f');
	if (!hex || i != TICKET_TOKEN_LEN) {
		reply_error(r->rep, BQ_ERR_UNKNOWN_TICKET, NULL);
		return false;
	}
	return !fail(r, queue_ticket_by_token(r->a->queue, tok, r->req->now, t));
}

/* Is t of today's business day? A phone link works on its own day only. */
static bool
phone_today(const struct route_ctx *r, const struct ticket *t)
{
	char today[11];

	date_format(bday_of(r->req->now, r->a->queue->cfg->day_reset_min), today);
	return strcmp(t->bday, today) == 0;
}

static void
get_by_token(struct route_ctx *r, bool events)
{
	const struct config *cfg = r->a->queue->cfg;
	struct ticket t;

	if (!phone_ticket(r, r->seg[3], &t))
		return;
	if (!phone_today(r, &t)) {
		/* The page says which day: the customer may hold several old tickets. */
		reply_error(r->rep, BQ_ERR_TICKET_EXPIRED, "this ticket was for %s, an earlier "
		    "business day (此号票是 %s 的，已过期)", t.bday, t.bday);
		return;
	}
	if (events) {
		get_events(r, SSE_PHONE);
		r->rep->sse_ticket = t;
		return;
	}
	{
		struct rating rt;
		int64_t until;
		bool open;

		if (fail(r, queue_phone_rating(r->a->queue, &t, r->req->now, &open, &until, &rt)))
			return;
		reply_json(r->rep, 200, json_pack("{s:o,s:{s:s,s:s,s:i},s:{s:b,s:o,s:o,s:o}}",
		    "ticket", ticket_with_pos(r, &t, false), "branch", "name_zh", cfg->name_zh,
		    "name_en", cfg->name_en, "alert_ahead", cfg->phone_alert_ahead, "rating", "open",
		    open, "key", rt.key[0] ? json_string(rt.key) : json_null(), "until",
		    open ? render_time(until) : json_null(), "keys", render_rating_keys(cfg)));
	}
}

/* A rating key of the body's "key"; -1 (reply set) when absent or unknown. */
static int
body_rating_key(struct route_ctx *r, json_t *o)
{
	const char *k;
	int key;

	if (!field_string(r, o, "key", &k, NULL))
		return -1;
	if (k == NULL || (key = rating_key_parse(k)) < 0) {
		reply_error(r->rep, BQ_ERR_INVALID_FIELD, "\"key\" is one of the keypad's keys: "
		    "very_satisfied, satisfied, neutral, dissatisfied");
		return -1;
	}
	return key;
}

/* A positive integer field (a ticket id); 0 (reply set) when absent or not one. */
static int64_t
body_id(struct route_ctx *r, json_t *o, const char *name)
{
	json_t *v = json_object_get(o, name);

	if (!json_is_integer(v) || json_integer_value(v) <= 0) {
		reply_error(r->rep, BQ_ERR_INVALID_FIELD, "\"%s\" must be a ticket id", name);
		return 0;
	}
	return json_integer_value(v);
}

/* POST /api/v1/t/{token}/rating: the customer rates the service once, from the phone. */
static void
h_phone_rating(struct route_ctx *r)
{
	static const char *const fields[] = { "key", NULL };
	struct ticket t;
	struct rating rt;
	json_t *o;
	int key;

	snprintf(r->audit_who, sizeof(r->audit_who), "%s", "phone");
	if ((o = body_object(r, fields)) == NULL)
		return;
	key = body_rating_key(r, o);
	json_decref(o);
	if (key < 0 || !phone_ticket(r, r->seg[3], &t))
		return;
	if (!phone_today(r, &t)) {
		reply_error(r->rep, BQ_ERR_TICKET_EXPIRED, NULL);
		return;
	}
	if (!fail(r, queue_rate_phone(r->a->queue, &t, key, r->req->now, &rt)))
		reply_json(r->rep, 200, json_pack("{s:o}", "rating", render_rating(&rt)));
}

/* POST /api/v1/counters/{n}/rate: 请评价, the keypad asks again for the last served. */
static void
h_counter_rate(struct route_ctx *r)
{
	static const char *const no_fields[] = { NULL };
	struct queue_prompt p;
	json_t *o;

	if ((o = body_object(r, no_fields)) == NULL)
		return;
	json_decref(o);
	if (!fail(r, queue_rating_ask(r->a->queue, r->counter, r->req->now, &p)))
		reply_json(r->rep, 200, json_pack("{s:{s:I,s:s,s:o}}", "rating", "ticket_id",
		    (json_int_t)p.ticket_id, "number", p.number, "until", render_time(p.until)));
}

/*
 * POST /api/v1/counters/{n}/rating {"ticket_id", "key"}: a press on the
 * counter's keypad; POST …/rating/shown {"ticket_id"}: the keypad shows
 * the keys (what "prompt not shown" in the report is counted against).
 */
static void
h_counter_rating(struct route_ctx *r)
{
	static const char *const press_fields[] = { "ticket_id", "key", NULL };
	static const char *const shown_fields[] = { "ticket_id", NULL };
	bool shown = r->nseg == 6;
	struct rating rt;
	int64_t id;
	json_t *o;
	int key = 0;

	if ((o = body_object(r, shown ? shown_fields : press_fields)) == NULL)
		return;
	id = body_id(r, o, "ticket_id");
	if (id != 0 && !shown)
		key = body_rating_key(r, o);
	json_decref(o);
	if (id == 0 || key < 0)
		return;
	if (shown) {
		if (!fail(r, queue_rating_shown(r->a->queue, r->counter, id, r->req->now)))
			r->rep->status = 204;
		return;
	}
	if (!fail(r, queue_rate_counter(r->a->queue, r->counter, id, key, r->req->now, &rt)))
		reply_json(r->rep, 200, json_pack("{s:o}", "rating", render_rating(&rt)));
}

/*
 * Put a no-show back in line: POST /api/v1/tickets/{id}/reinstate (the
 * lobby), or POST /api/v1/counters/{n}/reinstate {"ticket_id"} (the teller,
 * for a no-show of that counter only).
 */
static void
h_reinstate(struct route_ctx *r)
{
	static const char *const no_fields[] = { NULL };
	static const char *const counter_fields[] = { "ticket_id", NULL };
	bool at_counter = r->counter != 0;
	int64_t id = r->id;
	struct ticket t;
	json_t *o;

	if ((o = body_object(r, at_counter ? counter_fields : no_fields)) == NULL)
		return;
	if (at_counter)
		id = body_id(r, o, "ticket_id");
	json_decref(o);
	if (id == 0)
		return;
	if (at_counter) {
		if (fail(r, queue_ticket(r->a->queue, id, r->req->now, &t)))
			return;
		if (t.counter != r->counter) {
			reply_error(r->rep, BQ_ERR_FORBIDDEN, "ticket %s was not called at counter %d: "
			    "the lobby can put it back in line", t.number, r->counter);
			return;
		}
	}
	if (!fail(r, queue_reinstate(r->a->queue, id, r->req->now, &t)))
		reply_json(r->rep, 200, json_pack("{s:o}", "ticket", ticket_with_pos(r, &t, false)));
}

/* GET /api/v1/alerts: today's alerts nobody answered yet (不满意, help calls). */
static void
get_alerts(struct route_ctx *r)
{
	struct alert *v = NULL;
	json_t *list;
	int n = 0;

	if (fail(r, queue_alerts(r->a->queue, r->req->now, &v, &n)))
		return;
	list = json_array();
	for (int i = 0; list != NULL && i < n; i++)
		json_array_append_new(list, render_alert(&v[i]));
	free(v);
	reply_json(r->rep, 200, json_pack("{s:o}", "alerts", list));
}

/* POST /api/v1/alerts/{id}/ack: the lobby answered it. */
static void
h_alert_ack(struct route_ctx *r)
{
	static const char *const no_fields[] = { NULL };
	struct alert a;
	json_t *o;

	if ((o = body_object(r, no_fields)) == NULL)
		return;
	json_decref(o);
	if (!fail(r, queue_alert_ack(r->a->queue, r->id, r->req->now, &a)))
		reply_json(r->rep, 200, json_pack("{s:o}", "alert", render_alert(&a)));
}

/*
 * POST /api/v1/t/{token}/cancel: the customer leaves the queue from the
 * phone page. The token is the key, so it is public; it cancels only a
 * ticket of today that still waits (else 409), and the audit trail records
 * it as the phone's.
 */
static void
h_phone_cancel(struct route_ctx *r)
{
	static const char *const no_fields[] = { NULL };
	struct ticket t;
	json_t *o;

	snprintf(r->audit_who, sizeof(r->audit_who), "%s", "phone");
	if ((o = body_object(r, no_fields)) == NULL)
		return;
	json_decref(o);
	if (!phone_ticket(r, r->seg[3], &t))
		return;
	if (!phone_today(r, &t)) {
		reply_error(r->rep, BQ_ERR_PREVIOUS_DAY, "this ticket was for %s, an earlier "
		    "business day (此号票是 %s 的，已过期)", t.bday, t.bday);
		return;
	}
	if (t.status != TS_WAITING) {
		reply_error(r->rep, BQ_ERR_TICKET_NOT_WAITING, "only a waiting ticket can leave the "
		    "queue (此号已不在等候中)");
		return;
	}
	if (!fail(r, queue_cancel(r->a->queue, t.id, r->req->now, &t)))
		reply_json(r->rep, 200, json_pack("{s:o}", "ticket", ticket_with_pos(r, &t, false)));
}

/*
 * POST /api/v1/help: a kiosk calls the lobby manager. Nothing is issued; the
 * staff's stream carries help.called with the caller's label, so the lobby
 * page can say which kiosk, and the hall displays never hear of it.
 */
static void
h_help(struct route_ctx *r)
{
	static const char *const no_fields[] = { NULL };
	json_t *o;

	if ((o = body_object(r, no_fields)) == NULL)
		return;
	json_decref(o);
	/* A stuck or hijacked kiosk must not bury the lobby in banners: a device is paced. */
	if (r->who.kind == WHO_TOKEN && r->who.token_id != 0 &&
	    !device_paced(r, r->a->helps, API_HELP_RATE, API_HELP_BURST, &r->rep->retry_after)) {
		reply_error(r->rep, BQ_ERR_TOO_MANY_REQUESTS, "this device already called the lobby "
		    "manager; wait %u s (已呼叫大堂经理，请稍候)", r->rep->retry_after);
		return;
	}
	if (!fail(r, queue_help(r->a->queue, r->who.name, r->req->now)))
		reply_json(r->rep, 202, json_pack("{s:{s:s,s:o}}", "help", "from", r->who.name,
		    "at", render_time(r->req->now)));
}

/*
 * GET /api/v1/t/{token}/qr.svg: the phone page's link as a QR code, for a
 * kiosk to show when the paper did not print. Public as the phone page is:
 * the token is the key, and the code says only the link the token makes.
 * An SVG of one path is a few kilobytes and needs no drawing worker.
 */
static void
get_phone_qr(struct route_ctx *r)
{
	const struct config *cfg = r->a->queue->cfg;
	char url[CONFIG_URL_MAX + TICKET_TOKEN_LEN + 8];
	struct ticket t;
	struct qr code;
	size_t cap, len = 0;
	char *svg;
	int side;

	if (!phone_ticket(r, r->seg[3], &t))
		return;
	if (!phone_today(r, &t)) {
		reply_error(r->rep, BQ_ERR_TICKET_EXPIRED, NULL);
		return;
	}
	snprintf(url, sizeof(url), "%s/t/%s", cfg->public_url, t.token);
	if (qr_encode(url, &code) != 0) {
		reply_error(r->rep, BQ_ERR_INTERNAL, NULL);
		return;
	}
	side = code.width + 2 * QR_QUIET;
	/* At most one run per two modules, each "M123 123h123v1h-123z" (22 bytes at most). */
	cap = 256 + (size_t)code.width * (size_t)(code.width / 2 + 1) * 24;
	if ((svg = malloc(cap)) == NULL) {
		qr_free(&code);
		reply_error(r->rep, BQ_ERR_INTERNAL, NULL);
		return;
	}
	len += (size_t)snprintf(svg, cap, "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
	    "shape-rendering=\"crispEdges\"><rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>"
	    "<path fill=\"#000\" d=\"", side, side, side, side);
	for (int y = 0; y < code.width; y++) {
		for (int x = 0; x < code.width; ) {
			int run = 0;
			while (x + run < code.width && qr_dark(&code, x + run, y))
				run++;
			if (run == 0) {
				x++;
				continue;
			}
			len += (size_t)snprintf(svg + len, cap - len, "M%d %dh%dv1h-%dz", x + QR_QUIET,
			    y + QR_QUIET, run, run);
			x += run;
		}
	}
	len += (size_t)snprintf(svg + len, cap - len, "\"/></svg>\n");
	qr_free(&code);
	r->rep->status = 200;
	r->rep->raw = svg;
	r->rep->raw_len = len;
	r->rep->raw_owned = true;
	r->rep->content_type = "image/svg+xml";
}

/* Answer with the static file name (display/), or 404. */
static void
reply_page(struct route_ctx *r, const char *name)
{
	const struct page_file *f = r->a->pages != NULL ? pages_find(r->a->pages, name) : NULL;

	if (!method_is(r, "GET", "GET"))
		return;
	if (f == NULL) {
		reply_error(r->rep, BQ_ERR_NOT_FOUND, "%s is not installed in the pages directory",
		    echo(name, 40));
		return;
	}
	r->rep->status = 200;
	r->rep->raw = f->data;
	r->rep->raw_len = f->len;
	r->rep->content_type = f->type;
}

/* A page's 404: notfound.html in the pages' words, instead of the API's JSON error. */
static void
reply_not_found_page(struct route_ctx *r)
{
	const struct page_file *f = r->a->pages != NULL ? pages_find(r->a->pages, "notfound.html") :
	    NULL;

	if (f == NULL)
		return;                     /* the JSON error stands */
	r->rep->err = BQ_OK;
	r->rep->status = 404;
	r->rep->raw = f->data;
	r->rep->raw_len = f->len;
	r->rep->content_type = f->type;
}

/* GET /favicon.ico: the one icon, an SVG (browsers ask for it on every page). */
static void h_favicon(struct route_ctx *r) { reply_page(r, "favicon.svg"); }

/* ---- the handlers the table names ------------------------------------------------------ */

/* The number in the path's {n}, a configured counter; else 404 and false. */
static bool
path_counter(struct route_ctx *r, const char *seg, int *out)
{
	int64_t n;

	if (!parse_id(seg, MAX_COUNTER_NUMBER, &n) ||
	    config_counter_index(r->a->queue->cfg, (int)n) < 0) {
		reply_error(r->rep, BQ_ERR_UNKNOWN_COUNTER, "no counter %s", echo(seg, 8));
		return false;
	}
	*out = (int)n;
	return true;
}

static bool
path_ticket(struct route_ctx *r, const char *seg, int64_t *out)
{
	if (!parse_id(seg, INT64_MAX, out)) {
		reply_error(r->rep, BQ_ERR_UNKNOWN_TICKET, NULL);
		return false;
	}
	return true;
}

/*
 * GET /healthz: ok, degraded (200) or failing (503), with the reasons, the
 * database's errors since start, the disk and the printer (metrics.c
 * judges). Public, so it holds nothing about a customer or a staff member.
 */
static void
h_healthz(struct route_ctx *r)
{
	bool failing = false;
	json_t *body;

	if (r->a->metrics == NULL) {
		reply_json(r->rep, 200, json_pack("{s:s,s:[],s:o}", "status", "ok", "reasons",
		    "printer", r->a->printer != NULL ? printer_health(r->a->printer) : json_null()));
		return;
	}
	body = metrics_health(r->a->metrics, r->req->now, &failing);
	if (body != NULL && r->a->uplink != NULL) {
		bool trouble = false;
		json_t *u = uplink_health(r->a->uplink, &trouble);
		if (u != NULL && trouble) {
			/* The branch works without its head office: degraded, never failing. */
			char text[300];
			snprintf(text, sizeof(text), "uplink: %s", json_string_value(json_object_get(u,
			    "last_error")));
			json_array_append_new(json_object_get(body, "reasons"), json_string(text));
			if (strcmp(json_string_value(json_object_get(body, "status")), "ok") == 0)
				json_object_set_new(body, "status", json_string("degraded"));
		}
		json_object_set_new(body, "uplink", u != NULL ? u : json_null());
	}
	reply_json(r->rep, failing ? 503 : 200, body);
}

/* GET /metrics: the Prometheus text format, for a metrics token, an admin or an allowed address. */
static void
h_metrics(struct route_ctx *r)
{
	char *text;
	size_t len;

	if (r->a->metrics == NULL || (text = metrics_render(r->a->metrics, r->req->now, &len)) ==
	    NULL) {
		reply_error(r->rep, BQ_ERR_INTERNAL, NULL);
		return;
	}
	if (r->a->uplink != NULL && uplink_metrics(r->a->uplink, &text, &len) != 0) {
		free(text);
		reply_error(r->rep, BQ_ERR_INTERNAL, NULL);
		return;
	}
	r->rep->raw = text;
	r->rep->raw_len = len;
	r->rep->raw_owned = true;
	r->rep->content_type = "text/plain; version=0.0.4; charset=utf-8";
	r->rep->status = 200;
}

static void h_staff_events(struct route_ctx *r) { get_events(r, SSE_STAFF); }
static void h_display_events(struct route_ctx *r) { get_events(r, SSE_DISPLAY); }
static void h_phone(struct route_ctx *r) { get_by_token(r, false); }
static void h_phone_events(struct route_ctx *r) { get_by_token(r, true); }
static void h_range(struct route_ctx *r) { get_report(r, true); }

/* Today's figures for the lobby; any day for those who may read every report. */
static void
h_daily(struct route_ctx *r)
{
	const char *d = r->req->query != NULL ? r->req->query(r->req->query_ctx, "date") : NULL;

	if (d != NULL && !auth_may(&r->who, CAP_REPORTS, 0)) {
		char today[11];
		date_format(bday_of(r->req->now, r->a->queue->cfg->day_reset_min), today);
		if (strcmp(d, today) != 0) {
			reply_error(r->rep, BQ_ERR_FORBIDDEN, "the lobby sees today's figures only");
			return;
		}
	}
	get_report(r, false);
}

/* A plain page, named after the route's first segment. */
static void
h_page(struct route_ctx *r)
{
	char name[PAGES_NAME_MAX];

	snprintf(name, sizeof(name), "%s.html", r->nseg == 0 ? "index" : r->seg[0]);
	reply_page(r, name);
}

static void h_counter_page(struct route_ctx *r) { reply_page(r, "counter.html"); }
/* The window screen over counter n and its rating keypad: public, as the hall display is. */
static void h_window_page(struct route_ctx *r) { reply_page(r, "window.html"); }
static void h_rate_page(struct route_ctx *r) { reply_page(r, "rate.html"); }

/*
 * The phone page. It looks the token up itself and says what it finds; a
 * token nobody has gets the same page with 404, so a link checker or a
 * guesser learns nothing from the status but that this one is unknown.
 */
static void
h_phone_page(struct route_ctx *r)
{
	struct ticket t;
	bool known = phone_ticket(r, r->seg[1], &t);

	if (!known && r->rep->err != BQ_ERR_UNKNOWN_TICKET)
		return;                      /* the store failed: say so, not "unknown" */
	r->rep->err = BQ_OK;
	r->rep->message[0] = '\0';
	reply_page(r, "phone.html");
	if (!known && r->rep->status == 200)
		r->rep->status = 404;
}
static void h_asset(struct route_ctx *r) { reply_page(r, r->seg[1]); }

static void
session_json(struct route_ctx *r, unsigned status)
{
	const struct principal *p = &r->who;

	reply_json(r->rep, status, json_pack("{s:s,s:s,s:o,s:b,s:s}", "name", p->name, "role",
	    role_name(p->role), "counter", p->counter ? json_integer(p->counter) : json_null(),
	    "device", p->device, "csrf", p->csrf));
}

static void h_session(struct route_ctx *r) { session_json(r, 200); }

struct session_write {
	const char *hash;
	const struct principal *p;
	int64_t now, expires_at;
	struct auth *auth;
};

static enum bq_err
write_session(struct sqlite3 *db, void *ctx)
{
	struct session_write *w = ctx;
	enum bq_err e = auth_write_pending(w->auth, db);

	return e == BQ_OK && w->hash != NULL ? auth_write_session(db, w->hash, w->p, w->now,
	    w->expires_at) : e;
}

/* The session cookie, set (value) or cleared (NULL); under TLS Secure and __Host- (auth.h). */
static void
set_cookie(struct route_ctx *r, const char *name, const char *value, int64_t max_age)
{
	bool tls = config_tls_on(r->a->queue->cfg);

	snprintf(r->rep->set_cookie, sizeof(r->rep->set_cookie),
	    "%s%s=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%lld%s",
	    tls ? AUTH_TLS_COOKIE_PREFIX : "", name, value ? value : "",
	    value ? (long long)max_age : 0LL, tls ? "; Secure" : "");
}

static void
reply_locked(struct route_ctx *r)
{
	long long min = (long long)(r->a->queue->cfg->lockout_s + 59) / 60;

	/* At most this long: the lock began with the fifth failure, at the latest now. */
	r->rep->retry_after = (unsigned)r->a->queue->cfg->lockout_s;

	reply_error(r->rep, BQ_ERR_LOCKED, "too many failed sign-ins: this name is locked for %lld "
	    "minutes; ask the branch head if you forgot the password (登录失败次数过多，账户锁定 %lld "
	    "分钟)", min, min);
}

/*
 * POST /api/v1/session {name, password, counter}: sign in. The password is
 * checked on the auth worker (Argon2id takes a tenth of a second); while it
 * runs the request waits outside the batch, and comes back into the next one
 * to write its session.
 */
static void
h_signin(struct route_ctx *r)
{
	static const char *const fields[] = { "name", "password", "counter", NULL };
	struct auth *au = r->a->auth;
	const char *name = NULL, *pw = NULL, *addr = r->req->addr ? r->req->addr : "";
	struct signin_job job;
	struct account acc;
	bool known, ok = false, locked;
	int counter = 0;
	char key[WORK_KEY_MAX], cookie[AUTH_SECRET_HEX + 1];
	const uint8_t *out;
	size_t len;
	json_t *o = body_object(r, fields), *cj;
	enum bq_err e;

	if (au == NULL) {
		reply_error(r->rep, BQ_ERR_INTERNAL, "sign-in is not available");
		json_decref(o);
		return;
	}
	if (o == NULL)
		return;
	if (!field_string(r, o, "name", &name, NULL) || !field_string(r, o, "password", &pw, NULL))
		goto out;
	if (name == NULL || pw == NULL || name[0] == '\0' || strlen(name) >= AUTH_NAME_MAX ||
	    strlen(pw) >= sizeof(job.password)) {
		reply_error(r->rep, BQ_ERR_INVALID_FIELD, "give \"name\" and \"password\"");
		goto out;
	}
	if ((cj = json_object_get(o, "counter")) != NULL && !json_is_null(cj)) {
		int64_t n = json_is_integer(cj) ? json_integer_value(cj) : 0;
		if (n <= 0 || n > MAX_COUNTER_NUMBER ||
		    config_counter_index(r->a->queue->cfg, (int)n) < 0) {
			reply_error(r->rep, BQ_ERR_UNKNOWN_COUNTER, "\"counter\" is not a counter here");
			goto out;
		}
		counter = (int)n;
	}
	if ((e = auth_signin_allowed(au, name, addr, r->req->now)) != BQ_OK) {
		if (e == BQ_ERR_LOCKED)
			reply_locked(r);
		else
			reply_error(r->rep, e, NULL);
		goto out;
	}
	known = auth_account(au, name, &acc) && !acc.disabled;
	memset(&job, 0, sizeof(job));
	job.seq = r->req->seq;
	snprintf(job.hash, sizeof(job.hash), "%s", known ? acc.pwhash : auth_dummy_hash());
	snprintf(job.password, sizeof(job.password), "%s", pw);
	snprintf(key, sizeof(key), "signin:%llu", (unsigned long long)r->req->seq);
	switch (work_lookup(r->a->signins, key, &job, NULL, &out, &len)) {
	case WORK_PENDING:
		r->rep->pending = true;
		r->rep->status = 200;
		goto out;
	case WORK_READY:
		ok = len == 1 && out[0] == 1 && known;
		break;
	default:
		reply_error(r->rep, BQ_ERR_SIGN_IN_BUSY, NULL);
		goto out;
	}
	work_forget(r->a->signins, key);
	if (!ok) {
		auth_signin_failed(au, name, addr, r->req->now, &locked);
		r->audit_result = locked ? "locked" : "failed";
		snprintf(r->audit_who, sizeof(r->audit_who), "%s", name);
		if (locked)
			reply_locked(r);
		else
			reply_error(r->rep, BQ_ERR_SIGN_IN_FAILED, NULL);
		goto out;
	}
	if (acc.role == ROLE_TELLER) {
		const char *holder;
		if (counter == 0) {
			reply_error(r->rep, BQ_ERR_INVALID_FIELD, "a teller signs in for a counter: "
			    "give \"counter\"");
			goto out;
		}
		if ((holder = auth_counter_holder(au, counter, r->req->now, acc.id)) != NULL) {
			reply_error(r->rep, BQ_ERR_COUNTER_TAKEN, "counter %d is taken by %s: they sign out "
			    "first, or a branch head releases it (该窗口已有柜员 %s 登录)", counter,
			    echo(holder, 32), echo(holder, 32));
			goto out;
		}
	}
	auth_signin_ok(au, name);
	{
		struct principal p;
		int64_t exp;
		struct session_write w = { .p = &p, .now = r->req->now, .auth = au };
		if ((e = auth_session_new(au, &acc, counter, r->req->now, cookie, &p, &exp)) !=
		    BQ_OK || (w.hash = p.session, w.expires_at = exp,
		    (e = queue_write(r->a->queue, write_session, &w)) != BQ_OK)) {
			if (p.session[0] != '\0')
				auth_session_end(au, p.session);
			reply_error(r->rep, e, NULL);
			goto out;
		}
		r->who = p;
		set_cookie(r, AUTH_COOKIE, cookie, exp - r->req->now);
		sodium_memzero(cookie, sizeof(cookie));
		session_json(r, 201);
	}
out:
	sodium_memzero(&job, sizeof(job));
	wipe_string(o, "password");
	json_decref(o);
}

/* DELETE /api/v1/session: sign out, on the server too. A paired device forgets its cookie. */
static void
h_signout(struct route_ctx *r)
{
	struct session_write w = { .now = r->req->now, .auth = r->a->auth };

	if (r->a->auth == NULL) {
		reply_error(r->rep, BQ_ERR_INTERNAL, NULL);
		return;
	}
	if (r->who.kind == WHO_SESSION && r->who.session[0] != '\0')
		auth_session_end(r->a->auth, r->who.session);
	if (fail(r, queue_write(r->a->queue, write_session, &w)))
		return;
	set_cookie(r, r->who.kind == WHO_SESSION ? AUTH_COOKIE : AUTH_DEVICE_COOKIE, NULL, 0);
	r->rep->status = 204;
}

/* POST /api/v1/counters/{n}/release: a head ends the teller sessions held at counter n. */
static void
h_release(struct route_ctx *r)
{
	struct session_write w = { .now = r->req->now, .auth = r->a->auth };
	int n, k;

	n = r->counter;
	if (r->a->auth == NULL) {
		reply_error(r->rep, BQ_ERR_INTERNAL, NULL);
		return;
	}
	k = auth_release_counter(r->a->auth, n);
	if (fail(r, queue_write(r->a->queue, write_session, &w)))
		return;
	reply_json(r->rep, 200, json_pack("{s:i,s:i}", "counter", n, "released", k));
}

/*
 * GET /pair?token=…: a kiosk's, display's or counter device's browser keeps
 * its token in a long-lived HttpOnly cookie and goes on to its page, so the
 * token leaves the address bar and the history at once.
 */
static void
h_pair(struct route_ctx *r)
{
	const char *tok = r->req->query != NULL ? r->req->query(r->req->query_ctx, "token") : NULL;
	struct principal p;

	if (tok == NULL || r->a->auth == NULL || !auth_token(r->a->auth, tok, &p)) {
		reply_error(r->rep, BQ_ERR_UNAUTHORIZED, "this pairing link is not valid (or was "
		    "revoked): ask the branch's IT for a new one");
		return;
	}
	set_cookie(r, AUTH_DEVICE_COOKIE, tok, 366LL * 86400);
	if (p.role == ROLE_KIOSK)
		snprintf(r->rep->location, sizeof(r->rep->location), "/kiosk");
	else if (p.role == ROLE_TELLER && p.counter)
		snprintf(r->rep->location, sizeof(r->rep->location), "/counter/%d", p.counter);
	else if (p.role == ROLE_DISPLAY)
		snprintf(r->rep->location, sizeof(r->rep->location), "/display");
	else if (p.role == ROLE_KEYPAD && p.counter)
		snprintf(r->rep->location, sizeof(r->rep->location), "/rate/%d", p.counter);
	else
		snprintf(r->rep->location, sizeof(r->rep->location), "/");
	r->rep->status = 303;
	r->rep->body = json_pack("{s:s}", "location", r->rep->location);
}

struct audit_out {
	json_t *rows;                /* JSON, or */
	FILE *csv;                   /* CSV */
};

static void
audit_row(void *ctx, sqlite3_stmt *st)
{
	struct audit_out *o = ctx;
	const char *col[9];
	json_t *at = render_time(sqlite3_column_int64(st, 1));

	for (int i = 0; i < 9; i++) {
		col[i] = (const char *)sqlite3_column_text(st, i);
		if (col[i] == NULL)
			col[i] = "";
	}
	if (o->csv != NULL) {
		report_csv_cell(o->csv, col[0], true);
		report_csv_cell(o->csv, json_string_value(at), false);
		for (int i = 2; i < 9; i++)
			report_csv_cell(o->csv, col[i], false);
		fputs("\r\n", o->csv);
		json_decref(at);
		return;
	}
	json_array_append_new(o->rows, json_pack("{s:I,s:o,s:s,s:s,s:o,s:s,s:o,s:s,s:s}", "id",
	    (json_int_t)sqlite3_column_int64(st, 0), "at", at, "who", col[2], "role", col[3],
	    "counter", col[4][0] ? json_integer(sqlite3_column_int(st, 4)) : json_null(), "action",
	    col[5], "ticket", col[6][0] ? json_integer(sqlite3_column_int64(st, 6)) : json_null(),
	    "result", col[7], "address", col[8]));
}

/*
 * GET /api/v1/audit?date=YYYY-MM-DD[&format=csv]: the business day's audit
 * rows, read on auth's own connection so it never waits for a commit.
 */
static void
h_audit(struct route_ctx *r)
{
	const char *fmt = r->req->query != NULL ? r->req->query(r->req->query_ctx, "format") : NULL;
	const struct config *cfg = r->a->queue->cfg;
	struct audit_out o = { 0 };
	struct date d;
	bool given, csv = fmt != NULL && strcmp(fmt, "csv") == 0;
	int64_t from, to;
	char *text = NULL, day[11];
	size_t tl = 0;
	enum bq_err e;

	if (fmt != NULL && !csv && strcmp(fmt, "json") != 0) {
		reply_error(r->rep, BQ_ERR_INVALID_QUERY, "format must be json or csv");
		return;
	}
	if (!query_date(r, "date", &d, &given))
		return;
	if (!given)
		d = bday_of(r->req->now, cfg->day_reset_min);
	from = bday_start(d, cfg->day_reset_min);
	to = bday_start(bday_of(from + 30 * 3600, cfg->day_reset_min), cfg->day_reset_min);
	if (r->a->auth == NULL) {
		reply_error(r->rep, BQ_ERR_INTERNAL, NULL);
		return;
	}
	if (csv) {
		if ((o.csv = open_memstream(&text, &tl)) == NULL) {
			reply_error(r->rep, BQ_ERR_INTERNAL, NULL);
			return;
		}
		fputs("id,at,who,role,counter,action,ticket_id,result,address\r\n", o.csv);
	} else if ((o.rows = json_array()) == NULL) {
		reply_error(r->rep, BQ_ERR_INTERNAL, NULL);
		return;
	}
	e = auth_audit_rows(r->a->auth, from, to, audit_row, &o);
	if (o.csv != NULL)
		fclose(o.csv);
	if (e != BQ_OK || (csv && text == NULL)) {
		free(text);
		json_decref(o.rows);
		reply_error(r->rep, e != BQ_OK ? e : BQ_ERR_INTERNAL, NULL);
		return;
	}
	if (csv) {
		r->rep->raw = text;
		r->rep->raw_len = tl;
		r->rep->raw_owned = true;
		r->rep->content_type = "text/csv; charset=utf-8";
		r->rep->status = 200;
		return;
	}
	date_format(d, day);
	reply_json(r->rep, 200, json_pack("{s:s,s:o}", "date", day, "rows", o.rows));
}


bool
api_signin_run(const void *in, uint8_t **out, size_t *len)
{
	const struct signin_job *j = in;
	uint8_t *o = malloc(1);

	if (o == NULL)
		return false;
	o[0] = auth_password_verify(j->hash, j->password) ? 1 : 0;
	*out = o;
	*len = 1;
	return true;
}

/* ---- the routes ------------------------------------------------------------------------- */

/*
 * Every route, in one table: method (GET answers HEAD too), path pattern
 * ({x} is any one segment), what it needs, its handler, and the action the
 * audit trail records (NULL: not recorded). The first match wins. A path
 * that matches no pattern is 404; a method no route of its path takes is
 * 405. `branchqd routes` prints this table, and the authorization tests are
 * generated from it.
 */
static const struct route routes[] = {
	{ "GET",    "/healthz",                            CAP_PUBLIC,    h_healthz,           NULL },
	{ "GET",    "/metrics",                            CAP_METRICS,   h_metrics,           NULL },
	{ "GET",    "/api/v1/services",                    CAP_PUBLIC,    get_services,        NULL },
	{ "GET",    "/api/v1/display",                     CAP_PUBLIC,    get_display,         NULL },
	{ "GET",    "/api/v1/display/events",              CAP_PUBLIC,    h_display_events,    NULL },
	{ "GET",    "/api/v1/voice/{number}/{file}",       CAP_PUBLIC,    get_voice,           NULL },
	{ "GET",    "/api/v1/t/{token}",                   CAP_PUBLIC,    h_phone,             NULL },
	{ "GET",    "/api/v1/t/{token}/events",            CAP_PUBLIC,    h_phone_events,      NULL },
	{ "POST",   "/api/v1/t/{token}/cancel",            CAP_PUBLIC,    h_phone_cancel,      "phone-cancel" },
	{ "POST",   "/api/v1/t/{token}/rating",            CAP_PUBLIC,    h_phone_rating,      "phone-rating" },
	{ "GET",    "/api/v1/t/{token}/qr.svg",            CAP_PUBLIC,    get_phone_qr,        NULL },
	{ "GET",    "/api/v1/session",                     CAP_SIGNED_IN, h_session,           NULL },
	{ "POST",   "/api/v1/session",                     CAP_PUBLIC,    h_signin,            "sign-in" },
	{ "DELETE", "/api/v1/session",                     CAP_SIGNED_IN, h_signout,           "sign-out" },
	{ "GET",    "/api/v1/queue",                       CAP_QUEUE,     get_queue,           NULL },
	{ "GET",    "/api/v1/events",                      CAP_QUEUE,     h_staff_events,      NULL },
	{ "GET",    "/api/v1/counters",                    CAP_QUEUE,     get_counters,        NULL },
	{ "GET",    "/api/v1/counters/{n}",                CAP_QUEUE,     get_counters,        NULL },
	{ "GET",    "/api/v1/counters/{n}/next",           CAP_COUNTER,   get_counter_next,    NULL },
	{ "POST",   "/api/v1/counters/{n}/release",        CAP_RELEASE,   h_release,           "release" },
	{ "POST",   "/api/v1/counters/{n}/rate",           CAP_COUNTER,   h_counter_rate,      "rate-ask" },
	{ "POST",   "/api/v1/counters/{n}/rating",         CAP_RATE,      h_counter_rating,    "rating" },
	{ "POST",   "/api/v1/counters/{n}/rating/shown",   CAP_RATE,      h_counter_rating,    NULL },
	{ "POST",   "/api/v1/counters/{n}/reinstate",      CAP_COUNTER,   h_reinstate,         "reinstate" },
	{ "POST",   "/api/v1/counters/{n}/{action}",       CAP_COUNTER,   post_counter_action, "" },
	{ "POST",   "/api/v1/tickets",                     CAP_ISSUE,     post_ticket,         "issue" },
	{ "POST",   "/api/v1/help",                        CAP_ISSUE,     h_help,              "help" },
	{ "GET",    "/api/v1/tickets/{id}",                CAP_QUEUE,     get_ticket,          NULL },
	{ "POST",   "/api/v1/tickets/{id}/green",          CAP_TICKETS,   post_ticket_action,  "green" },
	{ "POST",   "/api/v1/tickets/{id}/cancel",         CAP_TICKETS,   post_ticket_action,  "cancel" },
	{ "POST",   "/api/v1/tickets/{id}/reprint",        CAP_TICKETS,   post_reprint,        "reprint" },
	{ "POST",   "/api/v1/tickets/{id}/reinstate",      CAP_TICKETS,   h_reinstate,         "reinstate" },
	{ "GET",    "/api/v1/alerts",                      CAP_TICKETS,   get_alerts,          NULL },
	{ "POST",   "/api/v1/alerts/{id}/ack",             CAP_TICKETS,   h_alert_ack,         "alert-ack" },
	{ "GET",    "/api/v1/tickets/{id}/ticket.png",     CAP_PREVIEW,   get_ticket_png,      NULL },
	{ "GET",    "/api/v1/reports/daily",               CAP_FIGURES,   h_daily,             NULL },
	{ "GET",    "/api/v1/reports/range",               CAP_REPORTS,   h_range,             NULL },
	{ "GET",    "/api/v1/advice",                      CAP_REPORTS,   get_advice,          NULL },
	{ "GET",    "/api/v1/advice/live",                 CAP_TICKETS,   get_live_advice,     NULL },
	{ "GET",    "/api/v1/audit",                       CAP_AUDIT,     h_audit,             NULL },
	{ "GET",    "/",                                   CAP_PUBLIC,    h_page,              NULL },
	{ "GET",    "/display",                            CAP_PUBLIC,    h_page,              NULL },
	{ "GET",    "/signin",                             CAP_PUBLIC,    h_page,              NULL },
	{ "GET",    "/pair",                               CAP_PUBLIC,    h_pair,              NULL },
	{ "GET",    "/t/{token}",                          CAP_PUBLIC,    h_phone_page,        NULL },
	{ "GET",    "/assets/{file}",                      CAP_PUBLIC,    h_asset,             NULL },
	{ "GET",    "/favicon.ico",                        CAP_PUBLIC,    h_favicon,           NULL },
	{ "GET",    "/kiosk",                              CAP_ISSUE,     h_page,              NULL },
	{ "GET",    "/lobby",                              CAP_TICKETS,   h_page,              NULL },
	{ "GET",    "/reports",                            CAP_FIGURES,   h_page,              NULL },
	{ "GET",    "/counter/{n}",                        CAP_COUNTER,   h_counter_page,      NULL },
	{ "GET",    "/window/{n}",                         CAP_PUBLIC,    h_window_page,       NULL },
	{ "GET",    "/rate/{n}",                           CAP_PUBLIC,    h_rate_page,         NULL },
};

const struct route *
api_routes(size_t *n)
{
	*n = sizeof(routes) / sizeof(routes[0]);
	return routes;
}

/* Does path (split into seg) fit pattern? */
static bool
route_fits(const char *pattern, char *const *seg, int nseg)
{
	int k = 0;
	const char *p = pattern;

	while (*p == '/')
		p++;
	while (*p != '\0') {
		size_t n = strcspn(p, "/");
		if (k == nseg)
			return false;
		if (!(p[0] == '{' && p[n - 1] == '}') &&
		    (strlen(seg[k]) != n || strncmp(seg[k], p, n) != 0))
			return false;
		k++;
		p += n;
		while (*p == '/')
			p++;
	}
	return k == nseg;
}

/* The path's segment where the route's pattern has param ("{n}"), or NULL. */
static const char *
route_param(const struct route *rt, char *const *seg, const char *param)
{
	size_t pl = strlen(param);
	int k = 0;

	for (const char *p = rt->pattern + 1; *p != '\0'; k++) {
		size_t len = strcspn(p, "/");
		if (len == pl && strncmp(p, param, pl) == 0)
			return seg[k];
		p += len;
		while (*p == '/')
			p++;
	}
	return NULL;
}

/* The counter a route's path names ({n}), or 0: what a teller's rights are judged by. */
static int
route_counter(const struct route *rt, char *const *seg)
{
	const char *n = route_param(rt, seg, "{n}");
	int64_t v;

	return n != NULL && parse_id(n, MAX_COUNTER_NUMBER, &v) ? (int)v : 0;
}

/* The path's {n} and {id}, checked into r->counter and r->id; false (and 404) when bad. */
static bool
route_params(struct route_ctx *r, const struct route *rt)
{
	const char *n = route_param(rt, r->seg, "{n}"), *id = route_param(rt, r->seg, "{id}");

	return (n == NULL || path_counter(r, n, &r->counter)) &&
	    (id == NULL || path_ticket(r, id, &r->id));
}

/* host without its ":port" (an IPv6 literal keeps its brackets), into out; false if too long. */
static bool
host_name(const char *host, size_t len, char *out, size_t outlen)
{
	const char *colon = memrchr(host, ':', len), *bracket = memrchr(host, ']', len);

	if (colon != NULL && (bracket == NULL || bracket < colon))
		len = (size_t)(colon - host);
	if (len == 0 || len >= outlen)
		return false;
	memcpy(out, host, len);
	out[len] = '\0';
	return true;
}

/*
 * Is the Host header one of the branch's names: loopback, the listen
 * address, public_url's host, or one of hosts? Only the name is judged: a
 * rebinding page chooses its port, not our name.
 */
static bool
host_allowed(const struct api *a, const char *host)
{
	const struct config *cfg = a->queue->cfg;
	const char *hosts = cfg->hosts, *pub = strstr(cfg->public_url, "://");
	char name[256], other[256];

	if (host == NULL || !host_name(host, strlen(host), name, sizeof(name)))
		return false;
	if (strcasecmp(name, "localhost") == 0 || strcmp(name, "127.0.0.1") == 0)
		return true;
	if (host_name(cfg->listen, strlen(cfg->listen), other, sizeof(other)) &&
	    strcasecmp(name, other) == 0)
		return true;
	if (pub != NULL && host_name(pub + 3, strcspn(pub + 3, "/"), other, sizeof(other)) &&
	    strcasecmp(name, other) == 0)
		return true;
	while (*(hosts += strspn(hosts, " \t,")) != '\0') {
		size_t wl = strcspn(hosts, " \t,");
		if (host_name(hosts, wl, other, sizeof(other)) && strcasecmp(name, other) == 0)
			return true;
		hosts += wl;
	}
	return false;
}

/* A cookie's change must come from the branch's own pages: its CSRF token, JSON, same Origin. */
static bool
csrf_ok(const struct route_ctx *r)
{
	const char *origin = r->req->origin, *o;

	if (r->who.kind == WHO_TOKEN && !r->who.cookie)
		return true;                 /* Authorization: Bearer: no browser sends it by itself */
	if (!is_json(r->req->content_type))
		return false;
	if (origin == NULL || (o = strstr(origin, "://")) == NULL || r->req->host == NULL ||
	    strcasecmp(o + 3, r->req->host) != 0)
		return false;
	/* Under TLS our own pages are https://: an http:// page of the same name is not ours. */
	if (config_tls_on(r->a->queue->cfg) && strncasecmp(origin, "https://", 8) != 0)
		return false;
	if (r->who.kind == WHO_NONE)
		return true;                 /* signing in: there is no session yet */
	return r->req->csrf != NULL && r->who.csrf[0] != '\0' && auth_equal(r->req->csrf, r->who.csrf);
}

static bool
is_change(const char *method)
{
	return strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0 &&
	    strcmp(method, "OPTIONS") != 0;
}

/* The ticket an answer names, for the audit trail; 0 when none. */
static int64_t
reply_ticket(const struct route_ctx *r)
{
	json_t *t = json_object_get(r->rep->body, "ticket"), *id;
	int64_t n;

	if (!json_is_object(t))
		t = r->rep->body;
	if ((id = json_object_get(t, "id")) != NULL && json_is_integer(id))
		return json_integer_value(id);
	if (r->nseg >= 4 && strcmp(r->seg[2], "tickets") == 0 && parse_id(r->seg[3], INT64_MAX, &n))
		return n;
	return 0;
}

struct audit_write {
	struct route_ctx *r;
	const char *action;
	int counter;
};

static enum bq_err
write_audit(struct sqlite3 *db, void *ctx)
{
	struct audit_write *w = ctx;
	struct route_ctx *r = w->r;
	const char *result = r->audit_result != NULL ? r->audit_result :
	    r->rep->err == BQ_OK ? "ok" : bq_err_code(r->rep->err);

	return auth_audit(db, r->req->now, &r->who, r->audit_who[0] ? r->audit_who : NULL,
	    w->action, w->counter, reply_ticket(r), result, r->req->addr);
}

/* Record what a staff member or device did (or tried: sign-in failures too). */
static void
audit(struct route_ctx *r, const struct route *rt)
{
	struct audit_write w = { .r = r, .action = rt->audit, .counter = route_counter(rt, r->seg) };
	char action[40];
	enum bq_err e;

	if (rt->audit == NULL || r->rep->pending)
		return;
	if (rt->audit[0] == '\0') {
		/* A counter's action is named by its path: "call", "pause", … */
		snprintf(action, sizeof(action), "%s", r->seg[r->nseg - 1]);
		w.action = action;
	}
	if (r->who.kind == WHO_NONE && r->audit_who[0] == '\0')
		return;                      /* nothing anonymous is a staff action */
	if ((e = queue_write(r->a->queue, write_audit, &w)) != BQ_OK && r->rep->err == BQ_OK) {
		/* An action that cannot be recorded does not stand alone... but it committed. */
		log_warnx("audit: %s by %s not recorded: %s", w.action, r->who.name, bq_err_code(e));
	}
}

static void
route(struct route_ctx *r)
{
	const struct route *rt = NULL;
	char allow[64] = "";
	size_t n;
	const struct route *table = api_routes(&n);
	const char *m = strcmp(r->req->method, "HEAD") == 0 ? "GET" : r->req->method;

	for (size_t i = 0; i < n && rt == NULL; i++) {
		if (!route_fits(table[i].pattern, r->seg, r->nseg))
			continue;
		if (strcmp(table[i].method, m) == 0) {
			rt = &table[i];
		} else if (strstr(allow, table[i].method) == NULL) {
			size_t l = strlen(allow);
			snprintf(allow + l, sizeof(allow) - l, "%s%s", l ? ", " : "", table[i].method);
		}
	}
	if (rt == NULL) {
		if (allow[0] != '\0') {
			snprintf(r->rep->allow_buf, sizeof(r->rep->allow_buf), "%s", allow);
			r->rep->allow = r->rep->allow_buf;
			reply_error(r->rep, BQ_ERR_METHOD_NOT_ALLOWED, "%s is not allowed here; use %s",
			    r->req->method, allow);
		} else {
			reply_error(r->rep, BQ_ERR_NOT_FOUND, NULL);
		}
		return;
	}
	r->rep->route = (int)(rt - table);
	if (!auth_may(&r->who, rt->cap, route_counter(rt, r->seg)) && !(rt->cap == CAP_METRICS &&
	    metrics_addr_allowed(r->a->queue->cfg, r->req->addr))) {
		if (r->who.kind == WHO_NONE) {
			/* A browser asking for a page goes to the sign-in page, and back afterwards. */
			if (strcmp(r->req->method, "GET") == 0 && strncmp(r->req->path, "/api/", 5) != 0 &&
			    rt->cap != CAP_METRICS) {
				snprintf(r->rep->location, sizeof(r->rep->location), "/signin?next=%s",
				    r->req->path);
				r->rep->status = 303;
				r->rep->body = json_pack("{s:s}", "location", r->rep->location);
				return;
			}
			reply_error(r->rep, BQ_ERR_UNAUTHORIZED, NULL);
		} else {
			reply_error(r->rep, BQ_ERR_FORBIDDEN, NULL);
		}
		return;
	}
	if (is_change(r->req->method) && !csrf_ok(r)) {
		reply_error(r->rep, BQ_ERR_CSRF, NULL);
		return;
	}
	if (!route_params(r, rt)) {
		/* A page asked for with a number that is none here is a page that says so. */
		if (strncmp(rt->pattern, "/api/", 5) != 0)
			reply_not_found_page(r);
		return;
	}
	queue_set_actor(r->a->queue, r->who.name);
	if (is_change(r->req->method) && r->a->auth != NULL && auth_has_pending(r->a->auth)) {
		struct session_write w = { .now = r->req->now, .auth = r->a->auth };
		queue_write(r->a->queue, write_session, &w);
	}
	rt->fn(r);
	audit(r, rt);
	queue_set_actor(r->a->queue, NULL);
}

void
api_handle(struct api *a, struct api_request *req, struct api_reply *rep)
{
	struct route_ctx r = { .a = a, .req = req, .rep = rep };
	char path[512], *save = NULL, *tok;

	memset(rep, 0, sizeof(*rep));
	rep->route = -1;
	if (strlen(req->path) >= sizeof(path)) {
		reply_error(rep, BQ_ERR_NOT_FOUND, NULL);
		goto out;
	}
	strcpy(path, req->path);
	for (tok = strtok_r(path, "/", &save); tok != NULL; tok = strtok_r(NULL, "/", &save)) {
		if (r.nseg == API_MAX_SEGMENTS) {
			reply_error(rep, BQ_ERR_NOT_FOUND, NULL);
			goto out;
		}
		r.seg[r.nseg++] = tok;
	}
	if (req->late) {
		reply_error(rep, BQ_ERR_SHUTTING_DOWN, NULL);
		goto out;
	}
	/* DNS rebinding: a page of another site that resolves to us names its own host. */
	if (!host_allowed(a, req->host)) {
		reply_error(rep, BQ_ERR_MISDIRECTED, NULL);
		goto out;
	}
	if (req->who != NULL)
		r.who = *req->who;
	else if (a->auth != NULL)
		auth_resolve(a->auth, req->cookie, req->authorization, req->now, &r.who);
	route(&r);
out:
	/*
	 * Whatever the body held (an ID number, a password) does not outlive the
	 * request; one that waits on a worker is read again when it comes back.
	 */
	if (req->body != NULL && !rep->pending)
		explicit_bzero(req->body, req->len);
	if (rep->status == 0)
		reply_error(rep, BQ_ERR_INTERNAL, NULL);
}

void
api_batch_begin(struct api *a)
{
	queue_batch_begin(a->queue);
}

bool
api_batch_commit(struct api *a)
{
	return queue_batch_commit(a->queue);
}

enum bq_err
api_batch_collect(struct api *a)
{
	return queue_batch_collect(a->queue);
}

int
api_commit_fd(struct api *a)
{
	return queue_commit_fd(a->queue);
}

void
api_close(struct api *a)
{
	free(a->queue_json);
	a->queue_json = NULL;
}

void
api_reply_free(struct api_reply *rep)
{
	json_decref(rep->body);
	rep->body = NULL;
	if (rep->raw_owned)
		free((void *)rep->raw);
	rep->raw = NULL;
	rep->raw_owned = false;
}
