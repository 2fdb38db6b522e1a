/*
 * api.c: the routes of /api/v1 and /healthz and their handlers.
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

#include "api.h"
#include "bday.h"
#include "log.h"
#include "render.h"
#include "report.h"
#include "report_work.h"

#define API_MAX_SEGMENTS 8

struct route_ctx {
	struct api *a;
	struct api_request *req;
	struct api_reply *rep;
	char *seg[API_MAX_SEGMENTS];
	int nseg;
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
	if (!fail(r, queue_issue(r->a->queue, &ir, r->req->now, &t)))
		reply_json(r->rep, 201, json_pack("{s:o}", "ticket", ticket_with_pos(r, &t, true)));
out:
	wipe_string(o, "id_number");
	json_decref(o);
}

static void
get_ticket(struct route_ctx *r, int64_t id)
{
	struct ticket t;

	if (!fail(r, queue_ticket(r->a->queue, id, r->req->now, &t)))
		reply_json(r->rep, 200, json_pack("{s:o}", "ticket", ticket_with_pos(r, &t, false)));
}

static void
post_ticket_action(struct route_ctx *r, int64_t id, const char *action)
{
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
post_reprint(struct route_ctx *r, int64_t id)
{
	static const char *const no_fields[] = { NULL };
	struct ticket t;
	json_t *o;

	if ((o = body_object(r, no_fields)) == NULL)
		return;
	json_decref(o);
	if (!fail(r, printer_reprint(r->a->printer, id, r->req->now, &t)))
		reply_json(r->rep, 202, json_pack("{s:o}", "ticket", ticket_with_pos(r, &t, false)));
}

/* Drawn by the preview worker: the request waits suspended, as a voice call does. */
static void
get_ticket_png(struct route_ctx *r, int64_t id)
{
	const unsigned char *png = NULL;
	size_t len = 0;
	bool pending;

	if (fail(r, printer_png(r->a->printer, id, r->req->now, &png, &len, &pending)))
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
post_counter_action(struct route_ctx *r, int number, const char *action)
{
	static const char *const transfer_fields[] = { "service", "expect", NULL };
	static const char *const ticket_fields[] = { "expect", NULL };
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
	o = body_object(r, a == CA_TRANSFER ? transfer_fields :
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

/* GET one counter (number), or all of them (number 0). */
static void
get_counters(struct route_ctx *r, int number)
{
	struct queue *q = r->a->queue;
	json_t *list, *c;

	if (number != 0) {
		if (!fail(r, counter_now(q, config_counter_index(q->cfg, number), r->req->now, &c)))
			reply_json(r->rep, 200, json_pack("{s:o}", "counter", c));
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

	if (!fail(r, queue_view_summary(r->a->queue, r->req->now, &v)))
		reply_json(r->rep, 200, render_display(r->a->queue->cfg, &v));
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
	if (r->a->reports == NULL) {
		if ((own = report_work_build(store_db(q->store), &job, &len)) == NULL) {
			reply_error(r->rep, BQ_ERR_INTERNAL, NULL);
			return;
		}
		res = own;
	} else {
		switch (work_lookup(r->a->reports, range ? "range" : "daily", &job, &out, &len)) {
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

static void
route_counters(struct route_ctx *r)
{
	int64_t n;

	if (r->nseg == 3) {
		if (method_is(r, "GET", "GET"))
			get_counters(r, 0);
		return;
	}
	if (!parse_id(r->seg[3], MAX_COUNTER_NUMBER, &n) ||
	    config_counter_index(r->a->queue->cfg, (int)n) < 0) {
		reply_error(r->rep, BQ_ERR_UNKNOWN_COUNTER, "no counter %s", echo(r->seg[3], 8));
		return;
	}
	if (r->nseg == 4) {
		if (method_is(r, "GET", "GET"))
			get_counters(r, (int)n);
	} else if (r->nseg == 5) {
		post_counter_action(r, (int)n, r->seg[4]);
	} else {
		reply_error(r->rep, BQ_ERR_NOT_FOUND, NULL);
	}
}

static void
route_tickets(struct route_ctx *r)
{
	int64_t id;

	if (r->nseg == 3) {
		if (method_is(r, "POST", "POST"))
			post_ticket(r);
		return;
	}
	if (!parse_id(r->seg[3], INT64_MAX, &id)) {
		reply_error(r->rep, BQ_ERR_UNKNOWN_TICKET, NULL);
		return;
	}
	if (r->nseg == 4) {
		if (method_is(r, "GET", "GET"))
			get_ticket(r, id);
	} else if (r->nseg == 5 && (strcmp(r->seg[4], "green") == 0 ||
	    strcmp(r->seg[4], "cancel") == 0)) {
		if (method_is(r, "POST", "POST"))
			post_ticket_action(r, id, r->seg[4]);
	} else if (r->nseg == 5 && strcmp(r->seg[4], "reprint") == 0) {
		if (method_is(r, "POST", "POST"))
			post_reprint(r, id);
	} else if (r->nseg == 5 && strcmp(r->seg[4], "ticket.png") == 0) {
		if (method_is(r, "GET", "GET"))
			get_ticket_png(r, id);
	} else {
		reply_error(r->rep, BQ_ERR_NOT_FOUND, NULL);
	}
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
		reply_error(r->rep, BQ_ERR_NOT_FOUND, "ask for {counter}.wav or {counter}.txt");
		return;
	}
	memcpy(digits, file, (size_t)(dot - file));
	digits[dot - file] = '\0';
	if (!parse_id(digits, MAX_COUNTER_NUMBER, &n) ||
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
	switch (voice_lookup(r->a->voice, number, (int)n, en, &wav, &len)) {
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
	}
}

/*
 * GET /api/v1/t/{token}: the customer's own ticket for the phone page, and
 * the branch's name: nothing about any other customer. The token is exactly
 * 32 lowercase hex digits; anything else is as unknown as a token nobody has.
 * GET /api/v1/t/{token}/events (events): the same ticket's stream.
 */
static void
get_by_token(struct route_ctx *r, bool events)
{
	const char *tok = r->seg[3];
	const struct config *cfg = r->a->queue->cfg;
	struct ticket t;
	size_t i;

	for (i = 0; tok[i] != '\0'; i++)
		if (!((tok[i] >= '0' && tok[i] <= '9') || (tok[i] >= 'a' && tok[i] <= 'f')))
			break;
	if (tok[i] != '\0' || i != TICKET_TOKEN_LEN) {
		reply_error(r->rep, BQ_ERR_UNKNOWN_TICKET, NULL);
		return;
	}
	if (fail(r, queue_ticket_by_token(r->a->queue, tok, r->req->now, &t)))
		return;
	if (events) {
		get_events(r, SSE_PHONE);
		r->rep->sse_ticket = t;
		return;
	}
	reply_json(r->rep, 200, json_pack("{s:o,s:{s:s,s:s}}", "ticket",
	    ticket_with_pos(r, &t, false), "branch", "name_zh", cfg->name_zh, "name_en",
	    cfg->name_en));
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

/* The pages: /, /display, /lobby, /kiosk, /reports, /counter/{n}, /t/{token}, /assets/{file}. */
static bool
route_pages(struct route_ctx *r)
{
	static const char *const plain[] = { "display", "lobby", "kiosk", "reports" };
	char name[PAGES_NAME_MAX];
	int64_t n;

	if (r->nseg == 0) {
		reply_page(r, "index.html");
		return true;
	}
	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		if (r->nseg == 1 && strcmp(r->seg[0], plain[i]) == 0) {
			snprintf(name, sizeof(name), "%s.html", plain[i]);
			reply_page(r, name);
			return true;
		}
	}
	if (r->nseg == 2 && strcmp(r->seg[0], "counter") == 0) {
		if (!parse_id(r->seg[1], MAX_COUNTER_NUMBER, &n) ||
		    config_counter_index(r->a->queue->cfg, (int)n) < 0)
			reply_error(r->rep, BQ_ERR_UNKNOWN_COUNTER, "no counter %s", echo(r->seg[1], 8));
		else
			reply_page(r, "counter.html");
		return true;
	}
	if (r->nseg == 2 && strcmp(r->seg[0], "t") == 0) {
		/* The page looks the token up itself, so an unknown one gets a page that says so. */
		reply_page(r, "phone.html");
		return true;
	}
	if (r->nseg == 2 && strcmp(r->seg[0], "assets") == 0) {
		reply_page(r, r->seg[1]);
		return true;
	}
	return false;
}

void
api_handle(struct api *a, struct api_request *req, struct api_reply *rep)
{
	struct route_ctx r = { .a = a, .req = req, .rep = rep };
	char path[512], *save = NULL, *tok;

	memset(rep, 0, sizeof(*rep));
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
	if (r.nseg == 1 && strcmp(r.seg[0], "healthz") == 0) {
		if (method_is(&r, "GET", "GET"))
			reply_json(rep, 200, json_pack("{s:s,s:o}", "status", "ok", "printer",
			    a->printer != NULL ? printer_health(a->printer) : json_null()));
	} else if (r.nseg >= 3 && strcmp(r.seg[0], "api") == 0 && strcmp(r.seg[1], "v1") == 0) {
		const char *what = r.seg[2];
		if (strcmp(what, "tickets") == 0) {
			route_tickets(&r);
		} else if (strcmp(what, "counters") == 0) {
			route_counters(&r);
		} else if (r.nseg == 3 && strcmp(what, "services") == 0) {
			if (method_is(&r, "GET", "GET"))
				get_services(&r);
		} else if (r.nseg == 3 && strcmp(what, "queue") == 0) {
			if (method_is(&r, "GET", "GET"))
				get_queue(&r);
		} else if (r.nseg == 3 && strcmp(what, "events") == 0) {
			if (method_is(&r, "GET", "GET"))
				get_events(&r, SSE_STAFF);
		} else if (r.nseg == 3 && strcmp(what, "display") == 0) {
			if (method_is(&r, "GET", "GET"))
				get_display(&r);
		} else if (r.nseg == 4 && strcmp(what, "display") == 0 &&
		    strcmp(r.seg[3], "events") == 0) {
			if (method_is(&r, "GET", "GET"))
				get_events(&r, SSE_DISPLAY);
		} else if (r.nseg == 4 && strcmp(what, "reports") == 0 &&
		    (strcmp(r.seg[3], "daily") == 0 || strcmp(r.seg[3], "range") == 0)) {
			if (method_is(&r, "GET", "GET"))
				get_report(&r, strcmp(r.seg[3], "range") == 0);
		} else if (r.nseg == 5 && strcmp(what, "voice") == 0) {
			if (method_is(&r, "GET", "GET"))
				get_voice(&r);
		} else if ((r.nseg == 4 || (r.nseg == 5 && strcmp(r.seg[4], "events") == 0)) &&
		    strcmp(what, "t") == 0) {
			if (method_is(&r, "GET", "GET"))
				get_by_token(&r, r.nseg == 5);
		} else {
			reply_error(rep, BQ_ERR_NOT_FOUND, NULL);
		}
	} else if (!route_pages(&r)) {
		reply_error(rep, BQ_ERR_NOT_FOUND, NULL);
	}
out:
	/* Whatever the body held (an ID number, say) does not outlive the request. */
	if (req->body != NULL)
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
