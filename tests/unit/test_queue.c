/*
 * test_queue.c: the queue's operations over a real SQLite file: ticket
 * numbers per service and per business day, the day's reset in the branch's
 * time zone, numbers that survive a reopen, a full disk that loses nothing,
 * the event log that refuses to be rewritten, places in line for a batch,
 * and the print state shared by a ticket's legs. The clock is passed in.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "bday.h"
#include "config.h"
#include "queue.h"
#include "store.h"

struct fixture {
	char dir[64];
	char db[96];
	struct config cfg;
	struct bus bus;
	struct queue q;
	int published;
};

static void
count_event(void *arg, const struct bus_event *ev)
{
	(void)ev;
	((struct fixture *)arg)->published++;
}

static void
fixture_open(struct fixture *f)
{
	char err[256];

	f->q.store = store_open(f->db, err, sizeof(err));
	if (f->q.store == NULL)
		fail_msg("store_open: %s", err);
	f->q.cfg = &f->cfg;
	f->q.bus = &f->bus;
	assert_int_equal(queue_sync_counters(&f->q), BQ_OK);
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/branchq-test-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->db, sizeof(f->db), "%s/q.db", f->dir);
	assert_int_equal(config_load("config/branchq.conf", &f->cfg, stderr), 0);
	assert_int_equal(bday_set_timezone(f->cfg.timezone), 0);
	bus_subscribe(&f->bus, EV_ALL, count_event, f);
	fixture_open(f);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	queue_close(&f->q);
	store_close(f->q.store);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

/* 10:00 local time on 2026-11-24 in the demo branch (Asia/Shanghai). */
static int64_t
morning(const struct fixture *f)
{
	struct date d = { 2026, 11, 24 };

	return bday_start(d, f->cfg.day_reset_min) + 6 * 3600;
}

static int64_t
last_event(struct fixture *f)
{
	int64_t id = -1;

	assert_int_equal(store_last_event_id(f->q.store, &id), BQ_OK);
	return id;
}

static struct ticket
issue(struct fixture *f, const char *service, int64_t now)
{
	struct issue_req r = { .service = config_service_index(&f->cfg, service), .category = -1,
	    .lang = -1 };
	struct ticket t;

	assert_true(r.service >= 0);
	assert_int_equal(queue_issue(&f->q, &r, now, &t), BQ_OK);
	return t;
}

static void
test_numbers_per_service(void **state)
{
	struct fixture *f = *state;
	int64_t now = morning(f);

	assert_string_equal(issue(f, "A", now).number, "A001");
	assert_string_equal(issue(f, "A", now).number, "A002");
	assert_string_equal(issue(f, "B", now).number, "B001");
	assert_string_equal(issue(f, "A", now).number, "A003");
	assert_string_equal(issue(f, "V", now).number, "V001");
	assert_int_equal(f->published, 5);
}

static void
test_day_resets_at_reset_time(void **state)
{
	struct fixture *f = *state;
	struct date d = { 2026, 11, 24 };
	int64_t reset = bday_start(d, f->cfg.day_reset_min);   /* 04:00 local */
	struct ticket t;

	assert_int_equal(f->cfg.day_reset_min, 4 * 60);
	/* 03:59:59 still belongs to the 23rd: its numbering goes on. */
	t = issue(f, "A", reset - 3600);
	assert_string_equal(t.bday, "2026-11-23");
	assert_string_equal(t.number, "A001");
	t = issue(f, "A", reset - 1);
	assert_string_equal(t.bday, "2026-11-23");
	assert_string_equal(t.number, "A002");
	/* 04:00:00 starts the 24th at A001 again. */
	t = issue(f, "A", reset);
	assert_string_equal(t.bday, "2026-11-24");
	assert_string_equal(t.number, "A001");
	/* Midnight to 04:00 on the 25th is still the 24th. */
	t = issue(f, "A", reset + 20 * 3600 + 1800);
	assert_string_equal(t.bday, "2026-11-24");
	assert_string_equal(t.number, "A002");
}

static void
test_numbers_survive_reopen(void **state)
{
	struct fixture *f = *state;
	int64_t now = morning(f);

	assert_string_equal(issue(f, "A", now).number, "A001");
	assert_string_equal(issue(f, "A", now).number, "A002");
	queue_close(&f->q);
	store_close(f->q.store);
	fixture_open(f);
	assert_string_equal(issue(f, "A", now + 60).number, "A003");
}

static void
test_number_grows_past_999(void **state)
{
	struct fixture *f = *state;
	int64_t now = morning(f);
	sqlite3 *db;

	issue(f, "A", now);
	/* Jump the day's sequence forward as if 998 tickets had been issued. */
	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "UPDATE sequences SET last = 998 WHERE service = 'A'",
	    NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_string_equal(issue(f, "A", now).number, "A999");
	assert_string_equal(issue(f, "A", now).number, "A1000");
	assert_string_equal(issue(f, "A", now).number, "A1001");
}

static void
test_disk_full_loses_nothing(void **state)
{
	struct fixture *f = *state;
	int64_t now = morning(f);
	struct issue_req r = { .service = 0, .category = -1, .lang = -1 };
	struct ticket t, *w = NULL;
	int acked = 0, n = 0, published;
	enum bq_err e = BQ_OK;
	char want[16];

	issue(f, "A", now);
	acked = 1;
	/* A few pages more than the database has: the "disk" fills after some tickets. */
	assert_int_equal(store_limit_pages(f->q.store, 40), BQ_OK);
	for (int i = 0; i < 5000 && e == BQ_OK; i++) {
		e = queue_issue(&f->q, &r, now, &t);
		if (e == BQ_OK)
			acked++;
	}
	assert_int_equal(e, BQ_ERR_STORAGE_FULL);
	assert_true(acked > 1);
	published = f->published;
	/* Every acknowledged ticket is there, nothing half-written, no event for the failure. */
	assert_int_equal(store_waiting(f->q.store, "2026-11-24", &w, &n), BQ_OK);
	assert_int_equal(n, acked);
	snprintf(want, sizeof(want), "A%03d", acked);
	assert_string_equal(w[n - 1].number, want);
	free(w);
	assert_int_equal(last_event(f), acked);
	assert_int_equal(published, acked);
	/* With room again, numbering goes on without a gap. */
	assert_int_equal(store_limit_pages(f->q.store, 0), BQ_OK);
	snprintf(want, sizeof(want), "A%03d", acked + 1);
	assert_string_equal(issue(f, "A", now).number, want);
}

static void
test_event_log_is_append_only(void **state)
{
	struct fixture *f = *state;
	sqlite3 *db;

	issue(f, "A", morning(f));
	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	assert_int_not_equal(sqlite3_exec(db, "UPDATE events SET type = 'x'", NULL, NULL, NULL),
	    SQLITE_OK);
	assert_int_not_equal(sqlite3_exec(db, "DELETE FROM events", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(last_event(f), 1);
}

static void
test_failed_operation_changes_nothing(void **state)
{
	struct fixture *f = *state;
	int64_t now = morning(f);
	struct ticket t;
	bool has;

	issue(f, "A", now);
	assert_int_equal(queue_counter(&f->q, 1, CA_FINISH, -1, QUEUE_EXPECT_ANY, now, &t, &has),
	    BQ_ERR_NO_CURRENT_TICKET);
	assert_int_equal(queue_counter(&f->q, 42, CA_CALL, -1, QUEUE_EXPECT_ANY, now, &t, &has),
	    BQ_ERR_UNKNOWN_COUNTER);
	assert_int_equal(queue_counter(&f->q, 3, CA_PAUSE, -1, QUEUE_EXPECT_ANY, now, &t, &has), BQ_OK);
	assert_int_equal(queue_counter(&f->q, 3, CA_CALL, -1, QUEUE_EXPECT_ANY, now, &t, &has),
	    BQ_ERR_COUNTER_PAUSED);
	assert_int_equal(queue_cancel(&f->q, 999, now, &t), BQ_ERR_UNKNOWN_TICKET);
	/* issued + paused: the refusals wrote no event. */
	assert_int_equal(last_event(f), 2);
	assert_int_equal(queue_counter(&f->q, 4, CA_CALL, -1, QUEUE_EXPECT_ANY, now + 5, &t, &has), BQ_OK);
	assert_true(has);
	assert_string_equal(t.number, "A001");
}

static void
test_transfer_across_day_reset_refused(void **state)
{
	struct fixture *f = *state;
	int64_t day1 = morning(f), day2 = day1 + 24 * 3600;
	struct ticket t, called;
	bool has;

	t = issue(f, "A", day1);
	assert_int_equal(queue_counter(&f->q, 1, CA_CALL, -1, QUEUE_EXPECT_ANY,
	    day1 + 60, &called, &has), BQ_OK);
	assert_true(has);
	assert_int_equal(called.id, t.id);
	/* The next day A001 is issued again; the old A001 must not join line B as a second A001. */
	assert_string_equal(issue(f, "A", day2).number, "A001");
	assert_int_equal(queue_counter(&f->q, 1, CA_TRANSFER, config_service_index(&f->cfg, "B"),
	    QUEUE_EXPECT_ANY,
	    day2 + 60, &called, &has), BQ_ERR_PREVIOUS_DAY);
	/* It can still be finished. */
	assert_int_equal(queue_counter(&f->q, 1, CA_FINISH, -1, QUEUE_EXPECT_ANY,
	    day2 + 60, &called, &has), BQ_OK);
	assert_int_equal(called.status, TS_SERVED);
}

/* The phone page's lookup: a token finds its ticket, and after a transfer the open leg. */
static void
test_token_finds_current_leg(void **state)
{
	struct fixture *f = *state;
	int64_t now = morning(f);
	struct ticket t, got, called;
	bool has;

	t = issue(f, "A", now);
	issue(f, "A", now);
	assert_int_equal(store_ticket_by_token(f->q.store, t.token, &got), BQ_OK);
	assert_int_equal(got.id, t.id);
	assert_int_equal(queue_counter(&f->q, 1, CA_CALL, -1, QUEUE_EXPECT_ANY, now + 60, &called,
	    &has), BQ_OK);
	assert_int_equal(queue_counter(&f->q, 1, CA_TRANSFER, config_service_index(&f->cfg, "B"),
	    QUEUE_EXPECT_ANY, now + 120, &called, &has), BQ_OK);
	assert_int_equal(store_ticket_by_token(f->q.store, t.token, &got), BQ_OK);
	assert_int_equal(got.origin_id, t.id);
	assert_true(got.id != t.id);
	assert_string_equal(got.service, "B");
	assert_int_equal(got.status, TS_WAITING);
	assert_int_equal(store_ticket_by_token(f->q.store, "00000000000000000000000000000000", &got),
	    BQ_ERR_UNKNOWN_TICKET);
}

static void
test_schema_version_recorded(void **state)
{
	struct fixture *f = *state;
	sqlite3 *db;
	sqlite3_stmt *st;

	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), store_schema_version());
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static void
test_newer_schema_refused(void **state)
{
	struct fixture *f = *state;
	char err[256];
	sqlite3 *db;

	queue_close(&f->q);
	store_close(f->q.store);
	f->q.store = NULL;
	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 999", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_null(store_open(f->db, err, sizeof(err)));
	assert_non_null(strstr(err, "newer"));
	/* Leave a usable store for teardown. */
	sqlite3_close(db);
	{
		char sql[64];
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", store_schema_version());
		assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
		assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
		sqlite3_close(db);
	}
	fixture_open(f);
}

/* One load of the hall places a batch of tickets exactly as one load per ticket does. */
static void
test_positions_of_many_from_one_load(void **state)
{
	struct fixture *f = *state;
	int64_t now = morning(f);
	struct ticket t[6], called;
	struct ticket_pos many[6], one;
	bool has;

	t[0] = issue(f, "A", now);
	t[1] = issue(f, "B", now + 1);
	t[2] = issue(f, "A", now + 2);
	t[3] = issue(f, "A", now + 3);
	t[4] = issue(f, "V", now + 4);
	assert_int_equal(queue_counter(&f->q, 3, CA_CALL, -1, QUEUE_EXPECT_ANY, now + 5, &called,
	    &has), BQ_OK);
	assert_true(has);
	assert_int_equal(store_ticket_get(f->q.store, t[0].id, &t[0]), BQ_OK);
	t[5] = t[3];              /* the same ticket twice, and one no longer waiting (t[0]) */
	assert_int_equal(queue_positions(&f->q, t, 6, now + 6, many), BQ_OK);
	for (int i = 0; i < 6; i++) {
		assert_int_equal(queue_position(&f->q, &t[i], now + 6, &one), BQ_OK);
		assert_int_equal(many[i].ahead, one.ahead);
		assert_int_equal(many[i].estimated_wait_s, one.estimated_wait_s);
	}
	assert_int_equal(many[0].ahead, -1);
	assert_int_equal(many[2].ahead, 0);
	assert_int_equal(many[3].ahead, 1);
	assert_int_equal(many[1].ahead, 0);
}

/* The paper is the ticket's: every leg reads the first leg's print state and error. */
static void
test_print_state_follows_the_ticket(void **state)
{
	struct fixture *f = *state;
	int64_t now = morning(f);
	struct ticket t, leg, got, *v = NULL;
	bool has;
	int n = 0;

	t = issue(f, "A", now);
	assert_int_equal(queue_set_print(&f->q, t.id, PS_PRINTING, NULL, now, &got), BQ_OK);
	assert_int_equal(queue_counter(&f->q, 1, CA_CALL, -1, QUEUE_EXPECT_ANY, now + 60, &leg,
	    &has), BQ_OK);
	assert_int_equal(queue_counter(&f->q, 1, CA_TRANSFER, config_service_index(&f->cfg, "B"),
	    QUEUE_EXPECT_ANY, now + 120, &leg, &has), BQ_OK);
	assert_int_equal(leg.print_state, PS_PRINTING);
	assert_int_equal(queue_set_print(&f->q, t.id, PS_FAILED, "printer cover open", now + 130,
	    &got), BQ_OK);
	assert_int_equal(store_ticket_get(f->q.store, leg.id, &got), BQ_OK);
	assert_int_equal(got.print_state, PS_FAILED);
	assert_string_equal(got.print_error, "printer cover open");

	/* Retries find the ticket by its waiting leg, though its first leg was transferred. */
	assert_int_equal(store_print_pending(f->q.store, t.bday, PS_FAILED, true, 0, &v, &n), BQ_OK);
	assert_int_equal(n, 1);
	assert_int_equal(v[0].id, leg.id);
	free(v);

	assert_int_equal(queue_set_print(&f->q, leg.id, PS_PRINTED, NULL, now + 140, &got), BQ_OK);
	assert_int_equal(got.print_state, PS_PRINTED);
	assert_int_equal(store_ticket_get(f->q.store, t.id, &got), BQ_OK);
	assert_int_equal(got.print_state, PS_PRINTED);
	assert_string_equal(got.print_error, "");
}

/* Serve the next ticket at counter for dur seconds: call at now, finish at now + dur. */
static int64_t
serve(struct fixture *f, int counter, int64_t now, int64_t dur)
{
	struct ticket t;
	bool has;

	assert_int_equal(queue_counter(&f->q, counter, CA_CALL, -1, QUEUE_EXPECT_ANY, now, &t,
	    &has), BQ_OK);
	assert_true(has);
	assert_int_equal(queue_counter(&f->q, counter, CA_FINISH, -1, QUEUE_EXPECT_ANY, now + dur,
	    &t, &has), BQ_OK);
	return now + dur;
}

/*
 * The estimated wait is the tickets ahead times today's average service
 * time, shared by the counters that serve the service and are not paused:
 * service A has counters 1-4 in the demo; with 4 paused three remain. Two
 * A tickets served in 120 s and 240 s make the average 180 s, so each
 * ticket ahead adds 60 s. Before anything is served the configured
 * service time (5 min for A) stands in for the average.
 */
static void
test_estimated_wait_counts_open_counters_and_average(void **state)
{
	struct fixture *f = *state;
	int64_t now = morning(f);
	struct ticket t[4], called;
	struct ticket_pos pos[4];
	struct queue_view v;
	bool has;

	assert_int_equal(queue_counter(&f->q, 4, CA_PAUSE, -1, QUEUE_EXPECT_ANY, now, &called, &has),
	    BQ_OK);
	for (int i = 0; i < 4; i++)
		t[i] = issue(f, "A", now + 1 + i);
	assert_int_equal(queue_positions(&f->q, t, 4, now + 10, pos), BQ_OK);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pos[i].ahead, i);
		assert_int_equal(pos[i].estimated_wait_s, i * 300 / 3);
	}

	now = serve(f, 3, now + 10, 120);
	now = serve(f, 3, now, 240);
	assert_int_equal(queue_positions(&f->q, &t[2], 2, now + 1, pos), BQ_OK);
	assert_int_equal(pos[0].ahead, 0);
	assert_int_equal(pos[0].estimated_wait_s, 0);
	assert_int_equal(pos[1].ahead, 1);
	assert_int_equal(pos[1].estimated_wait_s, 60);

	/* The queue's view computes the same figures, and counts three open counters for A. */
	assert_int_equal(queue_view_load(&f->q, now + 1, &v), BQ_OK);
	assert_int_equal(v.open_counters[config_service_index(&f->cfg, "A")], 3);
	for (int i = 0; i < v.nwaiting; i++)
		if (v.waiting[i].id == t[3].id)
			assert_int_equal(v.pos[i].estimated_wait_s, 60);
	queue_view_free(&v);

	/* Resumed, counter 4 shares the line again: 180 s over four counters is 45 s. */
	assert_int_equal(queue_counter(&f->q, 4, CA_RESUME, -1, QUEUE_EXPECT_ANY, now + 2, &called,
	    &has), BQ_OK);
	assert_int_equal(queue_position(&f->q, &t[3], now + 3, &pos[0]), BQ_OK);
	assert_int_equal(pos[0].estimated_wait_s, 45);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_numbers_per_service),
		T(test_day_resets_at_reset_time),
		T(test_numbers_survive_reopen),
		T(test_number_grows_past_999),
		T(test_disk_full_loses_nothing),
		T(test_event_log_is_append_only),
		T(test_failed_operation_changes_nothing),
		T(test_transfer_across_day_reset_refused),
		T(test_token_finds_current_leg),
		T(test_schema_version_recorded),
		T(test_newer_schema_refused),
		T(test_positions_of_many_from_one_load),
		T(test_print_state_follows_the_ticket),
		T(test_estimated_wait_counts_open_counters_and_average),
	};

	return cmocka_run_group_tests_name("queue", tests, NULL, NULL);
}
