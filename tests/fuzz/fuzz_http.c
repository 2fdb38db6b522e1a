/*
 * fuzz_http.c: libFuzzer target for the HTTP framing as the daemon reads
 * it: each input is the raw bytes a client sends on one connection
 * (request lines, headers, Content-Length or chunked bodies, several
 * requests kept alive one after another). They go over loopback to the
 * real http.c on libmicrohttpd, driven by a loop like branchqd's own, over
 * the demo config, a real SQLite file and the real auth (an admin token
 * whose secret the seeds carry). The client then half-closes and reads
 * until the daemon closes, or has answered every request and sent nothing
 * more for three turns, or a bounded number of turns has passed (an event
 * stream stays open: it is dropped, and a keep-alive lets the daemon find
 * it gone).
 *
 * Whatever the bytes, every answer must begin with an HTTP status line,
 * and nothing may leak or be touched out of bounds.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "api.h"
#include "auth.h"
#include "bday.h"
#include "config.h"
#include "http.h"
#include "sse.h"
#include "store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ADMIN_SECRET "0123456789abcdef0123456789abcdef"
#define TURNS 200                    /* loop turns per input, 2 ms each at most */

static struct config cfg;
static struct bus bus;
static struct queue queue;
static struct api api;
static struct sse *sse;
static struct http *http;
static char dir[] = "/tmp/fuzz_http.XXXXXX";
static char db[64];

static void
fuzz_cleanup(void)
{
	char path[96];

	sse_close_all(sse);
	http_stop(http);
	sse_free(sse);
	auth_audit_forget();
	api_close(&api);
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
fuzz_setup(void)
{
	char err[256], hash[AUTH_HASH_HEX + 1], sql[512];

	if (mkdtemp(dir) == NULL || config_load("config/branchq.conf", &cfg, stderr) != 0 ||
	    bday_set_timezone(cfg.timezone) != 0)
		abort();
	snprintf(db, sizeof(db), "%s/q.db", dir);
	if ((queue.store = store_open(db, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		abort();
	}
	auth_hash(ADMIN_SECRET, hash);
	snprintf(sql, sizeof(sql), "PRAGMA synchronous = OFF; INSERT INTO tokens(hash, role, label, "
	    "created_at) VALUES ('%s', 'admin', 'fuzz-admin', 0)", hash);
	if (sqlite3_exec(store_db(queue.store), sql, NULL, NULL, NULL) != SQLITE_OK)
		abort();
	queue.cfg = &cfg;
	queue.bus = &bus;
	api.queue = &queue;
	if (queue_sync_counters(&queue) != BQ_OK ||
	    (api.auth = auth_new(db, &cfg, (int64_t)time(NULL))) == NULL ||
	    (sse = sse_new(&queue)) == NULL)
		abort();
	bus_subscribe(&bus, EV_ALL, sse_on_event, sse);
	if ((http = http_start("127.0.0.1:0", &api, sse, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		abort();
	}
	atexit(fuzz_cleanup);
}

/* One turn of branchqd's loop, as far as HTTP goes; waits at most ms for input. */
static void
turn(int client, int ms, short *client_ev)
{
	struct pollfd pfd[3] = {
		{ .fd = http_fd(http), .events = POLLIN },
		{ .fd = http_commit_fd(http), .events = POLLIN },
		{ .fd = client, .events = POLLIN },
	};

	if (sse_take_resumed(sse) || http_take_batch_waiting(http))
		ms = 0;
	if (poll(pfd, 3, ms) < 0 && errno != EINTR)
		abort();
	if (pfd[1].revents & POLLIN)
		http_commit_done(http);
	http_run(http);
	*client_ev = pfd[2].revents;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	static char got[1 << 12], scratch[1 << 14];
	size_t ngot = 0, sent = 0;
	bool closed = false;
	int s, idle = 0;

	if (http == NULL)
		fuzz_setup();
	if (size > 8192)
		return 0;
	sa.sin_port = htons((uint16_t)http_port(http));
	if ((s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)) < 0)
		abort();
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) != 0 && errno != EINPROGRESS)
		abort();
	for (int i = 0; i < TURNS && !closed; i++) {
		size_t before = ngot;
		short ev = 0;
		ssize_t n;

		if (sent < size) {
			n = send(s, data + sent, size - sent, MSG_NOSIGNAL);
			if (n > 0)
				sent += (size_t)n;
			if (sent == size)
				shutdown(s, SHUT_WR);
		} else if (size == 0 && i == 0) {
			shutdown(s, SHUT_WR);
		}
		turn(s, 2, &ev);
		/* The first bytes of the answer are kept; the rest is read and dropped. */
		while ((n = ngot < sizeof(got) ? recv(s, got + ngot, sizeof(got) - ngot, 0) :
		    recv(s, scratch, sizeof(scratch), 0)) > 0)
			if (ngot < sizeof(got))
				ngot += (size_t)n;
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
			closed = true;
		/* All sent, every request answered, and nothing more came for a few turns: done. */
		idle = sent == size && http_active(http) == 0 && ngot == before ? idle + 1 : 0;
		if (idle >= 3)
			break;
	}
	close(s);
	/* An answer, if any, is HTTP: a status line first. */
	if (ngot >= 5 && memcmp(got, "HTTP/", 5) != 0)
		abort();
	/* Let the daemon find the connection gone: streams are woken to notice. */
	sse_keepalive(sse);
	for (int i = 0; i < 3; i++) {
		short ev;
		turn(-1, 0, &ev);
	}
	return 0;
}
