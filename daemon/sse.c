/*
 * sse.c: the event streams of the staff pages, the hall displays and the
 * customers' phones (see sse.h for what each kind carries).
 *
 * Each committed event is rendered here once per kind, in sse_on_event: the
 * staff frame (the log's JSON, a waiting ticket's place added), the display
 * frame (the event's public part and the hall as the wall screen shows it,
 * from one read of the hall), and, for the phones whose view it may change
 * (the event's own ticket, the waiting tickets of the services it touches),
 * one place look-up for all of them and one frame per ticket whose view did
 * change. A frame is refcounted text; every stream of a kind is handed the
 * same object and copies its bytes out, so a thousand streams cost a
 * thousand memcpy, not a thousand renderings or queries.
 *
 * The ring keeps the staff and display frames of the last SSE_RING events,
 * oldest first, indexed by a sequence number that only grows; a staff or
 * display stream holds the sequence number of the next slot it reads. The
 * phones of one ticket share a group that holds the newest frame of that
 * ticket; a phone sends it when it is newer than what the phone has, so a
 * phone that lags skips to the present instead of replaying every step.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "clock.h"
#include "log.h"
#include "render.h"
#include "sse.h"

/* What a ring slot holds for the hall displays. */
enum slot_display {
	DISPLAY_NONE,                /* nothing the wall shows (a paper's print state) */
	DISPLAY_FRAME,
	DISPLAY_UNKNOWN,             /* not rendered (read back from the log at start): reload */
};

struct slot {
	int64_t id;
	enum bus_type type;
	int64_t origin;              /* the ticket's first leg; 0 for counter events */
	uint32_t services;           /* bit s: service s's waiting line may have changed */
	struct sse_frame *staff;     /* NULL only when out of memory: the log still has it */
	struct sse_frame *display;
	enum slot_display dstate;
};

/* The phones of one ticket. */
struct sse_group {
	int64_t origin;              /* the ticket's first leg: the token follows it across legs */
	struct ticket t;             /* its newest leg, as of the last event that concerned it */
	char *view;                  /* the ticket part of frame, to tell whether a view changed */
	struct sse_frame *frame;     /* the newest view, sent to every phone of the ticket */
	struct sse_sub *subs;
	struct sse_group *prev, *next;
};

struct sse {
	struct queue *q;
	struct slot *ring;           /* SSE_RING slots; seq s lives at ring[s % SSE_RING] */
	uint64_t first, next;        /* the slots in use are first..next-1 */
	int64_t last_id;             /* the newest event id */
	struct sse_sub *subs;        /* staff and display streams; phones hang off their group */
	struct sse_group *groups;
	struct sse_frame *hello, *keepalive;
	bool closing;
	bool resumed;                /* a stream was resumed since sse_take_resumed */
	/*
	 * The hall part of a display frame, as compact JSON, for hall version
	 * hall_version: the events of one committed batch are told after the
	 * whole batch landed, so they all share it and it is rendered once.
	 */
	char *hall_text;
	uint64_t hall_version;
	int open[SSE_PHONE + 1];     /* streams attached, by kind (sse_count) */
};

static struct sse_frame *
frame_alloc(int64_t id, const char *text, size_t len)
{
	struct sse_frame *f = malloc(sizeof(*f) + len + 1);

	if (f == NULL)
		return NULL;
	f->refs = 1;
	f->id = id;
	f->len = len;
	memcpy(f->text, text, len);
	f->text[len] = '\0';
	return f;
}

/* "id: N\ndata: DATA\n\n"; data is one line (compact JSON escapes every newline). */
static struct sse_frame *
frame_event(int64_t id, const char *data)
{
	size_t dl = strlen(data);
	char head[48];
	int n = snprintf(head, sizeof(head), "id: %lld\ndata: ", (long long)id);
	struct sse_frame *f = malloc(sizeof(*f) + (size_t)n + dl + 3);

	if (f == NULL)
		return NULL;
	f->refs = 1;
	f->id = id;
	memcpy(f->text, head, (size_t)n);
	memcpy(f->text + n, data, dl);
	memcpy(f->text + n + dl, "\n\n", 3);
	f->len = (size_t)n + dl + 2;
	return f;
}

static struct sse_frame *
frame_json(int64_t id, const json_t *o)
{
	char *text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	struct sse_frame *f = text != NULL ? frame_event(id, text) : NULL;

	free(text);
	return f;
}

static struct sse_frame *
frame_ref(struct sse_frame *f)
{
	if (f != NULL && f->refs > 0)
		f->refs++;
	return f;
}

void
sse_frame_unref(struct sse_frame *f)
{
	if (f != NULL && f->refs > 0 && --f->refs == 0)
		free(f);
}

static enum bus_type
type_of(const char *name)
{
	for (unsigned b = 1; b <= EV_ALL; b <<= 1)
		if (strcmp(bus_type_name((enum bus_type)b), name) == 0)
			return (enum bus_type)b;
	return 0;
}

/* Which ticket the event is about, and whose place in line it may move. */
static void
slot_classify(const struct config *cfg, json_t *data, struct slot *sl)
{
	json_t *tk = json_object_get(data, "ticket"), *svc = json_object_get(tk, "service");
	int s = json_is_string(svc) ? config_service_index(cfg, json_string_value(svc)) : -1;
	int ci = config_counter_index(cfg, (int)json_integer_value(json_object_get(data, "counter")));

	sl->origin = json_integer_value(json_object_get(tk, "origin_id"));
	sl->services = 0;
	switch (sl->type) {
	case EV_TICKET_ISSUED:       /* a green ticket goes before some */
	case EV_TICKET_CALLED:       /* everyone behind moves up */
	case EV_TICKET_SERVED:       /* the average service time, so the estimate */
	case EV_TICKET_TRANSFERRED:  /* a new leg in the service it moved to */
	case EV_TICKET_CANCELLED:
	case EV_TICKET_GREEN:
	case EV_TICKET_REINSTATED:   /* back in line: those behind its place move down */
		if (s >= 0)
			sl->services = 1u << s;
		break;
	case EV_COUNTER_PAUSED:      /* the open counters, so the estimate */
	case EV_COUNTER_RESUMED:
		for (int j = 0; ci >= 0 && j < cfg->counters[ci].nservices; j++)
			sl->services |= 1u << cfg->counters[ci].services[j];
		break;
	default:
		break;
	}
}

/* A new slot for event id at the ring's end; the oldest is dropped when the ring is full. */
static struct slot *
ring_push(struct sse *s, int64_t id)
{
	struct slot *sl;

	if (s->next - s->first == SSE_RING) {
		sl = &s->ring[s->first % SSE_RING];
		sse_frame_unref(sl->staff);
		sse_frame_unref(sl->display);
		s->first++;
	}
	sl = &s->ring[s->next++ % SSE_RING];
	memset(sl, 0, sizeof(*sl));
	sl->id = id;
	s->last_id = id;
	return sl;
}

/* The sequence number of the first slot with an id after cursor (next when none). */
static uint64_t
ring_after(const struct sse *s, int64_t cursor)
{
	uint64_t lo = s->first, hi = s->next;

	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		if (s->ring[mid % SSE_RING].id <= cursor)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Whether the ring holds every event after cursor. */
static bool
ring_covers(const struct sse *s, int64_t cursor)
{
	if (cursor >= s->last_id)
		return true;
	return s->first != s->next && s->ring[s->first % SSE_RING].id <= cursor + 1;
}

static int
ring_fill_one(void *arg, int64_t id, const char *type, const char *data)
{
	struct sse *s = arg;
	struct slot *sl = ring_push(s, id);
	json_t *o = data != NULL ? json_loads(data, 0, NULL) : NULL;

	sl->type = type_of(type);
	sl->staff = frame_event(id, data != NULL ? data : "{}");
	/* The hall as it was then is gone: a display resuming from here reloads. */
	sl->dstate = sl->type == EV_TICKET_PRINT || sl->type == EV_HELP_CALLED ||
	    sl->type == EV_ALERT_ACKED || sl->type == EV_ADVICE_OPEN ||
	    sl->type == EV_ADVICE_CLEARED ? DISPLAY_NONE : DISPLAY_UNKNOWN;
	if (o != NULL)
		slot_classify(s->q->cfg, o, sl);
	json_decref(o);
	return 0;
}

struct sse *
sse_new(struct queue *q)
{
	static const char hello[] = ": branchq events\n\n";
	struct sse *s = calloc(1, sizeof(*s));
	char text[64];
	int64_t last = 0;
	int n;

	if (s == NULL || (s->ring = calloc(SSE_RING, sizeof(*s->ring))) == NULL)
		goto fail;
	s->q = q;
	n = snprintf(text, sizeof(text), "retry: %d\n%s", SSE_RETRY_MS, hello);
	s->hello = frame_alloc(0, text, (size_t)n);
	s->keepalive = frame_alloc(0, ": keepalive\n\n", 13);
	if (s->hello == NULL || s->keepalive == NULL)
		goto fail;
	s->hello->refs = s->keepalive->refs = -1;
	if (store_last_event_id(q->store, &last) != BQ_OK ||
	    store_events_after(q->store, last > SSE_RING ? last - SSE_RING : 0, SSE_RING,
	    ring_fill_one, s) != BQ_OK)
		goto fail;
	if (last > s->last_id)
		s->last_id = last;
	return s;
fail:
	sse_free(s);
	return NULL;
}

void
sse_free(struct sse *s)
{
	if (s == NULL)
		return;
	for (uint64_t i = s->first; s->ring != NULL && i < s->next; i++) {
		sse_frame_unref(s->ring[i % SSE_RING].staff);
		sse_frame_unref(s->ring[i % SSE_RING].display);
	}
	free(s->ring);
	free(s->hall_text);
	free(s->hello);
	free(s->keepalive);
	free(s);
}

static void
sub_wake(struct sse_sub *sub)
{
	if (sub->wake != NULL)
		sub->wake(sub);
}

/*
 * Render g's ticket as its phones see it (pos: its place, NULL or -1 when
 * not waiting) and, when that view changed or force, make it the group's
 * frame for event id, of type type, and wake its phones.
 */
static void
group_update(struct sse *s, struct sse_group *g, const char *type, json_t *at,
    const struct ticket_pos *pos, int64_t id, bool force)
{
	json_t *view = render_phone_ticket(s->q->cfg, &g->t, pos), *o = NULL;
	char *text = view != NULL ? json_dumps(view, JSON_COMPACT) : NULL;
	struct sse_frame *f;

	if (text == NULL || (!force && g->view != NULL && strcmp(text, g->view) == 0))
		goto out;
	o = json_pack("{s:s,s:O,s:O}", "type", type, "at", at != NULL ? at : json_null(), "ticket",
	    view);
	if ((f = frame_json(id, o)) == NULL)
		goto out;
	sse_frame_unref(g->frame);
	g->frame = f;
	free(g->view);
	g->view = text;
	text = NULL;
	for (struct sse_sub *sub = g->subs; sub != NULL; sub = sub->next)
		sub_wake(sub);
out:
	free(text);
	json_decref(o);
	json_decref(view);
}

/* The group of ticket t's phones, made (with its view now) when it has none. */
static struct sse_group *
group_get(struct sse *s, const struct ticket *t)
{
	struct sse_group *g;
	struct ticket_pos pos;
	json_t *at;
	int64_t now = clock_now();

	for (g = s->groups; g != NULL; g = g->next)
		if (g->origin == t->origin_id)
			return g;
	if ((g = calloc(1, sizeof(*g))) == NULL)
		return NULL;
	g->origin = t->origin_id;
	g->t = *t;
	if (queue_position(s->q, t, now, &pos) != BQ_OK)
		pos.ahead = -1;
	at = render_time(now);
	group_update(s, g, "ticket.state", at, &pos, s->last_id, true);
	json_decref(at);
	if (g->frame == NULL) {
		free(g->view);
		free(g);
		return NULL;
	}
	g->next = s->groups;
	if (s->groups != NULL)
		s->groups->prev = g;
	s->groups = g;
	return g;
}

static void
group_free(struct sse *s, struct sse_group *g)
{
	if (g->prev != NULL)
		g->prev->next = g->next;
	else
		s->groups = g->next;
	if (g->next != NULL)
		g->next->prev = g->prev;
	sse_frame_unref(g->frame);
	free(g->view);
	free(g);
}

/* Whether an event after cursor (all in the ring) may have changed what g's phones show. */
static bool
group_touched_since(const struct sse *s, const struct sse_group *g, int64_t cursor)
{
	int svc = config_service_index(s->q->cfg, g->t.service);
	uint32_t bit = svc >= 0 && g->t.status == TS_WAITING ? 1u << svc : 0;

	for (uint64_t i = ring_after(s, cursor); i < s->next; i++) {
		const struct slot *sl = &s->ring[i % SSE_RING];
		if ((sl->origin == g->origin && sl->type != EV_TICKET_PRINT) || (sl->services & bit))
			return true;
	}
	return false;
}

/*
 * The phones an event concerns: the event's own ticket (t, the leg as the
 * change wrote it; NULL for a counter's event), and the waiting tickets of the
 * services whose line it may have moved. Their places come from one look-up.
 */
static void
phones_on_event(struct sse *s, const struct bus_event *ev, const struct slot *sl,
    const struct ticket *t, json_t *at, int64_t now)
{
	struct todo {
		struct sse_group *g;
		bool own;
	} *todo = NULL;
	struct ticket *tickets = NULL;
	struct ticket_pos *pos = NULL;
	int n = 0, cap = 0;

	for (struct sse_group *g = s->groups; g != NULL; g = g->next) {
		bool own = sl->origin != 0 && g->origin == sl->origin && ev->type != EV_TICKET_PRINT;
		int svc = config_service_index(s->q->cfg, g->t.service);

		if (own && t == NULL)
			continue;
		if (!own && (g->t.status != TS_WAITING || svc < 0 || !(sl->services & (1u << svc))))
			continue;
		if (n == cap) {
			struct todo *nt = realloc(todo, (size_t)(cap = cap ? 2 * cap : 16) * sizeof(*nt));
			if (nt == NULL)
				goto out;
			todo = nt;
		}
		if (own)
			g->t = *t;
		todo[n].g = g;
		todo[n++].own = own;
	}
	if (n == 0)
		goto out;
	tickets = calloc((size_t)n, sizeof(*tickets));
	pos = calloc((size_t)n, sizeof(*pos));
	if (tickets == NULL || pos == NULL)
		goto out;
	for (int i = 0; i < n; i++)
		tickets[i] = todo[i].g->t;
	if (queue_positions(s->q, tickets, n, now, pos) != BQ_OK)
		for (int i = 0; i < n; i++)
			pos[i].ahead = pos[i].estimated_wait_s = -1;
	for (int i = 0; i < n; i++)
		group_update(s, todo[i].g, todo[i].own ? bus_type_name(ev->type) : "ticket.place", at,
		    &pos[i], ev->id, todo[i].own);
out:
	free(todo);
	free(tickets);
	free(pos);
}

/* The hall as the wall shows it, as compact JSON, rendered once per hall version. */
static const char *
display_hall_text(struct sse *s, int64_t now)
{
	struct queue_view v;
	uint64_t version;
	json_t *hall;

	if (queue_version(s->q, now, &version) != BQ_OK)
		return NULL;
	if (s->hall_text != NULL && s->hall_version == version)
		return s->hall_text;
	free(s->hall_text);
	s->hall_text = NULL;
	if (queue_view_summary(s->q, now, &v) == BQ_OK &&
	    (hall = render_hall(s->q->cfg, &v)) != NULL) {
		s->hall_text = json_dumps(hall, JSON_COMPACT);
		s->hall_version = version;
		json_decref(hall);
	}
	queue_view_free(&v);
	return s->hall_text;
}

/* The display's frame of an event: its public part, then the hall as it is after it. */
static struct sse_frame *
display_frame(struct sse *s, const struct bus_event *ev, const struct ticket *t, json_t *at,
    int64_t now)
{
	const char *hall = display_hall_text(s, now);
	struct sse_frame *f = NULL;
	char *head = NULL, *text = NULL;
	json_t *o;
	size_t hl, tl;

	if (hall == NULL || hall[0] != '{' || (o = json_pack("{s:s,s:O,s:o,s:o}", "type",
	    bus_type_name(ev->type), "at", at != NULL ? at : json_null(), "ticket", t != NULL ?
	    render_hall_ticket(t) : json_null(), "counter", ev->counter ? json_integer(ev->counter) :
	    json_null())) == NULL)
		return NULL;
	head = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	/* {"type":…,"counter":…} and {"waiting":…} make {"type":…,"counter":…,"waiting":…}. */
	if (head != NULL && (hl = strlen(head)) >= 2 && head[hl - 1] == '}' &&
	    (text = malloc(hl + (tl = strlen(hall)))) != NULL) {
		memcpy(text, head, hl - 1);
		text[hl - 1] = ',';
		memcpy(text + hl, hall + 1, tl);          /* its '\0' too */
		f = frame_event(ev->id, text);
	}
	free(head);
	free(text);
	return f;
}

void
sse_on_event(void *arg, const struct bus_event *ev)
{
	struct sse *s = arg;
	struct queue *q = s->q;
	json_t *data = ev->data != NULL ? json_loads(ev->data, 0, NULL) : NULL;
	json_t *tk = json_object_get(data, "ticket"), *at = json_object_get(data, "at");
	int64_t now = clock_now();
	/* The leg as the change wrote it: no read of the store for it. */
	const struct ticket *t = ev->has_ticket ? &ev->ticket : NULL;
	struct slot *sl;

	if (ev->id <= s->last_id) {
		/* Already in the ring: the ids of the log only grow. */
		json_decref(data);
		return;
	}
	sl = ring_push(s, ev->id);
	sl->type = ev->type;
	if (data != NULL)
		slot_classify(q->cfg, data, sl);

	/* Staff: the event as logged; a waiting ticket with its place, so a page can slot it in. */
	if (t != NULL && t->status == TS_WAITING && json_is_object(tk)) {
		struct ticket_pos pos;
		if (queue_position(q, t, now, &pos) == BQ_OK && pos.ahead >= 0) {
			json_object_set_new(tk, "ahead", json_integer(pos.ahead));
			json_object_set_new(tk, "estimated_wait_s", pos.estimated_wait_s >= 0 ?
			    json_integer(pos.estimated_wait_s) : json_null());
			sl->staff = frame_json(ev->id, data);
		}
	}
	if (sl->staff == NULL)
		sl->staff = frame_event(ev->id, ev->data != NULL ? ev->data : "{}");

	/*
	 * Neither a ticket's paper nor an earlier day's leftovers change what the
	 * hall shows, and a call for the lobby manager is the staff's alone.
	 */
	if (ev->type == EV_TICKET_PRINT || ev->type == EV_TICKET_EXPIRED ||
	    ev->type == EV_HELP_CALLED || ev->type == EV_ALERT_ACKED ||
	    ev->type == EV_ADVICE_OPEN || ev->type == EV_ADVICE_CLEARED) {
		sl->dstate = DISPLAY_NONE;
	} else {
		sl->display = display_frame(s, ev, t, at, now);
		sl->dstate = sl->display != NULL ? DISPLAY_FRAME : DISPLAY_UNKNOWN;
	}

	phones_on_event(s, ev, sl, t, at, now);
	for (struct sse_sub *sub = s->subs; sub != NULL; sub = sub->next)
		if (sub->kind == SSE_STAFF || sl->dstate != DISPLAY_NONE)
			sub_wake(sub);
	json_decref(data);
}

enum bq_err
sse_attach(struct sse *s, struct sse_sub *sub, enum sse_kind kind, int64_t from,
    const struct ticket *t)
{
	sub->owner = s;
	sub->kind = kind;
	sub->hello = true;
	/* An id from the future (a database replaced under the page) starts at now. */
	if (from > s->last_id)
		from = -1;
	if (kind == SSE_PHONE) {
		struct sse_group *g;
		if (t == NULL || (g = group_get(s, t)) == NULL)
			return BQ_ERR_INTERNAL;
		sub->group = g;
		if (from < 0 || !ring_covers(s, from))
			sub->cursor = -1;                /* the view now, whatever it is */
		else if (group_touched_since(s, g, from))
			sub->cursor = from;              /* the view now, if newer than from */
		else
			sub->cursor = g->frame->id > from ? g->frame->id : from;   /* nothing new */
		sub->next = g->subs;
		if (g->subs != NULL)
			g->subs->prev = sub;
		g->subs = sub;
		s->open[kind]++;
		return BQ_OK;
	}
	sub->cursor = from < 0 ? s->last_id : from;
	sub->seq = ring_after(s, sub->cursor);
	sub->next = s->subs;
	if (s->subs != NULL)
		s->subs->prev = sub;
	s->subs = sub;
	s->open[kind]++;
	return BQ_OK;
}

int
sse_count(const struct sse *s, enum sse_kind kind)
{
	return kind >= SSE_STAFF && kind <= SSE_PHONE ? s->open[kind] : 0;
}

void
sse_detach(struct sse_sub *sub)
{
	struct sse *s = sub->owner;
	struct sse_group *g = sub->group;
	struct sse_sub **head = g != NULL ? &g->subs : &s->subs;

	if (sub->prev != NULL)
		sub->prev->next = sub->next;
	else
		*head = sub->next;
	if (sub->next != NULL)
		sub->next->prev = sub->prev;
	sub->prev = sub->next = NULL;
	s->open[sub->kind]--;
	if (g != NULL && g->subs == NULL)
		group_free(s, g);
	sub->group = NULL;
}

struct catch_up {
	char *text;
	size_t len, cap;
	int64_t last;
	bool oom;
};

static int
catch_up_one(void *arg, int64_t id, const char *type, const char *data)
{
	struct catch_up *c = arg;
	size_t dl = data != NULL ? strlen(data) : 2;
	char head[48];
	int n = snprintf(head, sizeof(head), "id: %lld\ndata: ", (long long)id);

	(void)type;
	if (c->len + (size_t)n + dl + 2 > c->cap) {
		size_t cap = c->cap ? c->cap : 4096;
		char *nt;
		while (cap < c->len + (size_t)n + dl + 2)
			cap *= 2;
		if ((nt = realloc(c->text, cap)) == NULL) {
			c->oom = true;
			return 1;
		}
		c->text = nt;
		c->cap = cap;
	}
	memcpy(c->text + c->len, head, (size_t)n);
	memcpy(c->text + c->len + n, data != NULL ? data : "{}", dl);
	memcpy(c->text + c->len + n + dl, "\n\n", 2);
	c->len += (size_t)n + dl + 2;
	c->last = id;
	return 0;
}

/* A staff stream behind the ring: the next batch from the log, as one frame of its own. */
static struct sse_frame *
staff_catch_up(struct sse_sub *sub)
{
	struct sse *s = sub->owner;
	struct catch_up c = { .last = sub->cursor };
	struct sse_frame *f = NULL;

	if (store_events_after(s->q->store, sub->cursor, SSE_BATCH, catch_up_one, &c) != BQ_OK ||
	    (c.len == 0 && c.oom)) {
		sub->ended = true;
	} else if (c.len == 0) {
		/* The log has nothing after the cursor that the ring lacks: go on from the ring. */
		sub->cursor = s->first != s->next ? s->ring[s->first % SSE_RING].id - 1 : s->last_id;
	} else if ((f = frame_alloc(c.last, c.text, c.len)) != NULL) {
		sub->cursor = c.last;
	}
	sub->seq = ring_after(s, sub->cursor);
	free(c.text);
	return f;
}

/* A display that missed what the ring cannot give: reload the hall, then go on from now. */
static struct sse_frame *
display_reload(struct sse_sub *sub)
{
	struct sse *s = sub->owner;
	char text[80];
	int n = snprintf(text, sizeof(text), "id: %lld\ndata: {\"type\":\"reload\"}\n\n",
	    (long long)s->last_id);

	sub->cursor = s->last_id;
	sub->seq = s->next;
	return frame_alloc(s->last_id, text, (size_t)n);
}

static struct sse_frame *
ring_next(struct sse_sub *sub)
{
	struct sse *s = sub->owner;

	if (!ring_covers(s, sub->cursor))
		return sub->kind == SSE_STAFF ? staff_catch_up(sub) : display_reload(sub);
	if (sub->seq < s->first)
		sub->seq = ring_after(s, sub->cursor);
	while (sub->seq < s->next) {
		struct slot *sl = &s->ring[sub->seq % SSE_RING];
		if (sl->id <= sub->cursor) {
			sub->seq++;
			continue;
		}
		if (sub->kind == SSE_STAFF) {
			if (sl->staff == NULL)
				return staff_catch_up(sub);
			sub->seq++;
			sub->cursor = sl->id;
			return frame_ref(sl->staff);
		}
		if (sl->dstate == DISPLAY_UNKNOWN)
			return display_reload(sub);
		sub->seq++;
		sub->cursor = sl->id;
		if (sl->dstate == DISPLAY_FRAME)
			return frame_ref(sl->display);
	}
	return NULL;
}

struct sse_frame *
sse_next(struct sse_sub *sub)
{
	struct sse *s = sub->owner;
	struct sse_frame *f = NULL;

	if (sub->hello) {
		sub->hello = false;
		return s->hello;
	}
	if (sub->closing || s->closing || sub->ended) {
		sub->ended = true;
		return NULL;
	}
	if (sub->kind == SSE_PHONE) {
		struct sse_group *g = sub->group;
		if (g->frame != NULL && g->frame->id > sub->cursor) {
			sub->cursor = g->frame->id;
			f = frame_ref(g->frame);
		}
	} else {
		f = ring_next(sub);
	}
	if (f == NULL && sub->keepalive && !sub->ended)
		f = s->keepalive;
	if (f != NULL)
		sub->keepalive = false;
	return f;
}

/* Each sub of every kind, phones included. */
static void
for_each_sub(struct sse *s, void (*fn)(struct sse_sub *))
{
	for (struct sse_sub *sub = s->subs, *next; sub != NULL; sub = next) {
		next = sub->next;
		fn(sub);
	}
	for (struct sse_group *g = s->groups; g != NULL; g = g->next)
		for (struct sse_sub *sub = g->subs, *next; sub != NULL; sub = next) {
			next = sub->next;
			fn(sub);
		}
}

static void
sub_keepalive(struct sse_sub *sub)
{
	sub->keepalive = true;
	sub_wake(sub);
}

static void
sub_close(struct sse_sub *sub)
{
	sub->closing = true;
	sub_wake(sub);
}

void
sse_keepalive(struct sse *s)
{
	for_each_sub(s, sub_keepalive);
}

int64_t
sse_keepalive_next(int64_t now_ms)
{
	return now_ms + SSE_KEEPALIVE_S * 1000;
}

void
sse_close_all(struct sse *s)
{
	s->closing = true;
	for_each_sub(s, sub_close);
}

bool
sse_take_resumed(struct sse *s)
{
	bool r = s->resumed;

	s->resumed = false;
	return r;
}

/* ---- one stream on one HTTP connection ---- */

struct sse_conn {
	struct sse_sub sub;          /* first: a sub is its connection */
	struct MHD_Connection *conn;
	bool suspended;
	struct sse_frame *cur;       /* being sent */
	size_t off;
};

static void
sse_conn_wake(struct sse_sub *sub)
{
	struct sse_conn *sc = (struct sse_conn *)sub;

	if (sc->suspended) {
		sc->suspended = false;
		sub->owner->resumed = true;
		MHD_resume_connection(sc->conn);
	}
}

static ssize_t
sse_conn_read(void *cls, uint64_t pos, char *out, size_t max)
{
	struct sse_conn *sc = cls;
	size_t n = 0;

	(void)pos;
	while (n < max) {
		size_t k;
		if (sc->cur == NULL && (sc->cur = sse_next(&sc->sub)) == NULL)
			break;
		k = sc->cur->len - sc->off;
		if (k > max - n)
			k = max - n;
		memcpy(out + n, sc->cur->text + sc->off, k);
		n += k;
		sc->off += k;
		if (sc->off == sc->cur->len) {
			sse_frame_unref(sc->cur);
			sc->cur = NULL;
			sc->off = 0;
		}
	}
	if (n > 0)
		return (ssize_t)n;
	if (sc->sub.ended)
		return sc->sub.closing || sc->sub.owner->closing ? MHD_CONTENT_READER_END_OF_STREAM :
		    MHD_CONTENT_READER_END_WITH_ERROR;
	sc->suspended = true;
	MHD_suspend_connection(sc->conn);
	return 0;
}

static void
sse_conn_free(void *cls)
{
	struct sse_conn *sc = cls;

	sse_detach(&sc->sub);
	sse_frame_unref(sc->cur);
	free(sc);
}

enum MHD_Result
sse_open(struct sse *s, struct MHD_Connection *c, enum sse_kind kind, int64_t from,
    const struct ticket *t)
{
	struct sse_conn *sc = calloc(1, sizeof(*sc));
	struct MHD_Response *resp;
	enum MHD_Result ret;

	if (sc == NULL)
		return MHD_NO;
	sc->conn = c;
	sc->sub.wake = sse_conn_wake;
	if (sse_attach(s, &sc->sub, kind, from, t) != BQ_OK) {
		free(sc);
		return MHD_NO;
	}
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, sse_conn_read, sc,
	    sse_conn_free);
	if (resp == NULL) {
		sse_detach(&sc->sub);
		free(sc);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", "text/event-stream; charset=utf-8");
	MHD_add_response_header(resp, "Cache-Control", "no-cache");
	MHD_add_response_header(resp, "X-Accel-Buffering", "no");
	if (config_tls_on(s->q->cfg))
		MHD_add_response_header(resp, "Strict-Transport-Security", TLS_HSTS);
	ret = MHD_queue_response(c, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ret;
}
