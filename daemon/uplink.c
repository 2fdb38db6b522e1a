/*
 * uplink.c: the event log up to the head office (see uplink.h). The
 * worker's one job, over and over: connect if it is not, check the head
 * office's schema version, read the next batch of events after the cursor
 * from SQLite, and hand it to hq.put_events in one transaction; then
 * advance the cursor in memory and tell the loop, which makes it durable.
 *
 * One call per batch, the batch as one JSON parameter: a WAN round trip
 * costs tens of milliseconds, so 500 events cost one, not 500.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "bday.h"
#include "log.h"
#include "uplink.h"

#define UPLINK_ERR_MAX 240

struct uplink {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int efd;
	bool stop, kicked;
	struct config cfg;           /* under mu; the worker copies what it needs per batch */
	char db[PATH_MAX];
	char install_id[40];
	/* Under mu: what /healthz and /metrics show. */
	int64_t sent;                /* the last event id the head office committed */
	int64_t newest;              /* the newest event id in SQLite at the last look */
	int64_t last_sent_at;        /* wall time of the last commit there; 0: none yet */
	int64_t batches, events_sent, failures;
	bool connected;
	char error[UPLINK_ERR_MAX];  /* the last try's error; "" when it went well */
};

/* ---- the worker ---- */

static void
set_error(struct uplink *u, const char *what, const char *detail)
{
	char text[UPLINK_ERR_MAX];
	size_t n;

	snprintf(text, sizeof(text), "%s%s%s", what, detail != NULL && *detail ? ": " : "",
	    detail != NULL ? detail : "");
	/* libpq's messages end with a newline, some with two lines: keep the first. */
	n = strcspn(text, "\n");
	text[n] = '\0';
	pthread_mutex_lock(&u->mu);
	bool changed = strcmp(u->error, text) != 0;
	snprintf(u->error, sizeof(u->error), "%s", text);
	u->failures++;
	pthread_mutex_unlock(&u->mu);
	if (changed)
		log_warnx("uplink: %s", text);
}

static void
clear_error(struct uplink *u)
{
	pthread_mutex_lock(&u->mu);
	bool had = u->error[0] != '\0';
	u->error[0] = '\0';
	pthread_mutex_unlock(&u->mu);
	if (had)
		log_info("uplink: sending again");
}

/* Wait up to s seconds, or until stopped or kicked. False when stopping. */
static bool
pause_for(struct uplink *u, int64_t s)
{
	struct timespec until;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += (time_t)s;
	pthread_mutex_lock(&u->mu);
	while (!u->stop && !u->kicked)
		if (pthread_cond_timedwait(&u->cv, &u->mu, &until) == ETIMEDOUT)
			break;
	u->kicked = false;
	bool go = !u->stop;
	pthread_mutex_unlock(&u->mu);
	return go;
}

/*
 * Connect with defaults a WAN needs (a bounded connect, TCP keep-alives, a
 * bound on unacknowledged data), any of which conninfo may override.
 */
static PGconn *
connect_hq(struct uplink *u, const char *conninfo, const char *branch_id)
{
	static const char *const keys[] = { "connect_timeout", "keepalives_idle",
	    "keepalives_interval", "keepalives_count", "tcp_user_timeout", "application_name",
	    "dbname", NULL };
	const char *vals[] = { "10", "30", "10", "3", "30000", "branchqd", conninfo, NULL };
	PGconn *c = PQconnectdbParams(keys, vals, 1);
	PGresult *r;

	if (c == NULL || PQstatus(c) != CONNECTION_OK) {
		set_error(u, "cannot connect to the head office", c != NULL ? PQerrorMessage(c) :
		    "out of memory");
		PQfinish(c);
		return NULL;
	}
	r = PQexec(c, "SELECT version FROM hq.schema_version");
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		set_error(u, "the head office database has no hq schema (load hq/schema.sql)",
		    PQerrorMessage(c));
		PQclear(r);
		PQfinish(c);
		return NULL;
	}
	int v = atoi(PQgetvalue(r, 0, 0));
	PQclear(r);
	if (v != UPLINK_SCHEMA_VERSION) {
		char text[96];
		snprintf(text, sizeof(text), "the head office's schema is version %d; this branchqd "
		    "speaks version %d", v, UPLINK_SCHEMA_VERSION);
		set_error(u, text, NULL);
		PQfinish(c);
		return NULL;
	}
	/* This database takes the branch's row, or finds it taken by another's. */
	const char *params[] = { branch_id, u->install_id };
	r = PQexecParams(c, "SELECT hq.claim($1, $2)", 2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		set_error(u, "the head office refused the branch", PQresultErrorMessage(r));
		PQclear(r);
		PQfinish(c);
		return NULL;
	}
	PQclear(r);
	return c;
}

/* What the figures need that events do not carry: the branch, its day and its services. */
static json_t *
meta_json(const struct config *cfg)
{
	json_t *svc = json_array();

	for (int s = 0; s < cfg->nservices; s++) {
		const struct service_conf *v = &cfg->services[s];
		json_array_append_new(svc, json_pack("{s:s,s:s,s:s,s:I,s:f}", "id", v->id, "name_zh",
		    v->name_zh, "name_en", v->name_en, "overtime_s", (json_int_t)v->overtime_s,
		    "target_share", v->target_share));
	}
	json_t *ctr = json_array();
	for (int k = 0; k < cfg->ncounters; k++)
		json_array_append_new(ctr, json_pack("{s:i,s:s,s:s}", "number",
		    cfg->counters[k].number, "name_zh", cfg->counters[k].name_zh, "name_en",
		    cfg->counters[k].name_en));
	char reset[16];
	snprintf(reset, sizeof(reset), "%02d:%02d", (cfg->day_reset_min / 60) % 24,
	    cfg->day_reset_min % 60);
	return json_pack("{s:s,s:s,s:s,s:s,s:o,s:o}", "name_zh", cfg->name_zh, "name_en",
	    cfg->name_en, "timezone", cfg->timezone, "day_reset", reset, "services", svc,
	    "counters", ctr);
}

/*
 * The events after `after`, at most n, as the JSON array hq.put_events
 * takes; *last the last id in it (after when none). NULL when SQLite
 * failed (why said).
 */
static json_t *
read_batch(struct uplink *u, sqlite3 *db, const struct config *cfg, int64_t after, int n,
    int64_t *last)
{
	sqlite3_stmt *st = NULL;
	json_t *a = json_array();
	int rc;

	*last = after;
	if (sqlite3_prepare_v2(db, "SELECT id, at, type, ticket_id, counter, data FROM events "
	    "WHERE id > ?1 ORDER BY id LIMIT ?2", -1, &st, NULL) != SQLITE_OK) {
		set_error(u, "cannot read the events", sqlite3_errmsg(db));
		json_decref(a);
		return NULL;
	}
	sqlite3_bind_int64(st, 1, after);
	sqlite3_bind_int(st, 2, n);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0), at = sqlite3_column_int64(st, 1);
		const char *data = (const char *)sqlite3_column_text(st, 5);
		json_t *d = data != NULL ? json_loads(data, 0, NULL) : NULL;
		char bd[11];

		date_format(bday_of(at, cfg->day_reset_min), bd);
		json_t *e = json_pack("{s:I,s:I,s:s,s:s,s:o}", "id", (json_int_t)id, "at",
		    (json_int_t)at, "bday", bd, "type", (const char *)sqlite3_column_text(st, 2),
		    "data", d != NULL ? d : json_object());
		json_object_set_new(e, "ticket_id", sqlite3_column_type(st, 3) == SQLITE_NULL ?
		    json_null() : json_integer(sqlite3_column_int64(st, 3)));
		json_object_set_new(e, "counter", sqlite3_column_type(st, 4) == SQLITE_NULL ?
		    json_null() : json_integer(sqlite3_column_int(st, 4)));
		json_array_append_new(a, e);
		*last = id;
	}
	if (rc != SQLITE_DONE) {
		set_error(u, "cannot read the events", sqlite3_errmsg(db));
		json_decref(a);
		a = NULL;
	}
	sqlite3_finalize(st);
	/* The newest event, for "behind". */
	if (a != NULL && sqlite3_prepare_v2(db, "SELECT max(id) FROM events", -1, &st, NULL) ==
	    SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW) {
			pthread_mutex_lock(&u->mu);
			u->newest = sqlite3_column_int64(st, 0);
			pthread_mutex_unlock(&u->mu);
		}
		sqlite3_finalize(st);
	}
	return a;
}

/* One batch into the head office: 1 sent, 0 nothing to send, -1 failed (said). */
static int
send_batch(struct uplink *u, PGconn *c, sqlite3 *db)
{
	struct config *cfg = malloc(sizeof(*cfg));
	int64_t after, last;
	json_t *batch, *meta;
	char *eb = NULL, *mb = NULL;
	int rc = -1;

	if (cfg == NULL)
		return -1;
	pthread_mutex_lock(&u->mu);
	memcpy(cfg, &u->cfg, sizeof(*cfg));
	after = u->sent;
	pthread_mutex_unlock(&u->mu);
	if ((batch = read_batch(u, db, cfg, after, cfg->uplink.batch, &last)) == NULL)
		goto out;
	if (json_array_size(batch) == 0) {
		rc = 0;
		goto out;
	}
	meta = meta_json(cfg);
	eb = json_dumps(batch, JSON_COMPACT);
	mb = meta != NULL ? json_dumps(meta, JSON_COMPACT) : NULL;
	json_decref(meta);
	if (eb == NULL || mb == NULL) {
		set_error(u, "out of memory", NULL);
		goto out;
	}
	const char *params[] = { cfg->uplink.branch_id, u->install_id, eb, mb };
	PGresult *r = PQexecParams(c, "SELECT hq.put_events($1, $2, $3::jsonb, $4::jsonb)", 4,
	    NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		set_error(u, "the head office refused the batch", PQresultErrorMessage(r));
		PQclear(r);
		goto out;
	}
	PQclear(r);
	pthread_mutex_lock(&u->mu);
	u->sent = last;
	u->last_sent_at = (int64_t)time(NULL);
	u->batches++;
	u->events_sent += (int64_t)json_array_size(batch);
	pthread_mutex_unlock(&u->mu);
	clear_error(u);
	uint64_t one = 1;
	if (write(u->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("uplink: eventfd");
	rc = 1;
out:
	free(eb);
	free(mb);
	json_decref(batch);
	free(cfg);
	return rc;
}

static void *
worker(void *arg)
{
	struct uplink *u = arg;
	PGconn *c = NULL;
	sqlite3 *db = NULL;

	for (;;) {
		int64_t wait;
		pthread_mutex_lock(&u->mu);
		int64_t interval = u->cfg.uplink.interval_s, retry = u->cfg.uplink.retry_s;
		char conninfo[CONFIG_CONNINFO_MAX], branch_id[CONFIG_BRANCH_ID_MAX];
		memcpy(conninfo, u->cfg.uplink.conninfo, sizeof(conninfo));
		memcpy(branch_id, u->cfg.uplink.branch_id, sizeof(branch_id));
		bool stop = u->stop;
		pthread_mutex_unlock(&u->mu);
		if (stop)
			break;
		if (db == NULL && sqlite3_open_v2(u->db, &db, SQLITE_OPEN_READONLY, NULL) !=
		    SQLITE_OK) {
			set_error(u, "cannot open the database to read", db != NULL ?
			    sqlite3_errmsg(db) : "out of memory");
			sqlite3_close(db);
			db = NULL;
			wait = retry;
		} else if (db != NULL && c == NULL && (c = connect_hq(u, conninfo, branch_id)) == NULL) {
			wait = retry;
		} else if (db != NULL) {
			sqlite3_busy_timeout(db, 2000);
			pthread_mutex_lock(&u->mu);
			u->connected = true;
			pthread_mutex_unlock(&u->mu);
			int sent = send_batch(u, c, db);
			if (sent < 0 && PQstatus(c) != CONNECTION_OK) {
				PQfinish(c);
				c = NULL;
				pthread_mutex_lock(&u->mu);
				u->connected = false;
				pthread_mutex_unlock(&u->mu);
			}
			/* A full batch: more may wait, go on at once. */
			wait = sent > 0 ? 0 : sent == 0 ? interval : retry;
			if (sent > 0) {
				pthread_mutex_lock(&u->mu);
				bool more = u->newest > u->sent;
				pthread_mutex_unlock(&u->mu);
				wait = more ? 0 : interval;
			}
		} else {
			wait = retry;
		}
		if (wait > 0 && !pause_for(u, wait))
			break;
	}
	PQfinish(c);
	sqlite3_close(db);
	return NULL;
}

/* ---- the loop's side ---- */

struct uplink *
uplink_start(const struct config *cfg, const char *db, int64_t cursor, const char *install_id)
{
	struct uplink *u = calloc(1, sizeof(*u));
	pthread_condattr_t ca;

	if (u == NULL)
		return NULL;
	memcpy(&u->cfg, cfg, sizeof(u->cfg));
	snprintf(u->db, sizeof(u->db), "%s", db);
	snprintf(u->install_id, sizeof(u->install_id), "%s", install_id);
	u->sent = cursor;
	u->newest = cursor;
	if ((u->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
		free(u);
		return NULL;
	}
	pthread_mutex_init(&u->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&u->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&u->thread, NULL, worker, u) != 0) {
		close(u->efd);
		pthread_cond_destroy(&u->cv);
		pthread_mutex_destroy(&u->mu);
		free(u);
		return NULL;
	}
	log_info("uplink: sending events after %" PRId64 " to the head office as branch %s",
	    cursor, cfg->uplink.branch_id);
	return u;
}

void
uplink_stop(struct uplink *u)
{
	if (u == NULL)
		return;
	pthread_mutex_lock(&u->mu);
	u->stop = true;
	pthread_cond_signal(&u->cv);
	pthread_mutex_unlock(&u->mu);
	pthread_join(u->thread, NULL);
	close(u->efd);
	pthread_cond_destroy(&u->cv);
	pthread_mutex_destroy(&u->mu);
	free(u);
}

int
uplink_fd(const struct uplink *u)
{
	return u->efd;
}

int64_t
uplink_collect(struct uplink *u)
{
	uint64_t n;
	int64_t sent;

	while (read(u->efd, &n, sizeof(n)) == (ssize_t)sizeof(n))
		;
	pthread_mutex_lock(&u->mu);
	sent = u->sent;
	pthread_mutex_unlock(&u->mu);
	return sent;
}

void
uplink_config(struct uplink *u, const struct config *cfg)
{
	pthread_mutex_lock(&u->mu);
	/* The connection stays; a new conninfo or branch_id takes a restart (docs/hq.md). */
	struct uplink_conf keep = u->cfg.uplink;
	memcpy(&u->cfg, cfg, sizeof(u->cfg));
	u->cfg.uplink = keep;
	pthread_mutex_unlock(&u->mu);
}

void
uplink_kick(struct uplink *u)
{
	pthread_mutex_lock(&u->mu);
	u->kicked = true;
	pthread_cond_signal(&u->cv);
	pthread_mutex_unlock(&u->mu);
}

json_t *
uplink_health(struct uplink *u, bool *trouble)
{
	json_t *j;

	pthread_mutex_lock(&u->mu);
	int64_t behind = u->newest > u->sent ? u->newest - u->sent : 0;
	j = json_pack("{s:s,s:b,s:I,s:I,s:s?}", "branch_id", u->cfg.uplink.branch_id, "connected",
	    u->connected && u->error[0] == '\0', "sent_event_id", (json_int_t)u->sent, "behind",
	    (json_int_t)behind, "last_error", u->error[0] ? u->error : NULL);
	if (j != NULL) {
		json_object_set_new(j, "last_sent_at", u->last_sent_at ? json_integer(u->last_sent_at) :
		    json_null());
	}
	*trouble = u->error[0] != '\0';
	pthread_mutex_unlock(&u->mu);
	return j;
}

int
uplink_metrics(struct uplink *u, char **text, size_t *len)
{
	char buf[1024];
	int n;

	pthread_mutex_lock(&u->mu);
	int64_t behind = u->newest > u->sent ? u->newest - u->sent : 0;
	n = snprintf(buf, sizeof(buf),
	    "# HELP branchq_uplink_up Whether the last try to send to the head office worked.\n"
	    "# TYPE branchq_uplink_up gauge\n"
	    "branchq_uplink_up %d\n"
	    "# HELP branchq_uplink_sent_event_id The last event the head office committed.\n"
	    "# TYPE branchq_uplink_sent_event_id gauge\n"
	    "branchq_uplink_sent_event_id %" PRId64 "\n"
	    "# HELP branchq_uplink_behind_events Events not yet at the head office.\n"
	    "# TYPE branchq_uplink_behind_events gauge\n"
	    "branchq_uplink_behind_events %" PRId64 "\n"
	    "# HELP branchq_uplink_events_total Events sent to the head office since start.\n"
	    "# TYPE branchq_uplink_events_total counter\n"
	    "branchq_uplink_events_total %" PRId64 "\n"
	    "# HELP branchq_uplink_failures_total Failed tries to send since start.\n"
	    "# TYPE branchq_uplink_failures_total counter\n"
	    "branchq_uplink_failures_total %" PRId64 "\n"
	    "# HELP branchq_uplink_last_sent_timestamp_seconds When the head office last committed a batch.\n"
	    "# TYPE branchq_uplink_last_sent_timestamp_seconds gauge\n"
	    "branchq_uplink_last_sent_timestamp_seconds %" PRId64 "\n",
	    u->connected && u->error[0] == '\0' ? 1 : 0, u->sent, behind, u->events_sent,
	    u->failures, u->last_sent_at);
	pthread_mutex_unlock(&u->mu);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return -1;
	char *t = realloc(*text, *len + (size_t)n + 1);
	if (t == NULL)
		return -1;
	memcpy(t + *len, buf, (size_t)n + 1);
	*text = t;
	*len += (size_t)n;
	return 0;
}
