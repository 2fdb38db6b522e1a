/*
 * queue.c: the branch's operations, each one transaction over the store,
 * with the pure policy deciding who is next. See queue.h for the contract.
 *
 * Events are appended to the log inside the transaction that causes them
 * and published on the bus only after it commits, so a listener never hears
 * of a change that did not happen.
 */
#include <stdio.h>
#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <jansson.h>

#include "bday.h"
#include "hall.h"
#include "idnum.h"
#include "log.h"
#include "policy.h"
#include "queue.h"
#include "render.h"

#define TXN_MAX_EVENTS 4

/*
 * One operation's change: the events it emitted and the images of what it
 * wrote, applied to the hall in memory only once the change committed.
 */
struct txn {
	struct queue *q;
	struct bus_event ev[TXN_MAX_EVENTS];
	char *text[TXN_MAX_EVENTS];  /* each event's JSON, owned here until txn_end */
	int nev;
	struct queue_images im;
};

static const char *const action_names[CA_COUNT] = {
	[CA_CALL] = "call",
	[CA_RECALL] = "recall",
	[CA_NO_SHOW] = "no-show",
	[CA_START] = "start",
	[CA_FINISH] = "finish",
	[CA_TRANSFER] = "transfer",
	[CA_PAUSE] = "pause",
	[CA_RESUME] = "resume",
};

int
queue_action_parse(const char *s)
{
	for (int i = 0; i < CA_COUNT; i++)
		if (strcmp(action_names[i], s) == 0)
			return i;
	return -1;
}

static void
queue_today(const struct queue *q, int64_t now, char bday[11])
{
	date_format(bday_of(now, q->cfg->day_reset_min), bday);
}

/*
 * The text of an event as the log and the streams carry it: ticket t (may
 * be NULL) at counter (0: none), done by actor ("" for the daemon itself);
 * extra (may be NULL, reference stolen) adds fields. NULL when out of memory.
 */
static char *
event_text(const struct config *cfg, enum bus_type type, int64_t now, const struct ticket *t,
    int counter, const char *actor, json_t *extra)
{
	json_t *data = json_object();
	char *text = NULL;

	if (data != NULL) {
		json_object_set_new(data, "type", json_string(bus_type_name(type)));
		json_object_set_new(data, "at", render_time(now));
		if (t != NULL)
			json_object_set_new(data, "ticket", render_ticket(cfg, t, NULL, false));
		json_object_set_new(data, "counter", counter ? json_integer(counter) : json_null());
		if (extra != NULL)
			json_object_update(data, extra);
		if (actor[0] != '\0')
			json_object_set_new(data, "by", json_string(actor));
		text = json_dumps(data, JSON_COMPACT);
	}
	json_decref(extra);
	json_decref(data);
	return text;
}

/*
 * Append an event for ticket t (may be NULL) at counter (0: none) to the
 * log; extra (may be NULL, reference stolen) adds fields to its data. Who
 * did it is the account or device the API named (queue_set_actor).
 */
static enum bq_err
txn_emit(struct txn *x, enum bus_type type, int64_t now, const struct ticket *t, int counter,
    json_t *extra)
{
	char *text;
	int64_t id = 0;
	enum bq_err e;

	if (x->nev == TXN_MAX_EVENTS) {
		json_decref(extra);
		return BQ_ERR_INTERNAL;
	}
	if ((text = event_text(x->q->cfg, type, now, t, counter, x->q->actor, extra)) == NULL)
		return BQ_ERR_INTERNAL;
	e = store_event_append(x->q->store, now, bus_type_name(type), t ? t->id : 0, counter,
	    text, &id);
	if (e != BQ_OK) {
		free(text);
		return e;
	}
	x->ev[x->nev] = (struct bus_event){ .id = id, .type = type, .ticket_id = t ? t->id : 0,
	    .counter = counter, .has_ticket = t != NULL, .data = text };
	if (t != NULL)
		x->ev[x->nev].ticket = *t;
	x->text[x->nev] = text;
	x->nev++;
	return BQ_OK;
}

/* Remember the image of a leg as written; a later image of the same leg replaces it. */
static void
txn_image(struct txn *x, const struct ticket *t)
{
	for (int i = 0; i < x->im.nimg; i++) {
		if (x->im.img[i].id == t->id) {
			x->im.img[i] = *t;
			return;
		}
	}
	if (x->im.nimg == QUEUE_MAX_IMAGES)
		x->im.overflow = true;
	else
		x->im.img[x->im.nimg++] = *t;
}

/* e, the result of writing t; the image is kept only when the write held. */
static enum bq_err
txn_wrote(struct txn *x, enum bq_err e, const struct ticket *t)
{
	if (e == BQ_OK)
		txn_image(x, t);
	return e;
}

static enum bq_err
txn_insert(struct txn *x, struct ticket *t)
{
	return txn_wrote(x, store_ticket_insert(x->q->store, t), t);
}

static enum bq_err
txn_update(struct txn *x, const struct ticket *t)
{
	return txn_wrote(x, store_ticket_update(x->q->store, t), t);
}

static enum bq_err
txn_counter(struct txn *x, const struct counter_state *cs)
{
	enum bq_err e = store_counter_put(x->q->store, cs);

	if (e == BQ_OK) {
		x->im.cs = *cs;
		x->im.has_cs = true;
	}
	return e;
}

/* A committed change into the hall: legs first, then the counter with its current leg. */
static void
images_apply(struct queue *q, const struct queue_images *im)
{
	struct hall *h = q->hall;
	struct counter_state old;
	struct ticket oldcur;
	const struct ticket *cur = NULL;

	if (im->overflow) {
		hall_invalidate(h);
		return;
	}
	if (im->has_cs)
		hall_counter(h, im->cs.number, &old, &oldcur);
	for (int i = 0; i < im->nimg; i++)
		if (hall_put_ticket(h, &im->img[i]) != 0)
			return;
	if (!im->has_cs)
		return;
	for (int i = 0; i < im->nimg; i++)
		if (im->img[i].id == im->cs.ticket_id)
			cur = &im->img[i];
	if (cur == NULL && im->cs.ticket_id != 0 && old.ticket_id == im->cs.ticket_id)
		cur = &oldcur;
	hall_put_counter(h, &im->cs, cur);
}

/*
 * Events go out through one queue, in commit order: a batch's wait there
 * until its commit lands (dropped if it fails); a change made alone goes
 * out right after its commit. A subscriber may change the queue while it is
 * told of an event (the printer records a paper's state): that change's
 * events join the end of the queue instead of going out in the middle of
 * the ones before them, which a stream would take for a jump ahead. The
 * queue owns each event's data until it went out or was dropped.
 */
static int
events_push(struct queue *q, const struct bus_event *ev)
{
	if (q->npq == q->cappq) {
		int cap = q->cappq ? q->cappq * 2 : 64;
		struct bus_event *np = realloc(q->pq, (size_t)cap * sizeof(*np));

		if (np == NULL)
			return -1;
		q->pq = np;
		q->cappq = cap;
	}
	q->pq[q->npq++] = *ev;
	return 0;
}

/* Tell the subscribers every queued event, in order; nothing while a batch's commit is pending. */
static void
events_drain(struct queue *q)
{
	if (q->draining || q->batching || q->flight == FLIGHT_AIRBORNE)
		return;
	q->draining = true;
	for (int i = 0; i < q->npq; i++) {
		struct bus_event ev = q->pq[i];    /* a copy: a subscriber may grow q->pq */

		if (ev.id > q->last_event_id)
			q->last_event_id = ev.id;
		bus_publish(q->bus, &ev);
		free((char *)ev.data);
	}
	q->npq = 0;
	q->draining = false;
}

/* Forget the queued events of a batch whose commit failed. */
static void
events_drop(struct queue *q)
{
	for (int i = 0; i < q->npq; i++)
		free((char *)q->pq[i].data);
	q->npq = 0;
}

/*
 * The end of a batch's commit, whoever waited for it: on success the
 * batch's changes go into the hall again (it was rewound while the commit
 * ran) and its events are published, in order; on failure the hall already
 * holds what the database holds. Either way the batch is forgotten and its
 * result kept for queue_batch_collect.
 */
static void
flight_land(struct queue *q, enum bq_err e)
{
	/* Landed first: a subscriber that reads the queue while told must not land it again. */
	q->flight = FLIGHT_LANDED;
	q->flight_result = e;
	if (e == BQ_OK && q->hall != NULL && hall_bday(q->hall)[0] != '\0')
		for (int i = 0; i < q->nredo; i++)
			images_apply(q, &q->redo[i]);
	q->nredo = 0;
	if (e != BQ_OK)
		events_drop(q);
	events_drain(q);
}

/* Wait for a commit in flight and land it; a no-op when none flies or it landed. */
static void
flight_finish(struct queue *q)
{
	if (q->flight == FLIGHT_AIRBORNE)
		flight_land(q, store_commit_take(q->store));
}

/* Start an operation's change: its own transaction, or a savepoint in the batch's. */
static enum bq_err
txn_begin(struct txn *x)
{
	struct queue *q = x->q;

	if (!q->batching) {
		/* Alone, after the batch in flight: the hall must hold it before this one reads it. */
		flight_finish(q);
		return store_begin(q->store);
	}
	if (q->batch_err != BQ_OK)
		return q->batch_err;
	if (!q->batch_open) {
		enum bq_err e;

		if ((e = store_begin(q->store)) != BQ_OK)
			return e;
		q->batch_open = true;
		hall_journal_begin(q->hall);
	}
	return store_savepoint(q->store);
}

/* Free the texts the transaction still owns (NULL once handed to the event queue). */
static void
txn_free_events(struct txn *x)
{
	for (int i = 0; i < x->nev; i++)
		free(x->text[i]);
	x->nev = 0;
}

/* Keep a released change's images and events for the batch's commit; 0, or -1 when out of memory. */
static int
batch_keep(struct queue *q, struct txn *x)
{
	int i = 0;

	if (q->nredo == q->capredo) {
		int cap = q->capredo ? q->capredo * 2 : 16;
		struct queue_images *nr = realloc(q->redo, (size_t)cap * sizeof(*nr));

		if (nr == NULL)
			return -1;
		q->redo = nr;
		q->capredo = cap;
	}
	q->redo[q->nredo++] = x->im;
	while (i < x->nev && events_push(q, &x->ev[i]) == 0)
		x->text[i++] = NULL;               /* the text went with the event */
	return i == x->nev ? 0 : -1;
}

/*
 * End an operation's change. Alone: commit, then change the hall and publish.
 * In a batch: keep the savepoint (or undo it alone on failure), change the
 * hall so the batch's next operation sees this one, and keep the events for
 * queue_batch_end; if SQLite lost the whole transaction, the batch has failed.
 */
static enum bq_err
txn_end(struct txn *x, enum bq_err e)
{
	struct queue *q = x->q;

	if (q->batching) {
		if (e == BQ_OK)
			e = store_release(q->store);
		if (e != BQ_OK) {
			store_rollback_to(q->store);
			if (!store_in_transaction(q->store)) {
				q->batch_err = e;
				q->batch_open = false;
				hall_invalidate(q->hall);
			}
			txn_free_events(x);
			return e;
		}
		images_apply(q, &x->im);
		if (batch_keep(q, x) != 0)
			q->batch_err = BQ_ERR_INTERNAL;
		txn_free_events(x);
		return BQ_OK;
	}
	if (e == BQ_OK)
		e = store_commit(q->store);
	else
		store_rollback(q->store);
	if (e == BQ_OK) {
		images_apply(q, &x->im);
		for (int i = 0; i < x->nev; i++) {
			if (events_push(q, &x->ev[i]) == 0) {
				x->text[i] = NULL;         /* the text went with the event */
			} else {
				/* Out of memory: tell now, out of order at worst, rather than never. */
				log_warnx("queue: out of memory; event %lld published at once",
				    (long long)x->ev[i].id);
				if (x->ev[i].id > q->last_event_id)
					q->last_event_id = x->ev[i].id;
				bus_publish(q->bus, &x->ev[i]);
			}
		}
		events_drain(q);
	}
	txn_free_events(x);
	return e;
}

enum bq_err
queue_write(struct queue *q, enum bq_err (*fn)(struct sqlite3 *db, void *ctx), void *ctx)
{
	struct txn x = { .q = q };
	enum bq_err e;

	if ((e = txn_begin(&x)) != BQ_OK)
		return e;
	return txn_end(&x, fn(store_db(q->store), ctx));
}

void
queue_set_actor(struct queue *q, const char *who)
{
	snprintf(q->actor, sizeof(q->actor), "%s", who != NULL ? who : "");
}

void
queue_batch_begin(struct queue *q)
{
	flight_finish(q);
	q->flight = FLIGHT_NONE;
	q->batching = true;
	q->batch_open = false;
	q->batch_err = BQ_OK;
}

bool
queue_batch_commit(struct queue *q)
{
	enum bq_err e = q->batch_err;

	/* Subscribers that change the queue (the printer) commit on their own. */
	q->batching = false;
	q->flight = FLIGHT_AIRBORNE;
	if (!q->batch_open || e != BQ_OK) {
		if (q->batch_open)
			store_rollback(q->store);
		q->batch_open = false;
		if (q->hall != NULL)
			hall_journal_end(q->hall);
		if (e != BQ_OK && q->hall != NULL)
			hall_invalidate(q->hall);
		flight_land(q, e);
		return false;
	}
	q->batch_open = false;
	/* Readers see what has committed while the commit runs; flight_land replays the batch. */
	hall_journal_rewind(q->hall);
	if (store_commit_start(q->store))
		return true;
	flight_land(q, store_commit(q->store));
	return false;
}

enum bq_err
queue_batch_collect(struct queue *q)
{
	enum bq_err e = BQ_OK;

	flight_finish(q);
	store_commit_drain(q->store);
	if (q->flight == FLIGHT_LANDED)
		e = q->flight_result;
	q->flight = FLIGHT_NONE;
	return e;
}

enum bq_err
queue_batch_end(struct queue *q)
{
	queue_batch_commit(q);
	return queue_batch_collect(q);
}

int
queue_commit_fd(struct queue *q)
{
	return store_commit_fd(q->store);
}

static void
policy_rules_from(const struct config *cfg, struct policy_rules *r)
{
	memset(r, 0, sizeof(*r));
	for (int c = 0; c < CAT_COUNT; c++)
		r->boost_s[c] = cfg->boost_s[c];
	for (int s = 0; s < cfg->nservices; s++)
		r->overtime_s[s] = cfg->services[s].overtime_s;
}

static void
policy_counter_from(const struct counter_conf *cc, const struct counter_state *cs,
    struct policy_counter *pc)
{
	memset(pc, 0, sizeof(*pc));
	memcpy(pc->services, cc->services, sizeof(pc->services));
	pc->nservices = cc->nservices;
	pc->green = cc->green;
	pc->english = cc->english;
	pc->open = !cs->paused;
}

/*
 * The hall of the business day at now, read from the store when the day
 * turned (or memory was invalidated). Every operation and view starts here.
 */
static enum bq_err
queue_hall(struct queue *q, int64_t now)
{
	char bday[11];
	enum bq_err e;

	if (q->hall == NULL && (q->hall = hall_new()) == NULL)
		return BQ_ERR_INTERNAL;
	queue_today(q, now, bday);
	if (strcmp(hall_bday(q->hall), bday) == 0)
		return BQ_OK;
	/*
	 * Read what has committed, and with it the id of its last event: nothing
	 * in flight. Inside a batch the log holds the batch's own events, not yet
	 * published: the id stays the one published.
	 */
	flight_finish(q);
	if ((e = hall_load(q->hall, q->store, q->cfg, bday)) != BQ_OK ||
	    (!q->batch_open && (e = store_last_event_id(q->store, &q->last_event_id)) != BQ_OK)) {
		hall_invalidate(q->hall);
		log_warnx("hall: cannot read day %s from the database", bday);
	}
	return e;
}

enum bq_err
queue_expire(struct queue *q, int64_t now, int *n)
{
	struct bus_event *ev = NULL;
	struct ticket *left = NULL;
	char today[11];
	int nleft = 0, nev = 0;
	enum bq_err e;

	*n = 0;
	queue_today(q, now, today);
	if (strcmp(q->expired_through, today) == 0)
		return BQ_OK;
	assert(!q->batching);
	/* The hall holds today before rows of the days before change under it. */
	if ((e = queue_hall(q, now)) != BQ_OK)
		return e;
	flight_finish(q);
	if ((e = store_waiting_before(q->store, today, &left, &nleft)) != BQ_OK)
		return e;
	if (nleft > 0 && (ev = calloc((size_t)nleft, sizeof(*ev))) == NULL) {
		free(left);
		return BQ_ERR_INTERNAL;
	}
	if (nleft > 0 && (e = store_begin(q->store)) == BQ_OK) {
		for (int i = 0; i < nleft && e == BQ_OK; i++) {
			struct ticket *t = &left[i];
			char *text;

			t->status = TS_EXPIRED;
			t->ended_at = now;
			if ((e = store_ticket_update(q->store, t)) != BQ_OK)
				break;
			/* The day reset expires them: no account did it. */
			text = event_text(q->cfg, EV_TICKET_EXPIRED, now, t, 0, "", NULL);
			if (text == NULL) {
				e = BQ_ERR_INTERNAL;
				break;
			}
			ev[nev] = (struct bus_event){ .type = EV_TICKET_EXPIRED, .ticket_id = t->id,
			    .has_ticket = true, .ticket = *t, .data = text };
			nev++;
			e = store_event_append(q->store, now, bus_type_name(EV_TICKET_EXPIRED), t->id, 0,
			    text, &ev[nev - 1].id);
		}
		if (e == BQ_OK)
			e = store_commit(q->store);
		else
			store_rollback(q->store);
	}
	if (e == BQ_OK) {
		for (int i = 0; i < nev; i++)
			if (events_push(q, &ev[i]) == 0)
				ev[i].data = NULL;           /* the text went with the event */
		events_drain(q);
		snprintf(q->expired_through, sizeof(q->expired_through), "%s", today);
		*n = nev;
	}
	for (int i = 0; i < nev; i++)
		free((char *)ev[i].data);
	free(ev);
	free(left);
	return e;
}

/* The policy's inputs: the rules and each counter as the hall has it now. */
static void
policy_inputs(struct queue *q, struct policy_rules *rules, struct policy_counter pcs[MAX_COUNTERS])
{
	const struct config *cfg = q->cfg;

	policy_rules_from(cfg, rules);
	for (int i = 0; i < cfg->ncounters; i++) {
		struct counter_state cs;
		struct ticket cur;

		hall_counter(q->hall, cfg->counters[i].number, &cs, &cur);
		policy_counter_from(&cfg->counters[i], &cs, &pcs[i]);
	}
}

/* Pick the next ticket for counter index ci; *found is false when none waits. */
static void
pick_next(struct queue *q, int ci, int64_t now, struct ticket *out, bool *found)
{
	const struct config *cfg = q->cfg;
	struct policy_counter pcs[MAX_COUNTERS];
	struct policy_rules rules;
	const struct ticket *t;

	policy_inputs(q, &rules, pcs);
	t = hall_next(q->hall, cfg, &rules, pcs, ci, now);
	*found = t != NULL;
	if (t != NULL)
		*out = *t;
}

enum bq_err
queue_next(struct queue *q, int number, int64_t now, struct ticket *out, int max, int *n)
{
	const struct config *cfg = q->cfg;
	const struct ticket *pick[QUEUE_NEXT_MAX];
	struct policy_counter pcs[MAX_COUNTERS];
	struct policy_rules rules;
	int ci = config_counter_index(cfg, number);
	enum bq_err e;

	*n = 0;
	if (ci < 0)
		return BQ_ERR_UNKNOWN_COUNTER;
	if ((e = queue_hall(q, now)) != BQ_OK)
		return e;
	policy_inputs(q, &rules, pcs);
	*n = hall_next_n(q->hall, cfg, &rules, pcs, ci, now, pick,
	    max < QUEUE_NEXT_MAX ? max : QUEUE_NEXT_MAX);
	for (int i = 0; i < *n; i++)
		out[i] = *pick[i];
	return BQ_OK;
}

enum bq_err
queue_legs(struct queue *q, const struct ticket *t, struct ticket **out, int *n)
{
	*out = NULL;
	*n = 0;
	/* A ticket never transferred is its only leg: nothing to read. */
	if (t->origin_id == t->id) {
		if ((*out = malloc(sizeof(**out))) == NULL)
			return BQ_ERR_INTERNAL;
		**out = *t;
		*n = 1;
		return BQ_OK;
	}
	return store_ticket_legs(q->store, t->token, out, n);
}

static enum bq_err
random_token(char out[TICKET_TOKEN_LEN + 1])
{
	unsigned char raw[TICKET_TOKEN_LEN / 2];
	static const char hex[] = "0123456789abcdef";

	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw)) {
		log_warn("getrandom");
		return BQ_ERR_INTERNAL;
	}
	for (size_t i = 0; i < sizeof(raw); i++) {
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 15];
	}
	out[TICKET_TOKEN_LEN] = '\0';
	return BQ_OK;
}

enum bq_err
queue_issue(struct queue *q, const struct issue_req *r, int64_t now, struct ticket *out)
{
	const struct config *cfg = q->cfg;
	const struct service_conf *svc = &cfg->services[r->service];
	struct date today = bday_of(now, cfg->day_reset_min);
	struct txn x = { .q = q };
	struct ticket t;
	int category = r->category, seq;
	enum bq_err e;

	memset(&t, 0, sizeof(t));
	if (r->id_number != NULL) {
		struct idnum_info info;
		if (idnum_parse(r->id_number, r->id_len, today, &info) != 0)
			return BQ_ERR_INVALID_ID_NUMBER;
		/* A green category the lobby manager chose stands; the ID only adds one. */
		if (category <= CAT_NORMAL) {
			if (info.kind == IDNUM_FOREIGN_PR)
				category = CAT_FOREIGN;
			else if (idnum_age_on(info.birth, today) >= cfg->elderly_age)
				category = CAT_ELDERLY;
		}
	}
	t.category = category < 0 ? CAT_NORMAL : (enum category)category;
	t.lang = r->lang >= 0 ? (enum lang)r->lang : t.category == CAT_FOREIGN ? LANG_EN : LANG_ZH;
	t.status = TS_WAITING;
	/* Queued with the ticket, in its transaction: a crash before printing still prints it at start. */
	t.print_state = cfg->printer.queue[0] != '\0' ? PS_QUEUED : PS_NONE;
	t.issued_at = t.created_at = now;
	date_format(today, t.bday);
	snprintf(t.service, sizeof(t.service), "%s", svc->id);
	if ((e = random_token(t.token)) != BQ_OK)
		return e;

	if ((e = queue_hall(q, now)) != BQ_OK || (e = txn_begin(&x)) != BQ_OK)
		return e;
	if ((e = store_next_seq(q->store, t.bday, t.service, &seq)) == BQ_OK) {
		snprintf(t.number, sizeof(t.number), "%s%03d", t.service, seq);
		if ((e = txn_insert(&x, &t)) == BQ_OK)
			e = txn_emit(&x, EV_TICKET_ISSUED, now, &t, 0, NULL);
	}
	if ((e = txn_end(&x, e)) == BQ_OK)
		*out = t;
	return e;
}

/* Counter index ci's keypad asks the customer of leg t to rate the service, from now. */
static void
prompt_open(struct queue *q, int ci, const struct ticket *t, int64_t now)
{
	struct queue_prompt *p = &q->prompt[ci];

	p->ticket_id = t->id;
	p->origin_id = t->origin_id;
	snprintf(p->number, sizeof(p->number), "%s", t->number);
	p->lang = t->lang;
	p->until = now + q->cfg->rating.window_s;
	p->shown = false;
}

/* End the current ticket cur at counter state cs with status st, and say so. */
static enum bq_err
end_current(struct txn *x, struct counter_state *cs, struct ticket *cur,
    enum ticket_status st, enum bus_type ev, int64_t now)
{
	struct queue *q = x->q;
	int ci = config_counter_index(q->cfg, cs->number);
	enum bq_err e;

	cur->status = st;
	cur->ended_at = now;
	cs->ticket_id = 0;
	if ((e = txn_update(x, cur)) != BQ_OK)
		return e;
	/* Served: the keypad asks at once, before the event's frames are drawn. */
	if (st == TS_SERVED && ci >= 0) {
		prompt_open(q, ci, cur, now);
		q->served[ci] = (struct queue_served){ .ticket_id = cur->id, .ended_at = now };
		snprintf(q->served[ci].teller, sizeof(q->served[ci].teller), "%s", q->actor);
	}
	return txn_emit(x, ev, now, cur, cs->number, NULL);
}

/*
 * The next leg of ticket leg `from` into *leg: the same number, token,
 * origin and issue time, waiting from now, not yet called (a transfer and a
 * reinstatement both begin one; the caller changes what differs).
 */
static void
leg_next(const struct ticket *from, int64_t now, struct ticket *leg)
{
	*leg = *from;
	leg->id = 0;
	leg->status = TS_WAITING;
	leg->created_at = now;
	leg->called_at = leg->recalled_at = leg->started_at = leg->ended_at = 0;
	leg->counter = 0;
	leg->recalls = 0;
	leg->transferred_to = 0;
}

/* Move cur to service svc as a new waiting leg with the same number and issue time. */
static enum bq_err
transfer(struct txn *x, struct counter_state *cs, struct ticket *cur, int svc, int64_t now,
    struct ticket *leg)
{
	const struct config *cfg = x->q->cfg;
	json_t *from;
	enum bq_err e;

	char today[11];

	if (strcmp(cur->service, cfg->services[svc].id) == 0)
		return BQ_ERR_SAME_SERVICE;
	/* Its number may already be today's too: two customers would answer one call. */
	queue_today(x->q, now, today);
	if (strcmp(cur->bday, today) != 0)
		return BQ_ERR_PREVIOUS_DAY;
	leg_next(cur, now, leg);
	snprintf(leg->service, sizeof(leg->service), "%s", cfg->services[svc].id);
	if ((e = txn_insert(x, leg)) != BQ_OK)
		return e;
	cur->status = TS_TRANSFERRED;
	cur->ended_at = now;
	cur->transferred_to = leg->id;
	cs->ticket_id = 0;
	if ((e = txn_update(x, cur)) != BQ_OK)
		return e;
	from = json_pack("{s:{s:I,s:s}}", "from", "id", (json_int_t)cur->id, "service",
	    cur->service);
	return txn_emit(x, EV_TICKET_TRANSFERRED, now, leg, cs->number, from);
}

enum bq_err
queue_counter_state(struct queue *q, int number, int64_t now, struct counter_state *cs,
    struct ticket *cur)
{
	enum bq_err e = queue_hall(q, now);

	if (e == BQ_OK)
		hall_counter(q->hall, number, cs, cur);
	return e;
}

static enum bq_err
counter_step(struct txn *x, int ci, enum counter_action a, int svc, int64_t expect, int64_t now,
    struct counter_state *cs, struct ticket *out, bool *has_ticket)
{
	struct queue *q = x->q;
	struct ticket cur;
	bool has_cur;
	enum bq_err e;

	hall_counter(q->hall, cs->number, cs, &cur);
	has_cur = cs->ticket_id != 0;
	if (expect != QUEUE_EXPECT_ANY && expect != (has_cur ? cur.id : 0))
		return BQ_ERR_COUNTER_CHANGED;

	switch (a) {
	case CA_CALL:
		if (cs->paused)
			return BQ_ERR_COUNTER_PAUSED;
		/* Recalled and never started: the customer may never have come. */
		if (has_cur && cur.status == TS_CALLED && cur.recalls > 0 && svc == QUEUE_OUTCOME_ASK)
			return BQ_ERR_OUTCOME_NEEDED;
		if (has_cur && cur.status == TS_CALLED && cur.recalls > 0 && svc == TS_NO_SHOW)
			e = end_current(x, cs, &cur, TS_NO_SHOW, EV_TICKET_NO_SHOW, now);
		else
			e = has_cur ? end_current(x, cs, &cur, TS_SERVED, EV_TICKET_SERVED, now) : BQ_OK;
		if (e != BQ_OK)
			return e;
		pick_next(q, ci, now, out, has_ticket);
		if (!*has_ticket)
			return BQ_OK;
		out->status = TS_CALLED;
		if (out->called_at == 0)
			out->called_at = now;
		out->counter = cs->number;
		cs->ticket_id = out->id;
		if ((e = txn_update(x, out)) != BQ_OK)
			return e;
		return txn_emit(x, EV_TICKET_CALLED, now, out, cs->number, NULL);
	case CA_PAUSE:
	case CA_RESUME:
		if (a == CA_PAUSE && cs->paused)
			return BQ_ERR_COUNTER_PAUSED;
		if (a == CA_RESUME && !cs->paused)
			return BQ_ERR_COUNTER_NOT_PAUSED;
		cs->paused = a == CA_PAUSE;
		cs->paused_at = a == CA_PAUSE ? now : 0;
		if (has_cur) {
			*out = cur;
			*has_ticket = true;
		}
		return txn_emit(x, a == CA_PAUSE ? EV_COUNTER_PAUSED : EV_COUNTER_RESUMED, now,
		    NULL, cs->number, NULL);
	default:
		break;
	}

	if (!has_cur)
		return BQ_ERR_NO_CURRENT_TICKET;
	*has_ticket = true;
	switch (a) {
	case CA_RECALL:
		if (cur.status != TS_CALLED)
			return BQ_ERR_NOT_CALLED;
		if (cur.recalls >= q->cfg->recalls) {
			e = end_current(x, cs, &cur, TS_NO_SHOW, EV_TICKET_NO_SHOW, now);
		} else {
			cur.recalls++;
			cur.recalled_at = now;
			if ((e = txn_update(x, &cur)) == BQ_OK)
				e = txn_emit(x, EV_TICKET_RECALLED, now, &cur, cs->number, NULL);
		}
		break;
	case CA_NO_SHOW:
		if (cur.status != TS_CALLED)
			return BQ_ERR_NOT_CALLED;
		e = end_current(x, cs, &cur, TS_NO_SHOW, EV_TICKET_NO_SHOW, now);
		break;
	case CA_START:
		if (cur.status != TS_CALLED)
			return BQ_ERR_NOT_CALLED;
		cur.status = TS_SERVING;
		cur.started_at = now;
		if ((e = txn_update(x, &cur)) == BQ_OK)
			e = txn_emit(x, EV_TICKET_SERVING, now, &cur, cs->number, NULL);
		break;
	case CA_FINISH:
		e = end_current(x, cs, &cur, TS_SERVED, EV_TICKET_SERVED, now);
		break;
	case CA_TRANSFER:
		return transfer(x, cs, &cur, svc, now, out);
	default:
		return BQ_ERR_INTERNAL;
	}
	*out = cur;
	return e;
}

enum bq_err
queue_counter(struct queue *q, int number, enum counter_action a, int service, int64_t expect,
    int64_t now, struct ticket *out, bool *has_ticket)
{
	struct txn x = { .q = q };
	struct counter_state cs = { .number = number };
	int ci = config_counter_index(q->cfg, number);
	enum bq_err e;

	*has_ticket = false;
	if (ci < 0)
		return BQ_ERR_UNKNOWN_COUNTER;
	if (a == CA_TRANSFER && (service < 0 || service >= q->cfg->nservices))
		return BQ_ERR_UNKNOWN_SERVICE;
	if ((e = queue_hall(q, now)) != BQ_OK || (e = txn_begin(&x)) != BQ_OK)
		return e;
	e = counter_step(&x, ci, a, service, expect, now, &cs, out, has_ticket);
	if (e == BQ_OK)
		e = txn_counter(&x, &cs);
	e = txn_end(&x, e);
	if (e != BQ_OK)
		*has_ticket = false;
	return e;
}

/*
 * Change a waiting ticket inside one transaction: cancel it, or make it
 * green. id may name an earlier leg of a transferred ticket: the lobby holds
 * the id it issued, so the change follows the ticket to its open leg.
 */
static enum bq_err
waiting_change(struct queue *q, int64_t id, int cat, int lang, int64_t now, struct ticket *out)
{
	struct txn x = { .q = q };
	const struct ticket *w;
	enum bq_err e;

	if ((e = queue_hall(q, now)) != BQ_OK || (e = txn_begin(&x)) != BQ_OK)
		return e;
	if ((w = hall_waiting(q->hall, id)) != NULL) {
		*out = *w;
	} else {
		/* Not waiting today: the store says why, or finds the leg it went on as. */
		e = store_ticket_get(q->store, id, out);
		while (e == BQ_OK && (out->status == TS_TRANSFERRED || out->status == TS_NO_SHOW) &&
		    out->transferred_to > out->id)
			e = store_ticket_get(q->store, out->transferred_to, out);
	}
	if (e == BQ_OK) {
		if (out->status != TS_WAITING) {
			e = BQ_ERR_TICKET_NOT_WAITING;
		} else if (cat < 0) {
			out->status = TS_CANCELLED;
			out->ended_at = now;
			if ((e = txn_update(&x, out)) == BQ_OK)
				e = txn_emit(&x, EV_TICKET_CANCELLED, now, out, 0, NULL);
		} else {
			out->category = (enum category)cat;
			if (lang >= 0)
				out->lang = (enum lang)lang;
			else if (cat == CAT_FOREIGN)
				out->lang = LANG_EN;
			if ((e = txn_update(&x, out)) == BQ_OK)
				e = txn_emit(&x, EV_TICKET_GREEN, now, out, 0, NULL);
		}
	}
	return txn_end(&x, e);
}

enum bq_err
queue_set_print(struct queue *q, int64_t id, enum print_state st, const char *error, int64_t now,
    struct ticket *out)
{
	struct txn x = { .q = q };
	struct ticket leg;
	enum bq_err e;

	if ((e = queue_hall(q, now)) != BQ_OK || (e = txn_begin(&x)) != BQ_OK)
		return e;
	if ((e = store_print_set(q->store, id, st, error)) == BQ_OK &&
	    (e = store_ticket_get(q->store, id, out)) == BQ_OK)
		e = txn_emit(&x, EV_TICKET_PRINT, now, out, 0, NULL);
	/* Every later leg shows the same paper: the hall gets each one as it now reads. */
	for (leg = *out; e == BQ_OK; ) {
		txn_image(&x, &leg);
		if (leg.transferred_to <= leg.id)
			break;
		e = store_ticket_get(q->store, leg.transferred_to, &leg);
	}
	return txn_end(&x, e);
}

enum bq_err
queue_help(struct queue *q, const char *from, int64_t now)
{
	struct txn x = { .q = q };
	enum bq_err e;

	if ((e = txn_begin(&x)) != BQ_OK)
		return e;
	e = txn_emit(&x, EV_HELP_CALLED, now, NULL, 0,
	    json_pack("{s:s}", "from", from != NULL ? from : ""));
	if (e == BQ_OK) {
		struct alert a = { .id = x.ev[x.nev - 1].id, .kind = "help", .at = now };

		queue_today(q, now, a.bday);
		snprintf(a.from, sizeof(a.from), "%s", from != NULL ? from : "");
		e = store_alert_insert(q->store, &a);
	}
	return txn_end(&x, e);
}

enum bq_err
queue_advice(struct queue *q, bool open, json_t *data, int64_t now)
{
	struct txn x = { .q = q };
	enum bq_err e;

	if ((e = txn_begin(&x)) != BQ_OK) {
		json_decref(data);
		return e;
	}
	e = txn_emit(&x, open ? EV_ADVICE_OPEN : EV_ADVICE_CLEARED, now, NULL, 0, data);
	return txn_end(&x, e);
}

enum bq_err
queue_cancel(struct queue *q, int64_t id, int64_t now, struct ticket *out)
{
	return waiting_change(q, id, -1, -1, now, out);
}

enum bq_err
queue_green(struct queue *q, int64_t id, int cat, int lang, int64_t now, struct ticket *out)
{
	if (cat <= CAT_NORMAL || cat >= CAT_COUNT)
		return BQ_ERR_INVALID_CATEGORY;
	return waiting_change(q, id, cat, lang, now, out);
}

void
queue_view_free(struct queue_view *v)
{
	free(v->waiting);
	free(v->pos);
	for (int s = 0; s < MAX_SERVICES; s++)
		free(v->order[s]);
	memset(v, 0, sizeof(*v));
}

/* Open counters that serve each service, from the hall's counter states. */
static void
open_counters(struct queue *q, int open[MAX_SERVICES])
{
	const struct config *cfg = q->cfg;

	memset(open, 0, MAX_SERVICES * sizeof(open[0]));
	for (int i = 0; i < cfg->ncounters; i++) {
		struct counter_state cs;
		struct ticket cur;

		hall_counter(q->hall, cfg->counters[i].number, &cs, &cur);
		for (int j = 0; j < cfg->counters[i].nservices && !cs.paused; j++)
			open[cfg->counters[i].services[j]]++;
	}
}

/*
 * The time per customer an estimate assumes: the day's average, but never
 * under half the configured service time, so a few customers served in
 * seconds (a wrong tap, a question at the counter) do not tell the next
 * one that five people ahead take under a minute. The configured time
 * itself until the day has a history.
 */
static int64_t
service_avg(struct queue *q, int s)
{
	int64_t avg = hall_avg_service_s(q->hall, q->cfg->services[s].id);
	int64_t conf = q->cfg->services[s].service_time_s, least = (conf + 1) / 2;

	if (avg <= 0)
		return conf;
	return avg > least ? avg : least;
}

/* The index of ticket id in w[0..n) (in id order), or -1. */
static int
find_by_id(const struct ticket *w, int n, int64_t id)
{
	int lo = 0, hi = n;

	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;
		if (w[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && w[lo].id == id ? lo : -1;
}

enum bq_err
queue_version(struct queue *q, int64_t now, uint64_t *version)
{
	enum bq_err e = queue_hall(q, now);

	*version = e == BQ_OK ? hall_version(q->hall) : 0;
	return e;
}

enum bq_err
queue_ticket(struct queue *q, int64_t id, int64_t now, struct ticket *out)
{
	const struct ticket *t;
	enum bq_err e;

	if ((e = queue_hall(q, now)) != BQ_OK)
		return e;
	if ((t = hall_ticket(q->hall, id)) == NULL)
		return store_ticket_get(q->store, id, out);
	*out = *t;
	return BQ_OK;
}

enum bq_err
queue_ticket_by_token(struct queue *q, const char *token, int64_t now, struct ticket *out)
{
	const struct ticket *t;
	enum bq_err e;

	if ((e = queue_hall(q, now)) != BQ_OK)
		return e;
	if ((t = hall_ticket_by_token(q->hall, token)) == NULL)
		return store_ticket_by_token(q->store, token, out);
	*out = *t;
	return BQ_OK;
}

enum bq_err
queue_view_summary(struct queue *q, int64_t now, struct queue_view *v)
{
	const struct config *cfg = q->cfg;
	enum bq_err e;

	memset(v, 0, sizeof(*v));
	if ((e = queue_hall(q, now)) != BQ_OK)
		return e;
	queue_today(q, now, v->bday);
	v->at = now;
	v->last_event_id = q->last_event_id;
	for (int i = 0; i < cfg->ncounters; i++) {
		const char *who;

		hall_counter(q->hall, cfg->counters[i].number, &v->counters[i], &v->current[i]);
		if (q->prompt[i].ticket_id != 0 && now < q->prompt[i].until)
			v->prompt[i] = q->prompt[i];
		if (cfg->show_staff_number && q->holder != NULL &&
		    (who = q->holder(q->holder_arg, cfg->counters[i].number, now)) != NULL)
			snprintf(v->teller[i], sizeof(v->teller[i]), "%s", who);
	}
	open_counters(q, v->open_counters);
	for (int s = 0; s < cfg->nservices; s++)
		v->count[s] = hall_count(q->hall, cfg->services[s].id);
	return BQ_OK;
}

enum bq_err
queue_view_load(struct queue *q, int64_t now, struct queue_view *v)
{
	const struct config *cfg = q->cfg;
	struct policy_rules rules;
	const struct ticket **tmp = NULL;
	enum bq_err e;

	if ((e = queue_view_summary(q, now, v)) != BQ_OK)
		return e;
	if (hall_waiting_copy(q->hall, &v->waiting, &v->nwaiting) != 0)
		return BQ_ERR_INTERNAL;
	v->pos = calloc((size_t)v->nwaiting + 1, sizeof(*v->pos));
	tmp = calloc((size_t)v->nwaiting + 1, sizeof(*tmp));
	if (v->pos == NULL || tmp == NULL) {
		e = BQ_ERR_INTERNAL;
		goto out;
	}
	for (int i = 0; i < v->nwaiting; i++)
		v->pos[i].ahead = v->pos[i].estimated_wait_s = -1;
	policy_rules_from(cfg, &rules);
	for (int s = 0; s < cfg->nservices; s++) {
		int64_t avg = service_avg(q, s);
		int n = hall_order(q->hall, cfg, &rules, s, now, tmp);

		if ((v->order[s] = calloc((size_t)n + 1, sizeof(int))) == NULL) {
			e = BQ_ERR_INTERNAL;
			goto out;
		}
		for (int j = 0; j < n; j++) {
			int w = find_by_id(v->waiting, v->nwaiting, tmp[j]->id);
			/* A held ticket is listed last but called after its calls to go (hall.h). */
			int ahead = tmp[j]->due_call > hall_calls(q->hall, tmp[j]->service) ?
			    hall_ahead(q->hall, cfg, &rules, tmp[j], now) : j;

			v->order[s][j] = w;
			v->pos[w].ahead = ahead;
			v->pos[w].estimated_wait_s = policy_estimate_wait(ahead, avg, v->open_counters[s]);
		}
		v->count[s] = n;
	}
out:
	free(tmp);
	return e;
}

enum bq_err
queue_positions(struct queue *q, const struct ticket *t, int n, int64_t now,
    struct ticket_pos *pos)
{
	struct policy_rules rules;
	int open[MAX_SERVICES];
	enum bq_err e;

	for (int k = 0; k < n; k++)
		pos[k].ahead = pos[k].estimated_wait_s = -1;
	if ((e = queue_hall(q, now)) != BQ_OK)
		return e;
	policy_rules_from(q->cfg, &rules);
	open_counters(q, open);
	for (int k = 0; k < n; k++) {
		int s = config_service_index(q->cfg, t[k].service);
		int ahead = s >= 0 ? hall_ahead(q->hall, q->cfg, &rules, &t[k], now) : -1;

		if (ahead < 0)
			continue;
		pos[k].ahead = ahead;
		pos[k].estimated_wait_s = policy_estimate_wait(ahead, service_avg(q, s), open[s]);
	}
	return BQ_OK;
}

enum bq_err
queue_position(struct queue *q, const struct ticket *t, int64_t now, struct ticket_pos *pos)
{
	return queue_positions(q, t, 1, now, pos);
}

enum bq_err
queue_sync_counters(struct queue *q)
{
	for (int i = 0; i < q->cfg->ncounters; i++) {
		enum bq_err e = store_counter_ensure(q->store, q->cfg->counters[i].number);
		if (e != BQ_OK)
			return e;
	}
	/* The counters or services may have changed: read the hall again at the next use. */
	if (q->hall != NULL)
		hall_invalidate(q->hall);
	return BQ_OK;
}

void
queue_close(struct queue *q)
{
	flight_finish(q);
	q->flight = FLIGHT_NONE;
	events_drop(q);
	hall_free(q->hall);
	q->hall = NULL;
	free(q->redo);
	q->redo = NULL;
	q->capredo = 0;
	free(q->pq);
	q->pq = NULL;
	q->cappq = 0;
}

enum bq_err
queue_reinstate(struct queue *q, int64_t id, int64_t now, struct ticket *out)
{
	const struct config *cfg = q->cfg;
	struct txn x = { .q = q };
	struct ticket old;
	char today[11];
	enum bq_err e;

	if ((e = queue_hall(q, now)) != BQ_OK || (e = txn_begin(&x)) != BQ_OK)
		return e;
	queue_today(q, now, today);
	if ((e = store_ticket_get(q->store, id, &old)) != BQ_OK)
		goto out;
	if (strcmp(old.bday, today) != 0)
		e = BQ_ERR_TICKET_EXPIRED;
	else if (old.status != TS_NO_SHOW || old.transferred_to != 0)
		e = BQ_ERR_NOT_NO_SHOW;
	else if (old.reinstated >= cfg->reinstate_max)
		e = BQ_ERR_REINSTATE_LIMIT;
	if (e != BQ_OK)
		goto out;
	leg_next(&old, now, out);
	out->reinstated = old.reinstated + 1;
	/* Held for the next reinstate_places calls of its service (none: first at once). */
	out->due_call = cfg->reinstate_places > 0 ?
	    hall_calls(q->hall, old.service) + cfg->reinstate_places : 0;
	if ((e = txn_insert(&x, out)) != BQ_OK)
		goto out;
	old.transferred_to = out->id;
	if ((e = txn_update(&x, &old)) != BQ_OK)
		goto out;
	e = txn_emit(&x, EV_TICKET_REINSTATED, now, out, 0, json_pack("{s:I,s:i}", "from",
	    (json_int_t)old.id, "places", cfg->reinstate_places));
out:
	return txn_end(&x, e);
}

enum bq_err
queue_rating_ask(struct queue *q, int number, int64_t now, struct queue_prompt *out)
{
	int ci = config_counter_index(q->cfg, number);
	struct txn x = { .q = q };
	struct ticket leg;
	struct rating r;
	enum bq_err e;

	if (ci < 0)
		return BQ_ERR_UNKNOWN_COUNTER;
	if (q->served[ci].ticket_id == 0 || now - q->served[ci].ended_at > 600 ||
	    now < q->served[ci].ended_at)
		return BQ_ERR_NOTHING_TO_RATE;
	if ((e = txn_begin(&x)) != BQ_OK)
		return e;
	if ((e = store_ticket_get(q->store, q->served[ci].ticket_id, &leg)) == BQ_OK &&
	    leg.status != TS_SERVED)
		e = BQ_ERR_NOTHING_TO_RATE;
	if (e == BQ_OK) {
		e = store_rating_get(q->store, leg.origin_id, &r);
		e = e == BQ_OK ? BQ_ERR_NOTHING_TO_RATE : e == BQ_ERR_NOT_FOUND ? BQ_OK : e;
	}
	if (e == BQ_OK) {
		/* Before the event: its display frame carries the prompt. */
		prompt_open(q, ci, &leg, now);
		*out = q->prompt[ci];
		e = txn_emit(&x, EV_RATING_ASKED, now, &leg, number, json_pack("{s:o}", "until",
		    render_time(q->prompt[ci].until)));
	}
	return txn_end(&x, e);
}

/* Counter index ci's prompt, when it is open at now for leg ticket_id; else NULL. */
static struct queue_prompt *
prompt_for(struct queue *q, int ci, int64_t ticket_id, int64_t now)
{
	struct queue_prompt *p = ci >= 0 ? &q->prompt[ci] : NULL;

	if (p == NULL || p->ticket_id == 0 || p->ticket_id != ticket_id || now >= p->until)
		return NULL;
	return p;
}

enum bq_err
queue_rating_shown(struct queue *q, int number, int64_t ticket_id, int64_t now)
{
	int ci = config_counter_index(q->cfg, number);
	struct queue_prompt *p;
	struct txn x = { .q = q };
	struct ticket leg;
	enum bq_err e;

	if (ci < 0)
		return BQ_ERR_UNKNOWN_COUNTER;
	if ((p = prompt_for(q, ci, ticket_id, now)) == NULL)
		return BQ_ERR_RATING_CLOSED;
	if (p->shown)
		return BQ_OK;
	if ((e = txn_begin(&x)) != BQ_OK)
		return e;
	if ((e = store_ticket_get(q->store, ticket_id, &leg)) == BQ_OK)
		e = txn_emit(&x, EV_RATING_PROMPTED, now, &leg, number, json_pack("{s:o}", "until",
		    render_time(p->until)));
	if ((e = txn_end(&x, e)) == BQ_OK)
		p->shown = true;
	return e;
}

/*
 * Record the rating key of leg (served) from source, with the teller who
 * served it; 不满意 also raises the lobby's alert, named by the event.
 */
static enum bq_err
rating_record(struct queue *q, const struct ticket *leg, int key, const char *source,
    int64_t now, struct rating *out)
{
	int ci = config_counter_index(q->cfg, leg->counter);
	struct txn x = { .q = q };
	struct rating had;
	enum bq_err e;

	if ((e = txn_begin(&x)) != BQ_OK)
		return e;
	e = store_rating_get(q->store, leg->origin_id, &had);
	if (e == BQ_OK)
		e = BQ_ERR_ALREADY_RATED;
	else if (e == BQ_ERR_NOT_FOUND)
		e = BQ_OK;
	if (e != BQ_OK)
		return txn_end(&x, e);
	memset(out, 0, sizeof(*out));
	out->origin_id = leg->origin_id;
	out->ticket_id = leg->id;
	snprintf(out->bday, sizeof(out->bday), "%s", leg->bday);
	out->counter = leg->counter;
	if (ci >= 0 && q->served[ci].ticket_id == leg->id)
		snprintf(out->teller, sizeof(out->teller), "%s", q->served[ci].teller);
	snprintf(out->key, sizeof(out->key), "%s", rating_key_name(key));
	snprintf(out->source, sizeof(out->source), "%s", source);
	out->at = now;
	if ((e = store_rating_insert(q->store, out)) != BQ_OK)
		return txn_end(&x, e);
	e = txn_emit(&x, EV_TICKET_RATED, now, leg, leg->counter, json_pack("{s:s,s:s,s:o}", "key",
	    out->key, "source", source, "teller", out->teller[0] ? json_string(out->teller) :
	    json_null()));
	if (e == BQ_OK && key == RK_DISSATISFIED) {
		struct alert a = { .id = x.ev[x.nev - 1].id, .kind = "dissatisfied", .at = now,
			.counter = leg->counter };

		snprintf(a.bday, sizeof(a.bday), "%s", leg->bday);
		snprintf(a.teller, sizeof(a.teller), "%s", out->teller);
		snprintf(a.number, sizeof(a.number), "%s", leg->number);
		e = store_alert_insert(q->store, &a);
	}
	return txn_end(&x, e);
}

/* A key the branch's keypads show: BQ_ERR_INVALID_FIELD for another. */
static bool
rating_key_offered(const struct config *cfg, int key)
{
	for (int i = 0; i < cfg->rating.nkeys; i++)
		if (cfg->rating.keys[i] == key)
			return true;
	return false;
}

enum bq_err
queue_rate_counter(struct queue *q, int number, int64_t ticket_id, int key, int64_t now,
    struct rating *out)
{
	int ci = config_counter_index(q->cfg, number);
	struct queue_prompt *p, was;
	struct ticket leg;
	enum bq_err e;

	if (ci < 0)
		return BQ_ERR_UNKNOWN_COUNTER;
	if (!rating_key_offered(q->cfg, key))
		return BQ_ERR_INVALID_FIELD;
	if ((p = prompt_for(q, ci, ticket_id, now)) == NULL)
		return BQ_ERR_RATING_CLOSED;
	if ((e = store_ticket_get(q->store, ticket_id, &leg)) != BQ_OK)
		return e;
	if (leg.status != TS_SERVED)
		return BQ_ERR_RATING_CLOSED;
	/* Closed before the event: its frame shows the keypad idle again. */
	was = *p;
	p->ticket_id = 0;
	e = rating_record(q, &leg, key, "counter", now, out);
	if (e != BQ_OK && e != BQ_ERR_ALREADY_RATED)
		*p = was;
	return e;
}

enum bq_err
queue_phone_rating(struct queue *q, const struct ticket *t, int64_t now, bool *open,
    int64_t *until, struct rating *r)
{
	enum bq_err e = store_rating_get(q->store, t->origin_id, r);

	*open = false;
	*until = 0;
	if (e == BQ_ERR_NOT_FOUND) {
		memset(r, 0, sizeof(*r));
		if (t->status == TS_SERVED) {
			*until = t->ended_at + q->cfg->rating.phone_window_s;
			*open = now <= *until;
		}
		e = BQ_OK;
	}
	return e;
}

enum bq_err
queue_rate_phone(struct queue *q, const struct ticket *t, int key, int64_t now, struct rating *out)
{
	int ci = config_counter_index(q->cfg, t->counter);
	struct rating had;
	int64_t until;
	bool open;
	enum bq_err e;

	if (!rating_key_offered(q->cfg, key))
		return BQ_ERR_INVALID_FIELD;
	if ((e = queue_phone_rating(q, t, now, &open, &until, &had)) != BQ_OK)
		return e;
	if (had.key[0] != '\0')
		return BQ_ERR_ALREADY_RATED;
	if (!open)
		return BQ_ERR_RATING_CLOSED;
	/* Rated on the phone: the counter's keypad stops asking. */
	if (ci >= 0 && q->prompt[ci].ticket_id == t->id)
		q->prompt[ci].ticket_id = 0;
	return rating_record(q, t, key, "phone", now, out);
}

enum bq_err
queue_alerts(struct queue *q, int64_t now, struct alert **out, int *n)
{
	char today[11];

	queue_today(q, now, today);
	flight_finish(q);
	return store_alerts_open(q->store, today, out, n);
}

enum bq_err
queue_alert_ack(struct queue *q, int64_t id, int64_t now, struct alert *out)
{
	struct txn x = { .q = q };
	char today[11];
	enum bq_err e;

	if ((e = txn_begin(&x)) != BQ_OK)
		return e;
	queue_today(q, now, today);
	if ((e = store_alert_get(q->store, id, out)) == BQ_OK && strcmp(out->bday, today) != 0)
		e = BQ_ERR_UNKNOWN_ALERT;
	if (e == BQ_OK && out->acked_at != 0)
		e = BQ_ERR_ALREADY_ACKNOWLEDGED;
	if (e == BQ_OK)
		e = store_alert_ack(q->store, id, now, q->actor);
	if (e == BQ_OK) {
		out->acked_at = now;
		snprintf(out->acked_by, sizeof(out->acked_by), "%s", q->actor);
		e = txn_emit(&x, EV_ALERT_ACKED, now, NULL, out->counter, json_pack("{s:I,s:s,s:I}",
		    "of", (json_int_t)id, "kind", out->kind, "after_s", (json_int_t)(now - out->at)));
	}
	return txn_end(&x, e);
}
