/*
 * policy.c: the queue policy, the one place that decides who a counter calls
 * next. One comparator, policy_cmp, defines the order for both questions the
 * daemon asks: "whom does counter c call now" (policy_next) and "where does
 * this ticket stand in its service's queue" (policy_order), so the `ahead`
 * count a customer is shown follows the same rule the counters do. The two
 * callers differ only in the view they pass: whether the caller is a green
 * window, and where each service stands in the counter's list.
 *
 * Pure: no allocation, no I/O, no clock, no globals. Time is given as `now`.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

/* The parts of the calling counter that change the order. */
struct policy_view {
	bool green;                 /* a green window: green before normal */
	int rank[MAX_SERVICES];     /* place of each service in the counter's list; -1 when not served */
};

/* Everything the comparator needs, bundled for qsort_r. */
struct policy_ctx {
	const struct policy_rules *r;
	const struct policy_view *v;
	const struct policy_ticket *t;
	int64_t now;
};

static bool
policy_service_valid(int s)
{
	return s >= 0 && s < MAX_SERVICES;
}

/* An out-of-range category counts as normal, so bad data can only lose a head start. */
static bool
policy_green(enum category c)
{
	return c > CAT_NORMAL && c < CAT_COUNT;
}

static int64_t
policy_boost(const struct policy_rules *r, enum category c)
{
	return policy_green(c) ? r->boost_s[c] : 0;
}

/*
 * a - b, clamped to the int64 range. Times come from the store and the clock
 * and boosts from the config; none should be near the limits, but a
 * corrupted row must not turn into undefined behaviour in the comparator.
 */
static int64_t
policy_sub(int64_t a, int64_t b)
{
	if (b > 0 && a < INT64_MIN + b)
		return INT64_MIN;
	if (b < 0 && a > INT64_MAX + b)
		return INT64_MAX;
	return a - b;
}

static int
policy_nservices(const struct policy_counter *c)
{
	if (c->nservices < 0)
		return 0;
	return c->nservices > MAX_SERVICES ? MAX_SERVICES : c->nservices;
}

bool
policy_overtime(const struct policy_rules *r, const struct policy_ticket *t, int64_t now)
{
	if (!policy_service_valid(t->service))
		return false;
	return policy_sub(now, t->issued_at) > r->overtime_s[t->service];
}

#define POLICY_CMP(a, b) do { if ((a) != (b)) return (a) < (b) ? -1 : 1; } while (0)

/*
 * Negative when ticket i is called before ticket j, positive when after;
 * never 0 for i != j, so the order is total and the same whatever the
 * array's order. Both tickets must be ones the view's counter may call.
 *
 * The overtime tier is plain "oldest first": once a customer is past the
 * branch's target, boosts and the green window no longer apply, which is what
 * keeps a normal customer's wait bounded even at a green window.
 */
static int
policy_cmp_tickets(const struct policy_rules *r, const struct policy_view *v,
    const struct policy_ticket *a, const struct policy_ticket *b, int64_t now)
{
	bool oa = policy_overtime(r, a, now);
	bool ob = policy_overtime(r, b, now);

	if (a->held != b->held)
		return a->held ? 1 : -1;
	if (a->held) {
		POLICY_CMP(a->hold_left, b->hold_left);
		POLICY_CMP(a->id, b->id);
		return 0;
	}
	if (oa != ob)
		return oa ? -1 : 1;
	if (oa) {
		POLICY_CMP(a->issued_at, b->issued_at);
		POLICY_CMP(a->id, b->id);
		return 0;
	}

	bool ga = policy_green(a->category), gb = policy_green(b->category);

	if (v->green && ga != gb)
		return ga ? -1 : 1;
	POLICY_CMP(policy_sub(a->issued_at, policy_boost(r, a->category)),
	    policy_sub(b->issued_at, policy_boost(r, b->category)));
	/* Equal virtual time: the green ticket wins, so "up to boost" includes boost itself. */
	if (ga != gb)
		return ga ? -1 : 1;
	POLICY_CMP(v->rank[a->service], v->rank[b->service]);
	POLICY_CMP(a->id, b->id);
	return 0;
}

static int
policy_cmp(const struct policy_ctx *x, int i, int j)
{
	int c = policy_cmp_tickets(x->r, x->v, &x->t[i], &x->t[j], x->now);

	if (c != 0)
		return c;
	POLICY_CMP(i, j);
	return 0;
}

/* The view of policy_order: an ordinary counter that speaks English. */
static void
policy_order_view(struct policy_view *v)
{
	v->green = false;
	for (int i = 0; i < MAX_SERVICES; i++)
		v->rank[i] = 0;
}

int
policy_order_cmp(const struct policy_rules *r, const struct policy_ticket *a,
    const struct policy_ticket *b, int64_t now)
{
	struct policy_view v;

	assert(r != NULL && a != NULL && b != NULL);
	if (!policy_service_valid(a->service) || !policy_service_valid(b->service))
		return 0;
	policy_order_view(&v);
	return policy_cmp_tickets(r, &v, a, b, now);
}

static int
policy_qsort_cmp(const void *pa, const void *pb, void *arg)
{
	return policy_cmp(arg, *(const int *)pa, *(const int *)pb);
}

/*
 * Which of counter c's services it must leave en tickets of to an English
 * speaker: those served by another counter that speaks English and is open.
 * A paused English counter hands its en customers back to everyone, or they
 * would wait for a teller who is not there.
 */
static void
policy_en_elsewhere(const struct policy_counter *counters, int ncounters, int c,
    bool out[MAX_SERVICES])
{
	memset(out, 0, MAX_SERVICES * sizeof(out[0]));
	if (counters[c].english)
		return;
	for (int k = 0; k < ncounters; k++) {
		if (k == c || !counters[k].english || !counters[k].open)
			continue;
		int ns = policy_nservices(&counters[k]);
		for (int i = 0; i < ns; i++)
			if (policy_service_valid(counters[k].services[i]))
				out[counters[k].services[i]] = true;
	}
}

int
policy_next(const struct policy_rules *r, const struct policy_counter *counters,
    int ncounters, int c, const struct policy_ticket *t, int n, int64_t now)
{
	struct policy_view v;
	bool en_elsewhere[MAX_SERVICES];
	struct policy_ctx x = { r, &v, t, now };
	int best = -1;

	assert(r != NULL && counters != NULL);
	assert(n <= 0 || t != NULL);
	if (c < 0 || c >= ncounters)
		return -1;

	const struct policy_counter *me = &counters[c];
	int ns = policy_nservices(me);

	v.green = me->green;
	for (int s = 0; s < MAX_SERVICES; s++)
		v.rank[s] = -1;
	/* A service listed twice keeps its first place. */
	for (int i = ns - 1; i >= 0; i--)
		if (policy_service_valid(me->services[i]))
			v.rank[me->services[i]] = i;
	policy_en_elsewhere(counters, ncounters, c, en_elsewhere);

	for (int i = 0; i < n; i++) {
		int s = t[i].service;
		if (!policy_service_valid(s) || v.rank[s] < 0)
			continue;
		if (t[i].english && en_elsewhere[s])
			continue;
		if (best < 0 || policy_cmp(&x, i, best) < 0)
			best = i;
	}
	return best;
}

int
policy_order(const struct policy_rules *r, int s, const struct policy_ticket *t,
    int n, int64_t now, int *order)
{
	struct policy_view v;
	struct policy_ctx x = { r, &v, t, now };
	int k = 0;

	assert(r != NULL);
	assert(n <= 0 || (t != NULL && order != NULL));
	if (!policy_service_valid(s))
		return 0;

	/* An ordinary English-speaking counter: no green preference, no ticket skipped. */
	policy_order_view(&v);
	for (int i = 0; i < n; i++)
		if (t[i].service == s)
			order[k++] = i;
	if (k > 1)
		qsort_r(order, (size_t)k, sizeof(order[0]), policy_qsort_cmp, &x);
	return k;
}

/*
 * ceil(ahead * avg / open) computed as ahead * q + ceil(ahead * rem / open),
 * where avg = q * open + rem: ahead * rem < 2^62 always fits, so only a
 * result that truly exceeds int64 saturates (to INT64_MAX).
 */
int64_t
policy_estimate_wait(int ahead, int64_t avg_service_s, int open_counters)
{
	if (open_counters <= 0)
		return -1;
	if (ahead <= 0 || avg_service_s <= 0)
		return 0;

	int64_t q = avg_service_s / open_counters;
	int64_t rem = avg_service_s % open_counters;
	int64_t tail = ((int64_t)ahead * rem + open_counters - 1) / open_counters;

	if (q > (INT64_MAX - tail) / ahead)
		return INT64_MAX;
	return (int64_t)ahead * q + tail;
}
