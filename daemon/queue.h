/*
 * queue.h: the branch's operations: issue a ticket, call, recall, mark a
 * no-show, finish, transfer, pause, resume, cancel, upgrade to green.
 *
 * Each operation is one transaction: it reads the state from the hall in
 * memory (hall.h), asks the pure policy who is next, writes the change and
 * its events to the store, and commits; only then is the hall changed and
 * are the events published on the bus. A failure at any
 * step rolls everything back, so a client that got an error lost nothing
 * and changed nothing. All calls run on the daemon's one thread, and the
 * transaction is BEGIN IMMEDIATE besides, so two counters calling at once
 * can never be handed the same ticket. `now` is always passed in.
 */
#ifndef BRANCHQ_QUEUE_H
#define BRANCHQ_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "bus.h"
#include "config.h"
#include "error.h"
#include "store.h"

struct hall;

#define QUEUE_MAX_IMAGES 8

/* What one change wrote, as written: the legs and the counter, to apply to the hall. */
struct queue_images {
	struct ticket img[QUEUE_MAX_IMAGES];
	int nimg;
	bool overflow;               /* more legs than img holds: the hall is read again */
	struct counter_state cs;     /* the counter written, when has_cs */
	bool has_cs;
};

/* A counter's rating keypad, asking (queue_rating_*). In memory: a restart closes it. */
struct queue_prompt {
	int64_t ticket_id;           /* the leg served; 0: no prompt */
	int64_t origin_id;
	char number[TICKET_NUMBER_MAX];
	enum lang lang;
	int64_t until;               /* from this second on a press changes nothing */
	bool shown;                  /* the keypad said it showed it (rating.prompted logged) */
};

/* The leg a counter served last, and who finished it: what 请评价 asks about. */
struct queue_served {
	int64_t ticket_id;
	int64_t ended_at;
	char teller[64];
};

/*
 * The caller sets store, cfg and bus; the hall (the day in memory, hall.h)
 * is the queue's own, made at first use and freed by queue_close.
 */
struct queue {
	struct store *store;
	const struct config *cfg;    /* the live config; replaced on reload */
	struct bus *bus;
	struct hall *hall;
	/* Group commit, between queue_batch_begin and queue_batch_end: */
	char actor[64];              /* who the next changes are by, for their events; "" none */
	bool batching;
	bool batch_open;             /* the batch's transaction has begun */
	enum bq_err batch_err;       /* the transaction was lost: the whole batch fails */
	struct queue_images *redo;   /* released changes' images, replayed when the commit lands */
	int nredo, capredo;
	enum {
		FLIGHT_NONE,             /* no batch's result waits to be collected */
		FLIGHT_AIRBORNE,         /* a batch's commit was started and has not landed */
		FLIGHT_LANDED,           /* it ended and the hall and bus know; result not collected */
	} flight;
	enum bq_err flight_result;
	int64_t last_event_id;       /* the newest event published */
	struct bus_event *pq;        /* events to publish, in order, each owning its data:
	                                a batch's wait here until its commit lands */
	int npq, cappq;
	bool draining;               /* publish_drain is telling subscribers */
	char expired_through[11];    /* the business day queue_expire last closed the days before */
	struct queue_prompt prompt[MAX_COUNTERS];   /* by counter index */
	struct queue_served served[MAX_COUNTERS];
	/* Who is signed in at a counter (auth_counter_holder), for the window screens; may be NULL. */
	const char *(*holder)(void *arg, int counter, int64_t now);
	void *holder_arg;
};

/*
 * Group commit. Between queue_batch_begin and queue_batch_end every
 * operation joins one transaction, each in a savepoint of its own: one that
 * fails (an unknown service, a stale expect) is undone alone and leaves
 * nothing; one that succeeds changes the hall at once, so the next
 * operation of the batch sees it, but its events wait. queue_batch_end
 * commits (one fsync for the whole batch) and only then publishes the
 * events, in order. When the commit fails, or SQLite lost the transaction
 * inside the batch (a full disk), every change of the batch is gone from
 * the database and from memory (the hall is read again at its next use),
 * and the error is returned: each operation of the batch that had succeeded
 * must then be answered with it. Outside a batch each operation commits on
 * its own, as before.
 */
void queue_batch_begin(struct queue *q);
enum bq_err queue_batch_end(struct queue *q);

/*
 * queue_batch_end in two steps, so the loop serves reads while the fsync
 * runs: queue_batch_commit starts the commit on the store's thread and
 * returns true while it flies; meanwhile the hall shows what had committed
 * before the batch (it was rewound), and no batch may begin. When
 * queue_commit_fd is readable (or at once when it returned false),
 * queue_batch_collect lands the commit (the batch's changes into the hall,
 * its events on the bus) and returns its result. A change made alone while
 * a commit flies waits for it and lands it first.
 */
bool queue_batch_commit(struct queue *q);
enum bq_err queue_batch_collect(struct queue *q);
int queue_commit_fd(struct queue *q);          /* -1 when commits run on the loop */

struct issue_req {
	int service;                 /* index into cfg->services */
	int category;                /* enum category, or -1 when not given */
	int lang;                    /* enum lang, or -1 when not given */
	const char *id_number;       /* NULL when not given; never stored or logged */
	size_t id_len;
};

/* A waiting ticket's place: tickets before it in its service, and the estimate (-1: unknown). */
struct ticket_pos {
	int ahead;
	int64_t estimated_wait_s;
};

enum counter_action {
	CA_CALL,
	CA_RECALL,
	CA_NO_SHOW,
	CA_START,
	CA_FINISH,
	CA_TRANSFER,
	CA_PAUSE,
	CA_RESUME,
	CA_COUNT
};

/* The action named in a path ("no-show"); -1 when unknown. */
int queue_action_parse(const char *s);

/*
 * Issue a ticket. A valid ID number makes it elderly (age on the business
 * date at least cfg->elderly_age) or foreign (2023 permanent-residence
 * form) unless a green category was given; an invalid one is refused with
 * BQ_ERR_INVALID_ID_NUMBER. On success *out is the new ticket.
 */
enum bq_err queue_issue(struct queue *q, const struct issue_req *r, int64_t now, struct ticket *out);

#define QUEUE_EXPECT_ANY (-1)

/* What CA_CALL does with a current ticket that was recalled and never started. */
#define QUEUE_OUTCOME_ASK (-1)       /* refuse with BQ_ERR_OUTCOME_NEEDED: the teller says */

/*
 * Do action a at counter number (an index is looked up). For CA_TRANSFER,
 * service is the index of the new service; for CA_CALL it is the outcome
 * of a current ticket that was recalled and never started (the customer
 * may never have come): QUEUE_OUTCOME_ASK, TS_SERVED or TS_NO_SHOW; a
 * current ticket called once is served as before. Otherwise ignored. expect, when
 * not QUEUE_EXPECT_ANY, is the current ticket the client saw (0: none): if
 * the counter's is another, nothing changes and BQ_ERR_COUNTER_CHANGED says
 * so, which turns a double click on "call" into a no-op. On success,
 * *has_ticket says whether *out holds a ticket: the one called (CA_CALL;
 * false when nobody waits), recalled, marked, finished, or the new leg of a
 * transferred ticket; the counter's current one for pause and resume.
 */
enum bq_err queue_counter(struct queue *q, int number, enum counter_action a, int service,
    int64_t expect, int64_t now, struct ticket *out, bool *has_ticket);

#define QUEUE_NEXT_MAX 10

/*
 * The tickets counter number would call at now, one call after another, if
 * nothing else changed: up to max (at most QUEUE_NEXT_MAX) into out[0..*n),
 * the first being the one a call now gets. BQ_ERR_UNKNOWN_COUNTER when the
 * number is not configured.
 */
enum bq_err queue_next(struct queue *q, int number, int64_t now, struct ticket *out, int max,
    int *n);

/*
 * Every leg of ticket t, first leg first, into a malloc'ed array *out of *n
 * that the caller frees: t alone when it was never transferred (no read),
 * else as the store holds them.
 */
enum bq_err queue_legs(struct queue *q, const struct ticket *t, struct ticket **out, int *n);

/* Cancel a waiting ticket (id may be an earlier leg of a transferred one: see queue_green). */
enum bq_err queue_cancel(struct queue *q, int64_t id, int64_t now, struct ticket *out);

/*
 * Upgrade a waiting ticket to green category cat (lang, when >= 0, too). When
 * id names a leg that was transferred, the change applies to the ticket's
 * open leg, which *out then holds.
 */
enum bq_err queue_green(struct queue *q, int64_t id, int cat, int lang, int64_t now,
    struct ticket *out);

/*
 * Record ticket id's print state and error (NULL or "": none), and announce
 * it as ticket.print; *out is the ticket as it is now.
 */
enum bq_err queue_set_print(struct queue *q, int64_t id, enum print_state st, const char *error,
    int64_t now, struct ticket *out);

/*
 * A kiosk (or a staff member) calls the lobby manager: help.called goes to
 * the log and the staff's stream with from, the caller's label (a kiosk
 * token's name), and nothing about any ticket changes.
 */
enum bq_err queue_help(struct queue *q, const char *from, int64_t now);

/*
 * The live advice (live_work.h) into the event log: advice.open_counter
 * (open) or advice.cleared with data (taken, even on failure).
 */
enum bq_err queue_advice(struct queue *q, bool open, json_t *data, int64_t now);

/* The whole hall at one instant: what GET /api/v1/queue shows. */
struct queue_view {
	char bday[11];
	int64_t at;
	int64_t last_event_id;           /* subscribe from here to miss nothing */
	struct ticket *waiting;          /* every waiting ticket of the business day */
	int nwaiting;
	struct ticket_pos *pos;          /* pos[i] belongs to waiting[i] */
	int *order[MAX_SERVICES];        /* per service, indexes into waiting in call order */
	int count[MAX_SERVICES];
	int open_counters[MAX_SERVICES]; /* open counters that serve the service */
	struct counter_state counters[MAX_COUNTERS];   /* in config order */
	struct ticket current[MAX_COUNTERS];           /* valid where counters[i].ticket_id */
	struct queue_prompt prompt[MAX_COUNTERS];      /* open ones only (ticket_id != 0) */
	char teller[MAX_COUNTERS][64];                 /* show_staff_number: who is signed in; "" */
};

/*
 * A number that changes whenever the hall of the business day at now
 * changes: two views with the same number and the same now are the same.
 */
/*
 * A change of the API's own (a session, an audit row) in the same
 * transaction as the operations around it: in the batch's, in a savepoint
 * of its own, or alone. fn writes on the store's connection.
 */
struct sqlite3;
enum bq_err queue_write(struct queue *q, enum bq_err (*fn)(struct sqlite3 *db, void *ctx),
    void *ctx);

/* Who the next changes are by (an account name or a device label), named in their events. */
void queue_set_actor(struct queue *q, const char *who);

enum bq_err queue_version(struct queue *q, int64_t now, uint64_t *version);

/*
 * Ticket leg id, or the newest leg of the ticket with token, as
 * store_ticket_get and store_ticket_by_token give them: from memory when
 * it waits or is at a counter (the phones ask often, and must not wait for
 * a commit in flight), else from the store. BQ_ERR_UNKNOWN_TICKET when none.
 */
enum bq_err queue_ticket(struct queue *q, int64_t id, int64_t now, struct ticket *out);
enum bq_err queue_ticket_by_token(struct queue *q, const char *token, int64_t now,
    struct ticket *out);

/* Load the view; free it with queue_view_free (also after a failure). */
enum bq_err queue_view_load(struct queue *q, int64_t now, struct queue_view *v);
void queue_view_free(struct queue_view *v);

/*
 * The view without its tickets (waiting, pos and order stay NULL): the
 * counts, the counters and their current tickets, what the hall display
 * shows. Costs the counters and services, not the tickets.
 */
enum bq_err queue_view_summary(struct queue *q, int64_t now, struct queue_view *v);

/* The place of ticket t at now ({-1, -1} when it is not waiting today). */
enum bq_err queue_position(struct queue *q, const struct ticket *t, int64_t now,
    struct ticket_pos *pos);

/*
 * The places of the n tickets t[0..n) at now into pos[0..n), as
 * queue_position gives them, from one load of the hall: what a batch of
 * prints costs whatever its size.
 */
enum bq_err queue_positions(struct queue *q, const struct ticket *t, int n, int64_t now,
    struct ticket_pos *pos);

/*
 * Read counter number's state and, when it has a current ticket (called or
 * serving), that ticket into *cur. A ticket id that names no current ticket
 * any more reads as none: cs->ticket_id is 0 exactly when there is none.
 */
enum bq_err queue_counter_state(struct queue *q, int number, int64_t now,
    struct counter_state *cs, struct ticket *cur);

/*
 * Make sure every configured counter has a row, and read the hall again at
 * its next use. Called at start and after reload.
 */
enum bq_err queue_sync_counters(struct queue *q);

/*
 * Close what earlier business days left waiting: each such ticket becomes
 * `expired` (ended now) with a ticket.expired event, all in one
 * transaction, so nothing stays waiting for ever and the day's report
 * counts them as left waiting at its close. Cheap when already done for
 * today's business day: the loop calls it on its periodic tick and at
 * start. *n is how many were closed. Never inside a batch.
 */
enum bq_err queue_expire(struct queue *q, int64_t now, int *n);

/*
 * Put no-show leg id back in line (过号重排) as a new waiting leg with the
 * same number and issue time: it is held until its service has had
 * cfg->reinstate_places more calls (policy.h), then goes first. Refused
 * with BQ_ERR_NOT_NO_SHOW (not a no-show, or reinstated already),
 * BQ_ERR_REINSTATE_LIMIT, BQ_ERR_TICKET_EXPIRED (an earlier business day).
 * *out is the new leg.
 */
enum bq_err queue_reinstate(struct queue *q, int64_t id, int64_t now, struct ticket *out);

/*
 * 请评价: open counter number's prompt again for the leg it served last,
 * within 10 minutes of its end and not rated yet (BQ_ERR_NOTHING_TO_RATE).
 * Finishing a ticket opens it by itself.
 */
enum bq_err queue_rating_ask(struct queue *q, int number, int64_t now, struct queue_prompt *out);

/* The keypad showed the prompt for ticket_id: rating.prompted, once. */
enum bq_err queue_rating_shown(struct queue *q, int number, int64_t ticket_id, int64_t now);

/*
 * A press of key (enum rating_key) on counter number's keypad for leg
 * ticket_id: BQ_ERR_RATING_CLOSED unless that prompt is open, then
 * BQ_ERR_ALREADY_RATED when the ticket has a rating. 不满意 raises an alert.
 */
enum bq_err queue_rate_counter(struct queue *q, int number, int64_t ticket_id, int key,
    int64_t now, struct rating *out);

/*
 * The phone page's rating of ticket t (its newest leg): open while it is
 * served and within cfg->rating.phone_window_s of its end and not rated.
 * *r is its rating when there is one (r->key[0] == '\0' when none).
 */
enum bq_err queue_phone_rating(struct queue *q, const struct ticket *t, int64_t now, bool *open,
    int64_t *until, struct rating *r);
enum bq_err queue_rate_phone(struct queue *q, const struct ticket *t, int key, int64_t now,
    struct rating *out);

/* Today's open alerts (不满意 and help calls), oldest first; free *out. */
enum bq_err queue_alerts(struct queue *q, int64_t now, struct alert **out, int *n);

/* Acknowledge alert id: alert.acknowledged with how long it waited. */
enum bq_err queue_alert_ack(struct queue *q, int64_t id, int64_t now, struct alert *out);

/* Free the hall (not the store). The queue may be used again: the hall is then read anew. */
void queue_close(struct queue *q);

#endif
