/*
 * test_bday.c: unit tests for business days, dates and ISO 8601 times.
 *
 * Instants are built from UTC with timegm, which does not depend on the
 * process's time zone, and each test first sets the zone it is about
 * through bday_set_timezone, so the tests do not depend on the machine's
 * zone or on each other's order.
 */
#include "unit.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bday.h"

#define RESET_4AM	(4 * 60)

/* Unix time of a UTC wall time. */
static int64_t
utc(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	return (int64_t)timegm(&tm);
}

/* Asia/Shanghai has been UTC+8 without daylight saving since 1991. */
static int64_t
shanghai(int y, int mo, int d, int h, int mi, int s)
{
	return utc(y, mo, d, h, mi, s) - 8 * 3600;
}

static void
zone(const char *name)
{
	assert_int_equal(bday_set_timezone(name), 0);
}

static void
assert_iso(int64_t t, const char *want)
{
	char buf[32];

	memset(buf, 'Z', sizeof(buf));
	time_iso8601(t, buf);
	assert_string_equal(buf, want);
}

static void
test_bday_reset_boundary(void **state)
{
	(void)state;
	zone("Asia/Shanghai");
	assert_date(bday_of(shanghai(2026, 3, 10, 3, 59, 59), RESET_4AM), 2026, 3, 9);
	assert_date(bday_of(shanghai(2026, 3, 10, 4, 0, 0), RESET_4AM), 2026, 3, 10);
	assert_date(bday_of(shanghai(2026, 3, 10, 23, 59, 59), RESET_4AM), 2026, 3, 10);
	assert_date(bday_of(shanghai(2026, 3, 10, 0, 0, 0), RESET_4AM), 2026, 3, 9);
	/* Minutes count too, not only hours. */
	assert_date(bday_of(shanghai(2026, 3, 10, 4, 29, 0), 4 * 60 + 30), 2026, 3, 9);
	assert_date(bday_of(shanghai(2026, 3, 10, 4, 30, 0), 4 * 60 + 30), 2026, 3, 10);
}

static void
test_bday_month_and_year_end(void **state)
{
	(void)state;
	zone("Asia/Shanghai");
	assert_date(bday_of(shanghai(2026, 1, 1, 3, 0, 0), RESET_4AM), 2025, 12, 31);
	assert_date(bday_of(shanghai(2026, 1, 1, 4, 0, 0), RESET_4AM), 2026, 1, 1);
	assert_date(bday_of(shanghai(2026, 3, 1, 3, 0, 0), RESET_4AM), 2026, 2, 28);
	assert_date(bday_of(shanghai(2024, 3, 1, 3, 0, 0), RESET_4AM), 2024, 2, 29);
	assert_date(bday_of(shanghai(2026, 5, 1, 3, 0, 0), RESET_4AM), 2026, 4, 30);
	assert_date(bday_of(shanghai(2026, 8, 1, 3, 0, 0), RESET_4AM), 2026, 7, 31);
}

static void
test_bday_reset_zero(void **state)
{
	(void)state;
	zone("Asia/Shanghai");
	assert_date(bday_of(shanghai(2026, 1, 1, 0, 0, 0), 0), 2026, 1, 1);
	assert_date(bday_of(shanghai(2025, 12, 31, 23, 59, 59), 0), 2025, 12, 31);
	assert_date(bday_of(shanghai(2026, 3, 10, 3, 0, 0), 0), 2026, 3, 10);
}

static void
test_bday_uses_local_zone(void **state)
{
	int64_t t = utc(2026, 3, 9, 20, 0, 0);	/* 04:00 on the 10th in Shanghai */

	(void)state;
	zone("Asia/Shanghai");
	assert_date(bday_of(t, RESET_4AM), 2026, 3, 10);
	zone("UTC");
	assert_date(bday_of(t, RESET_4AM), 2026, 3, 9);
	assert_date(bday_of(t, 0), 2026, 3, 9);
}

static void
test_iso8601_offsets(void **state)
{
	int64_t t = utc(2026, 11, 24, 1, 30, 5);

	(void)state;
	zone("Asia/Shanghai");
	assert_iso(t, "2026-11-24T09:30:05+08:00");
	zone("UTC");
	assert_iso(t, "2026-11-24T01:30:05+00:00");
	zone("America/New_York");
	assert_iso(t, "2026-11-23T20:30:05-05:00");
	assert_iso(utc(2026, 7, 1, 12, 0, 0), "2026-07-01T08:00:00-04:00");
	zone("Asia/Kolkata");
	assert_iso(t, "2026-11-24T07:00:05+05:30");
	zone("Asia/Kathmandu");
	assert_iso(t, "2026-11-24T07:15:05+05:45");
	/* A negative offset with minutes: the sign goes on the whole offset. */
	zone("America/St_Johns");
	assert_iso(t, "2026-11-23T22:00:05-03:30");
}

static void
test_out_of_range_instants(void **state)
{
	(void)state;
	zone("UTC");
	/* Beyond what struct tm can hold: nothing, not a wrong date. */
	assert_iso(INT64_MAX, "");
	assert_int_equal(date_valid(bday_of(INT64_MAX, 0)), 0);
	/* About two billion years ago: the year fits struct tm but not out. */
	assert_iso(-60000000000000000LL, "");
	/* A ten-character year still fits and is written whole. */
	assert_iso(-31556952000000000LL, "-999998030-01-01T00:00:00+00:00");
}

static void
test_bday_start_round_trip(void **state)
{
	static const struct {
		const char *zone;
		struct date d, prev;
		int reset;
	} cases[] = {
		{ "Asia/Shanghai", { 2026, 3, 10 }, { 2026, 3, 9 }, RESET_4AM },
		{ "Asia/Shanghai", { 2026, 1, 1 }, { 2025, 12, 31 }, RESET_4AM },
		{ "Asia/Shanghai", { 2024, 3, 1 }, { 2024, 2, 29 }, 0 },
		{ "Asia/Shanghai", { 2026, 12, 31 }, { 2026, 12, 30 }, 23 * 60 + 59 },
		/* DST starts, DST ends, and a day that had no midnight. */
		{ "America/New_York", { 2026, 3, 8 }, { 2026, 3, 7 }, RESET_4AM },
		{ "America/New_York", { 2026, 11, 1 }, { 2026, 10, 31 }, 0 },
		{ "America/Sao_Paulo", { 2018, 11, 4 }, { 2018, 11, 3 }, 0 },
		{ "Asia/Kolkata", { 2026, 1, 1 }, { 2025, 12, 31 }, 90 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int reset = cases[i].reset;
		int64_t start;

		zone(cases[i].zone);
		start = bday_start(cases[i].d, reset);
		assert_int_equal(date_cmp(bday_of(start, reset), cases[i].d), 0);
		assert_int_equal(date_cmp(bday_of(start - 1, reset), cases[i].prev), 0);
		assert_int_equal(bday_start(cases[i].prev, reset) < start, 1);
	}
}

static void
test_bday_start_values(void **state)
{
	(void)state;
	zone("Asia/Shanghai");
	assert_int_equal(bday_start((struct date){ 2026, 3, 10 }, RESET_4AM),
	    utc(2026, 3, 9, 20, 0, 0));
	assert_int_equal(bday_start((struct date){ 2026, 1, 1 }, 0),
	    utc(2025, 12, 31, 16, 0, 0));

	/*
	 * Clocks in New York go forward at 02:00 on 8 March 2026, so with a
	 * 04:00 reset the short business day is the 7th (EST to EDT).
	 */
	zone("America/New_York");
	assert_int_equal(bday_start((struct date){ 2026, 3, 7 }, RESET_4AM),
	    utc(2026, 3, 7, 9, 0, 0));
	assert_int_equal(bday_start((struct date){ 2026, 3, 8 }, RESET_4AM),
	    utc(2026, 3, 8, 8, 0, 0));
	assert_int_equal(bday_start((struct date){ 2026, 3, 8 }, RESET_4AM) -
	    bday_start((struct date){ 2026, 3, 7 }, RESET_4AM), 23 * 3600);
	assert_int_equal(bday_start((struct date){ 2026, 3, 9 }, RESET_4AM) -
	    bday_start((struct date){ 2026, 3, 8 }, RESET_4AM), 24 * 3600);
	/* Back at 02:00 on 1 November: a 25-hour day from midnight. */
	assert_int_equal(bday_start((struct date){ 2026, 11, 2 }, 0) -
	    bday_start((struct date){ 2026, 11, 1 }, 0), 25 * 3600);
}

static void
test_set_timezone(void **state)
{
	const char *tz;

	(void)state;
	zone("Asia/Shanghai");
	tz = getenv("TZ");
	assert_non_null(tz);
	assert_string_equal(tz, "/usr/share/zoneinfo/Asia/Shanghai");

	assert_int_equal(bday_set_timezone("Nowhere/City"), -1);
	assert_int_equal(bday_set_timezone("../etc/passwd"), -1);
	assert_int_equal(bday_set_timezone("Asia/../UTC"), -1);
	assert_int_equal(bday_set_timezone("Asia/./Shanghai"), -1);
	assert_int_equal(bday_set_timezone(""), -1);
	assert_int_equal(bday_set_timezone("/usr/share/zoneinfo/UTC"), -1);
	assert_int_equal(bday_set_timezone("Asia"), -1);		/* a directory */
	assert_int_equal(bday_set_timezone("Asia/Shanghai "), -1);
	assert_int_equal(bday_set_timezone("leapseconds"), -1);	/* not TZif */
	assert_int_equal(bday_set_timezone(NULL), -1);

	/* Failures leave the zone as it was. */
	assert_string_equal(getenv("TZ"), "/usr/share/zoneinfo/Asia/Shanghai");
	assert_iso(utc(2026, 11, 24, 1, 30, 5), "2026-11-24T09:30:05+08:00");

	assert_int_equal(bday_set_timezone("UTC"), 0);
	assert_string_equal(getenv("TZ"), "/usr/share/zoneinfo/UTC");
	assert_int_equal(bday_set_timezone("Asia/Shanghai"), 0);
	assert_string_equal(getenv("TZ"), "/usr/share/zoneinfo/Asia/Shanghai");
}

/* glibc reads $TZDIR for a bare zone name; the full path in TZ must not care. */
static void
test_set_timezone_ignores_tzdir(void **state)
{
	(void)state;
	setenv("TZDIR", "/nonexistent", 1);
	assert_int_equal(bday_set_timezone("Asia/Shanghai"), 0);
	assert_iso(utc(2026, 11, 24, 1, 30, 5), "2026-11-24T09:30:05+08:00");
	unsetenv("TZDIR");
}

static void
test_date_parse(void **state)
{
	static const char *const bad[] = {
		"2026-2-01", "2026-02-30", "2026-02-01x", "", "2026-02-0",
		"2026/02/01", "2025-02-29", "1900-02-29", "2026-13-01",
		"2026-00-10", "2026-04-31", "1799-12-31", "+026-02-01",
		" 2026-02-01", "2026-02-01 ", "2026-02- 1", "20260201",
		"2026-02-01\n", "0000-01-01",
	};
	struct date d;

	(void)state;
	assert_int_equal(date_parse("2026-02-01", &d), 0);
	assert_date(d, 2026, 2, 1);
	assert_int_equal(date_parse("2024-02-29", &d), 0);
	assert_date(d, 2024, 2, 29);
	assert_int_equal(date_parse("9999-12-31", &d), 0);
	assert_date(d, 9999, 12, 31);
	assert_int_equal(date_parse("1800-01-01", &d), 0);
	assert_date(d, 1800, 1, 1);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		d = (struct date){ 7, 7, 7 };
		if (date_parse(bad[i], &d) != -1)
			fail_msg("date_parse accepted \"%s\"", bad[i]);
		assert_date(d, 7, 7, 7);
	}
}

static void
test_date_parse_short_buffer(void **state)
{
	char *s = malloc(6);
	struct date d;

	(void)state;
	/* A short string is read only up to its NUL (ASan checks the heap). */
	assert_non_null(s);
	memcpy(s, "2026-", 6);
	assert_int_equal(date_parse(s, &d), -1);
	free(s);
}

static void
test_date_format(void **state)
{
	char buf[11];
	struct date d;

	(void)state;
	date_format((struct date){ 2026, 3, 5 }, buf);
	assert_string_equal(buf, "2026-03-05");
	date_format((struct date){ 1800, 12, 31 }, buf);
	assert_string_equal(buf, "1800-12-31");
	assert_int_equal(date_parse(buf, &d), 0);
	assert_date(d, 1800, 12, 31);
}

static void
test_date_valid(void **state)
{
	(void)state;
	assert_true(date_valid((struct date){ 1800, 1, 1 }));
	assert_false(date_valid((struct date){ 1799, 12, 31 }));
	assert_true(date_valid((struct date){ 9999, 12, 31 }));
	assert_false(date_valid((struct date){ 10000, 1, 1 }));
	assert_true(date_valid((struct date){ 2000, 2, 29 }));
	assert_false(date_valid((struct date){ 1900, 2, 29 }));
	assert_false(date_valid((struct date){ 2100, 2, 29 }));
	assert_true(date_valid((struct date){ 2024, 2, 29 }));
	assert_false(date_valid((struct date){ 2026, 2, 29 }));
	assert_true(date_valid((struct date){ 2026, 2, 28 }));
	assert_false(date_valid((struct date){ 2026, 4, 31 }));
	assert_true(date_valid((struct date){ 2026, 12, 31 }));
	assert_false(date_valid((struct date){ 2026, 12, 32 }));
	assert_false(date_valid((struct date){ 2026, 1, 0 }));
	assert_false(date_valid((struct date){ 2026, 0, 1 }));
	assert_false(date_valid((struct date){ 2026, 13, 1 }));
	assert_false(date_valid((struct date){ 2026, -1, 1 }));
}

static void
test_date_cmp(void **state)
{
	struct date a = { 2026, 3, 10 };

	(void)state;
	assert_int_equal(date_cmp(a, a), 0);
	assert_int_equal(date_cmp(a, (struct date){ 2026, 3, 11 }), -1);
	assert_int_equal(date_cmp(a, (struct date){ 2026, 3, 9 }), 1);
	assert_int_equal(date_cmp(a, (struct date){ 2026, 4, 1 }), -1);
	assert_int_equal(date_cmp(a, (struct date){ 2026, 2, 28 }), 1);
	assert_int_equal(date_cmp(a, (struct date){ 2027, 1, 1 }), -1);
	assert_int_equal(date_cmp(a, (struct date){ 2025, 12, 31 }), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bday_reset_boundary),
		cmocka_unit_test(test_bday_month_and_year_end),
		cmocka_unit_test(test_bday_reset_zero),
		cmocka_unit_test(test_bday_uses_local_zone),
		cmocka_unit_test(test_iso8601_offsets),
		cmocka_unit_test(test_out_of_range_instants),
		cmocka_unit_test(test_bday_start_round_trip),
		cmocka_unit_test(test_bday_start_values),
		cmocka_unit_test(test_set_timezone),
		cmocka_unit_test(test_set_timezone_ignores_tzdir),
		cmocka_unit_test(test_date_parse),
		cmocka_unit_test(test_date_parse_short_buffer),
		cmocka_unit_test(test_date_format),
		cmocka_unit_test(test_date_valid),
		cmocka_unit_test(test_date_cmp),
	};

	return cmocka_run_group_tests_name("bday", tests, NULL, NULL);
}
