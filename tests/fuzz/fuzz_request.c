/*
 * fuzz_request.c: libFuzzer target for everything of a request but its
 * body's route: the query parameters (the reports' date, from, to, format,
 * the audit's), the Last-Event-ID header, the headers that say who asks and
 * from where (Cookie, Authorization, Origin, Host, X-CSRF-Token), the
 * Content-Type, and the sign-in body. Nothing is taken as known: api_handle
 * resolves who asks through the real auth over a real SQLite file, as
 * http.c hands it a request.
 *
 * Input: byte 0 picks a route, byte 1 holds flags, then lines ("\n"):
 *   query ("k=v&k=v", as libmicrohttpd decoded it), Cookie, Authorization,
 *   Origin, Host, X-CSRF-Token, Last-Event-ID, Content-Type, and the body
 *   (the rest, newlines and all). A missing line is an absent header; a
 *   line "-" is absent too, so a seed can skip one.
 * Flags: bit 0 appends the admin token's secret to the Authorization line,
 * bit 1 the teller token's to the Cookie line (as "branchq_device="), so
 * that mutations of a valid credential reach the handlers behind sign-in.
 *
 * The password check is the one stand-in: Argon2id takes a tenth of a
 * second, so the sign-in worker here accepts the password "fuzz-password"
 * for every account and refuses any other; the rest of sign-in (the body,
 * lockouts, the counter, the session it writes) is the daemon's own. A
 * request the worker holds (pending) is asked again once the job ended,
 * as http.c does, so a run is repeatable.
 */
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "api.h"
#include "auth.h"
#include "bday.h"
#include "config.h"
#include "store.h"
#include "work.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ADMIN_SECRET  "0123456789abcdef0123456789abcdef"
#define TELLER_SECRET "fedcba9876543210fedcba9876543210"

static struct config cfg;
static struct bus bus;
static struct queue queue;
static struct api api;
static char dir[] = "/tmp/fuzz_request.XXXXXX";
static char db[64];
static int64_t clock_s = 1795000000;
static uint64_t seq;

static const struct {
	const char *method, *path;
} routes[] = {
	{ "GET", "/api/v1/reports/daily" },
	{ "GET", "/api/v1/reports/range" },
	{ "GET", "/api/v1/events" },
	{ "GET", "/api/v1/display/events" },
	{ "POST", "/api/v1/session" },
	{ "GET", "/api/v1/session" },
	{ "DELETE", "/api/v1/session" },
	{ "GET", "/api/v1/audit" },
	{ "GET", "/api/v1/queue" },
	{ "POST", "/api/v1/tickets" },
	{ "POST", "/api/v1/counters/1/call" },
	{ "POST", "/api/v1/counters/1/release" },
	{ "GET", "/healthz" },
	{ "GET", "/api/v1/tickets/1" },
	{ "GET", "/api/v1/t/0123456789abcdef0123456789abcdef/events" },
};

static bool
signin_stand_in(const void *in, uint8_t **out, size_t *len)
{
	const struct signin_job *job = in;

	if ((*out = malloc(1)) == NULL)
		return false;
	(*out)[0] = strcmp(job->password, "fuzz-password") == 0;
	*len = 1;
	return true;
}

static void
fuzz_cleanup(void)
{
	char path[96];

	auth_audit_forget();             /* the audit's cached statement, as branchqd does */
	api_close(&api);
	work_free(api.signins);
	auth_free(api.auth);
	queue_close(&queue);
	store_close(queue.store);
	for (const char *const *s = (const char *const[]){ "", "-wal", "-shm", "-journal", NULL };
	    *s != NULL; s++) {
		snprintf(path, sizeof(path), "%s%s", db, *s);
		unlink(path);
	}
	rmdir(dir);
}

static void
exec_or_die(sqlite3 *h, const char *sql)
{
	char *err = NULL;

	if (sqlite3_exec(h, sql, NULL, NULL, &err) != SQLITE_OK) {
		fprintf(stderr, "fuzz_request: %s: %s\n", sql, err);
		abort();
	}
}

static void
fuzz_setup(void)
{
	char err[256], hash[AUTH_HASH_HEX + 1], sql[512];
	sqlite3 *h;

	if (mkdtemp(dir) == NULL || config_load("config/branchq.conf", &cfg, stderr) != 0 ||
	    bday_set_timezone(cfg.timezone) != 0)
		abort();
	snprintf(db, sizeof(db), "%s/q.db", dir);
	if ((queue.store = store_open(db, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		abort();
	}
	atexit(fuzz_cleanup);
	h = store_db(queue.store);
	exec_or_die(h, "PRAGMA synchronous = OFF");
	auth_hash(ADMIN_SECRET, hash);
	snprintf(sql, sizeof(sql), "INSERT INTO tokens(hash, role, label, created_at) "
	    "VALUES ('%s', 'admin', 'fuzz-admin', 0)", hash);
	exec_or_die(h, sql);
	auth_hash(TELLER_SECRET, hash);
	snprintf(sql, sizeof(sql), "INSERT INTO tokens(hash, role, label, created_at, counter) "
	    "VALUES ('%s', 'teller', 'fuzz-teller', 0, 1)", hash);
	exec_or_die(h, sql);
	exec_or_die(h, "INSERT INTO users(name, role, pwhash, created_at) VALUES "
	    "('head', 'head', 'x', 0), ('teller', 'teller', 'x', 0), ('lobby', 'lobby', 'x', 0)");
	queue.cfg = &cfg;
	queue.bus = &bus;
	api.queue = &queue;
	if (queue_sync_counters(&queue) != BQ_OK ||
	    (api.auth = auth_new(db, &cfg, clock_s)) == NULL ||
	    (api.signins = work_new("fuzz-signin", 4, sizeof(struct signin_job),
	    signin_stand_in)) == NULL)
		abort();
}

/* The query as libmicrohttpd hands it over: "k=v" pairs split on '&'. */
static const char *
query(void *ctx, const char *key)
{
	static char value[512];
	const char *q = ctx;
	size_t kl = strlen(key);

	while (q != NULL && *q != '\0') {
		size_t n = strcspn(q, "&");
		if (n > kl && strncmp(q, key, kl) == 0 && q[kl] == '=') {
			size_t vl = n - kl - 1 < sizeof(value) - 1 ? n - kl - 1 : sizeof(value) - 1;
			memcpy(value, q + kl + 1, vl);
			value[vl] = '\0';
			return value;
		}
		q += n + (q[n] == '&');
	}
	return NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct api_request req = { .addr = "127.0.0.1" };
	struct api_reply rep;
	char *buf, *line[9] = { NULL }, *p, *auth_line = NULL, *cookie_line = NULL;
	size_t nroutes = sizeof(routes) / sizeof(routes[0]);
	int flags;

	if (queue.store == NULL)
		fuzz_setup();
	if (size < 2 || size > API_BODY_MAX)
		return 0;
	if ((buf = malloc(size - 1)) == NULL)
		return 0;
	memcpy(buf, data + 2, size - 2);
	buf[size - 2] = '\0';
	flags = data[1];
	p = buf;
	for (int i = 0; i < 9 && p != NULL; i++) {
		line[i] = p;
		if (i < 8 && (p = strchr(p, '\n')) != NULL)
			*p++ = '\0';
	}
	for (int i = 0; i < 8; i++)
		if (line[i] != NULL && strcmp(line[i], "-") == 0)
			line[i] = NULL;
	if (flags & 1) {
		const char *a = line[2] != NULL ? line[2] : "Bearer ";
		if ((auth_line = malloc(strlen(a) + sizeof(ADMIN_SECRET))) == NULL)
			goto out;
		sprintf(auth_line, "%s%s", a, ADMIN_SECRET);
		line[2] = auth_line;
	}
	if (flags & 2) {
		const char *c = line[1] != NULL ? line[1] : "";
		if ((cookie_line = malloc(strlen(c) + sizeof(TELLER_SECRET) + 32)) == NULL)
			goto out;
		sprintf(cookie_line, "%sbranchq_device=%s", c, TELLER_SECRET);
		line[1] = cookie_line;
	}
	req.method = routes[data[0] % nroutes].method;
	req.path = routes[data[0] % nroutes].path;
	req.query = query;
	req.query_ctx = line[0];
	req.cookie = line[1];
	req.authorization = line[2];
	req.origin = line[3];
	req.host = line[4];
	req.csrf = line[5];
	req.last_event_id = line[6];
	req.content_type = line[7];
	req.body = line[8] != NULL ? line[8] : buf + size - 2;
	req.len = strlen(req.body);
	req.now = clock_s++;
	req.seq = ++seq;
	for (;;) {
		memset(&rep, 0, sizeof(rep));
		api_handle(&api, &req, &rep);
		if (!rep.pending)
			break;
		/* The sign-in worker holds it: wait for the job, then ask again as http.c does. */
		api_reply_free(&rep);
		{
			struct pollfd pfd = { .fd = work_fd(api.signins), .events = POLLIN };
			if (poll(&pfd, 1, 10000) != 1)
				abort();
		}
		work_collect(api.signins);
	}
	if (rep.status < 200 || rep.status > 599)
		abort();
	if (rep.err == BQ_OK && rep.status != 204 && !rep.sse && rep.body == NULL &&
	    rep.raw == NULL && rep.location[0] == '\0')
		abort();
	api_reply_free(&rep);
out:
	free(auth_line);
	free(cookie_line);
	free(buf);
	return 0;
}
