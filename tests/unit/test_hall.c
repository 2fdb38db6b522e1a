/*
 * test_hall.c: the hall in memory against the database. A long random run
 * of every operation (issue, call, recall, start, no-show, finish,
 * transfer, pause, resume, cancel, green, print state) over a real SQLite
 * file, with the clock passed in and moved forward, across day resets and
 * back again. After each step the hall the queue kept must equal a hall
 * read fresh from the database; each call must pick the ticket the policy
 * picks over every waiting ticket read from the database; and each view's
 * order and places must be the policy's sort of the whole service, which is
 * how they were computed before the hall existed. A change whose commit
 * fails (a full disk) must leave memory as it was.
 */
#include "branch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "bday.h"
#include "config.h"
#include "hall.h"
#include "policy.h"
#include "queue.h"
#include "store.h"

#define STEPS 3000
#define CHECK_EVERY 1        /* compare with a fresh load after every step */

struct fixture {
	struct branch b;             /* first: the queue, its store and config */
	uint64_t rng;
	int published;
	/* What a subscriber does while told, as the streams and the printer do: */
	bool read_while_told;        /* read the hall (queue_view_summary) */
	bool print_while_told;       /* record a paper's state for each ticket issued */
	int64_t seen[64];            /* event ids in the order they were told */
	int nseen;
};

static void
count_event(void *arg, const struct bus_event *ev)
{
	struct fixture *f = arg;
	struct queue_view v;
	struct ticket t;

	f->published++;
	if (f->nseen < 64)
		f->seen[f->nseen++] = ev->id;
	if (f->read_while_told) {
		/* A day of the next week: the hall is read again from inside the publish. */
		struct date d = { 2026, 12, 1 };
		assert_int_equal(queue_view_summary(&f->b.q, bday_start(d, f->b.cfg.day_reset_min) + 5 * 3600,
		    &v), BQ_OK);
		queue_view_free(&v);
	}
	if (f->print_while_told && ev->type == EV_TICKET_ISSUED)
		assert_int_equal(queue_set_print(&f->b.q, ev->ticket_id, PS_FAILED, "cover open",
		    0, &t), BQ_OK);
}

static uint32_t
rnd(struct fixture *f, uint32_t n)
{
	/* xorshift64*: a fixed seed, so a failure repeats. */
	f->rng ^= f->rng >> 12;
	f->rng ^= f->rng << 25;
	f->rng ^= f->rng >> 27;
	return (uint32_t)((f->rng * 2685821657736338717ULL) >> 33) % n;
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	bus_subscribe(&f->b.bus, EV_ALL, count_event, f);
	branch_open(&f->b);
	f->rng = 0x9e3779b97f4a7c15ULL;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	int rc = branch_close(&f->b);

	free(f);
	return rc;
}

static void
rules_of(const struct config *cfg, struct policy_rules *r)
{
	memset(r, 0, sizeof(*r));
	for (int c = 0; c < CAT_COUNT; c++)
		r->boost_s[c] = cfg->boost_s[c];
	for (int s = 0; s < cfg->nservices; s++)
		r->overtime_s[s] = cfg->services[s].overtime_s;
}

/* The waiting tickets of bday from the database as the policy sees them; *w is malloc'ed. */
static int
db_tickets(struct fixture *f, const char *bday, struct ticket **w, struct policy_ticket **pt,
    int **map)
{
	int n = 0, k = 0, calls[26];

	/* A reinstated ticket is held until its service had its due_call calls (hall.h). */
	assert_int_equal(store_day_calls(f->b.q.store, bday, calls), BQ_OK);
	assert_int_equal(store_waiting(f->b.q.store, bday, w, &n), BQ_OK);
	*pt = calloc((size_t)n + 1, sizeof(**pt));
	*map = calloc((size_t)n + 1, sizeof(**map));
	assert_non_null(*pt);
	assert_non_null(*map);
	for (int i = 0; i < n; i++) {
		int s = config_service_index(&f->b.cfg, (*w)[i].service);
		if (s < 0)
			continue;
		int left = (int)((*w)[i].due_call - calls[(*w)[i].service[0] - 'A']);

		(*pt)[k] = (struct policy_ticket){ (*w)[i].origin_id, s, (*w)[i].category,
		    (*w)[i].lang == LANG_EN, (*w)[i].issued_at, left > 0, left > 0 ? left : 0 };
		(*map)[k++] = i;
	}
	return k;
}

/* Whom counter ci should call at now, by the policy over every waiting ticket in the database. */
static int64_t
db_expected_call(struct fixture *f, int ci, int64_t now)
{
	struct policy_counter pcs[MAX_COUNTERS];
	struct policy_rules r;
	struct policy_ticket *pt;
	struct ticket *w;
	int *map, k, pick;
	char bday[11];
	int64_t id = 0;

	date_format(bday_of(now, f->b.cfg.day_reset_min), bday);
	rules_of(&f->b.cfg, &r);
	for (int i = 0; i < f->b.cfg.ncounters; i++) {
		struct counter_state cs;
		const struct counter_conf *cc = &f->b.cfg.counters[i];

		assert_int_equal(store_counter_get(f->b.q.store, cc->number, &cs), BQ_OK);
		memset(&pcs[i], 0, sizeof(pcs[i]));
		memcpy(pcs[i].services, cc->services, sizeof(pcs[i].services));
		pcs[i].nservices = cc->nservices;
		pcs[i].green = cc->green;
		pcs[i].english = cc->english;
		pcs[i].open = !cs.paused;
	}
	k = db_tickets(f, bday, &w, &pt, &map);
	pick = policy_next(&r, pcs, f->b.cfg.ncounters, ci, pt, k, now);
	if (pick >= 0)
		id = w[map[pick]].id;
	free(w);
	free(pt);
	free(map);
	return id;
}

/* The view from memory against the policy's sort of every service read from the database. */
static void
check_view(struct fixture *f, int64_t now)
{
	struct queue_view v;
	struct policy_rules r;
	struct policy_ticket *pt;
	struct ticket *w;
	int *map, k, *order;

	assert_int_equal(queue_view_load(&f->b.q, now, &v), BQ_OK);
	rules_of(&f->b.cfg, &r);
	k = db_tickets(f, v.bday, &w, &pt, &map);
	order = calloc((size_t)k + 1, sizeof(*order));
	assert_non_null(order);
	for (int s = 0; s < f->b.cfg.nservices; s++) {
		int n = policy_order(&r, s, pt, k, now, order);

		int unheld = 0;

		assert_int_equal(v.count[s], n);
		while (unheld < n && !pt[order[unheld]].held)
			unheld++;
		for (int j = 0; j < n; j++) {
			const struct ticket *want = &w[map[order[j]]];
			const struct policy_ticket *p = &pt[order[j]];
			struct ticket_pos pos;
			/*
			 * Held tickets come last in the order, but each is called after its
			 * calls to go (at most those not held), behind the held before it.
			 */
			int ahead = !p->held ? j : (p->hold_left < unheld ? p->hold_left : unheld) +
			    (j - unheld);

			assert_true(p->held == (j >= unheld));
			assert_int_equal(v.waiting[v.order[s][j]].id, want->id);
			assert_int_equal(v.pos[v.order[s][j]].ahead, ahead);
			/* One ticket's place, by halving the buckets, is the same place. */
			assert_int_equal(queue_position(&f->b.q, want, now, &pos), BQ_OK);
			assert_int_equal(pos.ahead, ahead);
			assert_int_equal(pos.estimated_wait_s, v.pos[v.order[s][j]].estimated_wait_s);
		}
	}
	free(order);
	free(w);
	free(pt);
	free(map);
	queue_view_free(&v);
}

/* Every ticket read by id and by token through the queue (memory first) as the store has it. */
static void
check_lookups(struct fixture *f, int64_t now)
{
	int64_t last = 0;

	assert_int_equal(store_last_event_id(f->b.q.store, &last), BQ_OK);
	for (int64_t id = 1; id <= last; id++) {
		struct ticket want, got;

		if (store_ticket_get(f->b.q.store, id, &want) != BQ_OK)
			break;
		assert_int_equal(queue_ticket(&f->b.q, id, now, &got), BQ_OK);
		assert_int_equal(got.id, want.id);
		assert_int_equal(got.status, want.status);
		assert_int_equal(got.counter, want.counter);
		assert_int_equal(got.print_state, want.print_state);
		assert_string_equal(got.number, want.number);
		/* By token: the newest leg, wherever memory or the store holds it. */
		assert_int_equal(store_ticket_by_token(f->b.q.store, want.token, &want), BQ_OK);
		assert_int_equal(queue_ticket_by_token(&f->b.q, want.token, now, &got), BQ_OK);
		assert_int_equal(got.id, want.id);
		assert_int_equal(got.status, want.status);
		assert_int_equal(got.category, want.category);
	}
}

static void
check_memory(struct fixture *f, int64_t now, int step)
{
	struct hall *fresh = hall_new();
	char bday[11], why[160];

	assert_non_null(fresh);
	/* The queue reads its day anew only when asked at a new day: ask first. */
	check_view(f, now);
	date_format(bday_of(now, f->b.cfg.day_reset_min), bday);
	assert_int_equal(hall_load(fresh, f->b.q.store, &f->b.cfg, bday), BQ_OK);
	if (!hall_equal(f->b.q.hall, fresh, why, sizeof(why)))
		fail_msg("step %d: memory and database differ: %s", step, why);
	hall_free(fresh);
}

/* Any ticket id issued so far, or 0. */
static int64_t
some_ticket(struct fixture *f)
{
	int64_t max = 0;

	(void)store_last_event_id(f->b.q.store, &max);
	return max > 0 ? 1 + (int64_t)rnd(f, (uint32_t)max) : 0;
}

/* The newest no-show, and how many were put back in line: the runs must reinstate some. */
static int64_t last_no_show;
static int reinstated;

static void
random_step(struct fixture *f, int64_t now)
{
	const struct config *cfg = &f->b.cfg;
	struct ticket t;
	bool has;
	enum bq_err e;
	uint32_t what = rnd(f, 100);

	if (what < 35) {
		char idn[19];
		struct issue_req r = { .service = (int)rnd(f, (uint32_t)cfg->nservices),
		    .category = rnd(f, 3) == 0 ? (int)rnd(f, CAT_COUNT) : -1,
		    .lang = rnd(f, 5) == 0 ? LANG_EN : -1 };
		if (rnd(f, 10) == 0) {
			/* A resident born in 1950: elderly by ID number, which is never kept. */
			memcpy(idn, "11010519500101001", 17);
			idn[17] = '2';
			idn[18] = '\0';
			r.id_number = idn;
			r.id_len = 18;
		}
		e = queue_issue(&f->b.q, &r, now, &t);
		assert_true(e == BQ_OK || e == BQ_ERR_INVALID_ID_NUMBER);
	} else if (what < 85) {
		int ci = (int)rnd(f, (uint32_t)cfg->ncounters);
		int number = cfg->counters[ci].number;
		enum counter_action a = (enum counter_action)rnd(f, CA_COUNT);
		int svc = (int)rnd(f, (uint32_t)cfg->nservices);
		int64_t want = 0;
		struct counter_state cs;
		struct ticket cur;

		if (a == CA_CALL) {
			/* The call ends the current ticket first: ask the policy the same question. */
			assert_int_equal(queue_counter_state(&f->b.q, number, now, &cs, &cur), BQ_OK);
			if (!cs.paused && cs.ticket_id == 0)
				want = db_expected_call(f, ci, now);
			else
				want = -1;
		}
		e = queue_counter(&f->b.q, number, a, svc, QUEUE_EXPECT_ANY, now, &t, &has);
		if (a == CA_NO_SHOW && e == BQ_OK)
			last_no_show = t.id;
		if (a == CA_CALL && want >= 0 && e == BQ_OK)
			assert_int_equal(has ? t.id : 0, want);
	} else if (what < 92) {
		int64_t id = some_ticket(f);
		/* Now and then a no-show goes back in line, held behind the next calls. */
		if (rnd(f, 3) == 0) {
			e = queue_reinstate(&f->b.q, rnd(f, 2) ? last_no_show : id, now, &t);
			reinstated += e == BQ_OK;
		} else
			e = queue_cancel(&f->b.q, id, now, &t);
	} else if (what < 97) {
		int64_t id = some_ticket(f);
		e = queue_green(&f->b.q, id, 1 + (int)rnd(f, CAT_COUNT - 1), -1, now, &t);
	} else {
		int64_t id = some_ticket(f);
		e = queue_set_print(&f->b.q, id, (enum print_state)rnd(f, PS_COUNT),
		    rnd(f, 2) ? "paper out" : NULL, now, &t);
	}
	(void)e;
}

static void
test_memory_matches_database(void **state)
{
	struct fixture *f = *state;
	struct date d = { 2026, 11, 24 };
	int64_t now = bday_start(d, f->b.cfg.day_reset_min) + 5 * 3600;

	for (int step = 0; step < STEPS; step++) {
		uint32_t jump = rnd(f, 1000);

		if (jump == 0)
			now += 20 * 3600;          /* into the next business day */
		else if (jump == 1)
			now -= 30 * 60;            /* the clock set back */
		else
			now += rnd(f, 90);
		random_step(f, now);
		if (step % CHECK_EVERY == 0)
			check_memory(f, now, step);
		if (step % 100 == 99)
			check_lookups(f, now);
	}
	check_memory(f, now, STEPS);
	/* The run reached the states worth comparing. */
	assert_true(hall_nwaiting(f->b.q.hall) > 0);
	assert_true(reinstated > 5);
}

static void
test_failed_commit_changes_no_memory(void **state)
{
	struct fixture *f = *state;
	struct date d = { 2026, 11, 24 };
	int64_t now = bday_start(d, f->b.cfg.day_reset_min) + 5 * 3600;
	struct issue_req r = { .service = 0, .category = -1, .lang = -1 };
	struct ticket t;
	bool has;
	int before, i;
	enum bq_err e = BQ_OK;

	for (i = 0; i < 20; i++)
		assert_int_equal(queue_issue(&f->b.q, &r, now + i, &t), BQ_OK);
	check_memory(f, now + 20, 0);
	before = hall_nwaiting(f->b.q.hall);
	/* A disk that is full: the next changes cannot commit. */
	assert_int_equal(store_limit_pages(f->b.q.store, 1), BQ_OK);
	for (i = 0; i < 200 && e == BQ_OK; i++)
		e = queue_issue(&f->b.q, &r, now + 30, &t);
	assert_int_equal(e, BQ_ERR_STORAGE_FULL);
	before += i - 1;
	assert_int_equal(hall_nwaiting(f->b.q.hall), before);
	e = queue_counter(&f->b.q, f->b.cfg.counters[0].number, CA_CALL, -1, QUEUE_EXPECT_ANY, now + 31,
	    &t, &has);
	if (e != BQ_OK) {
		assert_int_equal(e, BQ_ERR_STORAGE_FULL);
		assert_int_equal(hall_nwaiting(f->b.q.hall), before);
	}
	assert_int_equal(store_limit_pages(f->b.q.store, 0), BQ_OK);
	check_memory(f, now + 32, 1);
}

static int
waiting_in_db(struct fixture *f, int64_t now)
{
	struct ticket *w;
	int n;
	char bday[11];

	date_format(bday_of(now, f->b.cfg.day_reset_min), bday);
	assert_int_equal(store_waiting(f->b.q.store, bday, &w, &n), BQ_OK);
	free(w);
	return n;
}

/* One batch: two changes that fail alone and leave nothing, the others commit together. */
static void
test_batch_failures_stand_alone(void **state)
{
	struct fixture *f = *state;
	struct date d = { 2026, 11, 24 };
	int64_t now = bday_start(d, f->b.cfg.day_reset_min) + 5 * 3600;
	struct issue_req r = { .service = 0, .category = -1, .lang = -1 };
	struct ticket t1, t2, t3, c1, c3, x;
	bool has1, has3, hasx;
	int n1 = f->b.cfg.counters[0].number, n3 = f->b.cfg.counters[2].number;

	assert_int_equal(queue_issue(&f->b.q, &r, now, &t1), BQ_OK);
	assert_int_equal(queue_issue(&f->b.q, &r, now + 1, &t2), BQ_OK);
	assert_int_equal(f->published, 2);

	queue_batch_begin(&f->b.q);
	assert_int_equal(queue_issue(&f->b.q, &r, now + 2, &t3), BQ_OK);
	/* A stale expect: the counter has no ticket, not ticket 99. */
	assert_int_equal(queue_counter(&f->b.q, n1, CA_CALL, -1, 99, now + 3, &x, &hasx),
	    BQ_ERR_COUNTER_CHANGED);
	assert_int_equal(queue_counter(&f->b.q, n1, CA_CALL, -1, 0, now + 3, &c1, &has1), BQ_OK);
	assert_int_equal(queue_cancel(&f->b.q, 424242, now + 4, &x), BQ_ERR_UNKNOWN_TICKET);
	/* Two counters in one batch never get the same customer. */
	assert_int_equal(queue_counter(&f->b.q, n3, CA_CALL, -1, 0, now + 4, &c3, &has3), BQ_OK);
	assert_true(has1 && has3);
	assert_int_equal(c1.id, t1.id);
	assert_int_equal(c3.id, t2.id);
	/* Nothing is heard of the batch before it commits. */
	assert_int_equal(f->published, 2);
	assert_int_equal(queue_batch_end(&f->b.q), BQ_OK);
	assert_int_equal(f->published, 5);
	assert_int_equal(waiting_in_db(f, now + 5), 1);
	check_memory(f, now + 5, 0);
}

/* A full disk in the middle of a batch: the change that did not fit leaves nothing, the rest commit. */
static void
test_batch_full_disk_fails_alone(void **state)
{
	struct fixture *f = *state;
	struct date d = { 2026, 11, 24 };
	int64_t now = bday_start(d, f->b.cfg.day_reset_min) + 5 * 3600;
	struct issue_req r = { .service = 0, .category = -1, .lang = -1 };
	struct ticket t;
	int ok = 0, i;
	enum bq_err e = BQ_OK;

	assert_int_equal(queue_issue(&f->b.q, &r, now, &t), BQ_OK);
	assert_int_equal(store_limit_pages(f->b.q.store, 40), BQ_OK);
	queue_batch_begin(&f->b.q);
	for (i = 0; i < 2000 && e == BQ_OK; i++)
		if ((e = queue_issue(&f->b.q, &r, now + 1, &t)) == BQ_OK)
			ok++;
	assert_int_equal(e, BQ_ERR_STORAGE_FULL);
	assert_true(ok > 0);
	/* The transaction outlived the failed statement: the batch keeps the changes that fit. */
	assert_int_equal(queue_batch_end(&f->b.q), BQ_OK);
	assert_int_equal(store_limit_pages(f->b.q.store, 0), BQ_OK);
	assert_int_equal(f->published, 1 + ok);
	assert_int_equal(waiting_in_db(f, now + 2), 1 + ok);
	check_memory(f, now + 2, 0);
}

/*
 * While a batch's commit runs on the store's thread, readers see what had
 * committed before it, not the batch; once it lands, they see the batch.
 */
static void
test_reads_during_commit_see_the_committed_state(void **state)
{
	struct fixture *f = *state;
	struct date d = { 2026, 11, 24 };
	int64_t now = bday_start(d, f->b.cfg.day_reset_min) + 5 * 3600;
	struct issue_req r = { .service = 0, .category = -1, .lang = -1 };
	struct queue_view v;
	struct ticket t, c;
	bool has;
	int64_t last;

	assert_int_equal(queue_issue(&f->b.q, &r, now, &t), BQ_OK);
	assert_int_equal(queue_view_load(&f->b.q, now, &v), BQ_OK);
	last = v.last_event_id;
	queue_view_free(&v);
	queue_batch_begin(&f->b.q);
	assert_int_equal(queue_issue(&f->b.q, &r, now + 1, &t), BQ_OK);
	assert_int_equal(queue_counter(&f->b.q, f->b.cfg.counters[2].number, CA_CALL, -1,
	    QUEUE_EXPECT_ANY, now + 1, &c, &has), BQ_OK);
	assert_true(queue_batch_commit(&f->b.q));
	/* In flight: one waits (the first), nobody is called, no new event is announced. */
	assert_int_equal(queue_view_load(&f->b.q, now + 2, &v), BQ_OK);
	assert_int_equal(v.nwaiting, 1);
	assert_int_equal(v.last_event_id, last);
	assert_int_equal(v.counters[2].ticket_id, 0);
	queue_view_free(&v);
	assert_int_equal(f->published, 1);
	assert_int_equal(queue_batch_collect(&f->b.q), BQ_OK);
	assert_int_equal(f->published, 3);
	assert_int_equal(queue_view_load(&f->b.q, now + 2, &v), BQ_OK);
	assert_int_equal(v.nwaiting, 1);
	assert_int_equal(v.counters[2].ticket_id, c.id);
	assert_int_equal(v.last_event_id, last + 2);
	queue_view_free(&v);
	check_memory(f, now + 2, 0);
}

/*
 * A subscriber that reads the queue while it is told of a batch's events
 * (here after a reload, so the hall is read again right then) must not land
 * the batch a second time: each event is told once.
 */
static void
test_reading_while_told_lands_once(void **state)
{
	struct fixture *f = *state;
	struct date d = { 2026, 11, 24 };
	int64_t now = bday_start(d, f->b.cfg.day_reset_min) + 5 * 3600;
	struct issue_req r = { .service = 0, .category = -1, .lang = -1 };
	struct ticket t;

	queue_batch_begin(&f->b.q);
	for (int i = 0; i < 3; i++)
		assert_int_equal(queue_issue(&f->b.q, &r, now, &t), BQ_OK);
	queue_batch_commit(&f->b.q);
	f->read_while_told = true;
	assert_int_equal(queue_sync_counters(&f->b.q), BQ_OK);     /* a reload while it flies */
	assert_int_equal(queue_batch_collect(&f->b.q), BQ_OK);
	f->read_while_told = false;
	assert_int_equal(f->published, 3);
	for (int i = 0; i < f->nseen; i++)
		assert_int_equal(f->seen[i], i + 1);
}

/*
 * A subscriber that changes the queue while told (the printer recording a
 * failed paper) has its change's events told after the batch's, in the
 * order of the log: a stream never sees an id jump ahead and come back.
 */
static void
test_changes_made_while_told_come_after(void **state)
{
	struct fixture *f = *state;
	struct date d = { 2026, 11, 24 };
	int64_t now = bday_start(d, f->b.cfg.day_reset_min) + 5 * 3600;
	struct issue_req r = { .service = 0, .category = -1, .lang = -1 };
	struct ticket t;

	f->print_while_told = true;
	queue_batch_begin(&f->b.q);
	for (int i = 0; i < 3; i++)
		assert_int_equal(queue_issue(&f->b.q, &r, now, &t), BQ_OK);
	assert_int_equal(queue_batch_end(&f->b.q), BQ_OK);
	f->print_while_told = false;
	/* Three issues, then three print states, each id once and in order. */
	assert_int_equal(f->nseen, 6);
	for (int i = 0; i < f->nseen; i++)
		assert_int_equal(f->seen[i], i + 1);
	check_memory(f, now, 0);
}

/* A commit that fails takes every change of its batch with it, in the database and in memory. */
static void
test_batch_commit_fails_whole(void **state)
{
	struct fixture *f = *state;
	struct date d = { 2026, 11, 24 };
	int64_t now = bday_start(d, f->b.cfg.day_reset_min) + 5 * 3600;
	struct issue_req r = { .service = 0, .category = -1, .lang = -1 };
	sqlite3 *db = store_db(f->b.q.store);
	struct ticket t, c;
	bool has;

	assert_int_equal(queue_issue(&f->b.q, &r, now, &t), BQ_OK);
	check_memory(f, now, 0);
	/* A deferred constraint is checked at COMMIT: the way to make a commit itself fail. */
	assert_int_equal(sqlite3_exec(db, "PRAGMA foreign_keys = ON; CREATE TABLE p(id INTEGER "
	    "PRIMARY KEY); CREATE TABLE c(p REFERENCES p(id) DEFERRABLE INITIALLY DEFERRED)",
	    NULL, NULL, NULL), SQLITE_OK);
	queue_batch_begin(&f->b.q);
	assert_int_equal(queue_issue(&f->b.q, &r, now + 1, &t), BQ_OK);
	assert_int_equal(queue_issue(&f->b.q, &r, now + 2, &t), BQ_OK);
	assert_int_equal(queue_counter(&f->b.q, f->b.cfg.counters[0].number, CA_CALL, -1,
	    QUEUE_EXPECT_ANY, now + 3, &c, &has), BQ_OK);
	assert_true(has);
	assert_int_equal(hall_nwaiting(f->b.q.hall), 2);
	assert_int_equal(sqlite3_exec(db, "INSERT INTO c VALUES (7)", NULL, NULL, NULL), SQLITE_OK);
	assert_int_not_equal(queue_batch_end(&f->b.q), BQ_OK);
	assert_int_equal(f->published, 1);
	assert_int_equal(waiting_in_db(f, now + 4), 1);
	/* Memory is read again: the one ticket that committed, uncalled. */
	check_memory(f, now + 4, 1);
	assert_int_equal(hall_nwaiting(f->b.q.hall), 1);
	/* And the queue goes on: the next change commits on its own. */
	assert_int_equal(queue_issue(&f->b.q, &r, now + 5, &t), BQ_OK);
	assert_string_equal(t.number, "A002");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_memory_matches_database, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_commit_changes_no_memory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch_failures_stand_alone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch_full_disk_fails_alone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch_commit_fails_whole, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reads_during_commit_see_the_committed_state, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_reading_while_told_lands_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_changes_made_while_told_come_after, setup, teardown),
	};

	return cmocka_run_group_tests_name("hall", tests, NULL, NULL);
}
