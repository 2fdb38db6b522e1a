/*
 * bench_baseline: the bare servers make bench measures branchqd against.
 *
 *   bench_baseline json|sqlite|sse [DB]
 *
 * Each runs libmicrohttpd exactly as branchqd does (daemon/http.c,
 * daemon/branchqd.c): external polling of MHD's epoll descriptor from one
 * loop thread, suspend/resume allowed, and nothing else. It listens on
 * 127.0.0.1 on a free port and writes "ready port N" to stderr.
 *
 *   json    every request gets a tiny JSON answer: what HTTP itself costs.
 *   sqlite  a POST inserts one row and commits it (WAL, synchronous=FULL,
 *           one transaction per request) before it is answered; any other
 *           request gets the JSON of json. The floor of "durable, one
 *           commit each", with no queue logic at all.
 *   sse     GET /events opens a Server-Sent Events stream that waits
 *           suspended, as daemon/sse.c does; POST /event appends one event
 *           to a ring of the last BASE_RING and resumes every stream, then
 *           answers 204. The same bytes go to every stream; no per-stream
 *           work but the copy.
 *
 * It stops on SIGTERM or SIGINT. Not part of branchq: used by make bench only.
 */
#include <errno.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <microhttpd.h>
#include <sqlite3.h>

#define BASE_CONNECTION_LIMIT 20000
#define BASE_IDLE_TIMEOUT_S 60
#define BASE_BODY_MAX 16384
/* About the size of a branchq ticket.called event, so the copies cost alike. */
#define BASE_EVENT_PAD 600
/* The newest events kept; a stream further behind skips the older ones. */
#define BASE_RING 64

enum mode { MODE_JSON, MODE_SQLITE, MODE_SSE };

struct stream {
	struct MHD_Connection *conn;
	struct stream *prev, *next;
	long long cursor;            /* last event id sent whole */
	bool suspended;
	bool hello;                  /* the retry line is still to be sent */
	size_t off;                  /* bytes of event cursor + 1 already sent */
};

static enum mode mode;
static sqlite3 *db;
static sqlite3_stmt *insert;
static struct stream *streams;
static bool resumed;
static bool stopping;
static long long last_id;
static char ring[BASE_RING][BASE_EVENT_PAD + 128];
static size_t ring_len[BASE_RING];

static const char TINY[] = "{\"ok\":true}\n";

static enum MHD_Result
send_text(struct MHD_Connection *c, unsigned status, const char *text)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), (void *)text,
	    MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", "application/json; charset=utf-8");
	MHD_add_response_header(r, "Cache-Control", "no-store");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static void
event_set(long long id)
{
	char *e = ring[id % BASE_RING];
	int n = snprintf(e, sizeof(ring[0]), "id: %lld\ndata: {\"type\":\"ticket.called\","
	    "\"id\":%lld,\"pad\":\"", id, id);

	memset(e + n, 'x', BASE_EVENT_PAD);
	n += BASE_EVENT_PAD;
	n += snprintf(e + n, sizeof(ring[0]) - (size_t)n, "\"}\n\n");
	ring_len[id % BASE_RING] = (size_t)n;
}

static ssize_t
stream_read(void *cls, uint64_t pos, char *out, size_t max)
{
	static const char hello[] = "retry: 1000\n: baseline events\n\n";
	struct stream *st = cls;
	size_t n;

	(void)pos;
	if (st->hello) {
		st->hello = false;
		memcpy(out, hello, sizeof(hello) - 1 < max ? sizeof(hello) - 1 : max);
		return (ssize_t)(sizeof(hello) - 1 < max ? sizeof(hello) - 1 : max);
	}
	if (stopping)
		return MHD_CONTENT_READER_END_OF_STREAM;
	if (st->cursor == last_id) {
		st->suspended = true;
		MHD_suspend_connection(st->conn);
		return 0;
	}
	/* A stream so far behind that its next event was overwritten skips ahead. */
	if (last_id - st->cursor >= BASE_RING) {
		st->cursor = last_id - BASE_RING + 1;
		st->off = 0;
	}
	n = ring_len[(st->cursor + 1) % BASE_RING] - st->off;
	if (n > max)
		n = max;
	memcpy(out, ring[(st->cursor + 1) % BASE_RING] + st->off, n);
	st->off += n;
	if (st->off == ring_len[(st->cursor + 1) % BASE_RING]) {
		st->off = 0;
		st->cursor++;
	}
	return (ssize_t)n;
}

static void
stream_free(void *cls)
{
	struct stream *st = cls;

	if (st->prev)
		st->prev->next = st->next;
	else
		streams = st->next;
	if (st->next)
		st->next->prev = st->prev;
	free(st);
}

static enum MHD_Result
stream_open(struct MHD_Connection *c)
{
	struct stream *st = calloc(1, sizeof(*st));
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (st == NULL)
		return MHD_NO;
	st->conn = c;
	st->cursor = last_id;
	st->hello = true;
	r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, stream_read, st,
	    stream_free);
	if (r == NULL) {
		free(st);
		return MHD_NO;
	}
	st->next = streams;
	if (streams)
		streams->prev = st;
	streams = st;
	MHD_add_response_header(r, "Content-Type", "text/event-stream; charset=utf-8");
	MHD_add_response_header(r, "Cache-Control", "no-cache");
	ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

static void
broadcast(void)
{
	event_set(++last_id);
	for (struct stream *st = streams; st != NULL; st = st->next) {
		if (st->suspended) {
			st->suspended = false;
			resumed = true;
			MHD_resume_connection(st->conn);
		}
	}
}

static enum MHD_Result
on_sqlite_post(struct MHD_Connection *c, const char *body, size_t len)
{
	char answer[64];

	sqlite3_bind_text(insert, 1, body, (int)len, SQLITE_STATIC);
	if (sqlite3_step(insert) != SQLITE_DONE) {
		fprintf(stderr, "insert: %s\n", sqlite3_errmsg(db));
		sqlite3_reset(insert);
		return send_text(c, 500, "{\"error\":\"storage\"}\n");
	}
	sqlite3_reset(insert);
	snprintf(answer, sizeof(answer), "{\"id\":%lld}\n", (long long)sqlite3_last_insert_rowid(db));
	return send_text(c, 201, answer);
}

struct request {
	char body[BASE_BODY_MAX];
	size_t len;
};

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
    const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	struct request *r = *con_cls;
	bool post = strcmp(method, "POST") == 0;

	(void)cls;
	(void)version;
	if (r == NULL) {
		if ((r = calloc(1, sizeof(*r))) == NULL)
			return MHD_NO;
		*con_cls = r;
		return MHD_YES;
	}
	if (*upload_size != 0) {
		size_t n = *upload_size;
		if (n > sizeof(r->body) - r->len)
			n = sizeof(r->body) - r->len;
		memcpy(r->body + r->len, upload, n);
		r->len += n;
		*upload_size = 0;
		return MHD_YES;
	}
	if (mode == MODE_SSE && !post && strcmp(url, "/events") == 0)
		return stream_open(c);
	if (mode == MODE_SSE && post) {
		struct MHD_Response *resp = MHD_create_response_from_buffer(0, (void *)"",
		    MHD_RESPMEM_PERSISTENT);
		enum MHD_Result ret;
		broadcast();
		if (resp == NULL)
			return MHD_NO;
		ret = MHD_queue_response(c, MHD_HTTP_NO_CONTENT, resp);
		MHD_destroy_response(resp);
		return ret;
	}
	if (mode == MODE_SQLITE && post)
		return on_sqlite_post(c, r->len ? r->body : "{}", r->len ? r->len : 2);
	return send_text(c, 200, TINY);
}

static void
on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)c;
	(void)toe;
	free(*con_cls);
	*con_cls = NULL;
}

static void
open_db(const char *path)
{
	char *msg = NULL;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK ||
	    sqlite3_exec(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; "
	    "CREATE TABLE IF NOT EXISTS tickets (id INTEGER PRIMARY KEY, at INTEGER NOT NULL, "
	    "body TEXT NOT NULL)", NULL, NULL, &msg) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "INSERT INTO tickets(at, body) VALUES (unixepoch(), ?1)", -1,
	    &insert, NULL) != SQLITE_OK) {
		fprintf(stderr, "%s: %s\n", path, msg ? msg : sqlite3_errmsg(db));
		exit(1);
	}
}

int
main(int argc, char **argv)
{
	struct MHD_Daemon *d;
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct rlimit rl;
	const union MHD_DaemonInfo *info;
	sigset_t mask;
	int sigfd;

	if (argc >= 2 && strcmp(argv[1], "json") == 0)
		mode = MODE_JSON;
	else if (argc >= 3 && strcmp(argv[1], "sqlite") == 0)
		mode = MODE_SQLITE;
	else if (argc >= 2 && strcmp(argv[1], "sse") == 0)
		mode = MODE_SSE;
	else {
		fprintf(stderr, "usage: bench_baseline json|sqlite DB|sse\n");
		return 2;
	}
	if (mode == MODE_SQLITE)
		open_db(argv[2]);
	/* Streams need descriptors; the bare server takes all it may. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	if ((sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
		perror("signalfd");
		return 1;
	}
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	event_set(0);
	d = MHD_start_daemon(MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG,
	    0, NULL, NULL, on_request, NULL,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)BASE_CONNECTION_LIMIT,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)BASE_IDLE_TIMEOUT_S,
	    MHD_OPTION_END);
	if (d == NULL) {
		fprintf(stderr, "cannot start libmicrohttpd\n");
		return 1;
	}
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	fprintf(stderr, "ready port %u\n", info ? (unsigned)info->port : 0);
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_EPOLL_FD);
	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = sigfd, .events = POLLIN },
			{ .fd = info->epoll_fd, .events = POLLIN },
		};
		MHD_UNSIGNED_LONG_LONG t;
		int timeout = 1000;

		if (MHD_get_timeout(d, &t) == MHD_YES && t < (MHD_UNSIGNED_LONG_LONG)timeout)
			timeout = (int)t;
		if (resumed)
			timeout = 0;
		resumed = false;
		if (poll(pfd, 2, timeout) < 0 && errno != EINTR)
			break;
		if (pfd[0].revents & POLLIN)
			break;
		MHD_run(d);
	}
	/* Suspended streams must be resumed (and end) before libmicrohttpd may stop. */
	stopping = true;
	for (struct stream *st = streams; st != NULL; st = st->next)
		if (st->suspended)
			MHD_resume_connection(st->conn);
	MHD_stop_daemon(d);
	if (db != NULL) {
		sqlite3_finalize(insert);
		sqlite3_close(db);
	}
	return 0;
}
