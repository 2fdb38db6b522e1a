/*
 * test_work.c: unit tests for the worker and its cache (work.c), with a job
 * the test holds until it lets it go: a miss queues a job and answers
 * pending; a hit needs the same key and the same input; the queue is
 * bounded by the slots (busy, not a longer queue); a failure is told once
 * and then retried; freeing with jobs still queued leaks nothing; urgent
 * jobs run first and may take a queued ordinary job's slot; one owner gets
 * no more than its share while others still get theirs.
 */
#include "unit.h"

#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "work.h"

static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;
static bool gate_open;
static int ran[16], nran;           /* the inputs run_held ran, in order; under gate_mu */

static void
gate_set(bool open)
{
	pthread_mutex_lock(&gate_mu);
	gate_open = open;
	pthread_cond_broadcast(&gate_cv);
	pthread_mutex_unlock(&gate_mu);
}

/* The input is an int: the result is its decimal text; a negative one fails. */
static bool
run_held(const void *in, uint8_t **out, size_t *len)
{
	int v;
	char buf[16];

	memcpy(&v, in, sizeof(v));
	pthread_mutex_lock(&gate_mu);
	while (!gate_open)
		pthread_cond_wait(&gate_cv, &gate_mu);
	if (nran < 16)
		ran[nran++] = v;
	pthread_mutex_unlock(&gate_mu);
	if (v < 0)
		return false;
	*len = (size_t)snprintf(buf, sizeof(buf), "%d", v);
	*out = (uint8_t *)strdup(buf);
	return *out != NULL;
}

/* Wait until the worker says a job ended, then clear it. */
static void
wait_done(struct work *w)
{
	struct pollfd p = { .fd = work_fd(w), .events = POLLIN };

	assert_int_equal(poll(&p, 1, 10000), 1);
	work_collect(w);
}

/* Ask for key until it is no longer pending. */
static enum work_state
settle(struct work *w, const char *key, int in, const uint8_t **out, size_t *len)
{
	enum work_state st;

	while ((st = work_lookup(w, key, &in, NULL, out, len)) == WORK_PENDING)
		wait_done(w);
	return st;
}

static void
test_miss_hit_and_input(void **state)
{
	struct work *w;
	const uint8_t *out = NULL;
	size_t len = 0;
	int one = 1, two = 2;

	(void)state;
	gate_set(true);
	assert_non_null(w = work_new("test", 4, sizeof(int), run_held));
	assert_int_equal(work_lookup(w, "k", &one, NULL, &out, &len), WORK_PENDING);
	assert_int_equal(work_lookup(w, "k", &one, NULL, &out, &len), WORK_PENDING);  /* one job, not two */
	assert_int_equal(settle(w, "k", one, &out, &len), WORK_READY);
	assert_int_equal(len, 1);
	assert_memory_equal(out, "1", 1);
	/* The same key with another input is another job: the cache holds what the input made. */
	assert_int_equal(work_lookup(w, "k", &two, NULL, &out, &len), WORK_PENDING);
	assert_int_equal(settle(w, "k", two, &out, &len), WORK_READY);
	assert_memory_equal(out, "2", 1);
	assert_int_equal(work_lookup(w, "k", &one, NULL, &out, &len), WORK_READY);
	assert_memory_equal(out, "1", 1);
	work_free(w);
}

static void
test_bounded_queue(void **state)
{
	struct work *w;
	const uint8_t *out = NULL;
	size_t len = 0;
	int v[4] = { 10, 11, 12, 13 };

	(void)state;
	gate_set(false);
	assert_non_null(w = work_new("test", 3, sizeof(int), run_held));
	assert_int_equal(work_lookup(w, "a", &v[0], NULL, &out, &len), WORK_PENDING);
	assert_int_equal(work_lookup(w, "b", &v[1], NULL, &out, &len), WORK_PENDING);
	assert_int_equal(work_lookup(w, "c", &v[2], NULL, &out, &len), WORK_PENDING);
	/* Every slot holds a job not yet done: the fourth is refused, not queued. */
	assert_int_equal(work_lookup(w, "d", &v[3], NULL, &out, &len), WORK_BUSY);
	assert_int_equal(work_lookup(w, "a", &v[0], NULL, &out, &len), WORK_PENDING);
	gate_set(true);
	assert_int_equal(settle(w, "c", v[2], &out, &len), WORK_READY);
	assert_memory_equal(out, "12", 2);
	assert_int_equal(settle(w, "a", v[0], &out, &len), WORK_READY);
	assert_int_equal(settle(w, "b", v[1], &out, &len), WORK_READY);
	/* Finished results make room: the least recently asked for ("c") goes. */
	assert_int_equal(work_lookup(w, "d", &v[3], NULL, &out, &len), WORK_PENDING);
	assert_int_equal(settle(w, "d", v[3], &out, &len), WORK_READY);
	assert_int_equal(work_lookup(w, "b", &v[1], NULL, &out, &len), WORK_READY);
	assert_int_equal(work_lookup(w, "c", &v[2], NULL, &out, &len), WORK_PENDING);
	work_free(w);
}

static void
test_failure_told_once(void **state)
{
	struct work *w;
	const uint8_t *out = NULL;
	size_t len = 0;
	int bad = -1;

	(void)state;
	gate_set(true);
	assert_non_null(w = work_new("test", 2, sizeof(int), run_held));
	assert_int_equal(work_lookup(w, "x", &bad, NULL, &out, &len), WORK_PENDING);
	assert_int_equal(settle(w, "x", bad, &out, &len), WORK_FAILED);
	/* Told once; the next lookup tries again. */
	assert_int_equal(work_lookup(w, "x", &bad, NULL, &out, &len), WORK_PENDING);
	assert_int_equal(settle(w, "x", bad, &out, &len), WORK_FAILED);
	work_free(w);
}

static void
test_free_with_jobs_queued(void **state)
{
	struct work *w;
	const uint8_t *out = NULL;
	size_t len = 0;
	int v[3] = { 1, 2, 3 };

	(void)state;
	gate_set(true);
	assert_non_null(w = work_new("test", 3, sizeof(int), run_held));
	assert_int_equal(settle(w, "done", v[0], &out, &len), WORK_READY);
	assert_int_equal(work_lookup(w, "q1", &v[1], NULL, &out, &len), WORK_PENDING);
	assert_int_equal(work_lookup(w, "q2", &v[2], NULL, &out, &len), WORK_PENDING);
	work_free(w);      /* joins the worker; LeakSanitizer checks the results were freed */
	work_free(NULL);
}

/* The order the worker ran its jobs in, once n have run. */
static void
wait_ran(struct work *w, int n)
{
	for (;;) {
		pthread_mutex_lock(&gate_mu);
		int k = nran;
		pthread_mutex_unlock(&gate_mu);
		if (k >= n)
			return;
		wait_done(w);
	}
}

static void
test_urgent_first(void **state)
{
	struct work *w;
	const uint8_t *out = NULL;
	size_t len = 0;
	int v[3] = { 1, 2, 3 };
	struct work_from anon = { "10.0.0.9", false }, hall = { NULL, true };

	(void)state;
	gate_set(false);
	nran = 0;
	assert_non_null(w = work_new("test", 8, sizeof(int), run_held));
	/* b and c wait (a may be running, held at the gate); c, urgent, asked last, runs before b. */
	assert_int_equal(work_lookup(w, "a", &v[0], &anon, &out, &len), WORK_PENDING);
	assert_int_equal(work_lookup(w, "b", &v[1], &anon, &out, &len), WORK_PENDING);
	assert_int_equal(work_lookup(w, "c", &v[2], &hall, &out, &len), WORK_PENDING);
	gate_set(true);
	wait_ran(w, 3);
	assert_int_equal(ran[2], 2);
	work_free(w);
}

static void
test_urgent_takes_a_queued_slot(void **state)
{
	struct work *w;
	const uint8_t *out = NULL;
	size_t len = 0;
	int v[4] = { 1, 2, 3, 4 };
	struct work_from anon = { "10.0.0.9", false }, staff = { "session 1", true };

	(void)state;
	gate_set(false);
	assert_non_null(w = work_new("test", 3, sizeof(int), run_held));
	assert_int_equal(work_lookup(w, "a", &v[0], &anon, &out, &len), WORK_PENDING);
	assert_int_equal(work_lookup(w, "b", &v[1], &anon, &out, &len), WORK_PENDING);
	assert_int_equal(work_lookup(w, "c", &v[2], &staff, &out, &len), WORK_PENDING);
	/* Full: an urgent job takes b's slot (b is queued, not running); b's waiters are woken. */
	assert_int_equal(work_lookup(w, "d", &v[3], &staff, &out, &len), WORK_PENDING);
	struct pollfd p = { .fd = work_fd(w), .events = POLLIN };
	assert_int_equal(poll(&p, 1, 0), 1);
	/* b asks again and finds no room (nothing else it may take). */
	assert_int_equal(work_lookup(w, "b", &v[1], &anon, &out, &len), WORK_BUSY);
	/* An ordinary job never takes a slot: it is refused. */
	assert_int_equal(work_lookup(w, "e", &v[1], &anon, &out, &len), WORK_BUSY);
	gate_set(true);
	assert_int_equal(settle(w, "d", v[3], &out, &len), WORK_READY);
	assert_memory_equal(out, "4", 1);
	assert_int_equal(settle(w, "a", v[0], &out, &len), WORK_READY);
	work_free(w);
}

static void
test_share_per_owner(void **state)
{
	struct work *w;
	const uint8_t *out = NULL;
	size_t len = 0;
	int v[5] = { 1, 2, 3, 4, 5 };
	struct work_from flood = { "10.0.0.66", false }, other = { "10.0.0.7", false };

	(void)state;
	gate_set(false);
	assert_non_null(w = work_new("test", 8, sizeof(int), run_held));
	work_set_share(w, 2);
	assert_int_equal(work_lookup(w, "a", &v[0], &flood, &out, &len), WORK_PENDING);
	assert_int_equal(work_lookup(w, "b", &v[1], &flood, &out, &len), WORK_PENDING);
	/* The flooder's third is refused; asking again for one it holds is not. */
	assert_int_equal(work_lookup(w, "c", &v[2], &flood, &out, &len), WORK_LIMITED);
	assert_int_equal(work_lookup(w, "a", &v[0], &flood, &out, &len), WORK_PENDING);
	/* Another client is served, and anyone may have a job someone else queued. */
	assert_int_equal(work_lookup(w, "d", &v[3], &other, &out, &len), WORK_PENDING);
	assert_int_equal(work_lookup(w, "b", &v[1], &other, &out, &len), WORK_PENDING);
	gate_set(true);
	assert_int_equal(settle(w, "a", v[0], &out, &len), WORK_READY);
	assert_int_equal(settle(w, "b", v[1], &out, &len), WORK_READY);
	/* Done jobs are no longer held: the flooder's share is free again. */
	assert_int_equal(work_lookup(w, "c", &v[2], &flood, &out, &len), WORK_PENDING);
	assert_int_equal(settle(w, "c", v[2], &out, &len), WORK_READY);
	assert_int_equal(settle(w, "d", v[3], &out, &len), WORK_READY);
	work_free(w);
}

/* What a worker with secret inputs sees: its input once run, to check the wipe from outside. */
static const unsigned char *seen_in;

static bool
run_seen(const void *in, uint8_t **out, size_t *len)
{
	seen_in = in;
	*out = (uint8_t *)strdup("1");
	*len = 1;
	return *out != NULL;
}

static void
test_secret_inputs_wiped_once_run(void **state)
{
	struct work *w;
	const uint8_t *out = NULL;
	size_t len = 0;
	char pw[32] = "correct horse battery", other[32] = "something else";
	static const char zeros[32];

	(void)state;
	assert_non_null(w = work_new("test", 4, sizeof(pw), run_seen));
	work_set_secret(w);
	assert_int_equal(work_lookup(w, "signin:1", pw, NULL, &out, &len), WORK_PENDING);
	wait_done(w);
	/* Run and never asked for again (the client left): the password is gone all the same. */
	assert_memory_equal(seen_in, zeros, sizeof(zeros));
	/* Found by its key alone, whatever input comes with the question. */
	assert_int_equal(work_lookup(w, "signin:1", other, NULL, &out, &len), WORK_READY);
	work_free(w);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_miss_hit_and_input),
		cmocka_unit_test(test_bounded_queue),
		cmocka_unit_test(test_failure_told_once),
		cmocka_unit_test(test_free_with_jobs_queued),
		cmocka_unit_test(test_urgent_first),
		cmocka_unit_test(test_urgent_takes_a_queued_slot),
		cmocka_unit_test(test_share_per_owner),
		cmocka_unit_test(test_secret_inputs_wiped_once_run),
	};

	return cmocka_run_group_tests_name("work", tests, NULL, NULL);
}
