/*
 * printer.c: the print path between the queue and CUPS (see printer.h).
 *
 * A ticket's print state moves queued -> printing -> printed, or -> failed
 * with a reason; every change is written to the ticket's row and announced
 * as ticket.print in the same transaction (queue_set_print). A ticket is
 * born queued, in the transaction that issues it, so a crash between the
 * issue and the print loses nothing: printer_new sends it at the next start.
 *
 * When a job fails, every job queued behind it in the worker fails at once
 * with the same reason: each would only wait out the same timeout in turn,
 * and paper that comes out minutes late is for a customer long since served.
 *
 * Retries: after a failure the loop waits PRINTER_RETRY_FIRST_S, doubling
 * up to PRINTER_RETRY_MAX_S, then sends one probe: the oldest failed ticket
 * still waiting (a customer already called needs no paper). Only when a
 * ticket prints does the backoff reset and the backlog go, the failed
 * tickets still waiting, oldest first, PRINTER_BATCH at a time, each batch
 * placed in line from one load of the hall; so a retry during an outage
 * costs the loop one ticket's work however long the backlog. Retries are
 * quiet: they say nothing unless the outcome changes, so a printer that
 * stays off all day does not flood the event log.
 *
 * The loop keeps the tickets in flight (queued in the worker or printing),
 * by their first leg, so a reprint or a retry never sends a ticket twice.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "bday.h"
#include "clock.h"
#include "cupsjob.h"
#include "escpos.h"
#include "layout.h"
#include "log.h"
#include "preview.h"
#include "printer.h"
#include "render.h"
#include "work.h"

static int printer_fail_unsent(struct printer *p, int64_t now, const char *why);

struct job {
	int64_t ticket_id;
	int64_t origin_id;               /* the ticket's first leg: its key in flight */
	bool quiet;                      /* a retry: announce only a change */
	char title[32];
	char queue[CONFIG_NAME_MAX];
	char server[CONFIG_URL_MAX];
	int timeout_s;
	unsigned char *data;
	size_t len;
	struct job *next;
};

/* What the worker tells the loop. */
struct note {
	int64_t ticket_id;
	int64_t origin_id;
	bool quiet;
	bool started;                    /* the job went to CUPS; else it ended */
	bool dropped;                    /* ended unsent: the job before it failed */
	bool printed;
	char error[PRINT_ERROR_MAX];
	struct note *next;
};

struct printer {
	struct queue *q;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct job *todo, **todo_tail;   /* under mu */
	struct note *news, **news_tail;  /* under mu */
	atomic_bool stop;
	int efd;
	struct work *previews;           /* the PNG previews' worker and cache */

	/* The loop's own, no lock: */
	int jobs;                        /* handed to the worker, not yet ended */
	int64_t *inflight;               /* their origin ids, jobs of them */
	int inflight_cap;
	int64_t retry_at_ms;             /* 0: no retry due */
	int backoff_s;
	bool failing;                    /* the last job failed */
	bool seen;                       /* a job has ended since start */
	char error[PRINT_ERROR_MAX];     /* of the last failure */
	int64_t last_printed_at;
};

static void
job_free(struct job *j)
{
	free(j->data);
	free(j);
}

/* Worker: hand a note to the loop and wake it. */
static void
worker_tell(struct printer *p, const struct job *j, bool started, bool dropped, bool printed,
    const char *error)
{
	struct note *n = calloc(1, sizeof(*n));
	uint64_t one = 1;

	if (n == NULL)
		return;    /* the ticket stays queued or printing; the next start sends it again */
	n->ticket_id = j->ticket_id;
	n->origin_id = j->origin_id;
	n->quiet = j->quiet;
	n->started = started;
	n->dropped = dropped;
	n->printed = printed;
	snprintf(n->error, sizeof(n->error), "%s", error != NULL ? error : "");
	pthread_mutex_lock(&p->mu);
	*p->news_tail = n;
	p->news_tail = &n->next;
	pthread_mutex_unlock(&p->mu);
	if (write(p->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("printer: eventfd");
}

/*
 * Worker: after a failed job, the jobs queued behind it would fail alike,
 * each after the same timeout: end them all now, unsent, with its reason.
 */
static void
worker_drop_queued(struct printer *p, const char *error)
{
	struct job *drop, *j;

	pthread_mutex_lock(&p->mu);
	drop = p->todo;
	p->todo = NULL;
	p->todo_tail = &p->todo;
	pthread_mutex_unlock(&p->mu);
	while ((j = drop) != NULL) {
		drop = j->next;
		worker_tell(p, j, false, true, false, error);
		job_free(j);
	}
}

static void *
worker_main(void *arg)
{
	struct printer *p = arg;

	for (;;) {
		struct job *j;
		char err[PRINT_ERROR_MAX] = "";
		int rc;

		pthread_mutex_lock(&p->mu);
		while (p->todo == NULL && !atomic_load(&p->stop))
			pthread_cond_wait(&p->cv, &p->mu);
		if (atomic_load(&p->stop)) {
			pthread_mutex_unlock(&p->mu);
			return NULL;
		}
		j = p->todo;
		if ((p->todo = j->next) == NULL)
			p->todo_tail = &p->todo;
		pthread_mutex_unlock(&p->mu);

		worker_tell(p, j, true, false, false, NULL);
		rc = cupsjob_print(j->server, j->queue, j->title, j->data, j->len, j->timeout_s,
		    &p->stop, err, sizeof(err));
		if (atomic_load(&p->stop)) {
			job_free(j);
			return NULL;
		}
		worker_tell(p, j, false, false, rc == 0, rc == 0 ? NULL : err);
		if (rc != 0)
			worker_drop_queued(p, err);
		job_free(j);
	}
}

static const char *const category_zh[CAT_COUNT] = {
	NULL, "老年人", "残障人士", "孕妇", "军人依法优先", "外籍人士",
};
static const char *const category_en[CAT_COUNT] = {
	NULL, "Senior", "Disability", "Pregnancy", "Military", "Foreign visitor",
};

/* Lay ticket t out at its place in line pos. */
static void
printer_layout_at(struct printer *p, const struct ticket *t, struct ticket_pos pos,
    struct layout *l)
{
	const struct config *cfg = p->q->cfg;
	int s = config_service_index(cfg, t->service);
	struct layout_ticket lt;
	char url[CONFIG_URL_MAX + TICKET_TOKEN_LEN + 8], issued[32];
	time_t it = (time_t)t->issued_at;
	struct tm tm;

	snprintf(url, sizeof(url), "%s/t/%s", cfg->public_url, t->token);
	if (localtime_r(&it, &tm) == NULL || strftime(issued, sizeof(issued), "%Y-%m-%d %H:%M", &tm) == 0)
		issued[0] = '\0';
	memset(&lt, 0, sizeof(lt));
	lt.branch_zh = cfg->name_zh;
	lt.branch_en = cfg->name_en;
	lt.service_zh = s >= 0 ? cfg->services[s].name_zh : NULL;
	lt.service_en = s >= 0 ? cfg->services[s].name_en : NULL;
	lt.number = t->number;
	lt.english_first = t->lang == LANG_EN;
	lt.category_zh = category_zh[t->category];
	lt.category_en = category_en[t->category];
	lt.ahead = pos.ahead;
	lt.wait_min = pos.estimated_wait_s < 0 ? -1 : (long)((pos.estimated_wait_s + 59) / 60);
	lt.issued = issued;
	lt.url = url;
	lt.footer = cfg->printer.footer;
	lt.width_dots = cfg->printer.paper_mm == 58 ? LAYOUT_DOTS_58MM : LAYOUT_DOTS_80MM;
	layout_build(&lt, l);
}

/* Lay ticket t out as it stands at now (its place in line is read from the store). */
static void
printer_layout(struct printer *p, const struct ticket *t, int64_t now, struct layout *l)
{
	struct ticket_pos pos = { -1, -1 };

	if (queue_position(p->q, t, now, &pos) != BQ_OK)
		pos.ahead = pos.estimated_wait_s = -1;
	printer_layout_at(p, t, pos, l);
}

/* Whether ticket origin's paper is queued in the worker or printing. */
static bool
printer_in_flight(const struct printer *p, int64_t origin)
{
	for (int i = 0; i < p->jobs; i++)
		if (p->inflight[i] == origin)
			return true;
	return false;
}

/* The worker ended the job of ticket origin. */
static void
printer_landed(struct printer *p, int64_t origin)
{
	for (int i = 0; i < p->jobs; i++) {
		if (p->inflight[i] == origin) {
			memmove(&p->inflight[i], &p->inflight[i + 1],
			    (size_t)(p->jobs - i - 1) * sizeof(*p->inflight));
			break;
		}
	}
	p->jobs--;
}

/* Record a print state; a failure to record is logged (the ticket itself is safe). */
static void
printer_record(struct printer *p, int64_t id, enum print_state st, const char *error)
{
	struct ticket t;

	if (queue_set_print(p->q, id, st, error, (int64_t)time(NULL), &t) != BQ_OK)
		log_warnx("printer: cannot record ticket %lld as %s", (long long)id,
		    print_state_name(st));
}

/*
 * Render ticket t at its place in line pos and queue it for the worker;
 * nothing when it is in flight already. Returns whether it was queued.
 */
static bool
printer_send(struct printer *p, const struct ticket *t, struct ticket_pos pos, bool quiet)
{
	const struct printer_conf *pc = &p->q->cfg->printer;
	struct job *j;
	struct layout l;

	if (pc->queue[0] == '\0' || printer_in_flight(p, t->origin_id))
		return false;
	if (p->jobs == p->inflight_cap) {
		int cap = p->inflight_cap ? p->inflight_cap * 2 : 16;
		int64_t *v = realloc(p->inflight, (size_t)cap * sizeof(*v));
		if (v == NULL) {
			printer_record(p, t->id, PS_FAILED, "out of memory");
			return false;
		}
		p->inflight = v;
		p->inflight_cap = cap;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		printer_record(p, t->id, PS_FAILED, "out of memory");
		return false;
	}
	printer_layout_at(p, t, pos, &l);
	if (escpos_encode(&l, &j->data, &j->len) != 0) {
		free(j);
		printer_record(p, t->id, PS_FAILED, "the ticket could not be rendered for the printer");
		return false;
	}
	j->ticket_id = t->id;
	j->origin_id = t->origin_id;
	j->quiet = quiet;
	snprintf(j->title, sizeof(j->title), "branchq %s", t->number);
	snprintf(j->queue, sizeof(j->queue), "%s", pc->queue);
	snprintf(j->server, sizeof(j->server), "%s", pc->server);
	j->timeout_s = (int)pc->timeout_s;
	pthread_mutex_lock(&p->mu);
	*p->todo_tail = j;
	p->todo_tail = &j->next;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
	p->inflight[p->jobs++] = t->origin_id;
	return true;
}

static void
printer_send_id(struct printer *p, int64_t id, bool quiet)
{
	struct ticket_pos pos = { -1, -1 };
	struct ticket t;

	/* No printer: nothing to lay out, so no reading the hall for the ticket's place. */
	if (p->q->cfg->printer.queue[0] == '\0' || store_ticket_get(p->q->store, id, &t) != BQ_OK)
		return;
	if (queue_position(p->q, &t, (int64_t)time(NULL), &pos) != BQ_OK)
		pos.ahead = pos.estimated_wait_s = -1;
	printer_send(p, &t, pos, quiet);
}

/*
 * Send today's tickets whose paper is in state st, oldest first, at most
 * limit (0: all); only those still waiting when waiting_only. Their places
 * in line come from one load of the hall. Returns how many were queued.
 */
static int
printer_send_all(struct printer *p, enum print_state st, bool quiet, bool waiting_only, int limit)
{
	int64_t now = (int64_t)time(NULL);
	struct ticket *v = NULL;
	struct ticket_pos *pos;
	char bday[11];
	int n = 0, sent = 0;

	date_format(bday_of(now, p->q->cfg->day_reset_min), bday);
	if (store_print_pending(p->q->store, bday, st, waiting_only, limit, &v, &n) != BQ_OK || n == 0)
		return 0;
	if ((pos = calloc((size_t)n, sizeof(*pos))) == NULL) {
		free(v);
		return 0;
	}
	if (queue_positions(p->q, v, n, now, pos) != BQ_OK)
		for (int i = 0; i < n; i++)
			pos[i].ahead = pos[i].estimated_wait_s = -1;
	for (int i = 0; i < n; i++)
		sent += printer_send(p, &v[i], pos[i], quiet);
	free(pos);
	free(v);
	return sent;
}

/* Preview worker (work_run_fn): draw one layout. cairo runs on this thread alone. */
static bool
printer_draw_preview(const void *in, uint8_t **out, size_t *len)
{
	return preview_png(in, out, len) == 0;
}

struct printer *
printer_new(struct queue *q)
{
	struct printer *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	p->q = q;
	p->todo_tail = &p->todo;
	p->news_tail = &p->news;
	p->backoff_s = PRINTER_RETRY_FIRST_S;
	atomic_init(&p->stop, false);
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	if ((p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
		log_warn("printer: eventfd");
		free(p);
		return NULL;
	}
	if ((p->previews = work_new("preview", PRINTER_PREVIEWS, sizeof(struct layout),
	    printer_draw_preview)) == NULL) {
		log_warnx("printer: cannot start the preview's thread");
		close(p->efd);
		free(p);
		return NULL;
	}
	work_set_share(p->previews, PRINTER_PREVIEW_SHARE);
	if ((errno = pthread_create(&p->thread, NULL, worker_main, p)) != 0) {
		log_warn("printer: cannot start its thread");
		work_free(p->previews);
		close(p->efd);
		free(p);
		return NULL;
	}
	if (q->cfg->printer.queue[0] != '\0') {
		int n = printer_send_all(p, PS_PRINTING, false, false, 0);
		n += printer_send_all(p, PS_QUEUED, false, false, 0);
		if (n > 0)
			log_info("printer: sending %d tickets left unprinted at the last stop", n);
		p->retry_at_ms = mono_ms();
	} else {
		printer_fail_unsent(p, clock_now(), "no printer in the configuration since the last "
		    "start");
	}
	return p;
}

void
printer_free(struct printer *p)
{
	struct job *j;
	struct note *n;

	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	atomic_store(&p->stop, true);
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
	pthread_join(p->thread, NULL);
	work_free(p->previews);
	while ((j = p->todo) != NULL) {
		p->todo = j->next;
		job_free(j);
	}
	while ((n = p->news) != NULL) {
		p->news = n->next;
		free(n);
	}
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	close(p->efd);
	free(p->inflight);
	free(p);
	preview_cleanup();
}

int
printer_fd(const struct printer *p)
{
	return p->efd;
}

int
printer_preview_fd(const struct printer *p)
{
	return work_fd(p->previews);
}

void
printer_preview_collect(struct printer *p)
{
	work_collect(p->previews);
}

int64_t
printer_timeout_ms(const struct printer *p)
{
	int64_t left;

	if (p->retry_at_ms == 0 || p->jobs > 0)
		return -1;
	left = p->retry_at_ms - mono_ms();
	return left < 0 ? 0 : left;
}

/* The loop takes one note from the worker. */
static void
printer_note(struct printer *p, const struct note *n)
{
	struct ticket t;

	if (n->started) {
		if (!n->quiet)
			printer_record(p, n->ticket_id, PS_PRINTING, NULL);
		return;
	}
	printer_landed(p, n->origin_id);
	p->seen = true;
	if (n->printed) {
		p->failing = false;
		p->error[0] = '\0';
		p->last_printed_at = (int64_t)time(NULL);
		p->backoff_s = PRINTER_RETRY_FIRST_S;
		p->retry_at_ms = mono_ms();          /* the printer works: the backlog goes now */
		printer_record(p, n->ticket_id, PS_PRINTED, NULL);
		return;
	}
	if (!n->dropped) {
		/* One attempt, one step of backoff: the retries dropped with it are not attempts. */
		if (!p->failing || strcmp(p->error, n->error) != 0)
			log_warnx("printer: ticket %lld not printed: %s", (long long)n->ticket_id,
			    n->error);
		p->failing = true;
		snprintf(p->error, sizeof(p->error), "%s", n->error);
		p->retry_at_ms = mono_ms() + (int64_t)p->backoff_s * 1000;
		p->backoff_s = p->backoff_s * 2 > PRINTER_RETRY_MAX_S ? PRINTER_RETRY_MAX_S :
		    p->backoff_s * 2;
	}
	/* A quiet retry that failed as before changes nothing a client could see. */
	if (n->quiet && store_ticket_get(p->q->store, n->ticket_id, &t) == BQ_OK &&
	    t.print_state == PS_FAILED && strcmp(t.print_error, n->error) == 0)
		return;
	printer_record(p, n->ticket_id, PS_FAILED, n->error);
}

void
printer_run(struct printer *p)
{
	struct note *list, *n;
	uint64_t v;

	if (read(p->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_warn("printer: eventfd");
	pthread_mutex_lock(&p->mu);
	list = p->news;
	p->news = NULL;
	p->news_tail = &p->news;
	pthread_mutex_unlock(&p->mu);
	while ((n = list) != NULL) {
		list = n->next;
		printer_note(p, n);
		free(n);
	}
	/*
	 * Retries wait until the worker is idle: a queue of retries would only
	 * grow. While the printer fails, one probe; once it prints, the backlog,
	 * a batch at a time (the next batch when this one has printed).
	 */
	if (p->retry_at_ms != 0 && p->jobs == 0 && mono_ms() >= p->retry_at_ms) {
		p->retry_at_ms = 0;
		if (p->q->cfg->printer.queue[0] != '\0')
			printer_send_all(p, PS_FAILED, true, true, p->failing ? 1 : PRINTER_BATCH);
	}
}

void
printer_on_event(void *arg, const struct bus_event *ev)
{
	struct printer *p = arg;

	if (ev->type == EV_TICKET_ISSUED)
		printer_send_id(p, ev->ticket_id, false);
}

enum bq_err
printer_reprint(struct printer *p, int64_t id, int64_t now, struct ticket *out)
{
	struct ticket_pos pos = { -1, -1 };
	enum bq_err e;

	if (p->q->cfg->printer.queue[0] == '\0')
		return BQ_ERR_NO_PRINTER;
	/* The paper is the ticket's: print it as it stands now, in its newest leg. */
	e = store_ticket_get(p->q->store, id, out);
	while (e == BQ_OK && out->status == TS_TRANSFERRED && out->transferred_to > out->id)
		e = store_ticket_get(p->q->store, out->transferred_to, out);
	if (e != BQ_OK)
		return e;
	if (printer_in_flight(p, out->origin_id))
		return BQ_OK;
	if ((e = queue_set_print(p->q, out->id, PS_QUEUED, NULL, now, out)) != BQ_OK)
		return e;
	if (queue_position(p->q, out, now, &pos) != BQ_OK)
		pos.ahead = pos.estimated_wait_s = -1;
	printer_send(p, out, pos, false);
	return BQ_OK;
}

enum bq_err
printer_png(struct printer *p, int64_t id, int64_t now, const struct work_from *from,
    const unsigned char **png, size_t *len, bool *pending)
{
	struct ticket t;
	struct layout l;
	char key[WORK_KEY_MAX];
	enum bq_err e;

	*pending = false;
	if ((e = store_ticket_get(p->q->store, id, &t)) != BQ_OK)
		return e;
	/* The key names the ticket; the layout itself decides whether a drawing is still right. */
	printer_layout(p, &t, now, &l);
	snprintf(key, sizeof(key), "ticket %lld", (long long)id);
	switch (work_lookup(p->previews, key, &l, from, png, len)) {
	case WORK_READY:
		return BQ_OK;
	case WORK_PENDING:
		*pending = true;
		return BQ_OK;
	case WORK_BUSY:
		return BQ_ERR_PREVIEW_BUSY;
	case WORK_LIMITED:
		return BQ_ERR_TOO_MANY_REQUESTS;
	default:
		return BQ_ERR_INTERNAL;
	}
}

/*
 * No printer is configured: today's tickets still queued or printing from
 * before (a reload or a restart without [printer] queue) will never print;
 * each fails with that reason instead of staying queued for ever. A job
 * already with CUPS (in flight) ends as it ends. Returns how many failed.
 */
static int
printer_fail_unsent(struct printer *p, int64_t now, const char *why)
{
	static const enum print_state states[] = { PS_QUEUED, PS_PRINTING };
	char bday[11];
	int failed = 0;

	date_format(bday_of(now, p->q->cfg->day_reset_min), bday);
	for (size_t k = 0; k < sizeof(states) / sizeof(states[0]); k++) {
		struct ticket *t = NULL, cur;
		int n = 0;

		if (store_print_pending(p->q->store, bday, states[k], false, 0, &t, &n) != BQ_OK) {
			log_warnx("printer: none configured, but its unprinted tickets could not be read");
			return failed;
		}
		for (int i = 0; i < n; i++)
			if (!printer_in_flight(p, t[i].origin_id) &&
			    queue_set_print(p->q, t[i].id, PS_FAILED, why, now, &cur) == BQ_OK)
				failed++;
		free(t);
	}
	if (failed > 0)
		log_warnx("printer: none configured: %d ticket%s waiting for paper will not be printed "
		    "(their print state says why)", failed, failed == 1 ? "" : "s");
	return failed;
}

int
printer_reloaded(struct printer *p, const struct printer_conf *old, int64_t now)
{
	if (old->queue[0] == '\0' || p->q->cfg->printer.queue[0] != '\0')
		return 0;
	return printer_fail_unsent(p, now, "no printer since the configuration was reloaded "
	    "without [printer] queue");
}

json_t *
printer_health(const struct printer *p)
{
	const struct printer_conf *pc = &p->q->cfg->printer;
	bool on = pc->queue[0] != '\0';
	const char *state = !on ? "none" : !p->seen ? "unknown" : p->failing ? "failing" : "ok";

	return json_pack("{s:b,s:o,s:s,s:o,s:i,s:o}", "configured", on,
	    "queue", on ? json_string(pc->queue) : json_null(), "state", state,
	    "error", on && p->failing ? json_string(p->error) : json_null(),
	    "jobs", p->jobs, "last_printed_at", render_time(p->last_printed_at));
}
