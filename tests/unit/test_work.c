/*
 * test_work.c: unit tests for the worker and its cache (work.c), with a job
 * the test holds until it lets it go: a miss queues a job and answers
 * pending; a hit needs the same key and the same input; the queue is
 * bounded by the slots (busy, not a longer queue); a failure is told once
 * and then retried; freeing with jobs still queued leaks nothing.
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

	while ((st = work_lookup(w, key, &in, out, len)) == WORK_PENDING)
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
	assert_int_equal(work_lookup(w, "k", &one, &out, &len), WORK_PENDING);
	assert_int_equal(work_lookup(w, "k", &one, &out, &len), WORK_PENDING);  /* one job, not two */
	assert_int_equal(settle(w, "k", one, &out, &len), WORK_READY);
	assert_int_equal(len, 1);
	assert_memory_equal(out, "1", 1);
	/* The same key with another input is another job: the cache holds what the input made. */
	assert_int_equal(work_lookup(w, "k", &two, &out, &len), WORK_PENDING);
	assert_int_equal(settle(w, "k", two, &out, &len), WORK_READY);
	assert_memory_equal(out, "2", 1);
	assert_int_equal(work_lookup(w, "k", &one, &out, &len), WORK_READY);
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
	assert_int_equal(work_lookup(w, "a", &v[0], &out, &len), WORK_PENDING);
	assert_int_equal(work_lookup(w, "b", &v[1], &out, &len), WORK_PENDING);
	assert_int_equal(work_lookup(w, "c", &v[2], &out, &len), WORK_PENDING);
	/* Every slot holds a job not yet done: the fourth is refused, not queued. */
	assert_int_equal(work_lookup(w, "d", &v[3], &out, &len), WORK_BUSY);
	assert_int_equal(work_lookup(w, "a", &v[0], &out, &len), WORK_PENDING);
	gate_set(true);
	assert_int_equal(settle(w, "c", v[2], &out, &len), WORK_READY);
	assert_memory_equal(out, "12", 2);
	assert_int_equal(settle(w, "a", v[0], &out, &len), WORK_READY);
	assert_int_equal(settle(w, "b", v[1], &out, &len), WORK_READY);
	/* Finished results make room: the least recently asked for ("c") goes. */
	assert_int_equal(work_lookup(w, "d", &v[3], &out, &len), WORK_PENDING);
	assert_int_equal(settle(w, "d", v[3], &out, &len), WORK_READY);
	assert_int_equal(work_lookup(w, "b", &v[1], &out, &len), WORK_READY);
	assert_int_equal(work_lookup(w, "c", &v[2], &out, &len), WORK_PENDING);
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
	assert_int_equal(work_lookup(w, "x", &bad, &out, &len), WORK_PENDING);
	assert_int_equal(settle(w, "x", bad, &out, &len), WORK_FAILED);
	/* Told once; the next lookup tries again. */
	assert_int_equal(work_lookup(w, "x", &bad, &out, &len), WORK_PENDING);
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
	assert_int_equal(work_lookup(w, "q1", &v[1], &out, &len), WORK_PENDING);
	assert_int_equal(work_lookup(w, "q2", &v[2], &out, &len), WORK_PENDING);
	work_free(w);      /* joins the worker; LeakSanitizer checks the results were freed */
	work_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_miss_hit_and_input),
		cmocka_unit_test(test_bounded_queue),
		cmocka_unit_test(test_failure_told_once),
		cmocka_unit_test(test_free_with_jobs_queued),
	};

	return cmocka_run_group_tests_name("work", tests, NULL, NULL);
}
