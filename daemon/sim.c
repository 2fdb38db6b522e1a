/*
 * sim.c: the branch-day simulation (sim.h). The day is an event loop over
 * three kinds of moment: a customer arrives, a counter finishes, an hour
 * begins (counters open and close). After each moment every open, free
 * counter asks policy_next whom to call, in counter order, exactly as the
 * hall's counters would if they pressed "call" at that second.
 *
 * Time runs in seconds as doubles, so the waits of the textbook M/M/c case
 * are exact; the policy is given whole seconds (floor), as the daemon's
 * clock gives it. With one service, no green customer and one threshold
 * the policy is first come first served, which is what makes the Erlang C
 * comparison in the tests a check of this loop.
 */
#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

/* ---- the PRNG: splitmix64 to seed, xoshiro256** to draw ---- */

static uint64_t
sim_splitmix64(uint64_t *x)
{
	uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

void
sim_rng_seed(struct sim_rng *g, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		g->s[i] = sim_splitmix64(&seed);
}

static uint64_t
sim_rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t
sim_rng_next(struct sim_rng *g)
{
	uint64_t *s = g->s;
	uint64_t result = sim_rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = sim_rotl(s[3], 45);
	return result;
}

double
sim_rng_uniform(struct sim_rng *g)
{
	/* 53 random bits, offset by half a step: never 0, never 1. */
	return ((double)(sim_rng_next(g) >> 11) + 0.5) * 0x1.0p-53;
}

double
sim_rng_exp(struct sim_rng *g, double mean)
{
	return -mean * log(sim_rng_uniform(g));
}

double
sim_rng_normal(struct sim_rng *g)
{
	double u = sim_rng_uniform(g), v = sim_rng_uniform(g);

	return sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}

/* ---- the scenario ---- */

/* Say why (why must have room for whylen bytes) and fail. */
#define SIM_FAIL(...) do { snprintf(why, whylen, __VA_ARGS__); return -1; } while (0)

int
sim_scenario_check(const struct sim_scenario *sc, char *why, size_t whylen)
{
	if (sc->hours < 1 || sc->hours > SIM_MAX_HOURS)
		SIM_FAIL("the day must be 1 to %d hours", SIM_MAX_HOURS);
	if (sc->nservices < 1 || sc->nservices > MAX_SERVICES)
		SIM_FAIL("a scenario needs 1 to %d services", MAX_SERVICES);
	if (sc->ncounters < 0 || sc->ncounters > MAX_COUNTERS)
		SIM_FAIL("at most %d counters", MAX_COUNTERS);
	if (!(sc->no_show_s >= 0) || !(sc->warmup_s >= 0))
		SIM_FAIL("the no-show time and the warm-up must not be "
		    "negative");
	for (int s = 0; s < sc->nservices; s++) {
		const struct sim_service *v = &sc->services[s];
		for (int h = 0; h < sc->hours; h++)
			for (int c = 0; c < CAT_COUNT; c++)
				if (!(v->rate[h][c] >= 0) || !isfinite(v->rate[h][c]))
					SIM_FAIL("service %c: an arrival rate "
					    "is negative", 'A' + s);
		if (!(v->english_share >= 0 && v->english_share <= 1) ||
		    !(v->no_show >= 0 && v->no_show <= 1) ||
		    !(v->transfer >= 0 && v->transfer <= 1))
			SIM_FAIL("service %c: a share must be 0 to 1", 'A' + s);
		if (v->dist == SIM_EMPIRICAL) {
			if (v->nempirical < 1 || v->empirical == NULL)
				SIM_FAIL("service %c: no service times", 'A' + s);
		} else if (!(v->mean_s > 0) || !isfinite(v->mean_s) ||
		    (v->dist == SIM_LOGNORMAL && !(v->sd_s > 0))) {
			SIM_FAIL("service %c: the service time must be "
			    "positive", 'A' + s);
		}
		if (v->transfer > 0 && (v->transfer_to < 0 || v->transfer_to >= sc->nservices ||
		    v->transfer_to == s))
			SIM_FAIL("service %c: transfer to an unknown "
			    "service", 'A' + s);
		if (sc->rules.overtime_s[s] < 0)
			SIM_FAIL("service %c: negative threshold", 'A' + s);
	}
	for (int k = 0; k < sc->ncounters; k++) {
		const struct policy_counter *pc = &sc->counters[k].pc;
		if (pc->nservices < 1 || pc->nservices > MAX_SERVICES)
			SIM_FAIL("counter %d serves nothing", k + 1);
		for (int i = 0; i < pc->nservices; i++)
			if (pc->services[i] < 0 || pc->services[i] >= sc->nservices)
				SIM_FAIL("counter %d: unknown service", k + 1);
	}
	for (int c = 0; c < CAT_COUNT; c++)
		if (sc->rules.boost_s[c] < 0)
			SIM_FAIL("a green boost is negative");
	return 0;
}

void
sim_scenario_plain(const struct sim_scenario *sc, struct sim_scenario *out)
{
	*out = *sc;
	for (int c = 0; c < CAT_COUNT; c++)
		out->rules.boost_s[c] = 0;
	for (int k = 0; k < out->ncounters; k++)
		out->counters[k].pc.green = false;
}

/* ---- drawing a day ---- */

int
sim_day_reserve(struct sim_day *d, int n)
{
	if (n <= d->cap)
		return 0;
	int cap = d->cap > 0 ? d->cap : 256;
	while (cap < n)
		cap *= 2;
	struct sim_customer *c = realloc(d->c, (size_t)cap * sizeof(*c));
	if (c == NULL)
		return -1;
	d->c = c;
	struct sim_outcome *o = realloc(d->o, (size_t)cap * sizeof(*o));
	if (o == NULL)
		return -1;
	d->o = o;
	d->cap = cap;
	return 0;
}

void
sim_day_free(struct sim_day *d)
{
	free(d->c);
	free(d->o);
	memset(d, 0, sizeof(*d));
}

static double
sim_service_time(const struct sim_service *v, struct sim_rng *g)
{
	switch (v->dist) {
	case SIM_EMPIRICAL: {
		uint64_t i = sim_rng_next(g) % (uint64_t)v->nempirical;
		return v->empirical[i];
	}
	case SIM_LOGNORMAL: {
		double s2 = log1p((v->sd_s * v->sd_s) / (v->mean_s * v->mean_s));
		double mu = log(v->mean_s) - s2 / 2.0;
		return exp(mu + sqrt(s2) * sim_rng_normal(g));
	}
	case SIM_FIXED:
		return v->mean_s;
	case SIM_EXPONENTIAL:
	default:
		return sim_rng_exp(g, v->mean_s);
	}
}

/* Arrival order; arrivals at the very same instant go by service, then category. */
static int
sim_arrival_cmp(const void *pa, const void *pb)
{
	const struct sim_customer *a = pa, *b = pb;

	if (a->arrive_s != b->arrive_s)
		return a->arrive_s < b->arrive_s ? -1 : 1;
	if (a->service != b->service)
		return a->service - b->service;
	return (int)a->category - (int)b->category;
}

void
sim_customer_draw(const struct sim_scenario *sc, struct sim_rng *g, int s, enum category cat,
    double arrive_s, struct sim_customer *x)
{
	const struct sim_service *v = &sc->services[s];

	x->arrive_s = arrive_s;
	x->service = s;
	x->category = cat;
	x->english = sim_rng_uniform(g) < v->english_share;
	x->service_s = sim_service_time(v, g);
	x->no_show = sim_rng_uniform(g) < v->no_show;
	x->transfer_to = -1;
	x->transfer_service_s = 0;
	double u = sim_rng_uniform(g);
	if (!x->no_show && v->transfer > 0 && u < v->transfer) {
		x->transfer_to = v->transfer_to;
		x->transfer_service_s = sim_service_time(&sc->services[v->transfer_to], g);
	}
}

int
sim_day_generate(const struct sim_scenario *sc, struct sim_rng *g, struct sim_day *d)
{
	d->n = 0;
	for (int s = 0; s < sc->nservices; s++) {
		const struct sim_service *v = &sc->services[s];
		for (int c = 0; c < CAT_COUNT; c++) {
			for (int h = 0; h < sc->hours; h++) {
				double rate = v->rate[h][c];
				if (rate <= 0)
					continue;
				double t = h * 3600.0, end = (h + 1) * 3600.0;
				for (;;) {
					t += sim_rng_exp(g, 3600.0 / rate);
					if (t >= end)
						break;
					if (sim_day_reserve(d, d->n + 1) != 0)
						return -1;
					sim_customer_draw(sc, g, s, (enum category)c, t,
					    &d->c[d->n++]);
				}
			}
		}
	}
	/* Continuous arrival times: two equal ones have probability zero, and the tie rule covers it. */
	if (d->n > 1)
		qsort(d->c, (size_t)d->n, sizeof(d->c[0]), sim_arrival_cmp);
	return 0;
}

/* ---- playing a day ---- */

struct sim_counter_state {
	double busy_until;           /* when its current customer leaves; < 0: free */
	int customer;                /* being served; -1: none (or a no-show) */
	bool transfer;               /* that customer goes on to another service */
};

struct sim_run {
	const struct sim_scenario *sc;
	struct sim_day *d;
	struct policy_ticket *wt;    /* waiting legs, any order */
	int *wc;                     /* customer of each waiting leg */
	int nw;
	struct policy_counter pcs[MAX_COUNTERS];
	struct sim_counter_state cs[MAX_COUNTERS];
	int next_id;
};

static void
sim_enqueue(struct sim_run *r, int ci, int service)
{
	const struct sim_customer *x = &r->d->c[ci];
	struct policy_ticket *t = &r->wt[r->nw];

	/* Every field, the policy's held rule too (a simulated day reinstates nobody). */
	*t = (struct policy_ticket){ 0 };
	t->id = r->next_id++;
	t->service = service;
	t->category = x->category;
	t->english = x->english;
	t->issued_at = (int64_t)floor(x->arrive_s);
	r->wc[r->nw] = ci;
	r->nw++;
}

/* Whether counter k works in hour h; after the last hour, those of the last hour stay on. */
static bool
sim_open_at(const struct sim_scenario *sc, int k, int h)
{
	if (h >= sc->hours)
		h = sc->hours - 1;
	return sc->counters[k].open[h];
}

/* Every free, open counter calls, in counter order. */
static void
sim_calls(struct sim_run *r, double now)
{
	const struct sim_scenario *sc = r->sc;

	for (int k = 0; k < sc->ncounters && r->nw > 0; k++) {
		if (!r->pcs[k].open || r->cs[k].busy_until >= 0)
			continue;
		int i = policy_next(&sc->rules, r->pcs, sc->ncounters, k, r->wt, r->nw,
		    (int64_t)floor(now));
		if (i < 0)
			continue;
		int ci = r->wc[i];
		const struct sim_customer *x = &r->d->c[ci];
		struct sim_outcome *o = &r->d->o[ci];
		bool second = r->wt[i].service != x->service;

		/* A transferred customer's wait is measured again from arrival (docs/reports.md). */
		o->wait_s = now - x->arrive_s;
		o->service = r->wt[i].service;
		o->leg[second ? 1 : 0].called_s = now;
		o->leg[second ? 1 : 0].counter = k;
		o->nlegs = second ? 2 : 1;
		r->cs[k].customer = ci;
		r->cs[k].transfer = false;
		if (second) {
			r->cs[k].busy_until = now + x->transfer_service_s;
		} else if (x->no_show) {
			r->cs[k].busy_until = now + sc->no_show_s;
			r->cs[k].customer = -1;
		} else {
			r->cs[k].busy_until = now + x->service_s;
			r->cs[k].transfer = x->transfer_to >= 0;
		}
		o->leg[second ? 1 : 0].ended_s = r->cs[k].busy_until;
		r->nw--;
		r->wt[i] = r->wt[r->nw];
		r->wc[i] = r->wc[r->nw];
	}
}

static void
sim_set_open(struct sim_run *r, int h)
{
	for (int k = 0; k < r->sc->ncounters; k++)
		r->pcs[k].open = sim_open_at(r->sc, k, h);
}

int
sim_day_run(const struct sim_scenario *sc, struct sim_day *d)
{
	struct sim_run r;
	int n = d->n, next = 0;
	double close = sc->hours * 3600.0, now = 0;
	int h = 0;

	memset(&r, 0, sizeof(r));
	r.sc = sc;
	r.d = d;
	/* Each customer waits at most twice (a transfer), and never in two legs at once. */
	r.wt = malloc((size_t)(n > 0 ? n : 1) * sizeof(*r.wt));
	r.wc = malloc((size_t)(n > 0 ? n : 1) * sizeof(*r.wc));
	if (r.wt == NULL || r.wc == NULL) {
		free(r.wt);
		free(r.wc);
		return -1;
	}
	for (int k = 0; k < sc->ncounters; k++) {
		r.pcs[k] = sc->counters[k].pc;
		r.cs[k].busy_until = -1;
		r.cs[k].customer = -1;
	}
	for (int i = 0; i < n; i++) {
		d->o[i].wait_s = -1;
		d->o[i].service = d->c[i].service;
		/* A customer already waiting when the day starts (arrive_s < 0) counts in hour 0. */
		d->o[i].hour = d->c[i].arrive_s < 0 ? 0 : (int)(d->c[i].arrive_s / 3600.0);
		if (d->o[i].hour >= sc->hours)
			d->o[i].hour = sc->hours - 1;
		d->o[i].overtime = false;
		d->o[i].nlegs = 0;
		d->o[i].measured = d->c[i].arrive_s >= sc->warmup_s;
	}
	sim_set_open(&r, 0);
	/* Customers already waiting when the simulation starts are called from its start. */
	while (sc->start_at_zero && next < n && d->c[next].arrive_s <= 0) {
		sim_enqueue(&r, next, d->c[next].service);
		next++;
	}
	sim_calls(&r, 0);
	for (;;) {
		double t = INFINITY;
		bool busy = false;

		if (next < n)
			t = d->c[next].arrive_s;
		for (int k = 0; k < sc->ncounters; k++)
			if (r.cs[k].busy_until >= 0) {
				busy = true;
				if (r.cs[k].busy_until < t)
					t = r.cs[k].busy_until;
			}
		if (h + 1 < sc->hours && (h + 1) * 3600.0 < t)
			t = (h + 1) * 3600.0;
		if (t == INFINITY)
			break;
		if (next >= n && !busy && r.nw > 0) {
			/* Nobody left to serve the waiting after the last hour. */
			bool any = false;
			for (int k = 0; k < sc->ncounters; k++)
				any = any || r.pcs[k].open;
			if (!any && h + 1 >= sc->hours)
				break;
		}
		now = t;
		while (h + 1 < sc->hours && now >= (h + 1) * 3600.0) {
			h++;
			sim_set_open(&r, h);
		}
		for (int k = 0; k < sc->ncounters; k++) {
			if (r.cs[k].busy_until < 0 || r.cs[k].busy_until > now)
				continue;
			if (r.cs[k].transfer && r.cs[k].customer >= 0) {
				int ci = r.cs[k].customer;
				sim_enqueue(&r, ci, d->c[ci].transfer_to);
			}
			r.cs[k].busy_until = -1;
			r.cs[k].customer = -1;
			r.cs[k].transfer = false;
		}
		while (next < n && d->c[next].arrive_s <= now) {
			sim_enqueue(&r, next, d->c[next].service);
			next++;
		}
		sim_calls(&r, now);
		if (next >= n && r.nw == 0) {
			bool busy2 = false;
			for (int k = 0; k < sc->ncounters; k++)
				busy2 = busy2 || r.cs[k].busy_until >= 0;
			if (!busy2)
				break;
		}
	}
	d->end_s = now > close ? now : close;
	for (int i = 0; i < n; i++) {
		struct sim_outcome *o = &d->o[i];
		double w = o->wait_s >= 0 ? o->wait_s : d->end_s - d->c[i].arrive_s;
		o->overtime = w > (double)sc->rules.overtime_s[o->service];
	}
	free(r.wt);
	free(r.wc);
	return 0;
}

/* ---- figures ---- */

static int
sim_double_cmp(const void *pa, const void *pb)
{
	double a = *(const double *)pa, b = *(const double *)pb;

	return (a > b) - (a < b);
}

/* Nearest rank, as report_percentile: the value at rank ceil(p n / 100). */
static double
sim_p90(double *v, int n)
{
	if (n <= 0)
		return 0;
	qsort(v, (size_t)n, sizeof(v[0]), sim_double_cmp);
	int rank = (90 * n + 99) / 100;
	return v[rank - 1];
}

void
sim_stats_of(const struct sim_day *d, struct sim_stats *st, double *scratch)
{
	memset(st, 0, sizeof(*st));
	for (int pass = 0; pass < 3; pass++) {
		int nw = 0;
		for (int i = 0; i < d->n; i++) {
			const struct sim_outcome *o = &d->o[i];
			bool green = category_green(d->c[i].category);
			if (!o->measured)
				continue;
			if (pass == 0) {
				st->n++;
				st->n_hour[o->hour]++;
				if (o->overtime) {
					st->overtime++;
					st->overtime_hour[o->hour]++;
				}
				if (green) {
					st->n_green++;
					st->overtime_green += o->overtime;
				} else {
					st->n_normal++;
					st->overtime_normal += o->overtime;
				}
				if (o->wait_s > 0)
					st->waited++;
				if (o->wait_s >= 0)
					st->wait_sum_s += o->wait_s;
			}
			if (o->wait_s < 0)
				continue;
			if (pass == 0 || (pass == 1 && green) || (pass == 2 && !green))
				scratch[nw++] = o->wait_s;
		}
		double p = sim_p90(scratch, nw);
		if (pass == 0)
			st->p90_s = p;
		else if (pass == 1)
			st->p90_green_s = p;
		else
			st->p90_normal_s = p;
	}
}

int
sim_pushed(const struct sim_day *d, const struct sim_day *plain)
{
	int pushed = 0;

	assert(d->n == plain->n);
	for (int i = 0; i < d->n; i++)
		if (d->o[i].measured && !category_green(d->c[i].category) &&
		    d->o[i].overtime && !plain->o[i].overtime)
			pushed++;
	return pushed;
}

/* Two-sided 95 % Student t quantile for df degrees of freedom (Hill's expansion, ample here). */
static double
sim_t975(int df)
{
	static const double small[] = { 0, 12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365,
		2.306, 2.262, 2.228 };
	const double z = 1.959964;

	if (df <= 10)
		return small[df < 1 ? 1 : df];
	double v = df;
	return z + (z * z * z + z) / (4 * v) + (5 * pow(z, 5) + 16 * z * z * z + 3 * z) /
	    (96 * v * v);
}

void
sim_ci95(const double *x, int n, double *mean, double *half)
{
	double m = 0, ss = 0;

	for (int i = 0; i < n; i++)
		m += x[i];
	m = n > 0 ? m / n : 0;
	for (int i = 0; i < n; i++)
		ss += (x[i] - m) * (x[i] - m);
	*mean = m;
	*half = n > 1 ? sim_t975(n - 1) * sqrt(ss / (n - 1) / n) : 0;
}
