/*
 * test_sim.c: unit tests of the branch-day simulation (sim.c), Erlang C
 * (erlang.c) and the advisor's check (advise.c). Hand-made days with fixed
 * service times pin every rule to the second: first come first served, the
 * green window through the real policy, counters closing on the hour,
 * transfers, no-shows and the pushed-past count; drawn days check that the
 * same seed gives the same day, bit for bit.
 */
#include "unit.h"

#include <math.h>
#include <string.h>

#include "advise.h"
#include "erlang.h"
#include "sim.h"

static struct sim_scenario sc;   /* 40 KB: not on the stack */

/* One service A (threshold 20 min), n counters serving it, open all day. */
static void
scenario_one(int hours, int ncounters)
{
	memset(&sc, 0, sizeof(sc));
	sc.hours = hours;
	sc.nservices = 1;
	sc.services[0].dist = SIM_FIXED;
	sc.services[0].mean_s = 100;
	sc.services[0].transfer_to = -1;
	sc.rules.overtime_s[0] = 1200;
	sc.rules.boost_s[CAT_ELDERLY] = 600;
	sc.ncounters = ncounters;
	for (int k = 0; k < ncounters; k++) {
		sc.counters[k].pc.services[0] = 0;
		sc.counters[k].pc.nservices = 1;
		for (int h = 0; h < hours; h++)
			sc.counters[k].open[h] = true;
	}
}

static void
customer(struct sim_day *d, double at, int service, enum category c, double service_s)
{
	assert_int_equal(sim_day_reserve(d, d->n + 1), 0);
	struct sim_customer *x = &d->c[d->n++];
	memset(x, 0, sizeof(*x));
	x->arrive_s = at;
	x->service = service;
	x->category = c;
	x->service_s = service_s;
	x->transfer_to = -1;
}

/*
 * The live advice starts a simulation at now with the hall's waiting
 * customers arrived before it (arrive_s < 0): with start_at_zero nobody is
 * called before 0, so each one's wait counts from its own arrival to a
 * call at 0 or later, in the policy's order; without, they are called as
 * they arrived, as a replayed day's early customers were.
 */
static void
test_waiting_at_the_start_called_from_zero(void **state)
{
	struct sim_day d;

	(void)state;
	memset(&d, 0, sizeof(d));
	scenario_one(2, 1);
	customer(&d, -1500, 0, CAT_NORMAL, 100);    /* waited 25 min already */
	customer(&d, -60, 0, CAT_NORMAL, 100);
	customer(&d, 50, 0, CAT_NORMAL, 100);
	sc.start_at_zero = true;
	assert_int_equal(sim_day_run(&sc, &d), 0);
	assert_true(fabs(d.o[0].wait_s - 1500) < 1e-9);
	assert_true(fabs(d.o[1].wait_s - 160) < 1e-9);       /* called at 100 */
	assert_true(fabs(d.o[2].wait_s - 150) < 1e-9);       /* called at 200 */
	assert_true(d.o[0].overtime && !d.o[1].overtime && !d.o[2].overtime);
	assert_int_equal(d.o[0].hour, 0);
	sc.start_at_zero = false;
	assert_int_equal(sim_day_run(&sc, &d), 0);
	assert_true(fabs(d.o[0].wait_s) < 1e-9);             /* called as it came */
	assert_false(d.o[0].overtime);
	sim_day_free(&d);
}

static void
test_rng_same_seed_same_numbers(void **state)
{
	struct sim_rng a, b, c;

	(void)state;
	sim_rng_seed(&a, 42);
	sim_rng_seed(&b, 42);
	sim_rng_seed(&c, 43);
	bool differs = false;
	for (int i = 0; i < 1000; i++) {
		uint64_t x = sim_rng_next(&a);
		assert_true(x == sim_rng_next(&b));
		differs = differs || x != sim_rng_next(&c);
	}
	assert_true(differs);
	/* Seed 0 is a good seed too: splitmix64 makes the state. */
	sim_rng_seed(&a, 0);
	assert_true(a.s[0] != 0 || a.s[1] != 0);
	double sum = 0;
	for (int i = 0; i < 100000; i++) {
		double u = sim_rng_uniform(&a);
		assert_true(u > 0 && u < 1);
		sum += u;
	}
	assert_true(fabs(sum / 100000 - 0.5) < 0.01);
}

static void
test_fifo_waits_exact(void **state)
{
	struct sim_day d = { 0 };

	(void)state;
	scenario_one(1, 1);
	customer(&d, 0, 0, CAT_NORMAL, 100);
	customer(&d, 10, 0, CAT_NORMAL, 100);
	customer(&d, 50, 0, CAT_NORMAL, 100);
	assert_int_equal(sim_day_run(&sc, &d), 0);
	assert_true(d.o[0].wait_s == 0);
	assert_true(d.o[1].wait_s == 90);
	assert_true(d.o[2].wait_s == 150);
	assert_true(d.end_s == 3600);
	sim_day_free(&d);
}

static void
test_green_window_through_policy(void **state)
{
	struct sim_day d = { 0 };

	(void)state;
	scenario_one(1, 1);
	sc.counters[0].pc.green = true;
	customer(&d, 0, 0, CAT_NORMAL, 100);
	customer(&d, 10, 0, CAT_NORMAL, 100);
	customer(&d, 20, 0, CAT_ELDERLY, 100);
	assert_int_equal(sim_day_run(&sc, &d), 0);
	assert_true(d.o[2].wait_s == 80);    /* called at 100, before the normal customer */
	assert_true(d.o[1].wait_s == 190);   /* called at 200 */
	sim_day_free(&d);
}

static void
test_pushed_past_threshold_counted(void **state)
{
	struct sim_day d = { 0 }, p = { 0 };
	static struct sim_scenario plain;

	(void)state;
	scenario_one(1, 1);
	sc.rules.overtime_s[0] = 150;
	/* The normal customer waits 100 s without the elderly one, 200 s with. */
	customer(&d, 0, 0, CAT_NORMAL, 100);
	customer(&d, 0.5, 0, CAT_NORMAL, 100);
	customer(&d, 1, 0, CAT_ELDERLY, 100);
	customer(&d, 2, 0, CAT_NORMAL, 100);    /* overtime either way: not pushed */
	assert_int_equal(sim_day_run(&sc, &d), 0);
	sim_scenario_plain(&sc, &plain);
	assert_int_equal(sim_day_reserve(&p, d.n), 0);
	memcpy(p.c, d.c, (size_t)d.n * sizeof(*d.c));
	p.n = d.n;
	assert_int_equal(sim_day_run(&plain, &p), 0);
	assert_true(d.o[1].overtime);
	assert_false(p.o[1].overtime);
	assert_true(d.o[3].overtime && p.o[3].overtime);
	assert_int_equal(sim_pushed(&d, &p), 1);
	sim_day_free(&d);
	sim_day_free(&p);
}

/* The plain day drops the green window too, not only the boosts. */
static void
test_pushed_by_a_green_window(void **state)
{
	struct sim_day d = { 0 }, p = { 0 };
	static struct sim_scenario plain;

	(void)state;
	scenario_one(1, 1);
	sc.rules.overtime_s[0] = 150;
	sc.rules.boost_s[CAT_ELDERLY] = 0;
	sc.counters[0].pc.green = true;
	customer(&d, 0, 0, CAT_NORMAL, 100);
	customer(&d, 0.5, 0, CAT_NORMAL, 100);
	customer(&d, 30, 0, CAT_ELDERLY, 100);
	assert_int_equal(sim_day_run(&sc, &d), 0);
	assert_true(d.o[1].wait_s == 199.5);
	sim_scenario_plain(&sc, &plain);
	assert_false(plain.counters[0].pc.green);
	assert_int_equal(sim_day_reserve(&p, d.n), 0);
	memcpy(p.c, d.c, (size_t)d.n * sizeof(*d.c));
	p.n = d.n;
	assert_int_equal(sim_day_run(&plain, &p), 0);
	assert_true(p.o[1].wait_s == 99.5);
	assert_int_equal(sim_pushed(&d, &p), 1);
	sim_day_free(&d);
	sim_day_free(&p);
}

static void
test_counter_closes_on_the_hour(void **state)
{
	struct sim_day d = { 0 };

	(void)state;
	scenario_one(2, 2);
	sc.counters[1].open[1] = false;       /* counter 2 works the first hour only */
	sc.counters[0].open[1] = false;
	sc.counters[0].open[0] = false;       /* counter 1 never */
	customer(&d, 3550, 0, CAT_NORMAL, 100);   /* served by counter 2, which finishes it */
	customer(&d, 3560, 0, CAT_NORMAL, 100);   /* nobody left to call */
	assert_int_equal(sim_day_run(&sc, &d), 0);
	assert_true(d.o[0].wait_s == 0);
	assert_true(d.o[1].wait_s < 0);
	assert_true(d.o[1].overtime);             /* 7200 - 3560 > 1200 */
	sim_day_free(&d);
}

static void
test_transfer_and_no_show(void **state)
{
	struct sim_day d = { 0 };

	(void)state;
	scenario_one(1, 1);
	sc.nservices = 2;
	sc.services[1] = sc.services[0];
	sc.rules.overtime_s[1] = 60;
	sc.counters[0].pc.services[1] = 1;
	sc.counters[0].pc.nservices = 2;
	sc.no_show_s = 30;
	customer(&d, 0, 0, CAT_NORMAL, 100);
	d.c[0].transfer_to = 1;
	d.c[0].transfer_service_s = 50;
	customer(&d, 10, 0, CAT_NORMAL, 100);
	d.c[1].no_show = true;
	customer(&d, 20, 0, CAT_NORMAL, 100);
	assert_int_equal(sim_day_run(&sc, &d), 0);
	/* At 100 the transferred leg (issued 0) goes before the customer of 10. */
	assert_int_equal(d.o[0].service, 1);
	assert_true(d.o[0].wait_s == 100);
	assert_true(d.o[0].overtime);        /* B's threshold is 60 s */
	assert_true(d.o[1].wait_s == 140);   /* called at 150, gone at 180 */
	assert_true(d.o[2].wait_s == 160);   /* the counter moved on after no_show_s */
	sim_day_free(&d);
}

static void
test_same_seed_same_day(void **state)
{
	struct sim_day a = { 0 }, b = { 0 };
	struct sim_rng ga, gb;

	(void)state;
	scenario_one(8, 4);
	sc.services[0].dist = SIM_LOGNORMAL;
	sc.services[0].mean_s = 300;
	sc.services[0].sd_s = 200;
	sc.services[0].no_show = 0.05;
	sc.services[0].english_share = 0.1;
	sc.counters[0].pc.green = true;
	for (int h = 0; h < 8; h++) {
		sc.services[0].rate[h][CAT_NORMAL] = 30 + 5 * h;
		sc.services[0].rate[h][CAT_ELDERLY] = 8;
	}
	sim_rng_seed(&ga, 99);
	sim_rng_seed(&gb, 99);
	assert_int_equal(sim_day_generate(&sc, &ga, &a), 0);
	assert_int_equal(sim_day_generate(&sc, &gb, &b), 0);
	assert_true(a.n > 200);
	assert_int_equal(a.n, b.n);
	assert_int_equal(sim_day_run(&sc, &a), 0);
	assert_int_equal(sim_day_run(&sc, &b), 0);
	assert_memory_equal(a.c, b.c, (size_t)a.n * sizeof(*a.c));
	assert_memory_equal(a.o, b.o, (size_t)a.n * sizeof(*a.o));
	for (int i = 1; i < a.n; i++)
		assert_true(a.c[i - 1].arrive_s <= a.c[i].arrive_s);
	/* Another seed, another day. */
	sim_rng_seed(&gb, 100);
	assert_int_equal(sim_day_generate(&sc, &gb, &b), 0);
	assert_true(a.n != b.n || memcmp(a.c, b.c, (size_t)a.n * sizeof(*a.c)) != 0);
	sim_day_free(&a);
	sim_day_free(&b);
}

static void
test_bad_scenarios_refused(void **state)
{
	char why[160];

	(void)state;
	scenario_one(8, 2);
	assert_int_equal(sim_scenario_check(&sc, why, sizeof(why)), 0);
	sc.services[0].rate[3][CAT_NORMAL] = -1;
	assert_int_equal(sim_scenario_check(&sc, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "negative"));

	scenario_one(8, 2);
	sc.counters[1].pc.services[0] = 5;     /* no such service */
	assert_int_equal(sim_scenario_check(&sc, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "unknown service"));

	scenario_one(8, 2);
	sc.services[0].transfer = 0.1;
	sc.services[0].transfer_to = 3;
	assert_int_equal(sim_scenario_check(&sc, why, sizeof(why)), -1);

	scenario_one(0, 2);
	assert_int_equal(sim_scenario_check(&sc, why, sizeof(why)), -1);
	scenario_one(8, 2);
	sc.services[0].mean_s = 0;
	assert_int_equal(sim_scenario_check(&sc, why, sizeof(why)), -1);
	scenario_one(8, 2);
	sc.services[0].no_show = 1.5;
	assert_int_equal(sim_scenario_check(&sc, why, sizeof(why)), -1);
}

static void
test_erlang_known_values(void **state)
{
	(void)state;
	/* c = 2, a = 1: B = 1/5, C = 0.4 / 1.2 = 1/3. */
	assert_true(fabs(erlang_b(2, 1.0) - 0.2) < 1e-12);
	assert_true(fabs(erlang_c(2, 1.0) - 1.0 / 3) < 1e-12);
	assert_true(fabs(erlang_mean_wait(2, 1.0, 300) - 100) < 1e-9);
	assert_true(fabs(erlang_p_wait_over(2, 1.0, 300, 300) - exp(-1.0) / 3) < 1e-12);
	/* c = 1 is M/M/1: C = rho. */
	assert_true(fabs(erlang_c(1, 0.7) - 0.7) < 1e-12);
	/* Unstable: waits for sure. */
	assert_true(erlang_c(3, 3.0) == 1.0);
	assert_true(isinf(erlang_mean_wait(3, 3.5, 300)));
	/* Large c stays finite and sane: no factorials. */
	double big = erlang_c(500, 480.0);
	assert_true(big > 0 && big < 1);
	/* 48 an hour, 5 min, 10 min threshold, 5 %: 4 counters give 0.2 erlang... */
	assert_int_equal(erlang_staff(4.0, 300, 600, 0.05, 20), 6);
	assert_true(erlang_p_wait_over(5, 4.0, 300, 600) > 0.05);
	assert_true(erlang_p_wait_over(6, 4.0, 300, 600) <= 0.05);
	assert_int_equal(erlang_staff(100.0, 300, 600, 0.05, 20), 21);
}

static void
test_ci_and_meets(void **state)
{
	double x[] = { 1, 2, 3, 4, 5 };
	double m, half;
	struct advise_hour h[2];

	(void)state;
	sim_ci95(x, 5, &m, &half);
	assert_true(fabs(m - 3) < 1e-12);
	/* s = sqrt(2.5), t(4) = 2.776: half = 2.776 * 1.5811 / sqrt(5) */
	assert_true(fabs(half - 2.776 * sqrt(2.5) / sqrt(5)) < 1e-9);
	memset(h, 0, sizeof(h));
	h[0].n = 10;
	h[0].share = 0.04;
	h[0].half = 0.005;
	h[1].n = 0;
	h[1].share = 0.9;        /* an hour with nobody does not count */
	assert_true(advise_meets(h, 2, 0.05));
	h[0].half = 0.011;
	assert_false(advise_meets(h, 2, 0.05));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rng_same_seed_same_numbers),
		cmocka_unit_test(test_waiting_at_the_start_called_from_zero),
		cmocka_unit_test(test_fifo_waits_exact),
		cmocka_unit_test(test_green_window_through_policy),
		cmocka_unit_test(test_pushed_past_threshold_counted),
		cmocka_unit_test(test_pushed_by_a_green_window),
		cmocka_unit_test(test_counter_closes_on_the_hour),
		cmocka_unit_test(test_transfer_and_no_show),
		cmocka_unit_test(test_same_seed_same_day),
		cmocka_unit_test(test_bad_scenarios_refused),
		cmocka_unit_test(test_erlang_known_values),
		cmocka_unit_test(test_ci_and_meets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
