/*
 * test_log.c: unit tests for the flood-proof warning (log_limited): the
 * first of a minute is logged, the rest only counted, and the next one
 * logged after the minute says how many were held back.
 */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

/* Run n log_limited calls on l with stderr in a file; what they wrote, malloc'ed. */
static char *
logged(struct log_limit *l, int n)
{
	FILE *f = tmpfile();
	int saved = dup(STDERR_FILENO);
	long len;
	char *text;

	assert_non_null(f);
	fflush(stderr);
	assert_true(dup2(fileno(f), STDERR_FILENO) >= 0);
	for (int i = 0; i < n; i++)
		log_limited(l, "refused %d", i);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	len = ftell(f) >= 0 ? lseek(fileno(f), 0, SEEK_END) : 0;
	text = calloc(1, (size_t)len + 1);
	assert_non_null(text);
	assert_int_equal(pread(fileno(f), text, (size_t)len, 0), len);
	fclose(f);
	return text;
}

static int
lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void
test_first_logged_rest_counted(void **state)
{
	struct log_limit l = { 0 };
	char *out;

	(void)state;
	log_init(true);
	out = logged(&l, 500);
	assert_int_equal(lines(out), 1);
	assert_non_null(strstr(out, "refused 0 (repeats within 60 s are counted"));
	assert_int_equal(l.held, 499);
	free(out);

	/* A minute later the next one is logged with the count of those held back. */
	l.since_ms -= (LOG_LIMIT_S + 1) * 1000LL;
	out = logged(&l, 3);
	assert_int_equal(lines(out), 1);
	assert_non_null(strstr(out, "refused 0 (and 499 more like it since this was last logged, 61 s ago)"));
	assert_int_equal(l.held, 2);
	free(out);

	/* Kinds are counted apart. */
	struct log_limit other = { 0 };
	out = logged(&other, 1);
	assert_int_equal(lines(out), 1);
	free(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_logged_rest_counted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
