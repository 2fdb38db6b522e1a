/*
 * test_policy.c: unit tests of the queue policy, one guarantee per test,
 * each written so that breaking the rule it names makes it fail. Times are
 * seconds after T0; the clock is whatever `now` a test passes. A randomized
 * simulation with fixed seeds checks the two promises made to normal
 * customers: first come, first served among themselves, and never overtaken
 * by a green ticket that arrived more than its boost later.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdbool.h>
#include <string.h>

#include "policy.h"

#define T0 INT64_C(1764000000)  /* 2025-11-24T16:00:00Z; any time would do */
#define BOOST_LONG 600          /* elderly, disabled, pregnant */
#define BOOST_SHORT 300         /* military, foreign */
#define OVERTIME 1200           /* 20 min, the config's default */
#define MAX_TICKETS 2048

enum { SA = 0, SB = 1, SC = 2 };  /* services A, B, C */

static struct policy_rules
rules_default(void)
{
	struct policy_rules r;

	memset(&r, 0, sizeof(r));
	r.boost_s[CAT_ELDERLY] = BOOST_LONG;
	r.boost_s[CAT_DISABLED] = BOOST_LONG;
	r.boost_s[CAT_PREGNANT] = BOOST_LONG;
	r.boost_s[CAT_MILITARY] = BOOST_SHORT;
	r.boost_s[CAT_FOREIGN] = BOOST_SHORT;
	for (int s = 0; s < MAX_SERVICES; s++)
		r.overtime_s[s] = OVERTIME;
	return r;
}

/* A counter serving the services named by letters, in that order ("BA"). */
static struct policy_counter
counter_make(const char *services, bool green, bool english, bool open)
{
	struct policy_counter c;

	memset(&c, 0, sizeof(c));
	for (const char *p = services; *p != '\0'; p++)
		c.services[c.nservices++] = *p - 'A';
	c.green = green;
	c.english = english;
	c.open = open;
	return c;
}

static struct policy_counter
counter_ordinary(const char *services)
{
	return counter_make(services, false, true, true);
}

static struct policy_ticket
ticket(int64_t id, int service, enum category cat, int64_t issued_at)
{
	struct policy_ticket t = { id, service, cat, false, issued_at, false, 0 };
	return t;
}

static struct policy_ticket
ticket_en(int64_t id, int service, enum category cat, int64_t issued_at)
{
	struct policy_ticket t = { id, service, cat, true, issued_at, false, 0 };
	return t;
}

/* Id of the ticket counter c calls, or -1. */
static int64_t
next_id(const struct policy_rules *r, const struct policy_counter *counters, int ncounters,
    int c, const struct policy_ticket *t, int n, int64_t now)
{
	int i = policy_next(r, counters, ncounters, c, t, n, now);

	if (i < 0)
		return -1;
	assert_in_range(i, 0, n - 1);
	return t[i].id;
}

/*
 * Let counter c call once and take the called ticket out of t[] (keeping
 * the others in order, so a ticket appended later stays last). Returns its id.
 */
static int64_t
call_id(const struct policy_rules *r, const struct policy_counter *counters, int ncounters,
    int c, struct policy_ticket *t, int *n, int64_t now)
{
	int i = policy_next(r, counters, ncounters, c, t, *n, now);

	assert_in_range(i, 0, *n - 1);
	int64_t id = t[i].id;
	memmove(&t[i], &t[i + 1], (size_t)(*n - i - 1) * sizeof(t[0]));
	(*n)--;
	return id;
}

/*
 * Let counter c call until nothing waits for it, writing the ids in call
 * order to ids[]; returns how many. Removes by moving the last ticket into
 * the hole, so the array order changes between calls, as it may in the store.
 */
static int
drain(const struct policy_rules *r, const struct policy_counter *counters, int ncounters,
    int c, struct policy_ticket *t, int n, int64_t now, int64_t *ids)
{
	int k = 0;
	int i;

	while ((i = policy_next(r, counters, ncounters, c, t, n, now)) >= 0) {
		assert_in_range(i, 0, n - 1);
		ids[k++] = t[i].id;
		t[i] = t[--n];
	}
	return k;
}

static void
assert_ids(const int64_t *got, int ngot, const int64_t *want, int nwant)
{
	assert_int_equal(ngot, nwant);
	for (int i = 0; i < nwant; i++)
		assert_int_equal(got[i], want[i]);
}

/* ---- first come, first served ---- */

static void
test_fcfs_normal(void **state)
{
	(void)state;
	struct policy_rules r = rules_default();
	struct policy_counter c[] = { counter_ordinary("A") };
	struct policy_ticket t[] = {
		ticket(3, SA, CAT_NORMAL, T0 + 200),
		ticket(1, SA, CAT_NORMAL, T0 + 50),
		ticket(4, SA, CAT_NORMAL, T0 + 300),
		ticket(2, SA, CAT_NORMAL, T0 + 100),
	};
	int64_t ids[4], want[] = { 1, 2, 3, 4 };

	assert_ids(ids, drain(&r, c, 1, 0, t, 4, T0 + 400, ids), want, 4);
}

static void
test_equal_time_lower_id_first(void **state)
{
	(void)state;
	struct policy_rules r = rules_default();
	struct policy_counter c[] = { counter_ordinary("A") };
	struct policy_ticket t[] = {
		ticket(8, SA, CAT_NORMAL, T0),
		ticket(7, SA, CAT_NORMAL, T0),
	};

	assert_int_equal(next_id(&r, c, 1, 0, t, 2, T0 + 10), 7);
}

/* ---- green boost ---- */

static void
test_green_within_boost_goes_first(void **state)
{
	(void)state;
	struct policy_rules r = rules_default();
	struct policy_counter c[] = { counter_ordinary("A") };
	struct policy_ticket t[] = {
		ticket(1, SA, CAT_NORMAL, T0),
		ticket(2, SA, CAT_ELDERLY, T0 + BOOST_LONG - 1),
	};

	assert_int_equal(next_id(&r, c, 1, 0, t, 2, T0 + BOOST_LONG), 2);
}

static void
test_green_exactly_at_boost_goes_first(void **state)
{
	(void)state;
	struct policy_rules r = rules_default();
	struct policy_counter c[] = { counter_ordinary("A") };
	struct policy_ticket t[] = {
		ticket(1, SA, CAT_NORMAL, T0),
		ticket(2, SA, CAT_ELDERLY, T0 + BOOST_LONG),
	};

	assert_int_equal(next_id(&r, c, 1, 0, t, 2, T0 + BOOST_LONG), 2);
}

static void
test_green_beyond_boost_waits(void **state)
{
	(void)state;
	struct policy_rules r = rules_default();
	struct policy_counter c[] = { counter_ordinary("A") };
	struct policy_ticket t[] = {
		ticket(1, SA, CAT_NORMAL, T0),
		ticket(2, SA, CAT_ELDERLY, T0 + BOOST_LONG + 1),
	};

	assert_int_equal(next_id(&r, c, 1, 0, t, 2, T0 + BOOST_LONG + 1), 1);
}

static void
test_green_overtakes_all_normals_within_boost_only(void **state)
{
	(void)state;
	struct policy_rules r = rules_default();
	struct policy_counter c[] = { counter_ordinary("A") };
	/* Elderly at +700 has virtual time +100: after #1 (0) and #2 (100, tie goes green). */
	struct policy_ticket t[] = {
		ticket(1, SA, CAT_NORMAL, T0),
		ticket(2, SA, CAT_NORMAL, T0 + 101),
		ticket(3, SA, CAT_NORMAL, T0 + 100),
		ticket(4, SA, CAT_ELDERLY, T0 + 700),
		ticket(5, SA, CAT_NORMAL, T0 + 650),
	};
	int64_t ids[5], want[] = { 1, 4, 3, 2, 5 };

	assert_ids(ids, drain(&r, c, 1, 0, t, 5, T0 + 800, ids), want, 5);
}

static void
test_boost_per_category(void **state)
{
	(void)state;
	struct policy_rules r = rules_default();
	struct policy_counter c[] = { counter_ordinary("A") };
	/* 400 s after the normal ticket: inside the elderly boost, outside the military one. */
	struct policy_ticket military[] = {
		ticket(1, SA, CAT_NORMAL, T0),
		ticket(2, SA, CAT_MILITARY, T0 + 400),
	};
	struct policy_ticket elderly[] = {
		ticket(1, SA, CAT_NORMAL, T0),
		ticket(2, SA, CAT_ELDERLY, T0 + 400),
	};

	assert_int_equal(next_id(&r, c, 1, 0, military, 2, T0 + 500), 1);
	assert_int_equal(next_id(&r, c, 1, 0, elderly, 2, T0 + 500), 2);
}

static void
test_greens_ordered_by_virtual_time(void **state)
{
	(void)state;
	struct policy_rules r = rules_default();
	struct policy_counter c[] = { counter_ordinary("A") };
	/* Foreign at +100 (virtual -200) before elderly at +500 (virtual -100). */
	struct policy_ticket t[] = {
		ticket(1, SA, CAT_ELDERLY, T0 + 500),
		ticket(2, SA, CAT_FOREIGN, T0 + 100),
	};

	assert_int_equal(next_id(&r, c, 1, 0, t, 2, T0 + 600), 2);
}

/* ---- bounded delay: a randomized simulation ---- */

static uint64_t
rng_next(uint64_t *s)
{
	/* xorshift64*: the same sequence on every libc, so a failure reproduces. */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * UINT64_C(2685821657736338717);
}

static int
rng_below(uint64_t *s, int n)
{
	return (int)(rng_next(s) % (uint64_t)n);
}

/*
 * Four ordinary counters (two list A first, two B first) serve a stream of
 * random tickets for four hours at about 94% load, so queues build up,
 * greens overtake and some tickets go overtime. Then every pair is checked.
 */
static void
test_bounded_delay_property(void **state)
{
	(void)state;
	static const uint64_t seeds[] = { 1, 42, 20251124, 0x9e3779b97f4a7c15u, 7777 };
	static struct policy_ticket all[MAX_TICKETS];
	static int64_t seq[MAX_TICKETS];          /* call order, -1 while waiting */
	struct policy_rules r = rules_default();
	struct policy_counter c[] = {
		counter_ordinary("AB"), counter_ordinary("BA"),
		counter_ordinary("AB"), counter_ordinary("BA"),
	};
	int overtaken = 0, overtime_calls = 0;

	r.overtime_s[SA] = r.overtime_s[SB] = 600;
	for (size_t si = 0; si < sizeof(seeds) / sizeof(seeds[0]); si++) {
		uint64_t rs = seeds[si];
		struct policy_ticket wait[MAX_TICKETS];
		int widx[MAX_TICKETS];                /* wait[i] is all[widx[i]] */
		int64_t busy_until[4] = { 0 };
		int nall = 0, nwait = 0;
		int64_t calls = 0;

		for (int64_t now = T0; now < T0 + 4 * 3600; now++) {
			if (rng_below(&rs, 40) == 0 && nall < MAX_TICKETS) {
				enum category cat = CAT_NORMAL;
				if (rng_below(&rs, 10) < 3)
					cat = (enum category)(1 + rng_below(&rs, CAT_COUNT - 1));
				all[nall] = ticket(nall + 1, rng_below(&rs, 2), cat, now);
				seq[nall] = -1;
				wait[nwait] = all[nall];
				widx[nwait++] = nall++;
			}
			for (int k = 0; k < 4; k++) {
				if (busy_until[k] > now)
					continue;
				int i = policy_next(&r, c, 4, k, wait, nwait, now);
				if (i < 0)
					continue;
				if (policy_overtime(&r, &wait[i], now))
					overtime_calls++;
				seq[widx[i]] = calls++;
				busy_until[k] = now + 60 + rng_below(&rs, 181);
				wait[i] = wait[--nwait];
				widx[i] = widx[nwait];
			}
		}

		for (int a = 0; a < nall; a++) {
			if (all[a].category != CAT_NORMAL)
				continue;
			for (int b = 0; b < nall; b++) {
				if (seq[b] < 0 || a == b)
					continue;
				bool green = all[b].category != CAT_NORMAL;
				int64_t limit = green ? r.boost_s[all[b].category] : 0;
				/* b was called, and a had arrived too early for b to pass it. */
				if (all[b].issued_at > all[a].issued_at + limit) {
					assert_true(seq[a] >= 0);
					assert_true(seq[a] < seq[b]);
				}
				if (green && seq[a] > seq[b] && all[b].issued_at > all[a].issued_at)
					overtaken++;
			}
		}
	}
	/* The run must have exercised what it checks. */
	assert_true(overtaken > 500);
	assert_true(overtime_calls > 50);
}

/* ---- green window ---- */

static void
test_green_window_prefers_green(void **state)
{
	(void)state;
	struct policy_rules r = rules_default();
	struct policy_counter c[] = {
		counter_make("A", true, true, true),
		counter_ordinary("A"),
	};
	/* Far outside the boost: only the green window lets the elderly customer first. */
	struct policy_ticket t[] = {
		ticket(1, SA, CAT_NORMAL, T0),
		ticket(2, SA, CAT_ELDERLY, T0 + 900),
	};

	assert_int_equal(next_id(&r, c, 2, 0, t, 2, T0 + 1000), 2);
	assert_int_equal(next_id(&r, c, 2, 1, t, 2, T0 + 1000), 1);
}

static void
test_green_window_greens_by_virtual_time(void **state)
{
	(void)state;
	struct policy_rules r = rules_default();
	struct policy_counter c[] = { counter_make("A", true, true, true) };
	struct policy_ticket t[] = {
		ticket(1, SA, CAT_NORMAL, T0),
		ticket(2, SA, CAT_MILITARY, T0 + 200),   /* virtual -100 */
		ticket(3, SA, CAT_ELDERLY, T0 + 400),    /* virtual -200 */
	};
	int64_t ids[3], want[] = { 3, 2, 1 };

	assert_ids(ids, drain(&r, c, 1, 0, t, 3, T0 + 500, ids), want, 3);
}

static void
test_green_window_falls_back_to_normal(void **state)
{
	(void)state;
	struct policy_rules r = rules_default();
	struct policy_counter c[] = { counter_make("AB", true, true, true) };
	/* The only green ticket is for a service this window does not serve. */
	struct policy_ticket t[] = {
		ticket(1, SA, CAT_NORMAL, T0 + 100),
		ticket(2, SA, CAT_NORMAL, T0 + 50),
		ticket(3, SC, CAT_ELDERLY, T0),
	};

	assert_int_equal(next_id(&r, c, 1, 0, t, 3, T0 + 200), 2);
}

/* ---- overtime ---- */

static void
test_overtime_boundary(void **state)
{
	(void)state;
	struct policy_rules r = rules_default();
	struct policy_ticket t = ticket(1, SA, CAT_NORMAL, T0);

	assert_false(policy_overtime(&r, &t, T0 + OVERTIME - 1));
	assert_false(policy_overtime(&r, &t, T0 + OVERTIME));
	assert_true(policy_overtime(&r, &t, T0 + OVERTIME + 1));
}

static void
test_overtime_beats_boost_at_ordinary_counter(void **state)
{
	(void)state;
	struct policy_rules r = rules_default();
	struct policy_counter c[] = { counter_ordinary("A") };
	/* The elderly ticket is well inside its boost; only overtime puts #1 first. */
	struct policy_ticket t[] = {
		ticket(1, SA, CAT_NORMAL, T0),
		ticket(2, SA, CAT_ELDERLY, T0 + 100),
	};

	assert_int_equal(next_id(&r, c, 1, 0, t, 2, T0 + OVERTIME), 2);
	assert_int_equal(next_id(&r, c, 1, 0, t, 2, T0 + OVERTIME + 1), 1);
}

static void
test_overtime_beats_green_at_green_window(void **state)
{
	(void)state;
	struct policy_rules r = rules_default();
	struct policy_counter c[] = { counter_make("A", true, true, true) };
	struct policy_ticket t[] = {
		ticket(1, SA, CAT_NORMAL, T0),
		ticket(2, SA, CAT_ELDERLY, T0 + 1000),
	};

	assert_int_equal(next_id(&r, c, 1, 0, t, 2, T0 + OVERTIME), 2);
	assert_int_equal(next_id(&r, c, 1, 0, t, 2, T0 + OVERTIME + 1), 1);
}

static void
test_overtime_oldest_first(void **state)
{
	(void)state;
	struct policy_rules r = rules_default();
	struct policy_counter c[] = { counter_make("BA", true, true, true) };
	/*
	 * All overtime: no boost, no green window, no service order, only age;
	 * equal ages by id. The newer normal ticket #5 comes last.
	 */
	struct policy_ticket t[] = {
		ticket(5, SB, CAT_NORMAL, T0 + 300),
		ticket(6, SB, CAT_ELDERLY, T0),
		ticket(4, SA, CAT_ELDERLY, T0 + 10),
		ticket(3, SB, CAT_NORMAL, T0 + 20),
		ticket(2, SA, CAT_NORMAL, T0),
	};
	int64_t ids[5], want[] = { 2, 6, 4, 3, 5 };

	assert_ids(ids, drain(&r, c, 1, 0, t, 5, T0 + 2000, ids), want, 5);
}

static void
test_overtime_per_service_threshold(void **state)
{
	(void)state;
	struct policy_rules r = rules_default();
	struct policy_counter c[] = { counter_ordinary("AB") };
	struct policy_ticket t[] = {
		ticket(1, SB, CAT_NORMAL, T0),          /* waited 900 of B's 1800 */
		ticket(2, SA, CAT_NORMAL, T0 + 100),    /* waited 800 of A's 600: overtime */
	};

	r.overtime_s[SA] = 600;
	r.overtime_s[SB] = 1800;
	assert_int_equal(next_id(&r, c, 1, 0, t, 2, T0 + 900), 2);
	r.overtime_s[SA] = 800;
	assert_int_equal(next_id(&r, c, 1, 0, t, 2, T0 + 900), 1);
}

/* ---- English routing ---- */

static void
test_english_skipped_while_english_counter_open(void **state)
{
	(void)state;
	struct policy_rules r = rules_default();
	struct policy_counter c[] = {
		counter_make("A", false, false, true),
		counter_make("A", false, true, true),
	};
	struct policy_ticket t[] = {
		ticket_en(1, SA, CAT_NORMAL, T0),
		ticket(2, SA, CAT_NORMAL, T0 + 100),
	};

	assert_int_equal(next_id(&r, c, 2, 0, t, 2, T0 + 200), 2);
	assert_int_equal(next_id(&r, c, 2, 0, t, 1, T0 + 200), -1);
}

static void
test_english_taken_when_english_counter_paused(void **state)
{
	(void)state;
	struct policy_rules r = rules_default();
	struct policy_counter c[] = {
		counter_make("A", false, false, true),
		counter_make("A", false, true, false),
	};
	struct policy_ticket t[] = {
		ticket_en(1, SA, CAT_NORMAL, T0),
		ticket(2, SA, CAT_NORMAL, T0 + 100),
	};

	assert_int_equal(next_id(&r, c, 2, 0, t, 2, T0 + 200), 1);
}

static void
test_english_taken_when_no_english_counter_serves_it(void **state)
{
	(void)state;
	struct policy_rules r = rules_default();
	struct policy_counter c[] = {
		counter_make("AB", false, false, true),
		counter_make("B", false, true, true),
	};
	struct policy_ticket t[] = {
		ticket_en(1, SB, CAT_NORMAL, T0),       /* left to counter 1 */
		ticket_en(2, SA, CAT_NORMAL, T0 + 10),  /* nobody English serves A */
		ticket(3, SA, CAT_NORMAL, T0 + 20),
	};

	assert_int_equal(next_id(&r, c, 2, 0, t, 3, T0 + 100), 2);
	assert_int_equal(next_id(&r, c, 2, 1, t, 3, T0 + 100), 1);
}

static void
test_english_counter_takes_en_normally(void **state)
{
	(void)state;
	struct policy_rules r = rules_default();
	struct policy_counter c[] = {
		counter_make("A", false, true, true),
		counter_make("A", false, true, true),
	};
	struct policy_ticket t[] = {
		ticket(1, SA, CAT_NORMAL, T0 + 10),
		ticket_en(2, SA, CAT_NORMAL, T0),
	};

	assert_int_equal(next_id(&r, c, 2, 0, t, 2, T0 + 100), 2);
}

static void
test_english_filter_applies_at_every_tier(void **state)
{
	(void)state;
	struct policy_rules r = rules_default();
	struct policy_counter c[] = {
		counter_make("A", true, false, true),   /* a green window without English */
		counter_make("A", false, true, true),
	};
	struct policy_ticket t[] = {
		ticket_en(1, SA, CAT_NORMAL, T0),           /* overtime */
		ticket_en(2, SA, CAT_FOREIGN, T0 + 1500),   /* green */
		ticket(3, SA, CAT_NORMAL, T0 + 1600),
	};

	assert_int_equal(next_id(&r, c, 2, 0, t, 3, T0 + 1700), 3);
	assert_int_equal(next_id(&r, c, 2, 1, t, 3, T0 + 1700), 1);
}

static void
test_own_open_flag_ignored(void **state)
{
	(void)state;
	struct policy_rules r = rules_default();
	struct policy_counter c[] = { counter_make("A", false, true, false) };
	struct policy_ticket t[] = { ticket_en(1, SA, CAT_NORMAL, T0) };

	assert_int_equal(next_id(&r, c, 1, 0, t, 1, T0 + 1), 1);
}

/* ---- services and ties ---- */

static void
test_counter_ignores_services_it_does_not_serve(void **state)
{
	(void)state;
	struct policy_rules r = rules_default();
	struct policy_counter c[] = { counter_ordinary("B") };
	struct policy_ticket t[] = {
		ticket(1, SA, CAT_NORMAL, T0),              /* overtime, but not B's */
		ticket(2, SC, CAT_ELDERLY, T0 + 100),
		ticket(3, SB, CAT_NORMAL, T0 + 1500),
	};

	assert_int_equal(next_id(&r, c, 1, 0, t, 3, T0 + 1600), 3);
	assert_int_equal(next_id(&r, c, 1, 0, t, 2, T0 + 1600), -1);
}

static void
test_service_order_tie_break(void **state)
{
	(void)state;
	struct policy_rules r = rules_default();
	struct policy_counter c[] = { counter_ordinary("BA"), counter_ordinary("AB") };
	struct policy_ticket t[] = {
		ticket(1, SA, CAT_NORMAL, T0),
		ticket(2, SB, CAT_NORMAL, T0),
	};

	assert_int_equal(next_id(&r, c, 2, 0, t, 2, T0 + 10), 2);
	assert_int_equal(next_id(&r, c, 2, 1, t, 2, T0 + 10), 1);
}

static void
test_green_tie_beats_service_order(void **state)
{
	(void)state;
	struct policy_rules r = rules_default();
	struct policy_counter c[] = { counter_ordinary("AB") };
	/* Equal virtual time: green first, even from the later service in the list. */
	struct policy_ticket t[] = {
		ticket(1, SA, CAT_NORMAL, T0),
		ticket(2, SB, CAT_MILITARY, T0 + BOOST_SHORT),
	};

	assert_int_equal(next_id(&r, c, 1, 0, t, 2, T0 + 400), 2);
}

static void
test_earlier_beats_service_order(void **state)
{
	(void)state;
	struct policy_rules r = rules_default();
	struct policy_counter c[] = { counter_ordinary("AB") };
	struct policy_ticket t[] = {
		ticket(1, SA, CAT_NORMAL, T0 + 1),
		ticket(2, SB, CAT_NORMAL, T0),
	};

	assert_int_equal(next_id(&r, c, 1, 0, t, 2, T0 + 10), 2);
}

/* ---- policy_order and ahead ---- */

static void
test_order_of_one_service(void **state)
{
	(void)state;
	struct policy_rules r = rules_default();
	struct policy_ticket t[] = {
		ticket(1, SA, CAT_NORMAL, T0),
		ticket(2, SB, CAT_NORMAL, T0 + 5),
		ticket(3, SA, CAT_NORMAL, T0 + 100),
		ticket_en(4, SA, CAT_NORMAL, T0 + 200),
		ticket(5, SA, CAT_ELDERLY, T0 + 700),     /* virtual +100: ties #3, goes first */
		ticket(6, SB, CAT_ELDERLY, T0 + 10),
		ticket(7, SA, CAT_PREGNANT, T0 + 900),    /* virtual +300: behind #4 */
	};
	int order[7];
	int64_t ids[7], want[] = { 1, 5, 3, 4, 7 };
	int k = policy_order(&r, SA, t, 7, T0 + 1000, order);

	for (int i = 0; i < k; i++)
		ids[i] = t[order[i]].id;
	assert_ids(ids, k, want, 5);
	/* So #3 has two ahead (#1 and the elderly #5); no green-window preference puts #7 last. */
	assert_int_equal(order[2], 2);
	assert_int_equal(policy_order(&r, SB, t, 7, T0 + 1000, order), 2);
	assert_int_equal(t[order[0]].id, 6);
	assert_int_equal(t[order[1]].id, 2);
}

static void
test_order_overtime_first(void **state)
{
	(void)state;
	struct policy_rules r = rules_default();
	struct policy_ticket t[] = {
		ticket(1, SA, CAT_ELDERLY, T0 + 300),
		ticket(2, SA, CAT_NORMAL, T0 + 250),
		ticket(3, SA, CAT_NORMAL, T0),
		ticket(4, SA, CAT_NORMAL, T0 + 100),
	};
	int order[4];
	int64_t ids[4], want[] = { 3, 4, 1, 2 };
	/* At +1350, #3 and #4 are overtime; #1 (elderly, virtual -300) leads the rest. */
	int k = policy_order(&r, SA, t, 4, T0 + 1350, order);

	for (int i = 0; i < k; i++)
		ids[i] = t[order[i]].id;
	assert_ids(ids, k, want, 4);
}

static void
test_order_agrees_with_next(void **state)
{
	(void)state;
	struct policy_rules r = rules_default();
	struct policy_counter c[] = { counter_ordinary("A") };
	struct policy_ticket t[200];
	int order[200];
	uint64_t rs = 99;

	for (int round = 0; round < 50; round++) {
		int n = 1 + rng_below(&rs, 200);
		int64_t now = T0 + 3600;
		for (int i = 0; i < n; i++) {
			enum category cat = rng_below(&rs, 3) == 0 ?
			    (enum category)(1 + rng_below(&rs, CAT_COUNT - 1)) : CAT_NORMAL;
			t[i] = ticket(rng_below(&rs, 1000), rng_below(&rs, 2), cat,
			    T0 + rng_below(&rs, 3600));
			t[i].english = rng_below(&rs, 4) == 0;
		}
		int k = policy_order(&r, SA, t, n, now, order);
		int next = policy_next(&r, c, 1, 0, t, n, now);
		assert_int_equal(k == 0 ? -1 : order[0], next);
		/* Every ticket of A once, and none of B. */
		int seen = 0;
		for (int i = 0; i < n; i++)
			seen += t[i].service == SA;
		assert_int_equal(k, seen);
		for (int i = 0; i < k; i++)
			assert_int_equal(t[order[i]].service, SA);
	}
}

static void
test_order_invalid_and_empty(void **state)
{
	(void)state;
	struct policy_rules r = rules_default();
	struct policy_ticket t[] = { ticket(1, SA, CAT_NORMAL, T0) };
	int order[1];

	assert_int_equal(policy_order(&r, SA, t, 0, T0, order), 0);
	assert_int_equal(policy_order(&r, -1, t, 1, T0, order), 0);
	assert_int_equal(policy_order(&r, MAX_SERVICES, t, 1, T0, order), 0);
	assert_int_equal(policy_order(&r, SB, t, 1, T0, order), 0);
}

/* ---- the example in docs/policy.md, call by call ---- */

static void
test_docs_worked_example(void **state)
{
	(void)state;
	struct policy_rules r = rules_default();
	struct policy_counter c[] = {
		counter_make("A", false, true, true),   /* counter 1 */
		counter_make("A", true, false, true),   /* counter 2, green window */
	};
	struct policy_ticket t[] = {
		ticket(1, SA, CAT_NORMAL, T0),
		ticket(2, SA, CAT_NORMAL, T0 + 4 * 60),
		ticket(3, SA, CAT_ELDERLY, T0 + 8 * 60),
		ticket(4, SA, CAT_NORMAL, T0 + 12 * 60),
		ticket_en(5, SA, CAT_FOREIGN, T0 + 13 * 60),
		{ 0 },                                  /* room for A006 */
	};
	int order[6];
	int64_t want[] = { 3, 1, 2, 5, 4 };
	int n = 5;

	r.boost_s[CAT_ELDERLY] = 10 * 60;
	r.boost_s[CAT_FOREIGN] = 5 * 60;
	r.overtime_s[SA] = 20 * 60;
	assert_int_equal(policy_order(&r, SA, t, n, T0 + 14 * 60, order), 5);
	for (int i = 0; i < 5; i++)
		assert_int_equal(t[order[i]].id, want[i]);

	/* Each called ticket leaves the queue before the next call. */
	assert_int_equal(call_id(&r, c, 2, 1, t, &n, T0 + 14 * 60), 3);
	assert_int_equal(call_id(&r, c, 2, 0, t, &n, T0 + 15 * 60), 1);
	assert_int_equal(call_id(&r, c, 2, 1, t, &n, T0 + 21 * 60), 2);
	t[n++] = ticket(6, SA, CAT_ELDERLY, T0 + 25 * 60);
	assert_int_equal(next_id(&r, c, 2, 0, t, n, T0 + 32 * 60), 5);
	assert_int_equal(call_id(&r, c, 2, 0, t, &n, T0 + 32 * 60 + 1), 4);
	assert_int_equal(next_id(&r, c, 2, 1, t, n, T0 + 34 * 60), 6);
	c[0].open = false;
	assert_int_equal(next_id(&r, c, 2, 1, t, n, T0 + 34 * 60), 5);
}

/* ---- estimated wait ---- */

static void
test_estimate_wait(void **state)
{
	(void)state;
	assert_int_equal(policy_estimate_wait(0, 300, 2), 0);
	assert_int_equal(policy_estimate_wait(1, 300, 1), 300);
	assert_int_equal(policy_estimate_wait(3, 300, 2), 450);
	assert_int_equal(policy_estimate_wait(1, 301, 2), 151);    /* 150.5 rounds up */
	assert_int_equal(policy_estimate_wait(5, 100, 3), 167);    /* 166.7 */
	assert_int_equal(policy_estimate_wait(6, 100, 3), 200);    /* exact stays exact */
	assert_int_equal(policy_estimate_wait(2, 1, 3), 1);
}

static void
test_estimate_wait_no_open_counter(void **state)
{
	(void)state;
	assert_int_equal(policy_estimate_wait(3, 300, 0), -1);
	assert_int_equal(policy_estimate_wait(3, 300, -1), -1);
	assert_int_equal(policy_estimate_wait(0, 300, 0), -1);
}

static void
test_estimate_wait_overflow(void **state)
{
	(void)state;
	assert_true(policy_estimate_wait(INT_MAX, INT64_MAX, 1) == INT64_MAX);
	assert_true(policy_estimate_wait(INT_MAX, INT64_MAX / 2, 1) == INT64_MAX);
	/* Large operands whose true result fits must come out exact. */
	assert_true(policy_estimate_wait(INT_MAX, INT64_MAX, INT_MAX) == INT64_MAX);
	assert_true(policy_estimate_wait(INT_MAX, INT64_MAX - 1, INT_MAX) == INT64_MAX - 1);
	assert_true(policy_estimate_wait(2, INT64_MAX / 2, 2) == INT64_MAX / 2);
	assert_true(policy_estimate_wait(INT_MAX, INT64_C(1) << 32, 4) ==
	    (int64_t)INT_MAX * (INT64_C(1) << 30));
}

/* ---- bad input ---- */

/*
 * A held ticket (a reinstated no-show) goes after every ticket not held,
 * even an overtime one of its own, older issue time; a counter calls it
 * only when nobody else waits for it; held among held: fewest calls to go.
 */
static void
test_held_after_everyone_else(void **state)
{
	(void)state;
	struct policy_rules r = rules_default();
	struct policy_counter c[] = { counter_ordinary("A") };
	struct policy_ticket t[] = {
		ticket(1, SA, CAT_NORMAL, T0 - 3600),        /* overtime, but held */
		ticket(2, SA, CAT_NORMAL, T0),
		ticket(3, SA, CAT_NORMAL, T0 - 3000),        /* held, fewer calls to go */
	};
	int order[3];

	t[0].held = true;
	t[0].hold_left = 2;
	t[2].held = true;
	t[2].hold_left = 1;
	assert_int_equal(next_id(&r, c, 1, 0, t, 3, T0), 2);
	assert_int_equal(policy_order(&r, SA, t, 3, T0, order), 3);
	assert_int_equal(t[order[0]].id, 2);
	assert_int_equal(t[order[1]].id, 3);
	assert_int_equal(t[order[2]].id, 1);
	/* Nobody else: the held one is called rather than leave the counter idle. */
	assert_int_equal(next_id(&r, c, 1, 0, t, 1, T0), 1);
	/* Released, it is the oldest and overtime: first. */
	t[0].held = false;
	assert_int_equal(next_id(&r, c, 1, 0, t, 3, T0), 1);
}

static void
test_empty_input(void **state)
{
	(void)state;
	struct policy_rules r = rules_default();
	struct policy_counter c[] = { counter_ordinary("A") };
	struct policy_ticket t[] = { ticket(1, SA, CAT_NORMAL, T0) };

	assert_int_equal(policy_next(&r, c, 1, 0, NULL, 0, T0), -1);
	assert_int_equal(policy_next(&r, c, 1, 0, t, 0, T0), -1);
	assert_int_equal(policy_next(&r, c, 1, 1, t, 1, T0), -1);
	assert_int_equal(policy_next(&r, c, 1, -1, t, 1, T0), -1);
}

static void
test_invalid_ticket_fields_ignored(void **state)
{
	(void)state;
	struct policy_rules r = rules_default();
	struct policy_counter c[] = { counter_ordinary("A") };
	struct policy_ticket t[] = {
		ticket(1, -1, CAT_NORMAL, T0),
		ticket(2, MAX_SERVICES, CAT_NORMAL, T0),
		ticket(3, SA, (enum category)CAT_COUNT, T0 + 100),  /* counts as normal */
		ticket(4, SA, CAT_NORMAL, T0 + 50),
	};

	assert_false(policy_overtime(&r, &t[0], T0 + 100000));
	assert_int_equal(next_id(&r, c, 1, 0, t, 4, T0 + 200), 4);
	assert_int_equal(next_id(&r, c, 1, 0, t, 3, T0 + 200), 3);
	assert_int_equal(next_id(&r, c, 1, 0, t, 2, T0 + 200), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fcfs_normal),
		cmocka_unit_test(test_equal_time_lower_id_first),
		cmocka_unit_test(test_green_within_boost_goes_first),
		cmocka_unit_test(test_green_exactly_at_boost_goes_first),
		cmocka_unit_test(test_green_beyond_boost_waits),
		cmocka_unit_test(test_green_overtakes_all_normals_within_boost_only),
		cmocka_unit_test(test_boost_per_category),
		cmocka_unit_test(test_greens_ordered_by_virtual_time),
		cmocka_unit_test(test_bounded_delay_property),
		cmocka_unit_test(test_green_window_prefers_green),
		cmocka_unit_test(test_green_window_greens_by_virtual_time),
		cmocka_unit_test(test_green_window_falls_back_to_normal),
		cmocka_unit_test(test_overtime_boundary),
		cmocka_unit_test(test_overtime_beats_boost_at_ordinary_counter),
		cmocka_unit_test(test_overtime_beats_green_at_green_window),
		cmocka_unit_test(test_overtime_oldest_first),
		cmocka_unit_test(test_overtime_per_service_threshold),
		cmocka_unit_test(test_english_skipped_while_english_counter_open),
		cmocka_unit_test(test_english_taken_when_english_counter_paused),
		cmocka_unit_test(test_english_taken_when_no_english_counter_serves_it),
		cmocka_unit_test(test_english_counter_takes_en_normally),
		cmocka_unit_test(test_english_filter_applies_at_every_tier),
		cmocka_unit_test(test_own_open_flag_ignored),
		cmocka_unit_test(test_counter_ignores_services_it_does_not_serve),
		cmocka_unit_test(test_service_order_tie_break),
		cmocka_unit_test(test_green_tie_beats_service_order),
		cmocka_unit_test(test_earlier_beats_service_order),
		cmocka_unit_test(test_order_of_one_service),
		cmocka_unit_test(test_order_overtime_first),
		cmocka_unit_test(test_order_agrees_with_next),
		cmocka_unit_test(test_order_invalid_and_empty),
		cmocka_unit_test(test_docs_worked_example),
		cmocka_unit_test(test_estimate_wait),
		cmocka_unit_test(test_estimate_wait_no_open_counter),
		cmocka_unit_test(test_estimate_wait_overflow),
		cmocka_unit_test(test_held_after_everyone_else),
		cmocka_unit_test(test_empty_input),
		cmocka_unit_test(test_invalid_ticket_fields_ignored),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
