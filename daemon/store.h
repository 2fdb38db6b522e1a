/*
 * store.h: all of branchq's state in one SQLite database (WAL mode): the
 * tickets, the per-day number sequences, the counters' states and the
 * append-only event log that reports are computed from.
 *
 * One struct store owns the sqlite3 handle and every prepared statement,
 * prepared once at open. Writes happen between store_begin and
 * store_commit; a failed statement leaves the transaction for the caller to
 * roll back, so a change is all or nothing. The store knows nothing of the
 * config or the policy: services are their prefix strings here.
 */
#ifndef BRANCHQ_STORE_H
#define BRANCHQ_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "domain.h"
#include "error.h"
#include "metrics.h"

#define TICKET_NUMBER_MAX 16
#define TICKET_TOKEN_LEN 32          /* hex of 128 random bits */
#define PRINT_ERROR_MAX 160

/* One leg of a ticket: a transfer ends a leg and starts the next with the same number. */
struct ticket {
	int64_t id;
	int64_t origin_id;               /* the first leg's id; == id when never transferred */
	char bday[11];                   /* business date, YYYY-MM-DD */
	char number[TICKET_NUMBER_MAX];  /* "A001" */
	char service[2];                 /* prefix of the current service */
	enum category category;
	enum lang lang;
	enum ticket_status status;
	char token[TICKET_TOKEN_LEN + 1];
	int64_t issued_at;               /* original issue time, unix s; kept across transfers */
	int64_t created_at;              /* when this leg began */
	int64_t called_at;               /* first call of this leg; 0 = not called */
	int64_t recalled_at;             /* last recall; 0 = none */
	int64_t started_at;              /* customer arrived at the counter; 0 = not yet */
	int64_t ended_at;                /* served, no-show, cancelled or transferred; 0 = open */
	int counter;                     /* counter that called it; 0 = none */
	int recalls;
	int64_t transferred_to;          /* next leg; 0 = none */
	enum print_state print_state;    /* the paper, the first leg's; written by store_print_set only */
	char print_error[PRINT_ERROR_MAX]; /* why the last print failed; "" when none */
	int reinstated;                  /* times the ticket was put back in line after a no-show */
	int64_t due_call;                /* a reinstated leg waits until its service has had this
	                                    many calls today (hall.h); 0: never held */
};

struct counter_state {
	int number;
	int paused;
	int64_t paused_at;               /* 0 when open */
	int64_t ticket_id;               /* current ticket; 0 = none */
};

struct store;

/*
 * Open (creating if needed) the database at path, switch it to WAL, and
 * migrate its schema forward. On failure returns NULL and writes a reason
 * into err. The caller owns the result and frees it with store_close.
 */
struct store *store_open(const char *path, char *err, size_t errlen);

/* Finalize every statement, checkpoint and close. NULL is a no-op. */
void store_close(struct store *s);

/* The schema version this build writes (PRAGMA user_version). */
int store_schema_version(void);

/* The connection, for read-only queries of the reports (report.c); owned by s. */
struct sqlite3 *store_db(struct store *s);

enum bq_err store_begin(struct store *s);      /* BEGIN IMMEDIATE */
enum bq_err store_commit(struct store *s);     /* COMMIT; on failure rolled back */

/*
 * Commit on the store's commit thread (group commit: one fsync while the
 * loop goes on). store_commit_start returns false when there is no such
 * thread (then call store_commit). While the commit is in flight the loop
 * must not use the connection; every store function waits for it to end
 * first, so a forgotten case is slow, never unsafe. store_commit_fd becomes
 * readable when it ended; store_commit_take (which waits when it has not)
 * returns its result, failure meaning it was rolled back.
 */
bool store_commit_start(struct store *s);
enum bq_err store_commit_take(struct store *s);
int store_commit_fd(struct store *s);          /* -1 without a commit thread */
void store_commit_drain(struct store *s);      /* read store_commit_fd's count */
void store_rollback(struct store *s);          /* harmless outside a transaction */

/*
 * One change inside a transaction that holds several (group commit):
 * store_savepoint marks its start, store_release keeps it, store_rollback_to
 * undoes it alone. SQLite may roll the whole transaction back on its own
 * after some errors (a full disk, an I/O error): store_in_transaction then
 * turns false, and every change of the transaction is gone.
 */
bool store_in_transaction(struct store *s);
enum bq_err store_savepoint(struct store *s);
enum bq_err store_release(struct store *s);
void store_rollback_to(struct store *s);

/* Next sequence number of service on business date bday (1, 2, …). In a transaction. */
enum bq_err store_next_seq(struct store *s, const char *bday, const char *service, int *seq);

/* Insert t (t->id is ignored and set; origin_id 0 means "this leg"). In a transaction. */
enum bq_err store_ticket_insert(struct store *s, struct ticket *t);

/* Write every mutable field of t over the row t->id. In a transaction. */
enum bq_err store_ticket_update(struct store *s, const struct ticket *t);

/* Read ticket id; BQ_ERR_UNKNOWN_TICKET when there is none. */
enum bq_err store_ticket_get(struct store *s, int64_t id, struct ticket *t);

/* The newest leg of the ticket with this token; BQ_ERR_UNKNOWN_TICKET when there is none. */
enum bq_err store_ticket_by_token(struct store *s, const char *token, struct ticket *t);

/*
 * The waiting tickets of business date bday, in issue order. On success
 * *out is a malloc'ed array of *n tickets (NULL when 0) that the caller frees.
 */
enum bq_err store_waiting(struct store *s, const char *bday, struct ticket **out, int *n);

/* The tickets of business days before bday still waiting, oldest first; *out as store_waiting's. */
enum bq_err store_waiting_before(struct store *s, const char *bday, struct ticket **out, int *n);

/* Every leg of the ticket with this token, first leg first; *out as store_waiting's. */
enum bq_err store_ticket_legs(struct store *s, const char *token, struct ticket **out, int *n);

/* One served leg's service time: what the estimated wait is averaged from. */
struct service_time {
	int64_t id;                      /* the leg */
	int64_t ended_at;
	int64_t duration_s;              /* end - call */
};

/*
 * The last_n served legs of service, newest first (by end time, then id),
 * into out[0..*n).
 */
enum bq_err store_recent_service(struct store *s, const char *service, int last_n,
    struct service_time *out, int *n);

/* Make sure a row exists for counter number (open, idle). In a transaction or not. */
enum bq_err store_counter_ensure(struct store *s, int number);

/* Read counter number's state (a missing row reads as open and idle). */
enum bq_err store_counter_get(struct store *s, int number, struct counter_state *cs);

/* Write counter state. In a transaction. */
enum bq_err store_counter_put(struct store *s, const struct counter_state *cs);

/*
 * Append an event to the log: type such as "ticket.called", the ticket and
 * counter it concerns (0 for none), and its JSON data. Sets *id to the
 * event's id, which increases strictly. In a transaction.
 */
enum bq_err store_event_append(struct store *s, int64_t at, const char *type,
    int64_t ticket_id, int counter, const char *data, int64_t *id);

/* Set *id to the newest event's id, 0 when the log is empty. */
enum bq_err store_last_event_id(struct store *s, int64_t *id);

/* Set *at to the newest event's time (unix s), 0 when the log is empty: the clock's floor. */
enum bq_err store_last_event_time(struct store *s, int64_t *at);

/*
 * Call fn for up to limit events with id > after, in id order. fn's data
 * pointer is valid only during the call. Stops early when fn returns non-zero.
 */
enum bq_err store_events_after(struct store *s, int64_t after, int limit,
    int (*fn)(void *arg, int64_t id, const char *type, const char *data), void *arg);

/*
 * Set the print state and error ("" or NULL: none) of ticket id's paper,
 * which every leg of the ticket shares: it is kept on the first leg's row.
 * In a transaction.
 */
enum bq_err store_print_set(struct store *s, int64_t id, enum print_state st, const char *error);

/*
 * The newest leg of each ticket of business date bday whose paper is in
 * state st, only those waiting when waiting_only, in issue order, at most
 * limit of them (0: all); *out is malloc'ed (NULL when 0) and the caller
 * frees it.
 */
enum bq_err store_print_pending(struct store *s, const char *bday, enum print_state st,
    bool waiting_only, int limit, struct ticket **out, int *n);

/*
 * Check the database file with PRAGMA quick_check (it reads every page:
 * O(size), see docs/operator.md). 0 when sound; -1 with what SQLite found,
 * and what to do, in err.
 */
int store_quick_check(struct store *s, char *err, size_t errlen);

/*
 * How many legs of each service letter (calls['A' - 'A'] …) business date
 * bday has called so far: what a reinstated ticket's due_call counts in.
 */
enum bq_err store_day_calls(struct store *s, const char *bday, int calls[26]);

/* A rating as the store keeps it: one per ticket (its first leg). */
struct rating {
	int64_t origin_id;
	int64_t ticket_id;               /* the leg that was rated */
	char bday[11];
	int counter;
	char teller[64];                 /* who finished the leg; "" when not recorded */
	char key[16];                    /* "satisfied", …: config.h's rating keys */
	char source[8];                  /* "counter" or "phone" */
	int64_t at;
};

/* Record r (its ticket has none: store_rating_get first). In a transaction. */
enum bq_err store_rating_insert(struct store *s, const struct rating *r);

/* The rating of ticket origin into *r; BQ_ERR_NOT_FOUND when it has none. */
enum bq_err store_rating_get(struct store *s, int64_t origin, struct rating *r);

/* An alert to the lobby: a 不满意 rating or a kiosk's help call, named by its event. */
struct alert {
	int64_t id;                      /* the event that raised it */
	char bday[11];
	char kind[16];                   /* "dissatisfied" or "help" */
	int64_t at;
	int counter;                     /* 0: none */
	char teller[64];
	char number[TICKET_NUMBER_MAX];
	char from[64];                   /* the kiosk's name, for help */
	int64_t acked_at;                /* 0: open */
	char acked_by[64];
};

/* Record a. In a transaction. */
enum bq_err store_alert_insert(struct store *s, const struct alert *a);

/* The uplink's cursor (the last event the head office committed) and this database's id. */
#define STORE_INSTALL_ID_MAX 33
enum bq_err store_uplink_get(struct store *s, int64_t *sent, char install_id[STORE_INSTALL_ID_MAX]);
/* Advance the cursor to sent (never back), inside the caller's transaction on db. */
enum bq_err store_uplink_set(struct sqlite3 *db, int64_t sent);

/* Alert id into *a; BQ_ERR_UNKNOWN_ALERT when none. */
enum bq_err store_alert_get(struct store *s, int64_t id, struct alert *a);

/* Mark alert id acknowledged at by who. In a transaction. */
enum bq_err store_alert_ack(struct store *s, int64_t id, int64_t at, const char *who);

/* The open alerts of bday, oldest first, into a malloc'ed *out of *n (NULL when 0). */
enum bq_err store_alerts_open(struct store *s, const char *bday, struct alert **out, int *n);

/* The newest leg of each ticket of business date bday (malloc'ed, as store_waiting). */
enum bq_err store_day_tickets(struct store *s, const char *bday, struct ticket **out, int *n);

/* The kinds of storage failure /healthz and /metrics count. */
enum store_err_class {
	STORE_ERR_FULL,              /* SQLITE_FULL: no space on the device */
	STORE_ERR_IO,                /* SQLITE_IOERR (a file-size limit too), SQLITE_CANTOPEN */
	STORE_ERR_READONLY,          /* SQLITE_READONLY */
	STORE_ERR_CORRUPT,           /* SQLITE_CORRUPT, SQLITE_NOTADB */
	STORE_ERR_OTHER,             /* anything else: busy, constraint, … */
	STORE_ERR_CLASSES
};

/* What the store has seen since it opened: read on the loop (store_stats). */
struct store_stats {
	uint64_t errors[STORE_ERR_CLASSES];
	int64_t last_error_at;       /* wall clock of the newest storage error (not OTHER); 0 none */
	bool failing;                /* that error is newer than the last commit that held */
	uint64_t commits, commit_failures;
	struct metrics_hist batch;   /* changes per commit (savepoints released; 1 alone) */
	struct metrics_hist seconds; /* how long each COMMIT took (its fsync) */
};

/* A copy of the counts (never blocks on a commit in flight). */
void store_stats(struct store *s, struct store_stats *out);

/* The name of a class, "full", for the metrics' labels. */
const char *store_err_class_name(enum store_err_class c);

/*
 * Limit the database to max_pages pages (PRAGMA max_page_count), so tests
 * can fill the "disk" without filling the machine's. 0 leaves it unlimited.
 */
enum bq_err store_limit_pages(struct store *s, int64_t max_pages);

#endif
