/*
 * test_clock.c: the daemon's clock with both clocks injected. It follows
 * the wall clock and its jitter; follows a jump forward and says so once;
 * never goes back when the wall clock steps back, runs at nine tenths of
 * the monotonic pace until the wall clock catches up, then follows it
 * again; and starts no earlier than the last time the database recorded.
 */
#include "unit.h"

#include "clock.h"

#define T0 1764633600000LL          /* 2025-12-02T00:00:00Z, ms */

static void
test_follows_the_wall_clock(void **state)
{
	struct clock_state c;
	int64_t jump;

	(void)state;
	clock_begin(&c, T0, 5000, 0);
	assert_int_equal(clock_advance(&c, T0 + 1000, 6000, &jump), T0 + 1000);
	assert_int_equal(jump, 0);
	/* Jitter of a few hundred ms either way: no jump, and never back. */
	assert_int_equal(clock_advance(&c, T0 + 1800, 7000, &jump), T0 + 1800);
	assert_int_equal(clock_advance(&c, T0 + 1700, 7000, &jump), T0 + 1800);
	assert_int_equal(jump, 0);
}

static void
test_jump_forward_is_followed_and_told_once(void **state)
{
	struct clock_state c;
	int64_t jump;

	(void)state;
	clock_begin(&c, T0, 0, 0);
	assert_int_equal(clock_advance(&c, T0 + 3600000 + 1000, 1000, &jump), T0 + 3601000);
	assert_int_equal(jump, 3600000);
	assert_int_equal(clock_advance(&c, T0 + 3602000, 2000, &jump), T0 + 3602000);
	assert_int_equal(jump, 0);
}

static void
test_step_back_never_goes_back_and_catches_up(void **state)
{
	struct clock_state c;
	int64_t jump, now, prev, mono = 0, wall = T0;

	(void)state;
	clock_begin(&c, wall, mono, 0);
	/* NTP pulls the clock back 10 minutes. */
	mono += 1000;
	wall += 1000 - 600000;
	now = clock_advance(&c, wall, mono, &jump);
	assert_int_equal(jump, -600000);
	assert_true(now >= T0);
	prev = now;
	/* Every second after: on at 0.9 s a second, told no more, never back. */
	for (int i = 0; i < 100; i++) {
		mono += 1000;
		wall += 1000;
		now = clock_advance(&c, wall, mono, &jump);
		assert_int_equal(jump, 0);
		assert_int_equal(now - prev, 900);
		prev = now;
	}
	/* 600 s behind at 0.1 s a second: caught up after about 6000 s, then the wall clock again. */
	for (int i = 0; i < 6100; i++) {
		mono += 1000;
		wall += 1000;
		now = clock_advance(&c, wall, mono, &jump);
		assert_int_equal(jump, 0);
		assert_true(now >= prev);
		prev = now;
	}
	assert_int_equal(now, wall);
	assert_false(c.behind);
	mono += 1000;
	wall += 1000;
	assert_int_equal(clock_advance(&c, wall, mono, &jump), wall);
}

static void
test_starts_no_earlier_than_the_database(void **state)
{
	struct clock_state c;
	int64_t jump;

	(void)state;
	/* The box restarted with its clock a day back: the clock starts at the last event. */
	clock_begin(&c, T0 - 86400000LL, 0, T0);
	assert_true(c.behind);
	assert_int_equal(clock_advance(&c, T0 - 86400000LL + 1000, 1000, &jump), T0 + 900);
	assert_int_equal(jump, 0);
	/* A wall clock ahead of the floor is simply the time. */
	clock_begin(&c, T0 + 5000, 0, T0);
	assert_false(c.behind);
	assert_int_equal(clock_advance(&c, T0 + 6000, 1000, &jump), T0 + 6000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_follows_the_wall_clock),
		cmocka_unit_test(test_jump_forward_is_followed_and_told_once),
		cmocka_unit_test(test_step_back_never_goes_back_and_catches_up),
		cmocka_unit_test(test_starts_no_earlier_than_the_database),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
