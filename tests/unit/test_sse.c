/*
 * test_sse.c: the event streams without HTTP, over a real queue and store:
 * an event is rendered once per kind, so every stream of a kind is handed
 * the very same frame; a phone hears of its own ticket and of changes to
 * its place, nothing else and nothing of others; a restart fills the ring
 * from the log, a staff stream resumes from it, a display is told to reload;
 * a staff stream that fell behind the ring catches up from the log.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "branch.h"

#include "bday.h"
#include "config.h"
#include "queue.h"
#include "sse.h"
#include "store.h"

struct fixture {
	struct branch b;             /* first: the queue, its store and config */
	struct sse *sse;
};

/* A stream as the test holds it: how often it was woken. */
struct probe {
	struct sse_sub sub;          /* first: the wake callback gets the sub */
	int wakes;
};

static void
probe_wake(struct sse_sub *sub)
{
	((struct probe *)sub)->wakes++;
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	branch_open(&f->b);
	assert_non_null(f->sse = sse_new(&f->b.q));
	bus_subscribe(&f->b.bus, EV_ALL, sse_on_event, f->sse);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	int rc;

	sse_free(f->sse);
	rc = branch_close(&f->b);
	free(f);
	return rc;
}

/* The streams read the hall at the wall clock's time: the tickets are issued at it too. */
static struct ticket
issue(struct fixture *f, const char *service, int category)
{
	struct issue_req r = { .service = config_service_index(&f->b.cfg, service),
	    .category = category, .lang = -1 };
	struct ticket t;

	assert_int_equal(queue_issue(&f->b.q, &r, (int64_t)time(NULL), &t), BQ_OK);
	return t;
}

static struct ticket
call(struct fixture *f, int counter)
{
	struct ticket t;
	bool has;

	assert_int_equal(queue_counter(&f->b.q, counter, CA_CALL, -1, QUEUE_EXPECT_ANY,
	    (int64_t)time(NULL), &t, &has), BQ_OK);
	assert_true(has);
	return t;
}

static void
attach(struct fixture *f, struct probe *p, enum sse_kind kind, int64_t from,
    const struct ticket *t)
{
	memset(p, 0, sizeof(*p));
	p->sub.wake = probe_wake;
	assert_int_equal(sse_attach(f->sse, &p->sub, kind, from, t), BQ_OK);
}

/* The next frame of p, which must be an event; the caller unrefs it. */
static struct sse_frame *
next_event(struct probe *p)
{
	struct sse_frame *fr = sse_next(&p->sub);

	assert_non_null(fr);
	assert_int_equal(strncmp(fr->text, "id: ", 4), 0);
	return fr;
}

/* Skip the retry: preamble. */
static void
skip_hello(struct probe *p)
{
	struct sse_frame *fr = sse_next(&p->sub);

	assert_non_null(fr);
	assert_int_equal(strncmp(fr->text, "retry: ", 7), 0);
	sse_frame_unref(fr);
}

static void
test_one_frame_per_kind(void **state)
{
	struct fixture *f = *state;
	struct probe staff[3], disp[3], mine[2], other;
	struct ticket x = issue(f, "A", CAT_NORMAL), y = issue(f, "A", CAT_NORMAL), z;
	struct sse_frame *fr[3], *px, *py;

	for (int i = 0; i < 3; i++) {
		attach(f, &staff[i], SSE_STAFF, -1, NULL);
		attach(f, &disp[i], SSE_DISPLAY, -1, NULL);
		skip_hello(&staff[i]);
		skip_hello(&disp[i]);
		assert_null(sse_next(&staff[i].sub));
		assert_null(sse_next(&disp[i].sub));
	}
	/* A phone starts with its ticket's view now, the same for both phones of x. */
	for (int i = 0; i < 2; i++) {
		attach(f, &mine[i], SSE_PHONE, -1, &x);
		skip_hello(&mine[i]);
	}
	attach(f, &other, SSE_PHONE, -1, &y);
	skip_hello(&other);
	px = next_event(&mine[0]);
	assert_ptr_equal(px, next_event(&mine[1]));
	assert_non_null(strstr(px->text, "\"type\":\"ticket.state\""));
	assert_non_null(strstr(px->text, "\"ahead\":0"));
	sse_frame_unref(px);
	sse_frame_unref(px);
	py = next_event(&other);
	assert_non_null(strstr(py->text, "\"ahead\":1"));
	sse_frame_unref(py);

	/* A ticket issued behind both moves nobody: the phones are not even woken. */
	z = issue(f, "A", CAT_NORMAL);
	for (int k = 0; k < 2; k++) {
		struct probe *p = k == 0 ? staff : disp;
		for (int i = 0; i < 3; i++)
			assert_int_equal(p[i].wakes, 1);
		for (int i = 0; i < 3; i++)
			fr[i] = next_event(&p[i]);
		assert_ptr_equal(fr[0], fr[1]);
		assert_ptr_equal(fr[0], fr[2]);
		assert_non_null(strstr(fr[0]->text, z.number));
		if (p == disp) {
			assert_null(strstr(fr[0]->text, "category"));
			assert_null(strstr(fr[0]->text, z.token));
			assert_null(strstr(fr[0]->text, "\"id\""));
			assert_null(strstr(fr[0]->text, "print"));
		}
		for (int i = 0; i < 3; i++)
			sse_frame_unref(fr[i]);
	}
	assert_int_equal(mine[0].wakes + mine[1].wakes + other.wakes, 0);
	assert_null(sse_next(&mine[0].sub));
	assert_null(sse_next(&other.sub));

	/* x is called: its phones get one frame between them, y's its new place, no word of x. */
	assert_int_equal(call(f, 3).id, x.id);
	px = next_event(&mine[0]);
	assert_ptr_equal(px, next_event(&mine[1]));
	assert_non_null(strstr(px->text, "\"type\":\"ticket.called\""));
	assert_non_null(strstr(px->text, "\"counter\":3"));
	py = next_event(&other);
	assert_ptr_not_equal(px, py);
	assert_non_null(strstr(py->text, "\"type\":\"ticket.place\""));
	assert_non_null(strstr(py->text, "\"ahead\":0"));
	assert_null(strstr(py->text, x.number));
	assert_non_null(strstr(py->text, y.number));
	sse_frame_unref(px);
	sse_frame_unref(px);
	sse_frame_unref(py);
	assert_null(sse_next(&other.sub));

	for (int i = 0; i < 3; i++) {
		sse_detach(&staff[i].sub);
		sse_detach(&disp[i].sub);
	}
	sse_detach(&mine[0].sub);
	sse_detach(&mine[1].sub);
	sse_detach(&other.sub);
}

/* After a restart the ring holds the log's tail: staff streams resume from it, displays reload. */
static void
test_restart_staff_resumes_display_reloads(void **state)
{
	struct fixture *f = *state;
	struct probe staff, disp, live;
	struct sse_frame *fr;
	int64_t last;

	for (int i = 0; i < 5; i++)
		issue(f, "B", CAT_NORMAL);
	call(f, 5);
	assert_int_equal(store_last_event_id(f->b.q.store, &last), BQ_OK);
	assert_int_equal(last, 6);
	sse_free(f->sse);
	memset(&f->b.bus, 0, sizeof(f->b.bus));
	assert_non_null(f->sse = sse_new(&f->b.q));
	bus_subscribe(&f->b.bus, EV_ALL, sse_on_event, f->sse);

	attach(f, &staff, SSE_STAFF, 2, NULL);
	skip_hello(&staff);
	for (int64_t id = 3; id <= last; id++) {
		fr = next_event(&staff);
		assert_int_equal(fr->id, id);
		sse_frame_unref(fr);
	}
	assert_null(sse_next(&staff.sub));

	attach(f, &disp, SSE_DISPLAY, 2, NULL);
	skip_hello(&disp);
	fr = next_event(&disp);
	assert_int_equal(fr->id, last);
	assert_non_null(strstr(fr->text, "{\"type\":\"reload\"}"));
	sse_frame_unref(fr);
	assert_null(sse_next(&disp.sub));

	/* A display that is up to date is not told to reload, and gets what comes next. */
	attach(f, &live, SSE_DISPLAY, last, NULL);
	skip_hello(&live);
	assert_null(sse_next(&live.sub));
	issue(f, "B", CAT_NORMAL);
	fr = next_event(&live);
	assert_int_equal(fr->id, last + 1);
	assert_non_null(strstr(fr->text, "\"ticket.issued\""));
	assert_ptr_equal(fr, next_event(&disp));
	sse_frame_unref(fr);
	sse_frame_unref(fr);
	fr = next_event(&staff);
	assert_int_equal(fr->id, last + 1);
	sse_frame_unref(fr);

	sse_detach(&staff.sub);
	sse_detach(&disp.sub);
	sse_detach(&live.sub);
}

/* A phone that comes back: its view once if something concerned it since, else nothing. */
static void
test_phone_resume(void **state)
{
	struct fixture *f = *state;
	struct ticket a1 = issue(f, "A", CAT_NORMAL), mine = issue(f, "A", CAT_NORMAL);
	struct probe p;
	struct sse_frame *fr;
	int64_t seen;

	attach(f, &p, SSE_PHONE, -1, &mine);
	skip_hello(&p);
	fr = next_event(&p);
	seen = fr->id;
	sse_frame_unref(fr);
	sse_detach(&p.sub);

	/* Only other services change: coming back brings nothing. */
	issue(f, "B", CAT_NORMAL);
	issue(f, "V", CAT_NORMAL);
	attach(f, &p, SSE_PHONE, seen, &mine);
	skip_hello(&p);
	assert_null(sse_next(&p.sub));
	sse_detach(&p.sub);

	/* The one before it is called: coming back brings the new place, once. */
	assert_int_equal(call(f, 3).id, a1.id);
	attach(f, &p, SSE_PHONE, seen, &mine);
	skip_hello(&p);
	fr = next_event(&p);
	assert_true(fr->id > seen);
	assert_non_null(strstr(fr->text, "\"ahead\":0"));
	assert_null(strstr(fr->text, a1.number));
	sse_frame_unref(fr);
	assert_null(sse_next(&p.sub));
	sse_detach(&p.sub);
}


/* Pause or resume counter 4: an event that moves nobody's place, cheap to make by thousands. */
static void
toggle(struct fixture *f, bool pause)
{
	struct ticket t;
	bool has;

	assert_int_equal(queue_counter(&f->b.q, 4, pause ? CA_PAUSE : CA_RESUME, -1, QUEUE_EXPECT_ANY,
	    (int64_t)time(NULL), &t, &has), BQ_OK);
}

/* Behind the ring: a staff stream reads the log until it is back, nothing lost or twice; a display reloads. */
static void
test_behind_the_ring(void **state)
{
	struct fixture *f = *state;
	struct probe staff, disp, fresh;
	struct sse_frame *fr;
	int64_t want = 1, last;
	int n = SSE_RING + 100;

	/* Thousands of commits: a test need not wait for the disk. */
	assert_int_equal(sqlite3_exec(store_db(f->b.q.store), "PRAGMA synchronous=OFF", NULL, NULL,
	    NULL), SQLITE_OK);
	attach(f, &staff, SSE_STAFF, -1, NULL);
	attach(f, &disp, SSE_DISPLAY, -1, NULL);
	skip_hello(&staff);
	skip_hello(&disp);
	for (int i = 0; i < n; i++)
		toggle(f, i % 2 == 0);
	assert_int_equal(store_last_event_id(f->b.q.store, &last), BQ_OK);
	assert_int_equal(last, n);
	/* Read as a slow client would: frames may hold several events (the log's batches). */
	while ((fr = sse_next(&staff.sub)) != NULL) {
		const char *p = fr->text;
		while ((p = strstr(p, "id: ")) != NULL) {
			assert_int_equal(strtoll(p + 4, NULL, 10), want);
			want++;
			p += 4;
		}
		sse_frame_unref(fr);
	}
	assert_false(staff.sub.ended);
	assert_int_equal(want, last + 1);

	fr = next_event(&disp);
	assert_non_null(strstr(fr->text, "{\"type\":\"reload\"}"));
	assert_int_equal(fr->id, last);
	sse_frame_unref(fr);
	assert_null(sse_next(&disp.sub));

	/* Resuming from the start of the log: the log's part, then the ring's. */
	attach(f, &fresh, SSE_STAFF, 0, NULL);
	skip_hello(&fresh);
	want = 1;
	while ((fr = sse_next(&fresh.sub)) != NULL) {
		for (const char *p = fr->text; (p = strstr(p, "id: ")) != NULL; p += 4)
			assert_int_equal(strtoll(p + 4, NULL, 10), want++);
		sse_frame_unref(fr);
	}
	assert_int_equal(want, last + 1);

	/* And both go on live. */
	toggle(f, n % 2 == 0);
	fr = next_event(&staff);
	assert_int_equal(fr->id, last + 1);
	assert_ptr_equal(fr, next_event(&fresh));
	sse_frame_unref(fr);
	sse_frame_unref(fr);
	sse_detach(&staff.sub);
	sse_detach(&disp.sub);
	sse_detach(&fresh.sub);
}

/*
 * The keep-alive: due SSE_KEEPALIVE_S after the last, which docs/api.md
 * gives as 15 s (proxies and phones drop a connection quiet for longer),
 * and when sent every stream gets the comment, once, an idle one included.
 */
static void
test_keepalive_every_15_seconds(void **state)
{
	struct fixture *f = *state;
	struct probe staff, disp;
	struct sse_frame *fr;

	assert_int_equal(sse_keepalive_next(0), 15000);
	assert_int_equal(sse_keepalive_next(1234567), 1234567 + 15000);
	attach(f, &staff, SSE_STAFF, -1, NULL);
	attach(f, &disp, SSE_DISPLAY, -1, NULL);
	skip_hello(&staff);
	skip_hello(&disp);
	assert_null(sse_next(&staff.sub));
	sse_keepalive(f->sse);
	assert_true(staff.wakes > 0 && disp.wakes > 0);
	for (struct probe *p = &staff; p != NULL; p = p == &staff ? &disp : NULL) {
		assert_non_null(fr = sse_next(&p->sub));
		assert_string_equal(fr->text, ": keepalive\n\n");
		sse_frame_unref(fr);
		assert_null(sse_next(&p->sub));
	}
	sse_detach(&staff.sub);
	sse_detach(&disp.sub);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_one_frame_per_kind),
		T(test_restart_staff_resumes_display_reloads),
		T(test_phone_resume),
		T(test_behind_the_ring),
		T(test_keepalive_every_15_seconds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
