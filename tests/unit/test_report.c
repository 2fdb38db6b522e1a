/*
 * test_report.c: the pure core of the reports (daemon/report.c) to the
 * second: nearest-rank percentiles, the overtime rule at its edges, a
 * transferred ticket counted once from its original issue, a day read as it
 * stood at close, and the sweep that finds a counter idle while customers
 * waited. Days are built by hand; no database, no clock.
 */
#include "unit.h"

#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "report.h"

#define T0 1000000                   /* the day's first second, any instant will do */
#define MIN 60

/* Two services (A: overtime 20 min, target 5 %; B: 10 min, 10 %); counter 1 serves A B, 2 serves B. */
static void
test_config(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->nservices = 2;
	strcpy(cfg->services[0].id, "A");
	cfg->services[0].overtime_s = 20 * MIN;
	cfg->services[0].target_share = 0.05;
	strcpy(cfg->services[1].id, "B");
	cfg->services[1].overtime_s = 10 * MIN;
	cfg->services[1].target_share = 0.10;
	cfg->ncounters = 2;
	cfg->counters[0] = (struct counter_conf){ .number = 1, .services = { 0, 1 }, .nservices = 2 };
	cfg->counters[1] = (struct counter_conf){ .number = 2, .services = { 1 }, .nservices = 1 };
}

/* A one-leg ticket: issued at i (minutes after T0), called at c, ended at e (-1: never). */
static struct report_leg
leg(int64_t id, int service, enum ticket_status st, int i, int c, int e, int counter)
{
	struct report_leg l = { .id = id, .origin_id = id, .service = service, .status = st,
	    .issued_at = T0 + i * MIN, .created_at = T0 + i * MIN, .counter = counter };

	snprintf(l.number, sizeof(l.number), "%c%03d", 'A' + service, (int)id);
	l.called_at = c >= 0 ? T0 + c * MIN : 0;
	l.ended_at = e >= 0 ? T0 + e * MIN : 0;
	return l;
}

static struct report_day
day_of(const struct report_leg *legs, int n, int64_t close)
{
	static const bool open[MAX_COUNTERS];
	struct report_day d = { .date = { 2025, 6, 2 }, .start = T0, .close = close, .legs = legs,
	    .nlegs = n, .paused_at_start = open };

	return d;
}

/* The JSON report of one day; the caller decrefs. */
static json_t *
run(const struct config *cfg, const struct report_day *d)
{
	struct report *r = report_new(cfg);
	json_t *j;

	assert_non_null(r);
	assert_int_equal(report_add_day(r, d), 0);
	j = report_json(r, d->date, d->date, d->close);
	assert_non_null(j);
	report_free(r);
	return j;
}

static json_int_t
tot(const json_t *j, const char *key)
{
	json_t *v = json_object_get(json_object_get(j, "totals"), key);

	assert_true(json_is_integer(v));
	return json_integer_value(v);
}

static void
test_percentile_nearest_rank(void **state)
{
	int64_t one[] = { 7 };
	int64_t ten[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };
	int64_t six[] = { 300, 360, 480, 1260, 1500, 1560 };

	(void)state;
	assert_int_equal(report_percentile(one, 1, 50), 7);
	assert_int_equal(report_percentile(one, 1, 90), 7);
	assert_int_equal(report_percentile(ten, 10, 50), 5);     /* rank 5: the lower middle */
	assert_int_equal(report_percentile(ten, 10, 90), 9);     /* rank 9, exactly */
	assert_int_equal(report_percentile(ten, 10, 91), 10);    /* rank ceil(9.1) = 10 */
	assert_int_equal(report_percentile(ten, 10, 100), 10);
	assert_int_equal(report_percentile(ten, 10, 1), 1);
	assert_int_equal(report_percentile(six, 6, 50), 480);    /* rank 3 */
	assert_int_equal(report_percentile(six, 6, 90), 1560);   /* rank ceil(5.4) = 6 */
}

/* Exactly the threshold is not overtime; one second more is, called or still waiting. */
static void
test_overtime_edges(void **state)
{
	struct config cfg;
	struct report_leg legs[4];
	struct report_day d;
	json_t *j;

	(void)state;
	test_config(&cfg);
	legs[0] = leg(1, 0, TS_SERVED, 0, 20, 25, 1);            /* waited 20:00: not overtime */
	legs[1] = leg(2, 0, TS_SERVED, 0, 25, 30, 1);            /* 20:01 below: overtime */
	legs[1].called_at = T0 + 20 * MIN + 1;
	legs[2] = leg(3, 0, TS_WAITING, 40, -1, -1, 0);          /* waiting 20:00 at close: not */
	legs[3] = leg(4, 0, TS_WAITING, 39, -1, -1, 0);          /* waiting 21:00 at close: overtime */
	d = day_of(legs, 4, T0 + 60 * MIN);
	j = run(&cfg, &d);
	assert_int_equal(tot(j, "called"), 2);
	assert_int_equal(tot(j, "waiting_at_close"), 2);
	assert_int_equal(tot(j, "overtime"), 2);
	assert_int_equal(tot(j, "overtime_waiting"), 1);
	assert_int_equal(tot(j, "overtime_base"), 3);            /* 2 called + 1 overtime waiting */
	assert_float_equal(json_real_value(json_object_get(json_object_get(j, "totals"),
	    "overtime_share")), 2.0 / 3.0, 1e-12);
	assert_true(json_is_false(json_object_get(json_object_get(j, "totals"), "target_met")));
	json_decref(j);
}

/* A transfer: counted once, in its last service, waiting from its first issue. */
static void
test_transfer_counted_once(void **state)
{
	struct config cfg;
	struct report_leg legs[2];
	struct report_day d;
	json_t *j, *b;

	(void)state;
	test_config(&cfg);
	legs[0] = leg(1, 0, TS_TRANSFERRED, 0, 5, 10, 1);
	legs[0].transferred_to = 2;
	legs[1] = leg(2, 1, TS_SERVED, 0, 21, 30, 2);
	legs[1].origin_id = 1;
	legs[1].created_at = T0 + 10 * MIN;
	d = day_of(legs, 2, T0 + 60 * MIN);
	j = run(&cfg, &d);
	assert_int_equal(tot(j, "issued"), 1);
	assert_int_equal(tot(j, "called"), 1);
	assert_int_equal(tot(j, "transferred"), 1);
	assert_int_equal(tot(j, "wait_max_s"), 21 * MIN);        /* from 0, not from the transfer */
	assert_int_equal(tot(j, "overtime"), 1);                 /* over B's 10 min */
	b = json_array_get(json_object_get(j, "by_service"), 1);
	assert_int_equal(json_integer_value(json_object_get(b, "issued")), 1);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(
	    json_object_get(j, "by_service"), 0), "issued")), 0);
	/* Both counters worked on it: counter 1 called a leg, counter 2 served one. */
	b = json_object_get(j, "by_counter");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(b, 0), "calls")), 1);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(b, 0), "served")), 0);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(b, 1), "served")), 1);
	json_decref(j);
}

/* Today so far: a call, an end, a transfer after close have not happened. */
static void
test_as_of_close(void **state)
{
	struct config cfg;
	struct report_leg legs[3];
	struct report_day d;
	json_t *j;

	(void)state;
	test_config(&cfg);
	legs[0] = leg(1, 0, TS_SERVED, 0, 30, 40, 1);           /* called after close: waiting */
	legs[1] = leg(2, 0, TS_TRANSFERRED, 0, 5, 26, 1);       /* at the counter at close */
	legs[1].transferred_to = 3;
	legs[2] = leg(3, 1, TS_WAITING, 0, -1, -1, 0);
	legs[2].origin_id = 2;
	legs[2].created_at = T0 + 26 * MIN;                     /* begun after close: absent */
	d = day_of(legs, 3, T0 + 25 * MIN);
	j = run(&cfg, &d);
	assert_int_equal(tot(j, "issued"), 2);
	assert_int_equal(tot(j, "waiting_at_close"), 1);
	assert_int_equal(tot(j, "called"), 1);
	assert_int_equal(tot(j, "served"), 0);
	assert_int_equal(tot(j, "transferred"), 0);
	assert_int_equal(tot(j, "overtime"), 1);                /* ticket 1 waited 25 min at close */
	json_decref(j);
}

/* The sweep: paused at the start, a pause and resume, busy, waiting of another service. */
static void
test_idle_sweep(void **state)
{
	struct config cfg;
	struct report_leg legs[3];
	struct report_pause pauses[3];
	bool paused_at_start[MAX_COUNTERS] = { false, true };
	struct report_day d;
	int64_t pause_s, idle;

	(void)state;
	test_config(&cfg);
	legs[0] = leg(1, 0, TS_SERVED, 0, 10, 20, 1);            /* A waits 0-10, c1 busy 10-20 */
	legs[1] = leg(2, 1, TS_SERVED, 5, 30, 35, 2);            /* B waits 5-30, c2 busy 30-35 */
	legs[2] = leg(3, 0, TS_CANCELLED, 40, -1, 45, 0);        /* A waits 40-45 */
	pauses[0] = (struct report_pause){ T0 + 12 * MIN, 1, true, NULL };
	pauses[1] = (struct report_pause){ T0 + 15 * MIN, 1, false, NULL };
	pauses[2] = (struct report_pause){ T0 + 25 * MIN, 2, false, NULL };   /* c2 resumes at 25 */
	d = day_of(legs, 3, T0 + 60 * MIN);
	d.pauses = pauses;
	d.npauses = 3;
	d.paused_at_start = paused_at_start;

	/* c1 (A B): idle 0-10 (A waits), 20-30 (B waits), 40-45; paused 12-15 while busy. */
	idle = report_idle_s(&cfg, 0, &d, &pause_s);
	assert_int_equal(idle, (10 + 10 + 5) * MIN);
	assert_int_equal(pause_s, 3 * MIN);
	/* c2 (B): paused 0-25; B waits until 30: idle 25-30. */
	idle = report_idle_s(&cfg, 1, &d, &pause_s);
	assert_int_equal(idle, 5 * MIN);
	assert_int_equal(pause_s, 25 * MIN);

	/* A pause and a resume in the same second, in that order: open again. */
	pauses[0].at = pauses[1].at = T0 + 1 * MIN;
	idle = report_idle_s(&cfg, 0, &d, &pause_s);
	assert_int_equal(pause_s, 0);
	assert_int_equal(idle, (10 + 10 + 5) * MIN);

	/* Cut at close: at 8 min, c1 has been idle 8 minutes. */
	d.close = T0 + 8 * MIN;
	idle = report_idle_s(&cfg, 0, &d, &pause_s);
	assert_int_equal(idle, 8 * MIN);
}

/* A wall clock set back between issue and call (an NTP step): the wait is 0, not negative. */
static void
test_clock_set_back(void **state)
{
	struct config cfg;
	struct report_leg legs[1];
	struct report_day d;
	json_t *j, *bins;

	(void)state;
	test_config(&cfg);
	legs[0] = leg(1, 0, TS_SERVED, 30, 20, 35, 1);      /* called 10 minutes "before" issue */
	d = day_of(legs, 1, T0 + 60 * MIN);
	j = run(&cfg, &d);
	assert_int_equal(tot(j, "called"), 1);
	assert_int_equal(tot(j, "wait_max_s"), 0);
	assert_int_equal(tot(j, "overtime"), 0);
	bins = json_object_get(json_object_get(j, "wait_distribution"), "bins");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(bins, 0), "count")), 1);
	json_decref(j);
}

/* Closed as expired at the reset (ended at close, or after): counted as left waiting at close. */
static void
test_expired_counted_as_waiting_at_close(void **state)
{
	struct config cfg;
	struct report_leg legs[2];
	struct report_day d;
	json_t *j;

	(void)state;
	test_config(&cfg);
	legs[0] = leg(1, 0, TS_EXPIRED, 10, -1, 60, 0);          /* closed at the very close */
	legs[1] = leg(2, 0, TS_EXPIRED, 50, -1, 61, 0);          /* closed a minute later */
	d = day_of(legs, 2, T0 + 60 * MIN);
	j = run(&cfg, &d);
	assert_int_equal(tot(j, "issued"), 2);
	assert_int_equal(tot(j, "waiting_at_close"), 2);
	assert_int_equal(tot(j, "cancelled"), 0);
	assert_int_equal(tot(j, "overtime_waiting"), 1);         /* 50 min at close: over 20 */
	json_decref(j);
}

static void
test_empty_day(void **state)
{
	struct config cfg;
	struct report_day d;
	json_t *j, *t;

	(void)state;
	test_config(&cfg);
	d = day_of(NULL, 0, T0 + 60 * MIN);
	j = run(&cfg, &d);
	t = json_object_get(j, "totals");
	assert_int_equal(tot(j, "issued"), 0);
	assert_true(json_is_null(json_object_get(t, "wait_p50_s")));
	assert_true(json_is_null(json_object_get(t, "overtime_share")));
	assert_true(json_is_true(json_object_get(t, "target_met")));
	/* The branch-wide target is the strictest service's. */
	assert_float_equal(json_real_value(json_object_get(t, "target_share")), 0.05, 1e-12);
	assert_int_equal(json_array_size(json_object_get(j, "by_hour")), 0);
	json_decref(j);
}

/* The teller row of name (NULL: not recorded) in j's by_teller; fails when absent. */
static const json_t *
teller_row(const json_t *j, const char *name)
{
	const json_t *row;
	size_t i;

	json_array_foreach(json_object_get(j, "by_teller"), i, row) {
		const char *t = json_string_value(json_object_get(row, "teller"));
		if (name == NULL ? t == NULL : t != NULL && strcmp(t, name) == 0)
			return row;
	}
	fail_msg("no by_teller row for %s", name ? name : "(not recorded)");
	return NULL;
}

static json_int_t
teller_int(const json_t *j, const char *name, const char *key)
{
	return json_integer_value(json_object_get(teller_row(j, name), key));
}

/*
 * By teller: a finished leg counts for whoever finished it; a pause for
 * whoever paused, to the next resume (by anyone) or close, from the day's
 * start when paused already; a second pause changes nothing; no "by" is
 * the row not recorded, listed last.
 */
static void
test_by_teller(void **state)
{
	struct config cfg;
	struct report_leg legs[4];
	struct report_pause pauses[4];
	bool paused_at_start[MAX_COUNTERS] = { false, true };
	const char *paused_by[MAX_COUNTERS] = { NULL, "tom" };
	struct report_day d;
	const json_t *rows;
	json_t *j;

	(void)state;
	test_config(&cfg);
	legs[0] = leg(1, 0, TS_SERVED, 0, 10, 20, 1);
	legs[0].by = "tina";
	legs[1] = leg(2, 0, TS_SERVED, 0, 20, 25, 1);
	legs[1].by = "tina";
	legs[2] = leg(3, 1, TS_NO_SHOW, 0, 30, 32, 2);
	legs[2].by = "tom";
	legs[3] = leg(4, 1, TS_SERVED, 0, 40, 50, 2);                 /* no "by" */
	pauses[0] = (struct report_pause){ T0 + 5 * MIN, 2, false, "fay" };   /* tom's, 0-5 */
	pauses[1] = (struct report_pause){ T0 + 30 * MIN, 1, true, "tina" };
	pauses[2] = (struct report_pause){ T0 + 31 * MIN, 1, true, "fay" };   /* still tina's */
	pauses[3] = (struct report_pause){ T0 + 34 * MIN, 2, true, NULL };    /* to close */
	d = day_of(legs, 4, T0 + 60 * MIN);
	d.pauses = pauses;
	d.npauses = 4;
	d.paused_at_start = paused_at_start;
	d.paused_by_at_start = paused_by;
	j = run(&cfg, &d);
	rows = json_object_get(j, "by_teller");
	assert_int_equal(json_array_size(rows), 3);
	assert_string_equal(json_string_value(json_object_get(json_array_get(rows, 0), "teller")),
	    "tina");
	assert_true(json_is_null(json_object_get(json_array_get(rows, 2), "teller")));
	assert_true(json_is_false(json_object_get(json_array_get(rows, 2), "recorded")));
	assert_int_equal(teller_int(j, "tina", "served"), 2);
	assert_true(json_real_value(json_object_get(teller_row(j, "tina"), "service_avg_s")) == 450.0);
	assert_int_equal(teller_int(j, "tina", "pause_s"), 30 * MIN);     /* 30 to close */
	assert_int_equal(teller_int(j, "tom", "served"), 0);
	assert_true(json_is_null(json_object_get(teller_row(j, "tom"), "service_avg_s")));
	assert_int_equal(teller_int(j, "tom", "no_show"), 1);
	assert_int_equal(teller_int(j, "tom", "pause_s"), 5 * MIN);
	assert_int_equal(teller_int(j, NULL, "served"), 1);
	assert_int_equal(teller_int(j, NULL, "pause_s"), 26 * MIN);
	json_decref(j);

	/* Read as of close at 31 min: the leg served at 50 is not yet, the pauses stop there. */
	d.close = T0 + 31 * MIN;
	j = run(&cfg, &d);
	assert_int_equal(teller_int(j, "tina", "pause_s"), 1 * MIN);
	assert_int_equal(json_array_size(json_object_get(j, "by_teller")), 2);   /* no one unrecorded */
	json_decref(j);
}

/*
 * The ten longest waits of more than ten tickets: once the list is full a
 * longer wait still replaces the shortest listed, wherever it comes in the
 * day, and the list stays longest first. Waits of 1..15 minutes arrive out of
 * order (the longest among the last); one still waiting at close competes too.
 */
static void
test_longest_waits_are_the_ten_longest(void **state)
{
	static const int wait_min[15] = { 3, 1, 4, 2, 9, 5, 6, 8, 13, 7, 14, 15, 12, 11, 10 };
	struct config cfg;
	struct report_leg legs[16];
	struct report_day d;
	json_t *j, *top;

	(void)state;
	test_config(&cfg);
	for (int i = 0; i < 15; i++)
		legs[i] = leg(i + 1, 0, TS_SERVED, i, i + wait_min[i], i + wait_min[i] + 1, 1);
	legs[15] = leg(16, 0, TS_WAITING, 100, -1, -1, 0);      /* 11.5 min waiting at close */
	d = day_of(legs, 16, T0 + 100 * MIN + 690);
	j = run(&cfg, &d);
	top = json_object_get(j, "longest_waits");
	assert_int_equal(json_array_size(top), REPORT_LONGEST);
	{
		static const int64_t want_s[10] = { 15 * MIN, 14 * MIN, 13 * MIN, 12 * MIN, 690,
		    11 * MIN, 10 * MIN, 9 * MIN, 8 * MIN, 7 * MIN };
		static const char *const want_n[10] = { "A012", "A011", "A009", "A013", "A016",
		    "A014", "A015", "A005", "A008", "A010" };

		for (int i = 0; i < 10; i++) {
			json_t *row = json_array_get(top, (size_t)i);

			assert_int_equal(json_integer_value(json_object_get(row, "wait_s")), want_s[i]);
			assert_string_equal(json_string_value(json_object_get(row, "number")), want_n[i]);
		}
	}
	json_decref(j);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_percentile_nearest_rank),
		cmocka_unit_test(test_overtime_edges),
		cmocka_unit_test(test_transfer_counted_once),
		cmocka_unit_test(test_as_of_close),
		cmocka_unit_test(test_idle_sweep),
		cmocka_unit_test(test_clock_set_back),
		cmocka_unit_test(test_expired_counted_as_waiting_at_close),
		cmocka_unit_test(test_empty_day),
		cmocka_unit_test(test_by_teller),
		cmocka_unit_test(test_longest_waits_are_the_ten_longest),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
