/*
 * report.c: the daily report and the report over a range of days.
 *
 * Every figure is defined in docs/reports.md; in short:
 *  - A ticket is counted once, by its last leg as it stood at close (a
 *    transferred ticket in its last service), in the hour of the day it was
 *    issued. "At close" is the end of the business day, or now for today.
 *  - Its wait is the first call of that last leg minus the ticket's original
 *    issue time; a recall keeps the first call.
 *  - Overtime: a called ticket whose wait is longer than its service's
 *    threshold, and a ticket still waiting at close that has waited longer.
 *    Share = overtime ÷ (called + overtime still waiting).
 *  - Counters are judged by legs: each leg counts at the counter that called
 *    it. Idle while customers waited comes from a sweep over the day's legs
 *    and pause events (report_idle_s).
 *  - Tellers are judged by what the event log says they did: a finished leg
 *    (served, no-show) counts for whoever finished it, a pause for whoever
 *    paused, until the next resume or close. No "by": the "not recorded" row.
 *  - A ticket's last leg is its newest: a transfer and a reinstatement (a
 *    no-show put back in line) each make a new leg of the same origin.
 *  - Satisfaction is read per served leg: rated (ticket.rated), prompted and
 *    not rated (rating.prompted alone), or neither; by the counter that
 *    served it and the teller who finished it.
 *
 * The core takes arrays and the day's bounds and reads no clock and no file;
 * report_build at the bottom is the loader from SQLite.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bday.h"
#include "log.h"
#include "render.h"
#include "report.h"

#define HOURS 24

struct group {
	int issued, called, served, no_show, cancelled, waiting, transferred;
	int overtime, overtime_waiting;
	int bands[REPORT_BANDS];         /* called tickets by wait band */
	int calls;                       /* measured calls made in this hour (by_hour only) */
	int64_t *waits;
	int nwaits, cap;
	double target;
};

/* The ratings of served legs: each is rated, prompted and not rated, or neither. */
struct sat {
	int rated, keys[REPORT_RATING_KEYS], not_rated, prompt_not_shown;
};

struct counter_fig {
	int calls, served;
	int64_t service_sum_s, pause_s, idle_s;
	struct sat sat;
};

/* One row of by_teller: an account or device as the events name it, or nobody recorded. */
struct teller_fig {
	char name[REPORT_TELLER_MAX];
	bool recorded;                   /* false: the events had no "by" */
	int served, no_show;
	int64_t service_sum_s, pause_s;
	int64_t *service_s;              /* each served leg's service time, for the median */
	int capservice;
	struct sat sat;
};

struct longest {
	struct date date;
	char number[16];
	int service;
	enum category category;
	int64_t issued_at, called_at, wait_s;
	bool overtime, waiting;
	int counter;
	enum ticket_status status;
};

struct day_total {
	struct date date;
	struct group g;
};

enum {
	G_TOTAL = 0,
	G_SERVICE = 1,
	G_CATEGORY = G_SERVICE + MAX_SERVICES,
	G_GREEN = G_CATEGORY + CAT_COUNT,
	G_NORMAL,
	G_HOUR,
	G_COUNT = G_HOUR + HOURS
};

struct report {
	const struct config *cfg;
	double branch_target;            /* the strictest service target */
	struct group g[G_COUNT];
	struct counter_fig counters[MAX_COUNTERS];
	struct teller_fig *tellers;      /* in order of first appearance until report_json sorts */
	int ntellers, captellers;
	struct longest top[REPORT_LONGEST];
	int ntop;
	struct day_total *days;
	int ndays, capdays;
	int64_t last_close;
	struct sat sat;                  /* every served leg */
	int sat_served;
	int reinstated, reinstated_called;   /* tickets reinstated; of them, called again */
	int64_t reinstated_wait_sum_s, reinstated_wait_max_s;
	int help_calls, help_acked;
	int64_t help_ack_sum_s, help_ack_max_s;
	bool oom;
};

static const char *const RATING_KEYS[REPORT_RATING_KEYS] = {
	"very_satisfied", "satisfied", "neutral", "dissatisfied"
};

/* The bands' upper edges (inclusive); the last band is open. */
static const int64_t BAND_TO_S[REPORT_BANDS - 1] = { 180, 300, 600, 900, 1200, 1800 };
static const char *const BAND_NAMES[REPORT_BANDS] = {
	"le_3m", "3_5m", "5_10m", "10_15m", "15_20m", "20_30m", "gt_30m"
};

const char *
report_rating_key(int k)
{
	return k >= 0 && k < REPORT_RATING_KEYS ? RATING_KEYS[k] : NULL;
}

int
report_rating_parse(const char *name)
{
	for (int k = 0; name != NULL && k < REPORT_RATING_KEYS; k++)
		if (strcmp(name, RATING_KEYS[k]) == 0)
			return k;
	return -1;
}

int
report_band(int64_t w)
{
	int b = 0;

	while (b < REPORT_BANDS - 1 && w > BAND_TO_S[b])
		b++;
	return b;
}

/* Leg l (served) in s: rated, prompted and not rated, or the prompt not shown. */
static void
sat_add(struct sat *s, const struct report_leg *l)
{
	if (l->rating > 0 && l->rating <= REPORT_RATING_KEYS) {
		s->rated++;
		s->keys[l->rating - 1]++;
	} else if (l->prompted_at != 0) {
		s->not_rated++;
	} else {
		s->prompt_not_shown++;
	}
}

static int sweep_day(const struct config *cfg, const struct report_day *day, int64_t *idle,
    int64_t *pause);

struct report *
report_new(const struct config *cfg)
{
	struct report *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->cfg = cfg;
	r->branch_target = cfg->nservices > 0 ? cfg->services[0].target_share : 0.05;
	for (int s = 1; s < cfg->nservices; s++)
		if (cfg->services[s].target_share < r->branch_target)
			r->branch_target = cfg->services[s].target_share;
	for (int i = 0; i < G_COUNT; i++)
		r->g[i].target = r->branch_target;
	for (int s = 0; s < cfg->nservices; s++)
		r->g[G_SERVICE + s].target = cfg->services[s].target_share;
	return r;
}

void
report_free(struct report *r)
{
	if (r == NULL)
		return;
	for (int i = 0; i < G_COUNT; i++)
		free(r->g[i].waits);
	for (int i = 0; i < r->ndays; i++)
		free(r->days[i].g.waits);
	free(r->days);
	for (int i = 0; i < r->ntellers; i++)
		free(r->tellers[i].service_s);
	free(r->tellers);
	free(r);
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

int64_t
report_percentile(const int64_t *sorted, int n, int p)
{
	/* rank = ceil(p * n / 100), in integers so 90 % of 10 is exactly rank 9. */
	int64_t rank = ((int64_t)p * n + 99) / 100;

	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return sorted[rank - 1];
}

static void
group_wait(struct report *r, struct group *g, int64_t w)
{
	if (g->nwaits == g->cap) {
		int ncap = g->cap ? g->cap * 2 : 32;
		int64_t *nw = realloc(g->waits, (size_t)ncap * sizeof(*nw));
		if (nw == NULL) {
			r->oom = true;
			return;
		}
		g->waits = nw;
		g->cap = ncap;
	}
	g->waits[g->nwaits++] = w;
}

/* A leg as it stood at close: what happened after close has not happened yet. */
static void
leg_at_close(struct report_leg *l, int64_t close)
{
	if (l->called_at > close)
		l->called_at = 0;
	/* Closed at the reset for having waited all day: still waiting when the day closed. */
	if (l->status == TS_EXPIRED)
		l->ended_at = close + 1;
	if (l->ended_at > close) {
		l->ended_at = 0;
		l->transferred_to = 0;
	}
	if (l->prompted_at > close)
		l->prompted_at = 0;
	if (l->rated_at > close) {
		l->rated_at = 0;
		l->rating = 0;
	}
	if (l->ended_at == 0)
		l->status = l->called_at ? TS_CALLED : TS_WAITING;
	else if (l->status == TS_WAITING || l->status == TS_CALLED || l->status == TS_SERVING)
		l->status = l->called_at ? TS_SERVED : TS_CANCELLED;   /* ended but never marked: cannot happen */
}

static int
cmp_leg_id(const void *a, const void *b)
{
	const struct report_leg *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static const struct report_leg *
leg_find(const struct report_leg *legs, int n, int64_t id)
{
	struct report_leg key = { .id = id };

	if (n == 0)
		return NULL;
	return bsearch(&key, legs, (size_t)n, sizeof(*legs), cmp_leg_id);
}

static int
local_hour(int64_t t, int utc_offset_s)
{
	int64_t h = (t + utc_offset_s) / 3600 % HOURS;

	return (int)(h < 0 ? h + HOURS : h);
}

static void
top_add(struct report *r, const struct longest *c)
{
	int i = r->ntop < REPORT_LONGEST ? r->ntop++ : REPORT_LONGEST;

	if (i == REPORT_LONGEST) {
		/* Full: replace the last when c is longer (ties: the earlier issue stays). */
		if (c->wait_s <= r->top[REPORT_LONGEST - 1].wait_s)
			return;
		i = REPORT_LONGEST - 1;
	}
	while (i > 0 && r->top[i - 1].wait_s < c->wait_s) {
		r->top[i] = r->top[i - 1];
		i--;
	}
	r->top[i] = *c;
}

/*
 * The row of teller `by` (NULL: not recorded), added when new; NULL and
 * r->oom when out of memory. A name longer than the row's is cut, as the
 * queue cuts who it records.
 */
static struct teller_fig *
teller_of(struct report *r, const char *by)
{
	struct teller_fig *t;

	for (int i = r->ntellers - 1; i >= 0; i--) {
		t = &r->tellers[i];
		if (by == NULL ? !t->recorded : t->recorded && strncmp(t->name, by,
		    sizeof(t->name) - 1) == 0)
			return t;
	}
	if (r->ntellers == r->captellers) {
		int ncap = r->captellers ? r->captellers * 2 : 16;
		struct teller_fig *nt = realloc(r->tellers, (size_t)ncap * sizeof(*nt));
		if (nt == NULL) {
			r->oom = true;
			return NULL;
		}
		r->tellers = nt;
		r->captellers = ncap;
	}
	t = &r->tellers[r->ntellers++];
	memset(t, 0, sizeof(*t));
	t->recorded = by != NULL;
	snprintf(t->name, sizeof(t->name), "%s", by != NULL ? by : "");
	return t;
}

/*
 * Each counter's pauses within [start, close), for whoever paused it: a
 * pause runs from its counter.paused (or the day's start, when paused
 * already) to the next counter.resumed at that counter, whoever resumed it,
 * or to close. A second pause while paused changes nothing, as in the sweep,
 * so the tellers' pause_s add up to the counters'.
 */
static void
teller_pauses(struct report *r, const struct report_day *day)
{
	const struct config *cfg = r->cfg;
	const char *by[MAX_COUNTERS];
	int64_t since[MAX_COUNTERS];
	bool open[MAX_COUNTERS];
	struct teller_fig *t;

	for (int ci = 0; ci < cfg->ncounters; ci++) {
		open[ci] = day->paused_at_start != NULL && day->paused_at_start[ci];
		by[ci] = day->paused_by_at_start != NULL ? day->paused_by_at_start[ci] : NULL;
		since[ci] = day->start;
	}
	for (int i = 0; i < day->npauses; i++) {
		const struct report_pause *p = &day->pauses[i];
		int ci = config_counter_index(cfg, p->counter);
		int64_t at;

		if (ci < 0)
			continue;
		at = p->at < day->start ? day->start : p->at > day->close ? day->close : p->at;
		if (p->paused && !open[ci]) {
			open[ci] = true;
			since[ci] = at;
			by[ci] = p->by;
		} else if (!p->paused && open[ci]) {
			open[ci] = false;
			if (at > since[ci] && (t = teller_of(r, by[ci])) != NULL)
				t->pause_s += at - since[ci];
		}
	}
	for (int ci = 0; ci < cfg->ncounters; ci++)
		if (open[ci] && day->close > since[ci] && (t = teller_of(r, by[ci])) != NULL)
			t->pause_s += day->close - since[ci];
}

/* Count ticket (its last leg l; transferred: it has a transferred leg) in groups gs[0..n). */
static void
count_ticket(struct report *r, struct group **gs, int n, const struct report_leg *l,
    bool transferred, int64_t close, const struct date *date)
{
	const struct config *cfg = r->cfg;
	int64_t thr = l->service >= 0 ? cfg->services[l->service].overtime_s : 0;
	struct longest c = { .date = *date, .service = l->service, .category = l->category,
	    .issued_at = l->issued_at, .called_at = l->called_at, .counter = l->counter,
	    .status = l->status };
	bool listed = false;

	snprintf(c.number, sizeof(c.number), "%s", l->number);
	for (int i = 0; i < n; i++) {
		struct group *g = gs[i];

		g->issued++;
		if (transferred)
			g->transferred++;
		if (l->status == TS_WAITING) {
			g->waiting++;
			c.wait_s = close > l->issued_at ? close - l->issued_at : 0;
			c.waiting = true;
			c.overtime = thr > 0 && c.wait_s > thr;
			if (c.overtime) {
				g->overtime++;
				g->overtime_waiting++;
			}
			listed = true;
		} else if (l->called_at == 0) {
			g->cancelled++;
		} else {
			/* A wall clock set back between issue and call must not make a negative wait. */
			c.wait_s = l->called_at > l->issued_at ? l->called_at - l->issued_at : 0;
			c.overtime = thr > 0 && c.wait_s > thr;
			g->called++;
			g->bands[report_band(c.wait_s)]++;
			group_wait(r, g, c.wait_s);
			if (c.overtime)
				g->overtime++;
			if (l->status == TS_SERVED)
				g->served++;
			else if (l->status == TS_NO_SHOW)
				g->no_show++;
			listed = true;
		}
	}
	if (listed)
		top_add(r, &c);
}

/* A ticket's legs, at its first leg's index: indexes into the day's legs, -1 none. */
struct chain {
	int last;                        /* the newest leg */
	int prev;                        /* the newest so far, while they are read */
	int reinst;                      /* the newest leg made by a reinstatement */
	bool transferred;
};

int
report_add_day(struct report *r, const struct report_day *day)
{
	const struct config *cfg = r->cfg;
	struct report_leg *legs = NULL;
	struct chain *chain = NULL;
	struct day_total *dt;
	int n = 0;

	if (r->ndays == r->capdays) {
		int ncap = r->capdays ? r->capdays * 2 : 8;
		struct day_total *nd = realloc(r->days, (size_t)ncap * sizeof(*nd));
		if (nd == NULL)
			return -1;
		r->days = nd;
		r->capdays = ncap;
	}
	dt = &r->days[r->ndays++];
	memset(dt, 0, sizeof(*dt));
	dt->date = day->date;
	dt->g.target = r->branch_target;
	r->last_close = day->close;

	if (day->nlegs > 0 && (legs = malloc((size_t)day->nlegs * sizeof(*legs))) == NULL)
		return -1;
	/* Legs begun after close (a transfer after close) are not there yet. */
	for (int i = 0; i < day->nlegs; i++) {
		if (day->legs[i].created_at > day->close)
			continue;
		legs[n] = day->legs[i];
		leg_at_close(&legs[n], day->close);
		n++;
	}
	if (n > 1)
		qsort(legs, (size_t)n, sizeof(*legs), cmp_leg_id);

	/*
	 * Each ticket's legs, found from its first (legs are numbered as they
	 * are made, so in id order): the newest is its last leg at close, a
	 * transferred leg makes it transferred, and a leg after a no-show is a
	 * reinstatement.
	 */
	if (n > 0 && (chain = malloc((size_t)n * sizeof(*chain))) == NULL) {
		free(legs);
		return -1;
	}
	for (int i = 0; i < n; i++)
		chain[i] = (struct chain){ .last = -1, .prev = -1, .reinst = -1 };
	for (int i = 0; i < n; i++) {
		const struct report_leg *o = leg_find(legs, n, legs[i].origin_id);
		struct chain *c;

		if (o == NULL)
			continue;
		c = &chain[o - legs];
		if (c->prev >= 0 && legs[c->prev].status == TS_NO_SHOW)
			c->reinst = i;
		if (legs[i].status == TS_TRANSFERRED)
			c->transferred = true;
		c->prev = c->last = i;
	}

	for (int i = 0; i < n; i++) {
		const struct report_leg *o = &legs[i], *l;
		struct group *gs[6];
		int ng = 0, ci;

		/* Counter work: every leg at the counter that called it. */
		if (o->counter > 0 && o->called_at && (ci = config_counter_index(cfg, o->counter)) >= 0) {
			r->counters[ci].calls++;
			if (o->status == TS_SERVED) {
				r->counters[ci].served++;
				r->counters[ci].service_sum_s += o->ended_at - o->called_at;
				sat_add(&r->counters[ci].sat, o);
			}
		}
		if (o->status == TS_SERVED) {
			r->sat_served++;
			sat_add(&r->sat, o);
		}
		/* A teller's work: every leg finished, for whoever finished it. */
		if (o->status == TS_SERVED || o->status == TS_NO_SHOW) {
			struct teller_fig *t = teller_of(r, o->by);
			if (t != NULL && o->status == TS_NO_SHOW) {
				t->no_show++;
			} else if (t != NULL) {
				if (t->served == t->capservice) {
					int ncap = t->capservice ? t->capservice * 2 : 32;
					int64_t *ns = realloc(t->service_s, (size_t)ncap * sizeof(*ns));
					if (ns == NULL) {
						r->oom = true;
						continue;
					}
					t->service_s = ns;
					t->capservice = ncap;
				}
				t->service_s[t->served++] = o->ended_at - o->called_at;
				t->service_sum_s += o->ended_at - o->called_at;
				sat_add(&t->sat, o);
			}
		}
		if (o->id != o->origin_id || chain[i].last < 0)
			continue;
		l = &legs[chain[i].last];
		if (chain[i].reinst >= 0) {
			const struct report_leg *back = &legs[chain[i].reinst];
			r->reinstated++;
			if (back->called_at) {
				int64_t w = back->called_at > back->created_at ?
				    back->called_at - back->created_at : 0;
				r->reinstated_called++;
				r->reinstated_wait_sum_s += w;
				if (w > r->reinstated_wait_max_s)
					r->reinstated_wait_max_s = w;
			}
		}
		gs[ng++] = &r->g[G_TOTAL];
		gs[ng++] = &dt->g;
		if (l->service >= 0)
			gs[ng++] = &r->g[G_SERVICE + l->service];
		gs[ng++] = &r->g[G_CATEGORY + l->category];
		gs[ng++] = &r->g[category_green(l->category) ? G_GREEN : G_NORMAL];
		gs[ng++] = &r->g[G_HOUR + local_hour(l->issued_at, day->utc_offset_s)];
		count_ticket(r, gs, ng, l, chain[i].transferred, day->close, &day->date);
		if (l->called_at)
			r->g[G_HOUR + local_hour(l->called_at, day->utc_offset_s)].calls++;
	}
	free(chain);

	/* Help calls from the kiosks, and how long the lobby took to acknowledge them. */
	for (int i = 0; i < day->nhelps; i++) {
		const struct report_help *h = &day->helps[i];

		if (h->at < day->start || h->at > day->close)
			continue;
		r->help_calls++;
		if (h->acked_at != 0 && h->acked_at <= day->close) {
			int64_t w = h->acked_at > h->at ? h->acked_at - h->at : 0;
			r->help_acked++;
			r->help_ack_sum_s += w;
			if (w > r->help_ack_max_s)
				r->help_ack_max_s = w;
		}
	}

	{
		struct report_day d = *day;
		int64_t idle[MAX_COUNTERS], pause[MAX_COUNTERS];

		d.legs = legs;
		d.nlegs = n;
		if (sweep_day(cfg, &d, idle, pause) != 0) {
			free(legs);
			return -1;
		}
		for (int ci = 0; ci < cfg->ncounters; ci++) {
			r->counters[ci].idle_s += idle[ci];
			r->counters[ci].pause_s += pause[ci];
		}
	}
	teller_pauses(r, day);
	free(legs);
	return r->oom ? -1 : 0;
}

/* A change at one instant of the sweep. */
struct sweep_ev {
	int64_t t;
	int seq;                         /* input order, for pauses at the same second */
	int kind;                        /* SW_WAIT, SW_BUSY or SW_PAUSE */
	int idx;                         /* service index (SW_WAIT), counter index (the others) */
	int value;                       /* +1/-1; for SW_PAUSE 1 paused, 0 open */
};

enum { SW_WAIT, SW_BUSY, SW_PAUSE };

static int
cmp_sweep(const void *a, const void *b)
{
	const struct sweep_ev *x = a, *y = b;

	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return x->seq - y->seq;
}

static void
sweep_push(struct sweep_ev *ev, int *n, int64_t t, int kind, int idx, int value)
{
	ev[*n] = (struct sweep_ev){ .t = t, .seq = *n, .kind = kind, .idx = idx, .value = value };
	(*n)++;
}

static int64_t
clamp(int64_t t, int64_t lo, int64_t hi)
{
	return t < lo ? lo : t > hi ? hi : t;
}

/*
 * One sweep over the day for every counter at once: idle[ci] and pause[ci]
 * get the seconds of counter index ci (see report_idle_s). Events are
 * sorted once per day, not once per counter. -1 when out of memory.
 */
static int
sweep_day(const struct config *cfg, const struct report_day *day, int64_t *idle, int64_t *pause)
{
	int64_t lo = day->start, hi = day->close, prev = lo;
	int waiting[MAX_SERVICES] = { 0 }, busy[MAX_COUNTERS] = { 0 };
	bool paused[MAX_COUNTERS];
	struct sweep_ev *ev;
	int n = 0;

	ev = malloc(((size_t)day->nlegs * 4 + (size_t)day->npauses + 1) * sizeof(*ev));
	if (ev == NULL)
		return -1;
	for (int ci = 0; ci < cfg->ncounters; ci++) {
		paused[ci] = day->paused_at_start != NULL && day->paused_at_start[ci];
		idle[ci] = pause[ci] = 0;
	}
	for (int i = 0; i < day->nlegs; i++) {
		const struct report_leg *l = &day->legs[i];
		int ci = l->counter > 0 && l->called_at ? config_counter_index(cfg, l->counter) : -1;
		int64_t a, b;

		if (l->service >= 0) {
			/* Waiting from the leg's start to its first call, its end, or close. */
			a = clamp(l->created_at, lo, hi);
			b = clamp(l->called_at ? l->called_at : l->ended_at ? l->ended_at : hi, lo, hi);
			if (b > a) {
				sweep_push(ev, &n, a, SW_WAIT, l->service, 1);
				sweep_push(ev, &n, b, SW_WAIT, l->service, -1);
			}
		}
		if (ci >= 0) {
			/* The counter's current ticket from its call to its end (or close). */
			a = clamp(l->called_at, lo, hi);
			b = clamp(l->ended_at ? l->ended_at : hi, lo, hi);
			if (b > a) {
				sweep_push(ev, &n, a, SW_BUSY, ci, 1);
				sweep_push(ev, &n, b, SW_BUSY, ci, -1);
			}
		}
	}
	for (int i = 0; i < day->npauses; i++) {
		int ci = config_counter_index(cfg, day->pauses[i].counter);
		if (ci >= 0)
			sweep_push(ev, &n, clamp(day->pauses[i].at, lo, hi), SW_PAUSE, ci,
			    day->pauses[i].paused ? 1 : 0);
	}
	if (n > 1)
		qsort(ev, (size_t)n, sizeof(*ev), cmp_sweep);
	for (int i = 0; i <= n; i++) {
		int64_t t = i < n ? ev[i].t : hi;

		if (t > prev) {
			for (int ci = 0; ci < cfg->ncounters; ci++) {
				const struct counter_conf *cc = &cfg->counters[ci];
				bool someone = false;

				if (paused[ci]) {
					pause[ci] += t - prev;
					continue;
				}
				for (int j = 0; j < cc->nservices && !someone; j++)
					someone = waiting[cc->services[j]] > 0;
				if (someone && busy[ci] == 0)
					idle[ci] += t - prev;
			}
			prev = t;
		}
		if (i == n)
			break;
		switch (ev[i].kind) {
		case SW_WAIT: waiting[ev[i].idx] += ev[i].value; break;
		case SW_BUSY: busy[ev[i].idx] += ev[i].value; break;
		default: paused[ev[i].idx] = ev[i].value == 1; break;
		}
	}
	free(ev);
	return 0;
}

int64_t
report_idle_s(const struct config *cfg, int ci, const struct report_day *day, int64_t *pause_s)
{
	int64_t idle[MAX_COUNTERS], pause[MAX_COUNTERS];

	if (sweep_day(cfg, day, idle, pause) != 0)
		return -1;
	*pause_s = pause[ci];
	return idle[ci];
}

/* ---------------------------------------------------------------- JSON */

static json_t *
date_json(struct date d)
{
	char s[11];

	date_format(d, s);
	return json_string(s);
}

/* sum / n (both >= 0, n > 0) to a tenth, halves rounded up, in integers. */
static double
tenths(int64_t sum, int64_t n)
{
	return (double)((sum * 20 + n) / (2 * n)) / 10.0;
}

/* part ÷ whole, null when whole is 0. */
static json_t *
share(int64_t part, int64_t whole)
{
	return whole > 0 ? json_real((double)part / (double)whole) : json_null();
}

/* The called tickets of g by wait band (from_s, to_s], the first from 0 inclusive, the last open. */
static json_t *
bands_json(const struct group *g)
{
	json_t *a = json_array();

	for (int b = 0; b < REPORT_BANDS; b++)
		json_array_append_new(a, json_pack("{s:s,s:I,s:o,s:i,s:o}", "band", BAND_NAMES[b],
		    "from_s", (json_int_t)(b > 0 ? BAND_TO_S[b - 1] : 0),
		    "to_s", b < REPORT_BANDS - 1 ? json_integer(BAND_TO_S[b]) : json_null(),
		    "count", g->bands[b], "share", share(g->bands[b], g->called)));
	return a;
}

/* The satisfaction of `served` served legs, s their ratings, added to o. */
static json_t *
sat_json(json_t *o, const struct sat *s, int served)
{
	json_t *keys = json_object();

	for (int k = 0; k < REPORT_RATING_KEYS; k++)
		json_object_set_new(keys, RATING_KEYS[k], json_integer(s->keys[k]));
	json_object_set_new(o, "rated", json_integer(s->rated));
	json_object_set_new(o, "ratings", keys);
	json_object_set_new(o, "not_rated", json_integer(s->not_rated));
	json_object_set_new(o, "prompt_not_shown", json_integer(s->prompt_not_shown));
	json_object_set_new(o, "satisfied_share", share(s->keys[0] + s->keys[1], s->rated));
	json_object_set_new(o, "rated_share", share(s->rated, served));
	return o;
}

/* sum ÷ n to a tenth as a JSON real, null when n is 0. */
static json_t *
avg_json(int64_t sum, int64_t n)
{
	return n > 0 ? json_real(tenths(sum, n)) : json_null();
}

/* The figures of group g, added to o. Sorts g's waits. */
static json_t *
figures(json_t *o, struct group *g)
{
	int base = g->called + g->overtime_waiting;
	int64_t sum = 0;

	if (g->nwaits > 1)
		qsort(g->waits, (size_t)g->nwaits, sizeof(*g->waits), cmp_i64);
	for (int i = 0; i < g->nwaits; i++)
		sum += g->waits[i];
	json_object_set_new(o, "issued", json_integer(g->issued));
	json_object_set_new(o, "called", json_integer(g->called));
	json_object_set_new(o, "served", json_integer(g->served));
	json_object_set_new(o, "no_show", json_integer(g->no_show));
	json_object_set_new(o, "cancelled", json_integer(g->cancelled));
	json_object_set_new(o, "waiting_at_close", json_integer(g->waiting));
	json_object_set_new(o, "transferred", json_integer(g->transferred));
	if (g->nwaits > 0) {
		json_object_set_new(o, "wait_avg_s", json_real(tenths(sum, g->nwaits)));
		json_object_set_new(o, "wait_p50_s", json_integer(report_percentile(g->waits,
		    g->nwaits, 50)));
		json_object_set_new(o, "wait_p90_s", json_integer(report_percentile(g->waits,
		    g->nwaits, 90)));
		json_object_set_new(o, "wait_max_s", json_integer(g->waits[g->nwaits - 1]));
	} else {
		json_object_set_new(o, "wait_avg_s", json_null());
		json_object_set_new(o, "wait_p50_s", json_null());
		json_object_set_new(o, "wait_p90_s", json_null());
		json_object_set_new(o, "wait_max_s", json_null());
	}
	json_object_set_new(o, "overtime", json_integer(g->overtime));
	json_object_set_new(o, "overtime_waiting", json_integer(g->overtime_waiting));
	json_object_set_new(o, "overtime_base", json_integer(base));
	json_object_set_new(o, "overtime_share", base > 0 ?
	    json_real((double)g->overtime / base) : json_null());
	json_object_set_new(o, "target_share", json_real(g->target));
	/* Met when overtime ≤ target × base; the epsilon absorbs 5 % not being exact in binary. */
	json_object_set_new(o, "target_met", json_boolean(base == 0 ||
	    (double)g->overtime <= g->target * base + 1e-9));
	json_object_set_new(o, "wait_bands", bands_json(g));
	return o;
}

/*
 * How many measured waits fall in each REPORT_BIN_S-wide bin [from, to),
 * the last bin open-ended (to null), for the page's histogram.
 */
static json_t *
distribution(const struct group *g)
{
	int count[REPORT_BINS] = { 0 };
	json_t *bins = json_array();

	for (int i = 0; i < g->nwaits; i++) {
		int64_t b = g->waits[i] / REPORT_BIN_S;     /* waits are never negative */
		count[b < 0 ? 0 : b < REPORT_BINS - 1 ? b : REPORT_BINS - 1]++;
	}
	for (int b = 0; b < REPORT_BINS; b++)
		json_array_append_new(bins, json_pack("{s:i,s:o,s:i}", "from_s", b * REPORT_BIN_S,
		    "to_s", b < REPORT_BINS - 1 ? json_integer((b + 1) * REPORT_BIN_S) : json_null(),
		    "count", count[b]));
	return json_pack("{s:i,s:o}", "bin_s", REPORT_BIN_S, "bins", bins);
}

static json_t *
service_names(json_t *o, const struct config *cfg, int s)
{
	if (s < 0) {
		json_object_set_new(o, "service", json_null());
		return o;
	}
	json_object_set_new(o, "service", json_string(cfg->services[s].id));
	json_object_set_new(o, "name_zh", json_string(cfg->services[s].name_zh));
	json_object_set_new(o, "name_en", json_string(cfg->services[s].name_en));
	return o;
}

/* by_teller's order: by name (bytes, so the same everywhere), the row not recorded last. */
static int
cmp_teller(const void *a, const void *b)
{
	const struct teller_fig *x = a, *y = b;

	if (x->recorded != y->recorded)
		return x->recorded ? -1 : 1;
	return strcmp(x->name, y->name);
}

static const char *
outcome_name(const struct longest *l)
{
	if (l->waiting)
		return "waiting";
	switch (l->status) {
	case TS_SERVED: return "served";
	case TS_NO_SHOW: return "no_show";
	default: return "at_counter";
	}
}

json_t *
report_json(struct report *r, struct date from, struct date to, int64_t now)
{
	const struct config *cfg = r->cfg;
	json_t *o = json_object(), *a;
	int reset_h = cfg->day_reset_min / 60;

	if (o == NULL)
		return NULL;
	if (date_cmp(from, to) == 0) {
		json_object_set_new(o, "date", date_json(from));
	} else {
		json_object_set_new(o, "from", date_json(from));
		json_object_set_new(o, "to", date_json(to));
	}
	json_object_set_new(o, "generated_at", render_time(now));
	json_object_set_new(o, "close_at", render_time(r->last_close));
	json_object_set_new(o, "so_far", json_boolean(r->last_close == now));
	json_object_set_new(o, "branch", json_pack("{s:s,s:s}", "name_zh", cfg->name_zh,
	    "name_en", cfg->name_en));
	json_object_set_new(o, "totals", figures(json_object(), &r->g[G_TOTAL]));
	json_object_set_new(o, "wait_distribution", distribution(&r->g[G_TOTAL]));

	a = json_array();
	for (int s = 0; s < cfg->nservices; s++) {
		json_t *row = service_names(json_object(), cfg, s);
		json_object_set_new(row, "overtime_threshold_s",
		    json_integer(cfg->services[s].overtime_s));
		json_array_append_new(a, figures(row, &r->g[G_SERVICE + s]));
	}
	json_object_set_new(o, "by_service", a);

	a = json_array();
	for (int c = 0; c < CAT_COUNT; c++) {
		json_t *row = json_pack("{s:s,s:b}", "category", category_name((enum category)c),
		    "green", category_green((enum category)c));
		json_array_append_new(a, figures(row, &r->g[G_CATEGORY + c]));
	}
	json_object_set_new(o, "by_category", a);
	json_object_set_new(o, "green_vs_normal", json_pack("{s:o,s:o}",
	    "green", figures(json_object(), &r->g[G_GREEN]),
	    "normal", figures(json_object(), &r->g[G_NORMAL])));

	/* Hours in the order of the business day, from the reset hour; only hours with activity. */
	a = json_array();
	for (int k = 0; k < HOURS; k++) {
		int h = (reset_h + k) % HOURS;
		struct group *g = &r->g[G_HOUR + h];
		if (g->issued == 0 && g->calls == 0)
			continue;
		json_t *row = json_pack("{s:i,s:i}", "hour", h, "calls", g->calls);
		json_array_append_new(a, figures(row, g));
	}
	json_object_set_new(o, "by_hour", a);

	a = json_array();
	for (int ci = 0; ci < cfg->ncounters; ci++) {
		const struct counter_fig *f = &r->counters[ci];
		json_array_append_new(a, sat_json(json_pack("{s:i,s:i,s:i,s:o,s:I,s:I}",
		    "counter", cfg->counters[ci].number, "calls", f->calls, "served", f->served,
		    "service_avg_s", avg_json(f->service_sum_s, f->served),
		    "pause_s", (json_int_t)f->pause_s, "idle_waiting_s", (json_int_t)f->idle_s),
		    &f->sat, f->served));
	}
	json_object_set_new(o, "by_counter", a);

	a = json_array();
	if (r->ntellers > 1)
		qsort(r->tellers, (size_t)r->ntellers, sizeof(*r->tellers), cmp_teller);
	for (int i = 0; i < r->ntellers; i++) {
		struct teller_fig *t = &r->tellers[i];
		if (t->served > 1)
			qsort(t->service_s, (size_t)t->served, sizeof(*t->service_s), cmp_i64);
		json_array_append_new(a, sat_json(json_pack("{s:o,s:b,s:i,s:o,s:o,s:i,s:I}",
		    "teller", t->recorded ? json_string(t->name) : json_null(), "recorded", t->recorded,
		    "served", t->served, "service_avg_s", avg_json(t->service_sum_s, t->served),
		    "service_p50_s", t->served ? json_integer(report_percentile(t->service_s,
		    t->served, 50)) : json_null(),
		    "no_show", t->no_show, "pause_s", (json_int_t)t->pause_s), &t->sat, t->served));
	}
	json_object_set_new(o, "by_teller", a);
	json_object_set_new(o, "satisfaction", sat_json(json_pack("{s:i}", "served",
	    r->sat_served), &r->sat, r->sat_served));
	{
		const struct group *t = &r->g[G_TOTAL];
		json_object_set_new(o, "missed", json_pack("{s:i,s:i,s:o,s:i,s:i,s:o,s:i,s:i,s:o,"
		    "s:o,s:i,s:i,s:o,s:o}",
		    "called", t->called, "no_show", t->no_show, "no_show_rate",
		    share(t->no_show, t->called),
		    "issued", t->issued, "cancelled", t->cancelled, "cancelled_rate",
		    share(t->cancelled, t->issued),
		    "reinstated", r->reinstated, "reinstated_called", r->reinstated_called,
		    "reinstated_wait_avg_s", avg_json(r->reinstated_wait_sum_s, r->reinstated_called),
		    "reinstated_wait_max_s", r->reinstated_called ?
		    json_integer(r->reinstated_wait_max_s) : json_null(),
		    "help_calls", r->help_calls, "help_acknowledged", r->help_acked,
		    "help_ack_avg_s", avg_json(r->help_ack_sum_s, r->help_acked),
		    "help_ack_max_s", r->help_acked ? json_integer(r->help_ack_max_s) : json_null()));
	}

	a = json_array();
	for (int i = 0; i < r->ntop; i++) {
		const struct longest *l = &r->top[i];
		json_t *row = json_pack("{s:o,s:s}", "date", date_json(l->date), "number", l->number);
		service_names(row, cfg, l->service);
		json_object_set_new(row, "category", json_string(category_name(l->category)));
		json_object_set_new(row, "issued_at", render_time(l->issued_at));
		json_object_set_new(row, "called_at", render_time(l->called_at));
		json_object_set_new(row, "wait_s", json_integer(l->wait_s));
		json_object_set_new(row, "overtime", json_boolean(l->overtime));
		json_object_set_new(row, "outcome", json_string(outcome_name(l)));
		json_object_set_new(row, "counter", l->counter && !l->waiting ?
		    json_integer(l->counter) : json_null());
		json_array_append_new(a, row);
	}
	json_object_set_new(o, "longest_waits", a);

	if (date_cmp(from, to) != 0) {
		a = json_array();
		for (int i = 0; i < r->ndays; i++) {
			json_t *row = json_pack("{s:o}", "date", date_json(r->days[i].date));
			json_array_append_new(a, figures(row, &r->days[i].g));
		}
		json_object_set_new(o, "by_day", a);
	}
	return o;
}

char *
report_dumps(const json_t *report)
{
	return json_dumps(report, JSON_COMPACT | JSON_REAL_PRECISION(6));
}

/* ---------------------------------------------------------------- loader */

static int
days_in_month(int y, int m)
{
	static const int dim[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return dim[m - 1];
}

static struct date
date_next(struct date d)
{
	if (++d.d > days_in_month(d.y, d.m)) {
		d.d = 1;
		if (++d.m > 12) {
			d.m = 1;
			d.y++;
		}
	}
	return d;
}

struct loaded {
	struct report_leg *legs;
	char (*bday)[11];
	int n, cap;
};

static int
load_legs(sqlite3 *db, const char *from, const char *to, const struct config *cfg,
    struct loaded *L)
{
	static const char sql[] = "SELECT id, origin_id, number, service, category, status, "
	    "issued_at, created_at, called_at, ended_at, counter, transferred_to, bday "
	    "FROM tickets WHERE bday BETWEEN ?1 AND ?2 ORDER BY bday";
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, from, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, to, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct report_leg *l;
		const char *t;
		int v;

		if (L->n == L->cap) {
			int ncap = L->cap ? L->cap * 2 : 1024;
			struct report_leg *nl = realloc(L->legs, (size_t)ncap * sizeof(*nl));
			char (*nb)[11];
			if (nl == NULL)
				break;
			L->legs = nl;
			if ((nb = realloc(L->bday, (size_t)ncap * sizeof(*nb))) == NULL)
				break;
			L->bday = nb;
			L->cap = ncap;
		}
		l = &L->legs[L->n];
		memset(l, 0, sizeof(*l));
		l->id = sqlite3_column_int64(st, 0);
		l->origin_id = sqlite3_column_int64(st, 1);
		t = (const char *)sqlite3_column_text(st, 2);
		snprintf(l->number, sizeof(l->number), "%s", t ? t : "");
		t = (const char *)sqlite3_column_text(st, 3);
		l->service = t ? config_service_index(cfg, t) : -1;
		v = category_parse((const char *)sqlite3_column_text(st, 4));
		l->category = v < 0 ? CAT_NORMAL : (enum category)v;
		v = status_parse((const char *)sqlite3_column_text(st, 5));
		l->status = v < 0 ? TS_CANCELLED : (enum ticket_status)v;
		l->issued_at = sqlite3_column_int64(st, 6);
		l->created_at = sqlite3_column_int64(st, 7);
		l->called_at = sqlite3_column_int64(st, 8);
		l->ended_at = sqlite3_column_int64(st, 9);
		l->counter = sqlite3_column_int(st, 10);
		l->transferred_to = sqlite3_column_int64(st, 11);
		t = (const char *)sqlite3_column_text(st, 12);
		snprintf(L->bday[L->n], sizeof(L->bday[0]), "%s", t ? t : "");
		L->n++;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/*
 * An event's "by" (who did it), NULL when it has none. The daemon writes
 * every event's data with json_dumps and the log is append-only, so it is
 * not checked with json_valid first: that would parse every event twice.
 */
#define EVENT_BY "json_extract(data, '$.by')"

/*
 * The names that events give as "by", each kept once: the legs and pauses
 * point into it, and it is freed after the report is built.
 */
struct names {
	char **v;
	int n, cap;
};

/* Column col of st as one of N's names: *out NULL when not a text. -1 when out of memory. */
static int
names_col(struct names *N, sqlite3_stmt *st, int col, const char **out)
{
	const char *s = (const char *)sqlite3_column_text(st, col);
	char *c;

	*out = NULL;
	if (sqlite3_column_type(st, col) != SQLITE_TEXT || s == NULL)
		return 0;
	for (int i = N->n - 1; i >= 0; i--)
		if (strcmp(N->v[i], s) == 0) {
			*out = N->v[i];
			return 0;
		}
	if (N->n == N->cap) {
		int ncap = N->cap ? N->cap * 2 : 16;
		char **nv = realloc(N->v, (size_t)ncap * sizeof(*nv));
		if (nv == NULL)
			return -1;
		N->v = nv;
		N->cap = ncap;
	}
	if ((c = strdup(s)) == NULL)
		return -1;
	*out = N->v[N->n++] = c;
	return 0;
}

static void
names_free(struct names *N)
{
	for (int i = 0; i < N->n; i++)
		free(N->v[i]);
	free(N->v);
}

/* A leg's end as the event log records it: which leg, how it ended, and by whom. */
struct finish {
	int64_t ticket_id;
	int no_show;                     /* ticket.no_show: 1, ticket.served: 0 */
	const char *by;
};

static int
cmp_finish(const void *a, const void *b)
{
	const struct finish *x = a, *y = b;

	if (x->ticket_id != y->ticket_id)
		return x->ticket_id < y->ticket_id ? -1 : 1;
	return x->no_show - y->no_show;
}

static int
cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/*
 * Who finished each served or no-show leg of L: the "by" of its
 * ticket.served or ticket.no_show event in [from, to], read counter by
 * counter (each counter a leg was called at) through events_counter_state.
 * A leg with no such event, or an event with no "by", keeps by = NULL.
 */
static int
load_finishers(sqlite3 *db, struct loaded *L, int64_t from, int64_t to, struct names *N)
{
	static const char sql[] = "SELECT ticket_id, type = 'ticket.no_show', " EVENT_BY
	    " FROM events WHERE type IN ('ticket.served', 'ticket.no_show') AND counter = ?1 "
	    "AND at >= ?2 AND at <= ?3";
	sqlite3_stmt *st = NULL;
	struct finish *v = NULL;
	int *counters = NULL, nc = 0, n = 0, cap = 0, ok = -1;

	if (L->n == 0)
		return 0;
	if ((counters = malloc((size_t)L->n * sizeof(*counters))) == NULL)
		return -1;
	for (int i = 0; i < L->n; i++)
		if (L->legs[i].counter > 0)
			counters[nc++] = L->legs[i].counter;
	if (nc > 1)
		qsort(counters, (size_t)nc, sizeof(*counters), cmp_int);
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		goto out;
	for (int k = 0; k < nc; k++) {
		int rc;

		if (k > 0 && counters[k] == counters[k - 1])
			continue;
		sqlite3_reset(st);
		sqlite3_bind_int(st, 1, counters[k]);
		sqlite3_bind_int64(st, 2, from);
		sqlite3_bind_int64(st, 3, to);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			if (n == cap) {
				int ncap = cap ? cap * 2 : 1024;
				struct finish *nv = realloc(v, (size_t)ncap * sizeof(*nv));
				if (nv == NULL)
					goto out;
				v = nv;
				cap = ncap;
			}
			v[n].ticket_id = sqlite3_column_int64(st, 0);
			v[n].no_show = sqlite3_column_int(st, 1) != 0;
			if (names_col(N, st, 2, &v[n].by) != 0)
				goto out;
			n++;
		}
		if (rc != SQLITE_DONE)
			goto out;
	}
	if (n > 1)
		qsort(v, (size_t)n, sizeof(*v), cmp_finish);
	for (int i = 0; i < L->n && n > 0; i++) {
		struct report_leg *l = &L->legs[i];
		struct finish key = { .ticket_id = l->id, .no_show = l->status == TS_NO_SHOW };
		const struct finish *f;

		if (l->status != TS_SERVED && l->status != TS_NO_SHOW)
			continue;
		f = bsearch(&key, v, (size_t)n, sizeof(*v), cmp_finish);
		if (f != NULL)
			l->by = f->by;
	}
	ok = 0;
out:
	sqlite3_finalize(st);
	free(counters);
	free(v);
	return ok;
}

/* A rating event of a leg: its prompt (rated 0) or its rating (rated 1, key 1 + index). */
struct rating_ev {
	int64_t ticket_id, at, id;
	int rated, key;
};

static int
cmp_rating_ev(const void *a, const void *b)
{
	const struct rating_ev *x = a, *y = b;

	if (x->ticket_id != y->ticket_id)
		return x->ticket_id < y->ticket_id ? -1 : 1;
	if (x->rated != y->rated)
		return x->rated - y->rated;
	if (x->at != y->at)
		return x->at < y->at ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* The first of v[0..n) (sorted) for ticket id of kind rated, NULL when none. */
static const struct rating_ev *
rating_first(const struct rating_ev *v, int n, int64_t id, int rated)
{
	int lo = 0, hi = n;

	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;
		if (v[mid].ticket_id < id || (v[mid].ticket_id == id && v[mid].rated < rated))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && v[lo].ticket_id == id && v[lo].rated == rated ? &v[lo] : NULL;
}

/*
 * Each served leg's first rating.prompted and first ticket.rated in [from,
 * to] (a rating with an unknown key is no rating), read counter by counter
 * through events_counter_state, as load_finishers, and once for events
 * without a counter.
 */
static int
load_ratings(sqlite3 *db, struct loaded *L, int64_t from, int64_t to)
{
	/* A prompt's data is not read: only a rating has a key to parse. */
	static const char sql[] = "SELECT ticket_id, type = 'ticket.rated', at, id, "
	    "CASE type WHEN 'ticket.rated' THEN json_extract(data, '$.key') END FROM events "
	    "WHERE type IN ('rating.prompted', 'ticket.rated') AND counter IS ?1 AND at >= ?2 "
	    "AND at <= ?3";
	sqlite3_stmt *st = NULL;
	struct rating_ev *v = NULL;
	int *counters = NULL, nc = 0, n = 0, cap = 0, ok = -1;

	if (L->n == 0)
		return 0;
	if ((counters = malloc(((size_t)L->n + 1) * sizeof(*counters))) == NULL)
		return -1;
	counters[nc++] = 0;              /* 0: the events without a counter */
	for (int i = 0; i < L->n; i++)
		if (L->legs[i].counter > 0 && L->legs[i].status == TS_SERVED)
			counters[nc++] = L->legs[i].counter;
	if (nc > 1)
		qsort(counters, (size_t)nc, sizeof(*counters), cmp_int);
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		goto out;
	for (int k = 0; k < nc; k++) {
		int rc;

		if (k > 0 && counters[k] == counters[k - 1])
			continue;
		sqlite3_reset(st);
		if (counters[k] == 0)
			sqlite3_bind_null(st, 1);
		else
			sqlite3_bind_int(st, 1, counters[k]);
		sqlite3_bind_int64(st, 2, from);
		sqlite3_bind_int64(st, 3, to);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			struct rating_ev e = { .ticket_id = sqlite3_column_int64(st, 0),
			    .rated = sqlite3_column_int(st, 1) != 0, .at = sqlite3_column_int64(st, 2),
			    .id = sqlite3_column_int64(st, 3) };

			if (e.rated && (e.key = 1 + report_rating_parse((const char *)
			    sqlite3_column_text(st, 4))) == 0)
				continue;
			if (n == cap) {
				int ncap = cap ? cap * 2 : 1024;
				struct rating_ev *nv = realloc(v, (size_t)ncap * sizeof(*nv));
				if (nv == NULL)
					goto out;
				v = nv;
				cap = ncap;
			}
			v[n++] = e;
		}
		if (rc != SQLITE_DONE)
			goto out;
	}
	if (n > 1)
		qsort(v, (size_t)n, sizeof(*v), cmp_rating_ev);
	for (int i = 0; i < L->n && n > 0; i++) {
		struct report_leg *l = &L->legs[i];
		const struct rating_ev *e;

		if (l->status != TS_SERVED)
			continue;
		if ((e = rating_first(v, n, l->id, 0)) != NULL)
			l->prompted_at = e->at;
		if ((e = rating_first(v, n, l->id, 1)) != NULL) {
			l->rated_at = e->at;
			l->rating = e->key;
		}
	}
	ok = 0;
out:
	sqlite3_finalize(st);
	free(counters);
	free(v);
	return ok;
}

static int
cmp_help_at(const void *a, const void *b)
{
	const struct report_help *x = a, *y = b;

	return x->at < y->at ? -1 : x->at > y->at;
}

/*
 * The help calls (help.called) in [from, to], and for each the first
 * alert.acknowledged in [from, to] whose "of" is the call's event id.
 * *out (malloc'ed, sorted by time) and *nout.
 */
static int
load_helps(sqlite3 *db, int64_t from, int64_t to, struct report_help **out, int *nout)
{
	static const char calls_sql[] = "SELECT id, at FROM events WHERE type = 'help.called' "
	    "AND at >= ?1 AND at <= ?2 ORDER BY id";
	static const char acks_sql[] = "SELECT json_extract(data, '$.of'), at FROM events "
	    "WHERE type = 'alert.acknowledged' AND at >= ?1 AND at <= ?2";
	sqlite3_stmt *st = NULL;
	struct report_help *v = NULL;
	int64_t *ids = NULL;
	int n = 0, cap = 0, rc, ok = -1;

	if (sqlite3_prepare_v2(db, calls_sql, -1, &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(st, 1, from);
	sqlite3_bind_int64(st, 2, to);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			int ncap = cap ? cap * 2 : 64;
			struct report_help *nv = realloc(v, (size_t)ncap * sizeof(*nv));
			int64_t *ni;
			if (nv == NULL)
				goto out;
			v = nv;
			if ((ni = realloc(ids, (size_t)ncap * sizeof(*ni))) == NULL)
				goto out;
			ids = ni;
			cap = ncap;
		}
		ids[n] = sqlite3_column_int64(st, 0);
		v[n++] = (struct report_help){ .at = sqlite3_column_int64(st, 1) };
	}
	if (rc != SQLITE_DONE)
		goto out;
	sqlite3_finalize(st);
	st = NULL;
	if (n > 0) {
		if (sqlite3_prepare_v2(db, acks_sql, -1, &st, NULL) != SQLITE_OK)
			goto out;
		sqlite3_bind_int64(st, 1, from);
		sqlite3_bind_int64(st, 2, to);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			int64_t of = sqlite3_column_int64(st, 0), at = sqlite3_column_int64(st, 1);
			const int64_t *hit;

			/* The calls are in id order: find the one acknowledged. */
			if (sqlite3_column_type(st, 0) != SQLITE_INTEGER ||
			    (hit = bsearch(&of, ids, (size_t)n, sizeof(*ids), cmp_i64)) == NULL)
				continue;
			if (v[hit - ids].acked_at == 0 || at < v[hit - ids].acked_at)
				v[hit - ids].acked_at = at;
		}
		if (rc != SQLITE_DONE)
			goto out;
		qsort(v, (size_t)n, sizeof(*v), cmp_help_at);
	}
	ok = 0;
out:
	sqlite3_finalize(st);
	free(ids);
	if (ok != 0) {
		free(v);
		return -1;
	}
	*out = v;
	*nout = n;
	return 0;
}

/*
 * Counter pauses: the state of every configured counter at `from` (its
 * newest pause or resume before) and, when paused, who paused it (in
 * state_by), then the events in [from, to], in order, with who did each.
 */
static int
load_pauses(sqlite3 *db, const struct config *cfg, int64_t from, int64_t to, bool *state,
    const char **state_by, struct names *N, struct report_pause **out, int *nout)
{
	static const char last_sql[] = "SELECT at, id, " EVENT_BY " FROM events WHERE type = ?1 "
	    "AND counter = ?2 AND at < ?3 ORDER BY at DESC, id DESC LIMIT 1";
	static const char range_sql[] = "SELECT at, counter, type = 'counter.paused', " EVENT_BY
	    " FROM events WHERE type IN ('counter.paused', 'counter.resumed') AND counter = ?1 "
	    "AND at >= ?2 AND at <= ?3 ORDER BY at, id";
	sqlite3_stmt *last = NULL, *range = NULL;
	struct report_pause *v = NULL;
	int n = 0, cap = 0, ok = -1;

	if (sqlite3_prepare_v2(db, last_sql, -1, &last, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, range_sql, -1, &range, NULL) != SQLITE_OK)
		goto out;
	for (int ci = 0; ci < cfg->ncounters; ci++) {
		int64_t at[2] = { -1, -1 }, id[2] = { 0, 0 };
		static const char *const types[2] = { "counter.paused", "counter.resumed" };
		const char *by = NULL;

		for (int k = 0; k < 2; k++) {
			sqlite3_reset(last);
			sqlite3_bind_text(last, 1, types[k], -1, SQLITE_STATIC);
			sqlite3_bind_int(last, 2, cfg->counters[ci].number);
			sqlite3_bind_int64(last, 3, from);
			if (sqlite3_step(last) == SQLITE_ROW) {
				at[k] = sqlite3_column_int64(last, 0);
				id[k] = sqlite3_column_int64(last, 1);
				if (k == 0 && names_col(N, last, 2, &by) != 0)
					goto out;
			}
		}
		state[ci] = at[0] > at[1] || (at[0] == at[1] && id[0] > id[1]);
		state_by[ci] = state[ci] ? by : NULL;
		sqlite3_reset(range);
		sqlite3_bind_int(range, 1, cfg->counters[ci].number);
		sqlite3_bind_int64(range, 2, from);
		sqlite3_bind_int64(range, 3, to);
		int rc;
		while ((rc = sqlite3_step(range)) == SQLITE_ROW) {
			if (n == cap) {
				int ncap = cap ? cap * 2 : 64;
				struct report_pause *nv = realloc(v, (size_t)ncap * sizeof(*nv));
				if (nv == NULL)
					goto out;
				v = nv;
				cap = ncap;
			}
			v[n].at = sqlite3_column_int64(range, 0);
			v[n].counter = sqlite3_column_int(range, 1);
			v[n].paused = sqlite3_column_int(range, 2) != 0;
			if (names_col(N, range, 3, &v[n].by) != 0)
				goto out;
			n++;
		}
		if (rc != SQLITE_DONE)
			goto out;
	}
	ok = 0;
out:
	sqlite3_finalize(last);
	sqlite3_finalize(range);
	if (ok != 0) {
		free(v);
		return -1;
	}
	*out = v;
	*nout = n;
	return 0;
}

/*
 * A day `branchqd prune` removed keeps its daily report in daily_summaries
 * (maint_cli.c): the daily report of that day is the stored JSON; a range
 * over such a day is refused, as its medians and percentiles cannot be
 * rebuilt from daily figures. Returns 1 with *out the summary (a new
 * reference), 0 when no day in from..to was pruned, -1 when refused (why
 * says so), -2 when the summary cannot be read (out of memory). A database without the table (an older
 * schema read by branchqd report) has no pruned day.
 */
static int
report_summary(sqlite3 *db, const char *from, const char *to, json_t **out, char *why,
    size_t whylen)
{
	sqlite3_stmt *st;
	int rc = 0;

	if (sqlite3_prepare_v2(db, "SELECT bday, report FROM daily_summaries "
	    "WHERE bday BETWEEN ?1 AND ?2 ORDER BY bday DESC LIMIT 1", -1, &st, NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_text(st, 1, from, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, to, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		const char *day = (const char *)sqlite3_column_text(st, 0);
		const char *text = (const char *)sqlite3_column_text(st, 1);

		if (strcmp(from, to) != 0) {
			snprintf(why, whylen, "the days up to %s were pruned: their daily reports remain, "
			    "a range covers only the days after", day != NULL ? day : "?");
			rc = -1;
		} else if ((*out = text != NULL ? json_loads(text, 0, NULL) : NULL) == NULL) {
			log_warnx("report: the summary of %s cannot be read", from);
			rc = -2;
		} else {
			rc = 1;
		}
	}
	sqlite3_finalize(st);
	return rc;
}

enum bq_err
report_build(sqlite3 *db, const struct config *cfg, struct date from, struct date to,
    int64_t now, int max_days, json_t **out, char *why, size_t whylen)
{
	struct date today = bday_of(now, cfg->day_reset_min), d;
	struct loaded L = { 0 };
	struct report_pause *pauses = NULL, *daypauses = NULL;
	struct report_help *helps = NULL;
	struct report *r = NULL;
	struct names N = { 0 };
	bool state[MAX_COUNTERS] = { false };
	const char *state_by[MAX_COUNTERS] = { NULL };
	char sfrom[11], sto[11];
	int npauses = 0, nhelps = 0, hi = 0, ndays = 1, li = 0;
	int64_t range_start, range_end;
	enum bq_err e = BQ_ERR_INTERNAL;

	*out = NULL;
	if (date_cmp(from, to) > 0) {
		snprintf(why, whylen, "from is after to");
		return BQ_ERR_INVALID_QUERY;
	}
	if (date_cmp(to, today) > 0) {
		snprintf(why, whylen, "the date is after today's business day; a report covers days "
		    "that have begun");
		return BQ_ERR_INVALID_QUERY;
	}
	for (d = from; date_cmp(d, to) < 0 && ndays <= max_days; d = date_next(d))
		ndays++;
	if (ndays > max_days) {
		snprintf(why, whylen, "a range covers at most %d days here%s", max_days,
		    max_days < REPORT_RANGE_MAX_DAYS ? "; for longer ones use branchqd report" : "");
		return BQ_ERR_INVALID_QUERY;
	}
	date_format(from, sfrom);
	date_format(to, sto);
	switch (report_summary(db, sfrom, sto, out, why, whylen)) {
	case 1:
		return BQ_OK;
	case -1:
		return BQ_ERR_INVALID_QUERY;
	case -2:
		return BQ_ERR_INTERNAL;
	default:
		break;
	}
	range_start = bday_start(from, cfg->day_reset_min);
	range_end = date_cmp(to, today) == 0 ? now : bday_start(date_next(to), cfg->day_reset_min);
	if (load_legs(db, sfrom, sto, cfg, &L) != 0 ||
	    load_finishers(db, &L, range_start, range_end, &N) != 0 ||
	    load_ratings(db, &L, range_start, range_end) != 0 ||
	    load_helps(db, range_start, range_end, &helps, &nhelps) != 0 ||
	    load_pauses(db, cfg, range_start, range_end, state, state_by, &N, &pauses,
	    &npauses) != 0) {
		log_warnx("report: reading the database: %s", sqlite3_errmsg(db));
		e = BQ_ERR_STORAGE;
		goto out;
	}
	if (npauses > 0 && (daypauses = malloc((size_t)npauses * sizeof(*daypauses))) == NULL)
		goto out;
	if ((r = report_new(cfg)) == NULL)
		goto out;
	for (d = from; ; d = date_next(d)) {
		struct report_day day = { .date = d, .paused_at_start = state,
		    .paused_by_at_start = state_by };
		char sd[11];
		struct tm tm;
		time_t t0;
		int first;

		date_format(d, sd);
		day.start = bday_start(d, cfg->day_reset_min);
		day.close = date_cmp(d, today) == 0 ? now : bday_start(date_next(d), cfg->day_reset_min);
		t0 = (time_t)day.start;
		day.utc_offset_s = localtime_r(&t0, &tm) != NULL ? (int)tm.tm_gmtoff : 0;
		/* Rows come in bday order; skip days before (cannot happen) and take this day's. */
		while (li < L.n && strcmp(L.bday[li], sd) < 0)
			li++;
		first = li;
		while (li < L.n && strcmp(L.bday[li], sd) == 0)
			li++;
		day.legs = L.n > 0 ? L.legs + first : NULL;     /* no rows: no array to point into */
		day.nlegs = li - first;
		/* The day's pauses, each counter's in order (they are loaded counter by counter). */
		day.pauses = daypauses;
		for (int k = 0; k < npauses; k++)
			if (pauses[k].at >= day.start && pauses[k].at < day.close)
				daypauses[day.npauses++] = pauses[k];
		/* The day's help calls, in time order: up to the next day's start, or up to now. */
		while (hi < nhelps && helps[hi].at < day.start)
			hi++;
		day.helps = nhelps > 0 ? helps + hi : NULL;
		while (hi + day.nhelps < nhelps && (helps[hi + day.nhelps].at < day.close ||
		    (date_cmp(d, today) == 0 && helps[hi + day.nhelps].at <= day.close)))
			day.nhelps++;
		if (report_add_day(r, &day) != 0)
			goto out;
		/* Carry each counter's state, and who paused it, into the next day. */
		for (int k = 0; k < day.npauses; k++) {
			int ci = config_counter_index(cfg, day.pauses[k].counter);
			if (ci < 0)
				continue;
			if (day.pauses[k].paused && !state[ci])
				state_by[ci] = day.pauses[k].by;
			else if (!day.pauses[k].paused)
				state_by[ci] = NULL;
			state[ci] = day.pauses[k].paused;
		}
		if (date_cmp(d, to) == 0)
			break;
	}
	if ((*out = report_json(r, from, to, now)) != NULL)
		e = BQ_OK;
out:
	report_free(r);
	free(pauses);
	free(daypauses);
	free(helps);
	free(L.legs);
	free(L.bday);
	names_free(&N);
	return e;
}

/* ---------------------------------------------------------------- CSV and HTML */

static const char *const FIGURE_COLS[] = {
	"issued", "called", "served", "no_show", "cancelled", "waiting_at_close", "transferred",
	"wait_avg_s", "wait_p50_s", "wait_p90_s", "wait_max_s", "overtime", "overtime_waiting",
	"overtime_base", "overtime_share", "target_share", "target_met", NULL
};

/* One table of the report: its rows, the key columns, and whether the figures follow. */
struct table {
	const char *name;
	const char *title;
	const char *const *keys;
	bool figures;
	json_t *rows;                    /* a new reference */
};

#define NTABLES 12
#define TELLER_NOT_RECORDED "未记录 not recorded"

/* One row of the wait_bands table: group g's bands, flat, under scope and key. */
static json_t *
bands_row(const char *scope, const char *key, const json_t *g)
{
	json_t *row = json_pack("{s:s,s:s,s:O}", "scope", scope, "key", key ? key : "", "called",
	    json_object_get(g, "called"));
	const json_t *bands = json_object_get(g, "wait_bands");
	char name[32];

	for (size_t i = 0; i < json_array_size(bands); i++) {
		const json_t *b = json_array_get(bands, i);
		const char *band = json_string_value(json_object_get(b, "band"));
		if (band == NULL)
			continue;
		json_object_set(row, band, json_object_get(b, "count"));
		snprintf(name, sizeof(name), "%s_share", band);
		json_object_set(row, name, json_object_get(b, "share"));
	}
	return row;
}

/* The wait bands of the totals, each service and each category, as flat rows. */
static json_t *
bands_rows(const json_t *rep)
{
	static const char *const groups[2][2] = { { "by_service", "service" },
	    { "by_category", "category" } };
	json_t *rows = json_array();

	json_array_append_new(rows, bands_row("totals", "", json_object_get(rep, "totals")));
	for (int k = 0; k < 2; k++) {
		const json_t *a = json_object_get(rep, groups[k][0]);
		for (size_t i = 0; i < json_array_size(a); i++) {
			const json_t *g = json_array_get(a, i);
			json_array_append_new(rows, bands_row(groups[k][1],
			    json_string_value(json_object_get(g, groups[k][1])), g));
		}
	}
	return rows;
}

/* Field key of row; "a.b" is field b of the object in field a. */
static const json_t *
row_get(const json_t *row, const char *key)
{
	const char *dot = strchr(key, '.');
	char head[32];

	if (dot == NULL || (size_t)(dot - key) >= sizeof(head))
		return json_object_get(row, key);
	memcpy(head, key, (size_t)(dot - key));
	head[dot - key] = '\0';
	return json_object_get(json_object_get(row, head), dot + 1);
}

/* The report's tables, in the order the CSV and HTML show them. Caller decrefs rows. */
static int
tables_of(const json_t *rep, struct table *t)
{
	static const char *const k_scope[] = { "scope", NULL };
	static const char *const k_service[] = { "service", "name_zh", "name_en",
	    "overtime_threshold_s", NULL };
	static const char *const k_category[] = { "category", "green", NULL };
	static const char *const k_group[] = { "group", NULL };
	static const char *const k_hour[] = { "hour", "calls", NULL };
	static const char *const k_day[] = { "date", NULL };
#define K_SATISFACTION "rated", "ratings.very_satisfied", "ratings.satisfied", "ratings.neutral", \
	    "ratings.dissatisfied", "not_rated", "prompt_not_shown", "satisfied_share", "rated_share"
	static const char *const k_counter[] = { "counter", "calls", "served", "service_avg_s",
	    "pause_s", "idle_waiting_s", K_SATISFACTION, NULL };
	static const char *const k_teller[] = { "teller", "recorded", "served", "service_avg_s",
	    "service_p50_s", "no_show", "pause_s", K_SATISFACTION, NULL };
	static const char *const k_satisfaction[] = { "served", K_SATISFACTION, NULL };
	static const char *const k_bands[] = { "scope", "key", "called", "le_3m", "3_5m", "5_10m",
	    "10_15m", "15_20m", "20_30m", "gt_30m", "le_3m_share", "3_5m_share", "5_10m_share",
	    "10_15m_share", "15_20m_share", "20_30m_share", "gt_30m_share", NULL };
	static const char *const k_missed[] = { "called", "no_show", "no_show_rate", "issued",
	    "cancelled", "cancelled_rate", "reinstated", "reinstated_called",
	    "reinstated_wait_avg_s", "reinstated_wait_max_s", "help_calls", "help_acknowledged",
	    "help_ack_avg_s", "help_ack_max_s", NULL };
#undef K_SATISFACTION
	static const char *const k_longest[] = { "date", "number", "service", "category",
	    "issued_at", "called_at", "wait_s", "overtime", "outcome", "counter", NULL };
	json_t *totals = json_deep_copy(json_object_get(rep, "totals"));
	json_t *gvn = json_object_get(rep, "green_vs_normal");
	json_t *green = json_deep_copy(json_object_get(gvn, "green"));
	json_t *normal = json_deep_copy(json_object_get(gvn, "normal"));
	json_t *tellers = json_deep_copy(json_object_get(rep, "by_teller")), *row;
	size_t i;
	int n = 0;

	/* A cell says in words that nobody was recorded; "recorded" tells it from a name. */
	json_array_foreach(tellers, i, row)
		if (json_is_null(json_object_get(row, "teller")))
			json_object_set_new(row, "teller", json_string(TELLER_NOT_RECORDED));

	json_object_set_new(totals, "scope", json_string("totals"));
	json_object_set_new(green, "group", json_string("green"));
	json_object_set_new(normal, "group", json_string("normal"));
	t[n++] = (struct table){ "totals", "总计 Totals", k_scope, true, json_pack("[o]", totals) };
	t[n++] = (struct table){ "by_service", "按业务 By service", k_service, true,
	    json_incref(json_object_get(rep, "by_service")) };
	t[n++] = (struct table){ "by_category", "按客户类别 By category", k_category, true,
	    json_incref(json_object_get(rep, "by_category")) };
	t[n++] = (struct table){ "green_vs_normal", "绿色通道与普通 Green against normal", k_group,
	    true, json_pack("[o,o]", green, normal) };
	t[n++] = (struct table){ "by_hour", "按时段 By hour (figures by hour of issue; calls made "
	    "in the hour)", k_hour, true, json_incref(json_object_get(rep, "by_hour")) };
	t[n++] = (struct table){ "wait_bands", "等候时长分段 Waits in bands (called tickets)",
	    k_bands, false, bands_rows(rep) };
	t[n++] = (struct table){ "by_counter", "按窗口 By counter", k_counter, false,
	    json_incref(json_object_get(rep, "by_counter")) };
	/* Who served how much is the branch head's to read: absent from the lobby's report. */
	if (tellers != NULL)
		t[n++] = (struct table){ "by_teller", "按柜员 By teller", k_teller, false, tellers };
	t[n++] = (struct table){ "satisfaction", "满意度 Satisfaction (served legs)", k_satisfaction,
	    false, json_pack("[O]", json_object_get(rep, "satisfaction")) };
	t[n++] = (struct table){ "missed", "过号与弃号 Missed and abandoned", k_missed, false,
	    json_pack("[O]", json_object_get(rep, "missed")) };
	t[n++] = (struct table){ "longest_waits", "最长等候 Longest waits", k_longest, false,
	    json_incref(json_object_get(rep, "longest_waits")) };
	if (json_object_get(rep, "by_day") != NULL)
		t[n++] = (struct table){ "by_day", "按日 By day", k_day, true,
		    json_incref(json_object_get(rep, "by_day")) };
	return n;
}

/* A cell's text: "" for null or absent. Writes into buf (256 bytes) or returns a JSON string's own. */
static const char *
cell_text(const json_t *v, char buf[256])
{
	if (v == NULL || json_is_null(v))
		return "";
	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_true(v))
		return "true";
	if (json_is_false(v))
		return "false";
	if (json_is_integer(v))
		snprintf(buf, 256, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		snprintf(buf, 256, "%.6g", json_real_value(v));
	else
		buf[0] = '\0';
	return buf;
}

/*
 * Would a spreadsheet run s as a formula? It starts with = + - @, a tab or
 * a CR, and is not a plain number ("-5", "-0.5", "-1e-05": digits first).
 */
static bool
csv_formula(const char *s)
{
	if (s[0] == '\0' || strchr("=+-@\t\r", s[0]) == NULL)
		return false;
	if ((s[0] == '-' || s[0] == '+') && s[1] >= '0' && s[1] <= '9')
		return s[1 + strspn(s + 1, "0123456789.e+-")] != '\0';
	return true;
}

void
report_csv_cell(FILE *f, const char *s, bool first)
{
	if (!first)
		fputc(',', f);
	if (csv_formula(s)) {
		/* OWASP's advice: a leading apostrophe makes it text, shown as it is. */
		fputc('"', f);
		fputc('\'', f);
		for (; *s; s++) {
			if (*s == '"')
				fputc('"', f);
			fputc(*s, f);
		}
		fputc('"', f);
		return;
	}
	if (strpbrk(s, ",\"\r\n") == NULL) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static void
header_lines(const json_t *rep, void (*line)(void *arg, const char *k, const char *v), void *arg)
{
	char buf[256];
	const char *v;

	if ((v = json_string_value(json_object_get(rep, "date"))) != NULL) {
		line(arg, "date", v);
	} else {
		line(arg, "from", cell_text(json_object_get(rep, "from"), buf));
		line(arg, "to", cell_text(json_object_get(rep, "to"), buf));
	}
	line(arg, "branch", cell_text(json_object_get(json_object_get(rep, "branch"), "name_zh"), buf));
	line(arg, "generated_at", cell_text(json_object_get(rep, "generated_at"), buf));
	line(arg, "close_at", cell_text(json_object_get(rep, "close_at"), buf));
	line(arg, "so_far", cell_text(json_object_get(rep, "so_far"), buf));
}

static void
csv_header_line(void *arg, const char *k, const char *v)
{
	report_csv_cell(arg, k, true);
	report_csv_cell(arg, v, false);
	fputs("\r\n", arg);
}

char *
report_csv(const json_t *rep, size_t *len)
{
	struct table t[NTABLES];
	char *buf = NULL, cb[256];
	FILE *f = open_memstream(&buf, len);
	int n;

	if (f == NULL)
		return NULL;
	fputs("\xEF\xBB\xBF", f);
	report_csv_cell(f, "branchq report 营业报表", true);
	fputs("\r\n", f);
	header_lines(rep, csv_header_line, f);
	n = tables_of(rep, t);
	for (int i = 0; i < n; i++) {
		size_t r;
		json_t *row;

		fputs("\r\n", f);
		report_csv_cell(f, t[i].name, true);
		report_csv_cell(f, t[i].title, false);
		fputs("\r\n", f);
		for (int k = 0; t[i].keys[k]; k++)
			report_csv_cell(f, t[i].keys[k], k == 0);
		for (int k = 0; t[i].figures && FIGURE_COLS[k]; k++)
			report_csv_cell(f, FIGURE_COLS[k], false);
		fputs("\r\n", f);
		json_array_foreach(t[i].rows, r, row) {
			for (int k = 0; t[i].keys[k]; k++)
				report_csv_cell(f, cell_text(row_get(row, t[i].keys[k]), cb), k == 0);
			for (int k = 0; t[i].figures && FIGURE_COLS[k]; k++)
				report_csv_cell(f, cell_text(json_object_get(row, FIGURE_COLS[k]), cb), false);
			fputs("\r\n", f);
		}
		json_decref(t[i].rows);
	}
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

static void
html_text(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fputc(*s, f);
		}
	}
}

static void
html_header_line(void *arg, const char *k, const char *v)
{
	fputs("<tr><th>", arg);
	html_text(arg, k);
	fputs("</th><td>", arg);
	html_text(arg, v);
	fputs("</td></tr>\n", arg);
}

char *
report_html(const json_t *rep, size_t *len)
{
	struct table t[NTABLES];
	const json_t *tot = json_object_get(rep, "totals");
	char *buf = NULL, cb[256];
	FILE *f = open_memstream(&buf, len);
	int n;

	if (f == NULL)
		return NULL;
	fputs("<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\n"
	    "<title>营业报表 Branch report</title>\n<style>\n"
	    "body{font-family:\"Noto Sans CJK SC\",sans-serif;margin:1.5em;color:#111}\n"
	    "table{border-collapse:collapse;margin:.5em 0 1.5em;font-size:12px}\n"
	    "th,td{border:1px solid #999;padding:2px 6px;text-align:right}\n"
	    "th{background:#eee}.met{color:#0a6b2d}.missed{color:#b00020}\n"
	    "@page{size:A4;margin:12mm}\n</style></head><body>\n", f);
	fputs("<h1>营业报表 Branch report: ", f);
	html_text(f, json_string_value(json_object_get(json_object_get(rep, "branch"), "name_zh")));
	fputs("</h1>\n", f);
	if (json_is_real(json_object_get(tot, "overtime_share"))) {
		bool met = json_is_true(json_object_get(tot, "target_met"));
		fprintf(f, "<p class=\"%s\"><strong>超时等候占比 Overtime share %.2f%%</strong> "
		    "(目标 target ≤ %.2f%%): %s</p>\n", met ? "met" : "missed",
		    json_real_value(json_object_get(tot, "overtime_share")) * 100.0,
		    json_real_value(json_object_get(tot, "target_share")) * 100.0,
		    met ? "达标 met" : "未达标 missed");
	}
	fputs("<table>\n", f);
	header_lines(rep, html_header_line, f);
	fputs("</table>\n", f);
	n = tables_of(rep, t);
	for (int i = 0; i < n; i++) {
		size_t r;
		json_t *row;

		fputs("<h2>", f);
		html_text(f, t[i].title);
		fputs("</h2>\n<table>\n<tr>", f);
		for (int k = 0; t[i].keys[k]; k++)
			fprintf(f, "<th scope=\"col\">%s</th>", t[i].keys[k]);
		for (int k = 0; t[i].figures && FIGURE_COLS[k]; k++)
			fprintf(f, "<th scope=\"col\">%s</th>", FIGURE_COLS[k]);
		fputs("</tr>\n", f);
		json_array_foreach(t[i].rows, r, row) {
			fputs("<tr>", f);
			for (int k = 0; t[i].keys[k]; k++) {
				fputs("<td>", f);
				html_text(f, cell_text(row_get(row, t[i].keys[k]), cb));
				fputs("</td>", f);
			}
			for (int k = 0; t[i].figures && FIGURE_COLS[k]; k++) {
				fputs("<td>", f);
				html_text(f, cell_text(json_object_get(row, FIGURE_COLS[k]), cb));
				fputs("</td>", f);
			}
			fputs("</tr>\n", f);
		}
		fputs("</table>\n", f);
		json_decref(t[i].rows);
	}
	fputs("<p>Definitions: docs/reports.md. 定义见 docs/reports.md。</p>\n</body></html>\n", f);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}
