/*
 * store.c: the SQLite database behind branchq.
 *
 * Durability: WAL with synchronous=FULL, so a ticket acknowledged to a
 * client survives kill -9 and a power cut alike. Every change runs inside
 * BEGIN IMMEDIATE … COMMIT, so two writers can never interleave and a
 * failure (disk full, I/O error) rolls the whole change back.
 *
 * The schema version is PRAGMA user_version; migrations[] holds the steps
 * from each version to the next and only ever grows. The events table is
 * append-only: triggers refuse UPDATE and DELETE, because reports are
 * computed from it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "bday.h"
#include "log.h"
#include "store.h"

static const char *const migrations[] = {
	/* 0 -> 1: the first schema. */
	"CREATE TABLE sequences ("
	"  bday TEXT NOT NULL, service TEXT NOT NULL, last INTEGER NOT NULL,"
	"  PRIMARY KEY (bday, service)) WITHOUT ROWID;"
	"CREATE TABLE tickets ("
	"  id INTEGER PRIMARY KEY,"
	"  origin_id INTEGER NOT NULL,"
	"  bday TEXT NOT NULL,"
	"  number TEXT NOT NULL,"
	"  service TEXT NOT NULL,"
	"  category TEXT NOT NULL,"
	"  lang TEXT NOT NULL,"
	"  status TEXT NOT NULL,"
	"  token TEXT NOT NULL,"
	"  issued_at INTEGER NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  called_at INTEGER,"
	"  recalled_at INTEGER,"
	"  started_at INTEGER,"
	"  ended_at INTEGER,"
	"  counter INTEGER,"
	"  recalls INTEGER NOT NULL DEFAULT 0,"
	"  transferred_to INTEGER);"
	/* A number is issued once a day: only first legs are unique, transfers reuse it. */
	"CREATE UNIQUE INDEX tickets_number ON tickets(bday, number) WHERE id = origin_id;"
	"CREATE INDEX tickets_status ON tickets(bday, status);"
	"CREATE INDEX tickets_served ON tickets(service, status, ended_at);"
	"CREATE TABLE counters ("
	"  number INTEGER PRIMARY KEY,"
	"  paused INTEGER NOT NULL DEFAULT 0,"
	"  paused_at INTEGER,"
	"  ticket_id INTEGER);"
	"CREATE TABLE events ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  at INTEGER NOT NULL,"
	"  type TEXT NOT NULL,"
	"  ticket_id INTEGER,"
	"  counter INTEGER,"
	"  data TEXT NOT NULL);"
	"CREATE TRIGGER events_no_update BEFORE UPDATE ON events"
	"  BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;"
	"CREATE TRIGGER events_no_delete BEFORE DELETE ON events"
	"  BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;",
	/* 1 -> 2: the customer's phone page finds its ticket by token. */
	"CREATE INDEX tickets_token ON tickets(token);",
	/* 2 -> 3: reports find each counter's pauses and resumes without reading the whole log. */
	"CREATE INDEX events_counter_state ON events(type, counter, at);",
	/* 3 -> 4: each ticket's paper: none, queued, printing, printed, failed, and why it failed. */
	"ALTER TABLE tickets ADD COLUMN print_state TEXT NOT NULL DEFAULT 'none';"
	"ALTER TABLE tickets ADD COLUMN print_error TEXT;",
	/*
	 * 4 -> 5: staff accounts, device and API tokens, sessions and the audit
	 * trail (auth.c). Only hashes of tokens and session ids are kept (a
 * device has no session: its token is its credential);
	 * auth_gen counts changes made outside the daemon (the command line), so
	 * the daemon reloads what it keeps in memory only when one happened.
	 */
	"CREATE TABLE users ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE COLLATE NOCASE,"
	"  role TEXT NOT NULL,"
	"  pwhash TEXT NOT NULL,"
	"  disabled INTEGER NOT NULL DEFAULT 0,"
	"  created_at INTEGER NOT NULL);"
	"CREATE TABLE tokens ("
	"  id INTEGER PRIMARY KEY,"
	"  hash TEXT NOT NULL UNIQUE,"
	"  role TEXT NOT NULL,"
	"  counter INTEGER,"
	"  label TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  revoked_at INTEGER);"
	"CREATE TABLE sessions ("
	"  hash TEXT PRIMARY KEY,"
	"  user_id INTEGER NOT NULL REFERENCES users(id),"
	"  counter INTEGER,"
	"  csrf TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  expires_at INTEGER NOT NULL);"
	"CREATE TABLE auth_gen (n INTEGER NOT NULL);"
	"INSERT INTO auth_gen VALUES (0);"
	"CREATE TABLE audit ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  at INTEGER NOT NULL,"
	"  who TEXT NOT NULL,"
	"  role TEXT NOT NULL,"
	"  counter INTEGER,"
	"  action TEXT NOT NULL,"
	"  ticket_id INTEGER,"
	"  result TEXT NOT NULL,"
	"  address TEXT NOT NULL);"
	"CREATE INDEX audit_at ON audit(at);"
	"CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit"
	"  BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;"
	"CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit"
	"  BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;",
	/*
	 * 5 -> 6: the daily report of each day `branchqd prune` removed, as the
	 * JSON the API answered for it just before (maint_cli.c); report_build
	 * answers a pruned day from here.
	 */
	"CREATE TABLE daily_summaries ("
	"  bday TEXT PRIMARY KEY,"
	"  report TEXT NOT NULL,"
	"  pruned_at INTEGER NOT NULL) WITHOUT ROWID;",
	/*
	 * 6 -> 7: a no-show put back in line (reinstated, due_call: hall.h);
	 * the customers' ratings, one per ticket; the lobby's alerts, each
	 * named by the event that raised it, and who answered it.
	 */
	"ALTER TABLE tickets ADD COLUMN reinstated INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE tickets ADD COLUMN due_call INTEGER NOT NULL DEFAULT 0;"
	"CREATE TABLE ratings ("
	"  origin_id INTEGER PRIMARY KEY,"
	"  ticket_id INTEGER NOT NULL,"
	"  bday TEXT NOT NULL,"
	"  counter INTEGER,"
	"  teller TEXT,"
	"  key TEXT NOT NULL,"
	"  source TEXT NOT NULL,"
	"  at INTEGER NOT NULL);"
	"CREATE TABLE alerts ("
	"  id INTEGER PRIMARY KEY,"
	"  bday TEXT NOT NULL,"
	"  kind TEXT NOT NULL,"
	"  at INTEGER NOT NULL,"
	"  counter INTEGER,"
	"  teller TEXT,"
	"  number TEXT,"
	"  source TEXT,"
	"  acked_at INTEGER,"
	"  acked_by TEXT);"
	"CREATE INDEX alerts_open ON alerts(bday, acked_at);",
	/*
	 * 7 -> 8: the uplink to the head office (uplink.h): the last event it
	 * has committed there, and this database's own random id, so a second
	 * database under the same branch_id is told apart at the head office.
	 */
	"CREATE TABLE uplink ("
	"  id INTEGER PRIMARY KEY CHECK (id = 1),"
	"  sent INTEGER NOT NULL,"
	"  install_id TEXT NOT NULL);"
	"INSERT INTO uplink VALUES (1, 0, lower(hex(randomblob(16))));",
};

#define NMIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

/*
 * The paper belongs to the ticket, not to a leg: its print state and error
 * live on the first leg's row and every leg reads them from there, so a
 * transfer never leaves a leg with a stale copy (a later leg's own columns
 * are unused).
 */
#define TICKET_COLS "id, origin_id, bday, number, service, category, lang, status, token, " \
	"issued_at, created_at, called_at, recalled_at, started_at, ended_at, counter, recalls, " \
	"transferred_to, (SELECT o.print_state FROM tickets o WHERE o.id = tickets.origin_id), " \
	"(SELECT o.print_error FROM tickets o WHERE o.id = tickets.origin_id), reinstated, due_call"

enum stmt {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_SAVEPOINT,
	ST_RELEASE,
	ST_ROLLBACK_TO,
	ST_NEXT_SEQ,
	ST_SEQ_GET,
	ST_TICKET_INSERT,
	ST_SET_ORIGIN,
	ST_TICKET_UPDATE,
	ST_TICKET_GET,
	ST_TICKET_BY_TOKEN,
	ST_WAITING,
	ST_WAITING_BEFORE,
	ST_RECENT_SERVICE,
	ST_COUNTER_ENSURE,
	ST_COUNTER_GET,
	ST_COUNTER_PUT,
	ST_EVENT_APPEND,
	ST_PRINT_SET,
	ST_PRINT_PENDING,
	ST_LAST_EVENT,
	ST_EVENTS_AFTER,
	ST_DAY_TICKETS,
	ST_TICKET_LEGS,
	ST_DAY_CALLS,
	ST_RATING_INSERT,
	ST_RATING_GET,
	ST_ALERT_INSERT,
	ST_ALERT_GET,
	ST_ALERT_ACK,
	ST_ALERTS_OPEN,
	ST_COUNT
};

/*
 * No RETURNING: SQLite gathers a RETURNING statement's rows in a temporary
 * b-tree it opens and frees every time, which cost more than the inserts
 * themselves; ids come from sqlite3_last_insert_rowid() instead. The inserts
 * are INSERT … SELECT, not VALUES, so that SQLite gives each a statement
 * journal: a statement that hits a full disk is undone alone, and the rest
 * of its batch commits. A plain single-row INSERT has none, and SQLITE_FULL
 * then rolls back the whole transaction.
 */
static const char *const stmt_sql[ST_COUNT] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_SAVEPOINT] = "SAVEPOINT op",
	[ST_RELEASE] = "RELEASE op",
	[ST_ROLLBACK_TO] = "ROLLBACK TO op",
	[ST_NEXT_SEQ] = "INSERT INTO sequences(bday, service, last) SELECT ?1, ?2, 1 WHERE true "
	    "ON CONFLICT(bday, service) DO UPDATE SET last = last + 1",
	[ST_SEQ_GET] = "SELECT last FROM sequences WHERE bday = ?1 AND service = ?2",
	[ST_TICKET_INSERT] = "INSERT INTO tickets(origin_id, bday, number, service, category, lang, "
	    "status, token, issued_at, created_at, called_at, recalled_at, started_at, ended_at, "
	    "counter, recalls, transferred_to, print_state, reinstated, due_call) SELECT ?1, ?2, ?3, "
	    "?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20",
	[ST_SET_ORIGIN] = "UPDATE tickets SET origin_id = id WHERE id = ?1",
	[ST_TICKET_UPDATE] = "UPDATE tickets SET service = ?2, category = ?3, lang = ?4, status = ?5, "
	    "called_at = ?6, recalled_at = ?7, started_at = ?8, ended_at = ?9, counter = ?10, "
	    "recalls = ?11, transferred_to = ?12, due_call = ?13 WHERE id = ?1",
	[ST_TICKET_GET] = "SELECT " TICKET_COLS " FROM tickets WHERE id = ?1",
	/* Every leg of a ticket shares its token; the newest leg is the ticket now. */
	[ST_TICKET_BY_TOKEN] = "SELECT " TICKET_COLS " FROM tickets WHERE token = ?1 "
	    "ORDER BY id DESC LIMIT 1",
	[ST_WAITING] = "SELECT " TICKET_COLS " FROM tickets WHERE bday = ?1 AND status = 'waiting' "
	    "ORDER BY id",
	/* What earlier business days left waiting: closed at the day reset (queue_expire). */
	[ST_WAITING_BEFORE] = "SELECT " TICKET_COLS " FROM tickets WHERE bday < ?1 "
	    "AND status = 'waiting' ORDER BY id",
	/* Newest first, ties by id, so memory (hall.c) keeps exactly the same rows. */
	[ST_RECENT_SERVICE] = "SELECT id, ended_at, ended_at - called_at FROM tickets "
	    "WHERE service = ?1 AND status = 'served' AND called_at IS NOT NULL "
	    "ORDER BY ended_at DESC, id DESC LIMIT ?2",
	[ST_COUNTER_ENSURE] = "INSERT OR IGNORE INTO counters(number) VALUES (?1)",
	[ST_COUNTER_GET] = "SELECT paused, paused_at, ticket_id FROM counters WHERE number = ?1",
	[ST_COUNTER_PUT] = "INSERT INTO counters(number, paused, paused_at, ticket_id) "
	    "VALUES (?1, ?2, ?3, ?4) ON CONFLICT(number) DO UPDATE SET paused = ?2, paused_at = ?3, "
	    "ticket_id = ?4",
	[ST_EVENT_APPEND] = "INSERT INTO events(at, type, ticket_id, counter, data) "
	    "SELECT ?1, ?2, ?3, ?4, ?5",
	[ST_PRINT_SET] = "UPDATE tickets SET print_state = ?2, print_error = ?3 "
	    "WHERE id = (SELECT origin_id FROM tickets WHERE id = ?1)",
	/* The newest leg (no transferred_to) of each ticket whose paper is in state ?2. */
	[ST_PRINT_PENDING] = "SELECT " TICKET_COLS " FROM tickets WHERE bday = ?1 AND "
	    "transferred_to IS NULL AND (?3 = 0 OR status = 'waiting') AND "
	    "(SELECT o.print_state FROM tickets o WHERE o.id = tickets.origin_id) = ?2 "
	    "ORDER BY origin_id LIMIT ?4",
	[ST_LAST_EVENT] = "SELECT coalesce(max(id), 0) FROM events",
	[ST_EVENTS_AFTER] = "SELECT id, type, data FROM events WHERE id > ?1 ORDER BY id LIMIT ?2",
	[ST_DAY_TICKETS] = "SELECT " TICKET_COLS " FROM tickets WHERE bday = ?1 AND "
	    "transferred_to IS NULL ORDER BY origin_id",
	/* Every leg of a ticket shares its token: its transfers, first leg first. */
	[ST_TICKET_LEGS] = "SELECT " TICKET_COLS " FROM tickets WHERE token = ?1 ORDER BY id",
	[ST_DAY_CALLS] = "SELECT service, count(*) FROM tickets WHERE bday = ?1 AND "
	    "called_at IS NOT NULL GROUP BY service",
	[ST_RATING_INSERT] = "INSERT INTO ratings(origin_id, ticket_id, bday, counter, teller, key, "
	    "source, at) SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8",
	[ST_RATING_GET] = "SELECT origin_id, ticket_id, bday, counter, coalesce(teller, ''), key, "
	    "source, at FROM ratings WHERE origin_id = ?1",
	[ST_ALERT_INSERT] = "INSERT INTO alerts(id, bday, kind, at, counter, teller, number, source) "
	    "SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8",
	[ST_ALERT_GET] = "SELECT id, bday, kind, at, coalesce(counter, 0), coalesce(teller, ''), "
	    "coalesce(number, ''), coalesce(source, ''), coalesce(acked_at, 0), "
	    "coalesce(acked_by, '') FROM alerts WHERE id = ?1",
	[ST_ALERT_ACK] = "UPDATE alerts SET acked_at = ?2, acked_by = ?3 WHERE id = ?1 AND "
	    "acked_at IS NULL",
	[ST_ALERTS_OPEN] = "SELECT id, bday, kind, at, coalesce(counter, 0), coalesce(teller, ''), "
	    "coalesce(number, ''), coalesce(source, ''), 0, '' FROM alerts WHERE bday = ?1 AND "
	    "acked_at IS NULL ORDER BY id",
};

/*
 * The WAL is checkpointed by a thread of its own on a connection of its
 * own, never in a commit on the loop: SQLite's automatic checkpoint would
 * copy pages into the database file and fsync it inside whichever commit
 * crossed the threshold, a stall of tens of milliseconds for every request
 * of that batch. A passive checkpoint never blocks the writer.
 *
 * A commit appends one frame for every page it changed, and issuing one
 * ticket changes a page of each b-tree it touches: the ticket, its four
 * indexes, the day's sequence, the event and its index, the audit row and
 * its index, and sqlite_sequence (11 frames, 45 KiB); a group commit shares
 * those pages among its batch. So on a quiet day the WAL is checkpointed
 * every 90 or so tickets and stays under about 4 MiB (docs/performance.md).
 */
#define STORE_CHECKPOINT_FRAMES 1000
/*
 * A checkpoint that copied every frame lets the next commit start the WAL
 * again from its beginning, and SQLite then cuts the file down to
 * journal_size_limit: after a burst that outran the checkpointer (a
 * benchmark, a restore of the day's backlog) the file shrinks back to what
 * STORE_CHECKPOINT_FRAMES frames of 4 KiB pages take (a frame is the page
 * and a 24-byte header; the WAL a 32-byte header), instead of keeping its
 * largest size for ever.
 */
#define STORE_WAL_LIMIT_BYTES 4120032   /* 32 + 1000 * (4096 + 24) */
#define STORE_STR_(x) #x
#define STORE_STR(x) STORE_STR_(x)
_Static_assert(STORE_WAL_LIMIT_BYTES == 32 + STORE_CHECKPOINT_FRAMES * (4096 + 24),
    "journal_size_limit holds STORE_CHECKPOINT_FRAMES frames");
/*
 * Under a load that never pauses, a passive checkpoint may never catch up,
 * and the WAL would grow without end: past this many frames (about 64 MB)
 * the checkpointer restarts it, which holds the writer for that checkpoint.
 * A branch's day never comes near it; a benchmark does.
 */
#define STORE_WAL_HARD_FRAMES 16000

struct checkpointer {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool started, want, stop;
	sqlite3 *db;
};

/*
 * The commit of a group of changes runs on a thread of its own, so the loop
 * goes on serving reads from memory while the fsync takes its time. While a
 * commit is in flight the loop must not touch the connection: every use of
 * it (stmt_get, store_db) first waits for the commit to end.
 */
struct committer {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool started, stop;
	bool inflight;               /* a commit was started and not yet taken */
	bool running;                /* the thread has not finished it */
	enum bq_err result;
	double seconds;              /* how long it took */
	int fd;                      /* eventfd: one count per finished commit */
};

/*
 * What /healthz and /metrics read (store_stats). The error counts are
 * atomic: a commit fails on the committer's thread. The rest is the loop's.
 */
struct store_counts {
	atomic_uint_fast64_t errors[STORE_ERR_CLASSES];
	atomic_int_fast64_t last_error_at, last_error_ms;
	int64_t last_ok_ms;          /* the last commit that held (monotonic) */
	int ops;                     /* changes released into the open transaction */
	uint64_t commits, commit_failures;
	struct metrics_hist batch, seconds;
};

struct store {
	sqlite3 *db;
	sqlite3_stmt *st[ST_COUNT];
	struct checkpointer ck;
	struct committer cm;
	struct store_counts n;
};

static enum bq_err store_commit_now(struct store *s);

static void *
committer_main(void *arg)
{
	struct store *s = arg;
	struct committer *cm = &s->cm;
	uint64_t one = 1;

	pthread_mutex_lock(&cm->mu);
	for (;;) {
		while (!cm->stop && !cm->running)
			pthread_cond_wait(&cm->cv, &cm->mu);
		if (cm->stop)
			break;
		pthread_mutex_unlock(&cm->mu);
		double t0 = metrics_clock();
		enum bq_err e = store_commit_now(s);
		double took = metrics_clock() - t0;
		pthread_mutex_lock(&cm->mu);
		cm->result = e;
		cm->seconds = took;
		cm->running = false;
		pthread_cond_broadcast(&cm->cv);
		if (write(cm->fd, &one, sizeof(one)) != (ssize_t)sizeof(one))
			log_warn("commit: eventfd");
	}
	pthread_mutex_unlock(&cm->mu);
	return NULL;
}

static int
committer_start(struct store *s)
{
	struct committer *cm = &s->cm;

	if ((cm->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0)
		return -1;
	pthread_mutex_init(&cm->mu, NULL);
	pthread_cond_init(&cm->cv, NULL);
	if (pthread_create(&cm->thread, NULL, committer_main, s) != 0) {
		close(cm->fd);
		cm->fd = -1;
		pthread_mutex_destroy(&cm->mu);
		pthread_cond_destroy(&cm->cv);
		return -1;
	}
	cm->started = true;
	return 0;
}

/* Block until a commit in flight has ended (it stays to be taken by store_commit_take). */
static void
committer_wait(struct store *s)
{
	struct committer *cm = &s->cm;

	if (!cm->inflight)
		return;
	pthread_mutex_lock(&cm->mu);
	while (cm->running)
		pthread_cond_wait(&cm->cv, &cm->mu);
	pthread_mutex_unlock(&cm->mu);
}

static void
committer_stop(struct store *s)
{
	struct committer *cm = &s->cm;

	if (!cm->started)
		return;
	committer_wait(s);
	pthread_mutex_lock(&cm->mu);
	cm->stop = true;
	pthread_cond_signal(&cm->cv);
	pthread_mutex_unlock(&cm->mu);
	pthread_join(cm->thread, NULL);
	pthread_mutex_destroy(&cm->mu);
	pthread_cond_destroy(&cm->cv);
	close(cm->fd);
	cm->started = false;
}

static void *
checkpointer_main(void *arg)
{
	struct checkpointer *ck = arg;

	pthread_mutex_lock(&ck->mu);
	while (!ck->stop) {
		if (!ck->want) {
			pthread_cond_wait(&ck->cv, &ck->mu);
			continue;
		}
		ck->want = false;
		pthread_mutex_unlock(&ck->mu);
		int log = 0, done = 0;
		if (sqlite3_wal_checkpoint_v2(ck->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done) !=
		    SQLITE_OK)
			log_warnx("database: checkpoint: %s", sqlite3_errmsg(ck->db));
		else if (log - done > STORE_WAL_HARD_FRAMES &&
		    sqlite3_wal_checkpoint_v2(ck->db, NULL, SQLITE_CHECKPOINT_RESTART, NULL, NULL) !=
		    SQLITE_OK)
			log_warnx("database: checkpoint (restart): %s", sqlite3_errmsg(ck->db));
		pthread_mutex_lock(&ck->mu);
	}
	pthread_mutex_unlock(&ck->mu);
	return NULL;
}

/* After each commit (sqlite3_wal_hook): a long enough WAL wakes the checkpointer. */
static int
store_wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
	struct checkpointer *ck = arg;

	(void)db;
	(void)name;
	if (frames >= STORE_CHECKPOINT_FRAMES) {
		pthread_mutex_lock(&ck->mu);
		ck->want = true;
		pthread_cond_signal(&ck->cv);
		pthread_mutex_unlock(&ck->mu);
	}
	return SQLITE_OK;
}

/* Start the checkpointer for a database file (none for :memory:); -1: SQLite's own is kept. */
static int
checkpointer_start(struct store *s, const char *path)
{
	struct checkpointer *ck = &s->ck;

	if (strcmp(path, ":memory:") == 0 || path[0] == '\0')
		return 0;
	if (sqlite3_open_v2(path, &ck->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK) {
		sqlite3_close(ck->db);
		ck->db = NULL;
		return -1;
	}
	sqlite3_busy_timeout(ck->db, 2000);
	/* A connection reads the header, and learns the file is in WAL mode, at its first statement. */
	if (sqlite3_exec(ck->db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL) != SQLITE_OK) {
		sqlite3_close(ck->db);
		ck->db = NULL;
		return -1;
	}
	pthread_mutex_init(&ck->mu, NULL);
	pthread_cond_init(&ck->cv, NULL);
	if (pthread_create(&ck->thread, NULL, checkpointer_main, ck) != 0) {
		pthread_mutex_destroy(&ck->mu);
		pthread_cond_destroy(&ck->cv);
		sqlite3_close(ck->db);
		ck->db = NULL;
		return -1;
	}
	ck->started = true;
	sqlite3_wal_autocheckpoint(s->db, 0);
	sqlite3_wal_hook(s->db, store_wal_hook, ck);
	return 0;
}

static void
checkpointer_stop(struct store *s)
{
	struct checkpointer *ck = &s->ck;

	if (!ck->started)
		return;
	pthread_mutex_lock(&ck->mu);
	ck->stop = true;
	pthread_cond_signal(&ck->cv);
	pthread_mutex_unlock(&ck->mu);
	pthread_join(ck->thread, NULL);
	pthread_mutex_destroy(&ck->mu);
	pthread_cond_destroy(&ck->cv);
	sqlite3_close(ck->db);
	ck->started = false;
}

int
store_schema_version(void)
{
	return NMIGRATIONS;
}

static const char *const err_class_names[STORE_ERR_CLASSES] = {
	[STORE_ERR_FULL] = "full", [STORE_ERR_IO] = "io", [STORE_ERR_READONLY] = "readonly",
	[STORE_ERR_CORRUPT] = "corrupt", [STORE_ERR_OTHER] = "other",
};

const char *
store_err_class_name(enum store_err_class c)
{
	return c >= 0 && c < STORE_ERR_CLASSES ? err_class_names[c] : "other";
}

/* Count a failure by its class; may run on the committer's thread. */
static void
store_count_error(struct store *s, int rc)
{
	enum store_err_class c;

	switch (rc & 0xff) {
	case SQLITE_FULL: c = STORE_ERR_FULL; break;
	case SQLITE_IOERR: case SQLITE_CANTOPEN: c = STORE_ERR_IO; break;
	case SQLITE_READONLY: c = STORE_ERR_READONLY; break;
	case SQLITE_CORRUPT: case SQLITE_NOTADB: c = STORE_ERR_CORRUPT; break;
	default: c = STORE_ERR_OTHER; break;
	}
	atomic_fetch_add(&s->n.errors[c], 1);
	if (c != STORE_ERR_OTHER) {
		atomic_store(&s->n.last_error_at, (int64_t)time(NULL));
		atomic_store(&s->n.last_error_ms, mono_ms());
	}
}

/* A commit ended (on the loop): count it, its size and its time. */
static void
store_count_commit(struct store *s, enum bq_err e, double seconds)
{
	s->n.commits++;
	if (e != BQ_OK)
		s->n.commit_failures++;
	else
		s->n.last_ok_ms = mono_ms();
	metrics_hist_observe(&s->n.batch, metrics_batch_bounds, METRICS_BATCH_BOUNDS,
	    s->n.ops > 0 ? s->n.ops : 1);
	metrics_hist_observe(&s->n.seconds, metrics_commit_bounds, METRICS_COMMIT_BOUNDS, seconds);
	s->n.ops = 0;
}

void
store_stats(struct store *s, struct store_stats *out)
{
	int64_t err_ms = atomic_load(&s->n.last_error_ms);

	memset(out, 0, sizeof(*out));
	for (int i = 0; i < STORE_ERR_CLASSES; i++)
		out->errors[i] = atomic_load(&s->n.errors[i]);
	out->last_error_at = atomic_load(&s->n.last_error_at);
	out->failing = err_ms != 0 && err_ms >= s->n.last_ok_ms;
	out->commits = s->n.commits;
	out->commit_failures = s->n.commit_failures;
	out->batch = s->n.batch;
	out->seconds = s->n.seconds;
}

/*
 * Map a SQLite result to branchq's vocabulary, logging the database's words.
 * SQLITE_FULL (no space on the device) says storage_full; a database that
 * cannot be written (a read-only file system or file, a write or sync the
 * disk or a file-size limit refused) says storage_unwritable: both may
 * clear without a restart. Any other failure is storage_error.
 */
static enum bq_err
store_fail(struct store *s, const char *what)
{
	int rc = sqlite3_extended_errcode(s->db);
	int sys = sqlite3_system_errno(s->db);

	log_warnx("database: %s: %s (%d%s%s)", what, sqlite3_errmsg(s->db), rc,
	    sys ? ", " : "", sys ? strerror(sys) : "");
	store_count_error(s, rc);
	if ((rc & 0xff) == SQLITE_FULL)
		return BQ_ERR_STORAGE_FULL;
	if ((rc & 0xff) == SQLITE_READONLY || rc == SQLITE_IOERR_WRITE ||
	    rc == SQLITE_IOERR_FSYNC || rc == SQLITE_IOERR_TRUNCATE || sys == EROFS)
		return BQ_ERR_STORAGE_UNWRITABLE;
	return BQ_ERR_STORAGE;
}

/* Reset a statement and clear its bindings, ready for the next use. */
static sqlite3_stmt *
stmt_get(struct store *s, enum stmt which)
{
	sqlite3_stmt *st = s->st[which];

	committer_wait(s);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return st;
}

/*
 * Reset st after its last step returned rc: BQ_OK when that was SQLITE_DONE,
 * else the failure (read before the reset, which clears the message).
 */
static enum bq_err
stmt_end(struct store *s, sqlite3_stmt *st, int rc, const char *what)
{
	enum bq_err e = rc == SQLITE_DONE ? BQ_OK : store_fail(s, what);

	sqlite3_reset(st);
	return e;
}

/* Run a statement that returns no rows (or whose rows are not wanted). */
static enum bq_err
stmt_done(struct store *s, sqlite3_stmt *st, const char *what)
{
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		;
	return stmt_end(s, st, rc, what);
}

/* Step a statement that returns exactly one row whose column 0 is an integer. */
static enum bq_err
stmt_int64(struct store *s, sqlite3_stmt *st, const char *what, int64_t *out)
{
	int rc = sqlite3_step(st);

	if (rc != SQLITE_ROW)
		return stmt_end(s, st, rc == SQLITE_DONE ? SQLITE_ERROR : rc, what);
	*out = sqlite3_column_int64(st, 0);
	return stmt_done(s, st, what);
}

/* Bind 0 as NULL: the schema keeps "not yet" as NULL, the structs as 0. */
static void
bind_opt(sqlite3_stmt *st, int i, int64_t v)
{
	if (v)
		sqlite3_bind_int64(st, i, v);
	else
		sqlite3_bind_null(st, i);
}

static void
copy_text(char *dst, size_t len, sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	snprintf(dst, len, "%s", t ? (const char *)t : "");
}

/* Read a row of TICKET_COLS. Unknown enum names (a newer database) read as defaults. */
static void
ticket_from_row(sqlite3_stmt *st, struct ticket *t)
{
	int v;

	memset(t, 0, sizeof(*t));
	t->id = sqlite3_column_int64(st, 0);
	t->origin_id = sqlite3_column_int64(st, 1);
	copy_text(t->bday, sizeof(t->bday), st, 2);
	copy_text(t->number, sizeof(t->number), st, 3);
	copy_text(t->service, sizeof(t->service), st, 4);
	v = category_parse((const char *)sqlite3_column_text(st, 5));
	t->category = v < 0 ? CAT_NORMAL : (enum category)v;
	v = lang_parse((const char *)sqlite3_column_text(st, 6));
	t->lang = v < 0 ? LANG_ZH : (enum lang)v;
	v = status_parse((const char *)sqlite3_column_text(st, 7));
	t->status = v < 0 ? TS_CANCELLED : (enum ticket_status)v;
	copy_text(t->token, sizeof(t->token), st, 8);
	t->issued_at = sqlite3_column_int64(st, 9);
	t->created_at = sqlite3_column_int64(st, 10);
	t->called_at = sqlite3_column_int64(st, 11);
	t->recalled_at = sqlite3_column_int64(st, 12);
	t->started_at = sqlite3_column_int64(st, 13);
	t->ended_at = sqlite3_column_int64(st, 14);
	t->counter = sqlite3_column_int(st, 15);
	t->recalls = sqlite3_column_int(st, 16);
	t->transferred_to = sqlite3_column_int64(st, 17);
	v = print_state_parse((const char *)sqlite3_column_text(st, 18));
	t->print_state = v < 0 ? PS_NONE : (enum print_state)v;
	copy_text(t->print_error, sizeof(t->print_error), st, 19);
	t->reinstated = sqlite3_column_int(st, 20);
	t->due_call = sqlite3_column_int64(st, 21);
}

static int
store_migrate(struct store *s, char *err, size_t errlen)
{
	sqlite3_stmt *st;
	int version = -1;
	char *msg = NULL;

	if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			version = sqlite3_column_int(st, 0);
		sqlite3_finalize(st);
	}
	if (version < 0) {
		snprintf(err, errlen, "cannot read schema version: %s", sqlite3_errmsg(s->db));
		return -1;
	}
	if (version > NMIGRATIONS) {
		snprintf(err, errlen, "database schema version %d is newer than this branchqd (%d)",
		    version, NMIGRATIONS);
		return -1;
	}
	for (int v = version; v < NMIGRATIONS; v++) {
		/* Each step and its new version number commit together, or not at all. */
		const char *steps[] = { "BEGIN IMMEDIATE", migrations[v], NULL, "COMMIT" };
		char pragma[64];
		int rc = SQLITE_OK;

		snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", v + 1);
		steps[2] = pragma;
		for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]) && rc == SQLITE_OK; i++)
			rc = sqlite3_exec(s->db, steps[i], NULL, NULL, &msg);
		if (rc != SQLITE_OK) {
			snprintf(err, errlen, "migrating schema to version %d: %s", v + 1,
			    msg ? msg : sqlite3_errmsg(s->db));
			sqlite3_free(msg);
			sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
			return -1;
		}
		log_info("database schema migrated to version %d", v + 1);
	}
	return 0;
}

struct store *
store_open(const char *path, char *err, size_t errlen)
{
	struct store *s = calloc(1, sizeof(*s));
	char *msg = NULL;

	if (s == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, s->db ? sqlite3_errmsg(s->db) : "out of memory");
		goto fail;
	}
	sqlite3_extended_result_codes(s->db, 1);
	/* The daemon is the only writer; a report reader may hold a read lock briefly. */
	sqlite3_busy_timeout(s->db, 2000);
	/* temp_store: each change of a batch is a savepoint, whose undo journal stays in memory. */
	if (sqlite3_exec(s->db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; "
	    "PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY; "
	    "PRAGMA journal_size_limit = " STORE_STR(STORE_WAL_LIMIT_BYTES), NULL, NULL, &msg) !=
	    SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, msg ? msg : sqlite3_errmsg(s->db));
		sqlite3_free(msg);
		goto fail;
	}
	if (store_migrate(s, err, errlen) != 0)
		goto fail;
	for (int i = 0; i < ST_COUNT; i++) {
		if (sqlite3_prepare_v3(s->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
		    &s->st[i], NULL) != SQLITE_OK) {
			snprintf(err, errlen, "preparing statement %d: %s", i, sqlite3_errmsg(s->db));
			goto fail;
		}
	}
	if (checkpointer_start(s, path) != 0)
		log_warnx("database: no checkpoint thread; SQLite checkpoints inside commits");
	if (committer_start(s) != 0)
		log_warnx("database: no commit thread; commits run on the loop");
	return s;
fail:
	store_close(s);
	return NULL;
}

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	committer_stop(s);
	checkpointer_stop(s);
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(s->st[i]);
	if (s->db != NULL && sqlite3_close(s->db) != SQLITE_OK)
		log_warnx("database: close: %s", sqlite3_errmsg(s->db));
	free(s);
}

struct sqlite3 *
store_db(struct store *s)
{
	committer_wait(s);
	return s->db;
}

enum bq_err
store_begin(struct store *s)
{
	s->n.ops = 0;
	return stmt_done(s, stmt_get(s, ST_BEGIN), "begin");
}

/* COMMIT, or roll back when it fails. Runs on the loop, or on the committer for it. */
static enum bq_err
store_commit_now(struct store *s)
{
	sqlite3_stmt *st = s->st[ST_COMMIT];
	enum bq_err e;

	sqlite3_reset(st);
	e = stmt_done(s, st, "commit");
	if (e != BQ_OK && !sqlite3_get_autocommit(s->db)) {
		st = s->st[ST_ROLLBACK];
		if (sqlite3_step(st) != SQLITE_DONE)
			log_warnx("database: rollback: %s", sqlite3_errmsg(s->db));
		sqlite3_reset(st);
	}
	return e;
}

enum bq_err
store_commit(struct store *s)
{
	double t0;
	enum bq_err e;

	committer_wait(s);
	t0 = metrics_clock();
	e = store_commit_now(s);
	store_count_commit(s, e, metrics_clock() - t0);
	return e;
}

bool
store_commit_start(struct store *s)
{
	struct committer *cm = &s->cm;

	committer_wait(s);
	if (!cm->started || cm->inflight)
		return false;
	pthread_mutex_lock(&cm->mu);
	cm->inflight = cm->running = true;
	pthread_cond_signal(&cm->cv);
	pthread_mutex_unlock(&cm->mu);
	return true;
}

enum bq_err
store_commit_take(struct store *s)
{
	struct committer *cm = &s->cm;

	committer_wait(s);
	if (cm->inflight)
		store_count_commit(s, cm->result, cm->seconds);
	cm->inflight = false;
	return cm->result;
}

void
store_commit_drain(struct store *s)
{
	uint64_t n;

	if (s->cm.started && read(s->cm.fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_warn("commit: eventfd");
}

int
store_commit_fd(struct store *s)
{
	return s->cm.started ? s->cm.fd : -1;
}

void
store_rollback(struct store *s)
{
	committer_wait(s);
	if (!sqlite3_get_autocommit(s->db)) {
		sqlite3_stmt *st = stmt_get(s, ST_ROLLBACK);
		if (sqlite3_step(st) != SQLITE_DONE)
			log_warnx("database: rollback: %s", sqlite3_errmsg(s->db));
		sqlite3_reset(st);
	}
}

bool
store_in_transaction(struct store *s)
{
	committer_wait(s);
	return !sqlite3_get_autocommit(s->db);
}

enum bq_err
store_savepoint(struct store *s)
{
	return stmt_done(s, stmt_get(s, ST_SAVEPOINT), "savepoint");
}

enum bq_err
store_release(struct store *s)
{
	s->n.ops++;
	return stmt_done(s, stmt_get(s, ST_RELEASE), "release savepoint");
}

void
store_rollback_to(struct store *s)
{
	/* A failure that rolled the whole transaction back leaves no savepoint to return to. */
	if (store_in_transaction(s) && (stmt_done(s, stmt_get(s, ST_ROLLBACK_TO), "roll back to "
	    "savepoint") != BQ_OK || store_release(s) != BQ_OK))
		store_rollback(s);
}

enum bq_err
store_next_seq(struct store *s, const char *bday, const char *service, int *seq)
{
	sqlite3_stmt *st = stmt_get(s, ST_NEXT_SEQ);
	int64_t v;
	enum bq_err e;

	sqlite3_bind_text(st, 1, bday, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, service, -1, SQLITE_STATIC);
	if ((e = stmt_done(s, st, "next sequence")) != BQ_OK)
		return e;
	st = stmt_get(s, ST_SEQ_GET);
	sqlite3_bind_text(st, 1, bday, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, service, -1, SQLITE_STATIC);
	if ((e = stmt_int64(s, st, "next sequence", &v)) != BQ_OK)
		return e;
	if (v <= 0 || v > 9999999) {
		log_warnx("database: sequence %s/%s out of range: %lld", bday, service, (long long)v);
		return BQ_ERR_INTERNAL;
	}
	*seq = (int)v;
	return BQ_OK;
}

enum bq_err
store_ticket_insert(struct store *s, struct ticket *t)
{
	sqlite3_stmt *st = stmt_get(s, ST_TICKET_INSERT);
	enum bq_err e;

	/* A first leg is its own origin: insert with 0, then fix it up in the same change. */
	sqlite3_bind_int64(st, 1, t->origin_id);
	sqlite3_bind_text(st, 2, t->bday, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, t->number, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, t->service, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, category_name(t->category), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, lang_name(t->lang), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, status_name(t->status), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, t->token, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 9, t->issued_at);
	sqlite3_bind_int64(st, 10, t->created_at);
	bind_opt(st, 11, t->called_at);
	bind_opt(st, 12, t->recalled_at);
	bind_opt(st, 13, t->started_at);
	bind_opt(st, 14, t->ended_at);
	bind_opt(st, 15, t->counter);
	sqlite3_bind_int(st, 16, t->recalls);
	bind_opt(st, 17, t->transferred_to);
	/* Only a first leg keeps the paper's state (see TICKET_COLS). */
	sqlite3_bind_text(st, 18, print_state_name(t->origin_id == 0 ? t->print_state : PS_NONE), -1,
	    SQLITE_STATIC);
	sqlite3_bind_int(st, 19, t->reinstated);
	sqlite3_bind_int64(st, 20, t->due_call);
	if ((e = stmt_done(s, st, "insert ticket")) != BQ_OK)
		return e;
	t->id = sqlite3_last_insert_rowid(s->db);
	if (t->origin_id == 0) {
		t->origin_id = t->id;
		st = stmt_get(s, ST_SET_ORIGIN);
		sqlite3_bind_int64(st, 1, t->id);
		e = stmt_done(s, st, "set origin");
	}
	return e;
}

enum bq_err
store_ticket_update(struct store *s, const struct ticket *t)
{
	sqlite3_stmt *st = stmt_get(s, ST_TICKET_UPDATE);

	sqlite3_bind_int64(st, 1, t->id);
	sqlite3_bind_text(st, 2, t->service, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, category_name(t->category), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, lang_name(t->lang), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, status_name(t->status), -1, SQLITE_STATIC);
	bind_opt(st, 6, t->called_at);
	bind_opt(st, 7, t->recalled_at);
	bind_opt(st, 8, t->started_at);
	bind_opt(st, 9, t->ended_at);
	bind_opt(st, 10, t->counter);
	sqlite3_bind_int(st, 11, t->recalls);
	bind_opt(st, 12, t->transferred_to);
	sqlite3_bind_int64(st, 13, t->due_call);
	return stmt_done(s, st, "update ticket");
}

static enum bq_err
ticket_one(struct store *s, sqlite3_stmt *st, struct ticket *t)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW) {
		ticket_from_row(st, t);
		sqlite3_reset(st);
		return BQ_OK;
	}
	if (rc == SQLITE_DONE) {
		sqlite3_reset(st);
		return BQ_ERR_UNKNOWN_TICKET;
	}
	return stmt_end(s, st, rc, "read ticket");
}

enum bq_err
store_ticket_get(struct store *s, int64_t id, struct ticket *t)
{
	sqlite3_stmt *st = stmt_get(s, ST_TICKET_GET);

	sqlite3_bind_int64(st, 1, id);
	return ticket_one(s, st, t);
}

enum bq_err
store_ticket_by_token(struct store *s, const char *token, struct ticket *t)
{
	sqlite3_stmt *st = stmt_get(s, ST_TICKET_BY_TOKEN);

	sqlite3_bind_text(st, 1, token, -1, SQLITE_STATIC);
	return ticket_one(s, st, t);
}

/* Every row of the bound statement st as tickets: a malloc'ed array in *out (NULL when 0). */
static enum bq_err
tickets_all(struct store *s, sqlite3_stmt *st, const char *what, struct ticket **out, int *n)
{
	struct ticket *v = NULL;
	int len = 0, cap = 0, rc;
	enum bq_err e;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (len == cap) {
			int ncap = cap ? cap * 2 : 64;
			struct ticket *nv = realloc(v, (size_t)ncap * sizeof(*v));
			if (nv == NULL) {
				free(v);
				sqlite3_reset(st);
				return BQ_ERR_INTERNAL;
			}
			v = nv;
			cap = ncap;
		}
		ticket_from_row(st, &v[len++]);
	}
	if ((e = stmt_end(s, st, rc, what)) != BQ_OK) {
		free(v);
		return e;
	}
	*out = v;
	*n = len;
	return BQ_OK;
}

enum bq_err
store_waiting(struct store *s, const char *bday, struct ticket **out, int *n)
{
	sqlite3_stmt *st = stmt_get(s, ST_WAITING);

	sqlite3_bind_text(st, 1, bday, -1, SQLITE_STATIC);
	return tickets_all(s, st, "read waiting tickets", out, n);
}

enum bq_err
store_ticket_legs(struct store *s, const char *token, struct ticket **out, int *n)
{
	sqlite3_stmt *st = stmt_get(s, ST_TICKET_LEGS);

	sqlite3_bind_text(st, 1, token, -1, SQLITE_STATIC);
	return tickets_all(s, st, "read a ticket's legs", out, n);
}

enum bq_err
store_waiting_before(struct store *s, const char *bday, struct ticket **out, int *n)
{
	sqlite3_stmt *st = stmt_get(s, ST_WAITING_BEFORE);

	sqlite3_bind_text(st, 1, bday, -1, SQLITE_STATIC);
	return tickets_all(s, st, "read tickets left waiting", out, n);
}

enum bq_err
store_print_pending(struct store *s, const char *bday, enum print_state ps, bool waiting_only,
    int limit, struct ticket **out, int *n)
{
	sqlite3_stmt *st = stmt_get(s, ST_PRINT_PENDING);

	sqlite3_bind_text(st, 1, bday, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, print_state_name(ps), -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, waiting_only ? 1 : 0);
	sqlite3_bind_int(st, 4, limit > 0 ? limit : -1);
	return tickets_all(s, st, "read tickets to print", out, n);
}

enum bq_err
store_print_set(struct store *s, int64_t id, enum print_state ps, const char *error)
{
	sqlite3_stmt *st = stmt_get(s, ST_PRINT_SET);

	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, print_state_name(ps), -1, SQLITE_STATIC);
	if (error != NULL && *error != '\0')
		sqlite3_bind_text(st, 3, error, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 3);
	return stmt_done(s, st, "set print state");
}

enum bq_err
store_recent_service(struct store *s, const char *service, int last_n, struct service_time *out,
    int *n)
{
	sqlite3_stmt *st = stmt_get(s, ST_RECENT_SERVICE);
	int rc;

	*n = 0;
	sqlite3_bind_text(st, 1, service, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, last_n);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && *n < last_n) {
		out[*n].id = sqlite3_column_int64(st, 0);
		out[*n].ended_at = sqlite3_column_int64(st, 1);
		out[*n].duration_s = sqlite3_column_int64(st, 2);
		(*n)++;
	}
	if (rc == SQLITE_ROW)
		rc = SQLITE_DONE;
	return stmt_end(s, st, rc, "recent service times");
}

enum bq_err
store_counter_ensure(struct store *s, int number)
{
	sqlite3_stmt *st = stmt_get(s, ST_COUNTER_ENSURE);

	sqlite3_bind_int(st, 1, number);
	return stmt_done(s, st, "add counter");
}

enum bq_err
store_counter_get(struct store *s, int number, struct counter_state *cs)
{
	sqlite3_stmt *st = stmt_get(s, ST_COUNTER_GET);
	int rc;

	memset(cs, 0, sizeof(*cs));
	cs->number = number;
	sqlite3_bind_int(st, 1, number);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		cs->paused = sqlite3_column_int(st, 0);
		cs->paused_at = sqlite3_column_int64(st, 1);
		cs->ticket_id = sqlite3_column_int64(st, 2);
		rc = SQLITE_DONE;
	}
	return stmt_end(s, st, rc, "read counter");
}

enum bq_err
store_counter_put(struct store *s, const struct counter_state *cs)
{
	sqlite3_stmt *st = stmt_get(s, ST_COUNTER_PUT);

	sqlite3_bind_int(st, 1, cs->number);
	sqlite3_bind_int(st, 2, cs->paused ? 1 : 0);
	bind_opt(st, 3, cs->paused_at);
	bind_opt(st, 4, cs->ticket_id);
	return stmt_done(s, st, "write counter");
}

enum bq_err
store_event_append(struct store *s, int64_t at, const char *type, int64_t ticket_id,
    int counter, const char *data, int64_t *id)
{
	sqlite3_stmt *st = stmt_get(s, ST_EVENT_APPEND);
	enum bq_err e;

	sqlite3_bind_int64(st, 1, at);
	sqlite3_bind_text(st, 2, type, -1, SQLITE_STATIC);
	bind_opt(st, 3, ticket_id);
	bind_opt(st, 4, counter);
	sqlite3_bind_text(st, 5, data, -1, SQLITE_STATIC);
	if ((e = stmt_done(s, st, "append event")) != BQ_OK)
		return e;
	*id = sqlite3_last_insert_rowid(s->db);
	return BQ_OK;
}

enum bq_err
store_last_event_id(struct store *s, int64_t *id)
{
	return stmt_int64(s, stmt_get(s, ST_LAST_EVENT), "last event", id);
}

enum bq_err
store_last_event_time(struct store *s, int64_t *at)
{
	sqlite3_stmt *st;
	int rc;

	*at = 0;
	/* Ids and times rose together (the daemon's clock never goes back): the last id is the latest. */
	if (sqlite3_prepare_v2(s->db, "SELECT at FROM events ORDER BY id DESC LIMIT 1", -1, &st,
	    NULL) != SQLITE_OK)
		return BQ_ERR_STORAGE;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		*at = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? BQ_OK : BQ_ERR_STORAGE;
}

enum bq_err
store_events_after(struct store *s, int64_t after, int limit,
    int (*fn)(void *arg, int64_t id, const char *type, const char *data), void *arg)
{
	sqlite3_stmt *st = stmt_get(s, ST_EVENTS_AFTER);
	int rc;

	sqlite3_bind_int64(st, 1, after);
	sqlite3_bind_int(st, 2, limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (fn(arg, sqlite3_column_int64(st, 0), (const char *)sqlite3_column_text(st, 1),
		    (const char *)sqlite3_column_text(st, 2)) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	return stmt_end(s, st, rc, "read events");
}

enum bq_err
store_day_tickets(struct store *s, const char *bday, struct ticket **out, int *n)
{
	sqlite3_stmt *st = stmt_get(s, ST_DAY_TICKETS);

	sqlite3_bind_text(st, 1, bday, -1, SQLITE_STATIC);
	return tickets_all(s, st, "read the day's tickets", out, n);
}

/*
 * PRAGMA quick_check: every page and b-tree is read and checked, but
 * indexes are not compared with their tables (integrity_check does that,
 * at several times the cost). It names the first problems it finds.
 */
int
store_quick_check(struct store *s, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	char first[200] = "";
	int bad = 0;

	committer_wait(s);
	if (sqlite3_prepare_v2(s->db, "PRAGMA quick_check(1)", -1, &st, NULL) != SQLITE_OK) {
		snprintf(first, sizeof(first), "%s", sqlite3_errmsg(s->db));
		bad = 1;
	} else if (sqlite3_step(st) == SQLITE_ROW) {
		const char *row = (const char *)sqlite3_column_text(st, 0);
		if (row == NULL || strcmp(row, "ok") != 0) {
			snprintf(first, sizeof(first), "%s", row != NULL ? row : "?");
			bad = 1;
		}
	} else {
		/* A page so damaged that the check itself fails. */
		snprintf(first, sizeof(first), "%s", sqlite3_errmsg(s->db));
		bad = 1;
	}
	for (char *c = first; *c; c++)
		if (*c == '\n')
			*c = ' ';                  /* one log line */
	if (bad)
		store_count_error(s, SQLITE_CORRUPT);
	sqlite3_finalize(st);
	if (!bad)
		return 0;
	/* The path is the main database's; the words say what to do. */
	snprintf(err, errlen, "%s is damaged (quick_check: %s): stop here and restore it from a "
	    "backup (docs/operator.md); do not delete the -wal file", sqlite3_db_filename(s->db,
	    "main"), first);
	return -1;
}

enum bq_err
store_limit_pages(struct store *s, int64_t max_pages)
{
	char sql[64];
	char *msg = NULL;

	snprintf(sql, sizeof(sql), "PRAGMA max_page_count = %lld",
	    (long long)(max_pages > 0 ? max_pages : 4294967294LL));
	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		log_warnx("database: %s: %s", sql, msg ? msg : "?");
		sqlite3_free(msg);
		return BQ_ERR_STORAGE;
	}
	return BQ_OK;
}

enum bq_err
store_day_calls(struct store *s, const char *bday, int calls[26])
{
	sqlite3_stmt *st = stmt_get(s, ST_DAY_CALLS);
	int rc;

	memset(calls, 0, 26 * sizeof(calls[0]));
	sqlite3_bind_text(st, 1, bday, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *l = sqlite3_column_text(st, 0);

		if (l != NULL && l[0] >= 'A' && l[0] <= 'Z' && l[1] == '\0')
			calls[l[0] - 'A'] = sqlite3_column_int(st, 1);
	}
	return stmt_end(s, st, rc, "count the day's calls");
}

enum bq_err
store_rating_insert(struct store *s, const struct rating *r)
{
	sqlite3_stmt *st = stmt_get(s, ST_RATING_INSERT);

	sqlite3_bind_int64(st, 1, r->origin_id);
	sqlite3_bind_int64(st, 2, r->ticket_id);
	sqlite3_bind_text(st, 3, r->bday, -1, SQLITE_STATIC);
	bind_opt(st, 4, r->counter);
	if (r->teller[0] != '\0')
		sqlite3_bind_text(st, 5, r->teller, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, r->key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, r->source, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 8, r->at);
	return stmt_done(s, st, "insert rating");
}

enum bq_err
store_rating_get(struct store *s, int64_t origin, struct rating *r)
{
	sqlite3_stmt *st = stmt_get(s, ST_RATING_GET);
	int rc;

	sqlite3_bind_int64(st, 1, origin);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		enum bq_err e = stmt_end(s, st, rc, "read rating");
		return e == BQ_OK ? BQ_ERR_NOT_FOUND : e;
	}
	memset(r, 0, sizeof(*r));
	r->origin_id = sqlite3_column_int64(st, 0);
	r->ticket_id = sqlite3_column_int64(st, 1);
	copy_text(r->bday, sizeof(r->bday), st, 2);
	r->counter = sqlite3_column_int(st, 3);
	copy_text(r->teller, sizeof(r->teller), st, 4);
	copy_text(r->key, sizeof(r->key), st, 5);
	copy_text(r->source, sizeof(r->source), st, 6);
	r->at = sqlite3_column_int64(st, 7);
	return stmt_done(s, st, "read rating");
}

enum bq_err
store_uplink_get(struct store *s, int64_t *sent, char install_id[STORE_INSTALL_ID_MAX])
{
	sqlite3_stmt *st = NULL;
	enum bq_err e = BQ_ERR_STORAGE;

	*sent = 0;
	install_id[0] = '\0';
	if (sqlite3_prepare_v2(s->db, "SELECT sent, install_id FROM uplink WHERE id = 1", -1, &st,
	    NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
		*sent = sqlite3_column_int64(st, 0);
		copy_text(install_id, STORE_INSTALL_ID_MAX, st, 1);
		e = BQ_OK;
	}
	sqlite3_finalize(st);
	return e;
}

enum bq_err
store_uplink_set(sqlite3 *db, int64_t sent)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(db, "UPDATE uplink SET sent = max(sent, ?1) WHERE id = 1", -1, &st,
	    NULL) != SQLITE_OK)
		return BQ_ERR_STORAGE;
	sqlite3_bind_int64(st, 1, sent);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? BQ_OK : BQ_ERR_STORAGE;
}

enum bq_err
store_alert_insert(struct store *s, const struct alert *a)
{
	sqlite3_stmt *st = stmt_get(s, ST_ALERT_INSERT);

	sqlite3_bind_int64(st, 1, a->id);
	sqlite3_bind_text(st, 2, a->bday, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, a->kind, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, a->at);
	bind_opt(st, 5, a->counter);
	sqlite3_bind_text(st, 6, a->teller, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, a->number, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, a->from, -1, SQLITE_STATIC);
	return stmt_done(s, st, "insert alert");
}

static void
alert_from_row(sqlite3_stmt *st, struct alert *a)
{
	memset(a, 0, sizeof(*a));
	a->id = sqlite3_column_int64(st, 0);
	copy_text(a->bday, sizeof(a->bday), st, 1);
	copy_text(a->kind, sizeof(a->kind), st, 2);
	a->at = sqlite3_column_int64(st, 3);
	a->counter = sqlite3_column_int(st, 4);
	copy_text(a->teller, sizeof(a->teller), st, 5);
	copy_text(a->number, sizeof(a->number), st, 6);
	copy_text(a->from, sizeof(a->from), st, 7);
	a->acked_at = sqlite3_column_int64(st, 8);
	copy_text(a->acked_by, sizeof(a->acked_by), st, 9);
}

enum bq_err
store_alert_get(struct store *s, int64_t id, struct alert *a)
{
	sqlite3_stmt *st = stmt_get(s, ST_ALERT_GET);
	int rc;

	sqlite3_bind_int64(st, 1, id);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		enum bq_err e = stmt_end(s, st, rc, "read alert");
		return e == BQ_OK ? BQ_ERR_UNKNOWN_ALERT : e;
	}
	alert_from_row(st, a);
	return stmt_done(s, st, "read alert");
}

enum bq_err
store_alert_ack(struct store *s, int64_t id, int64_t at, const char *who)
{
	sqlite3_stmt *st = stmt_get(s, ST_ALERT_ACK);

	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, at);
	sqlite3_bind_text(st, 3, who, -1, SQLITE_STATIC);
	return stmt_done(s, st, "acknowledge alert");
}

enum bq_err
store_alerts_open(struct store *s, const char *bday, struct alert **out, int *n)
{
	sqlite3_stmt *st = stmt_get(s, ST_ALERTS_OPEN);
	struct alert *v = NULL;
	int len = 0, cap = 0, rc;
	enum bq_err e;

	sqlite3_bind_text(st, 1, bday, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (len == cap) {
			int ncap = cap ? cap * 2 : 16;
			struct alert *nv = realloc(v, (size_t)ncap * sizeof(*v));

			if (nv == NULL) {
				free(v);
				sqlite3_reset(st);
				return BQ_ERR_INTERNAL;
			}
			v = nv;
			cap = ncap;
		}
		alert_from_row(st, &v[len++]);
	}
	if ((e = stmt_end(s, st, rc, "read open alerts")) != BQ_OK) {
		free(v);
		return e;
	}
	*out = v;
	*n = len;
	return BQ_OK;
}
