/*
 * bench_fanout: how long one event takes to reach the last of N streams.
 *
 *   bench_fanout PORT STREAM_PATH N POST_PATH MARKER ROUNDS
 *
 * Opens N Server-Sent Events streams (GET STREAM_PATH) to 127.0.0.1:PORT
 * and waits for each one's 200 answer. Then, ROUNDS times: sends POST
 * POST_PATH (no body) on its own keep-alive connection and reads every
 * stream until each has received MARKER; prints one line per round,
 *
 *   round LAST_US TRIP_US
 *
 * LAST_US from the POST's send to the last stream's read that completed
 * MARKER, TRIP_US to the POST's whole answer (-1 when a round timed out
 * after 5 s; three such rounds in a row end the run). First it prints "opened K of N", last "done", and then keeps
 * the streams open until its standard input ends. C, and one epoll loop, so the
 * client's own cost stays small beside the server's: a Python client reading
 * 500 sockets takes milliseconds of its own. Used by make bench only.
 */
#include <errno.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define FAN_MAX_STREAMS 20000
#define FAN_ROUND_TIMEOUT_US 5000000LL
#define FAN_OPEN_TIMEOUT_US 20000000LL
#define FAN_GAP_US 50000LL
#define FAN_TAIL 64
/* A server that never sends MARKER (another event format) costs at most this many rounds. */
#define FAN_MAX_MISSES 3

struct stream {
	int fd;
	bool ok;                     /* the 200 answer arrived */
	bool got;                    /* MARKER seen this round */
	size_t tail_len;
	char tail[FAN_TAIL];
};

static struct stream *streams;
static char buf[1 << 18];
static int ep, opened;

/* A stream the server closed: it no longer counts. */
static void
stream_drop(struct stream *st)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, st->fd, NULL);
	close(st->fd);
	st->fd = -1;
	if (st->ok)
		opened--;
	st->ok = false;
}

static long long
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/*
 * A connection to 127.0.0.1:port. A stream (i >= 0) comes from its own
 * loopback address, 127.1.x.y, as each phone and display in a hall has its
 * own: a daemon's per-address cap must not take them all for one client.
 */
static int
dial(int port, int i)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct sockaddr_in src = { .sin_family = AF_INET };
	struct timeval tv = { .tv_sec = 1 };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0)
		return -1;
	if (i >= 0) {
		src.sin_addr.s_addr = htonl((127u << 24) | (1u << 16) |
		    ((unsigned)(i / 250 % 250) << 8) | (unsigned)(1 + i % 250));
		if (bind(fd, (struct sockaddr *)&src, sizeof(src)) != 0) {
			close(fd);
			return -1;
		}
	}
	/* A server past its limit may never accept: give up on connect after a second. */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static bool
send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

/* Whether MARKER ends up in the stream's last bytes plus data. */
static bool
saw_marker(struct stream *st, const char *data, size_t n, const char *marker, size_t mlen)
{
	char joined[FAN_TAIL * 2];
	size_t head = n < FAN_TAIL ? n : FAN_TAIL;

	if (memmem(data, n, marker, mlen) != NULL)
		return true;
	/* A marker split across two reads. */
	memcpy(joined, st->tail, st->tail_len);
	memcpy(joined + st->tail_len, data, head);
	if (memmem(joined, st->tail_len + head, marker, mlen) != NULL)
		return true;
	st->tail_len = n < FAN_TAIL ? n : FAN_TAIL;
	memcpy(st->tail, data + n - st->tail_len, st->tail_len);
	return false;
}

/* The POST's answer is whole: headers and Content-Length bytes of body. */
static bool
answer_complete(const char *a, size_t n)
{
	const char *end = memmem(a, n, "\r\n\r\n", 4);
	const char *cl;
	long len = 0;

	if (end == NULL)
		return false;
	cl = memmem(a, (size_t)(end - a), "ontent-Length:", 14);
	if (cl == NULL)
		cl = memmem(a, (size_t)(end - a), "ontent-length:", 14);
	if (cl != NULL)
		len = strtol(cl + 14, NULL, 10);
	return (long)(n - (size_t)(end + 4 - a)) >= len;
}

/* A whole decimal number in 1..max, else -1. */
static int
parse_count(const char *s, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	return errno != 0 || end == s || *end != '\0' || v < 1 || v > max ? -1 : (int)v;
}

int
main(int argc, char **argv)
{
	struct epoll_event evs[512];
	struct rlimit rl;
	char req[1024], answer[65536];
	char auth[128] = "";
	const char *marker;
	size_t mlen;
	int port, n, rounds, post, waiting;
	long long deadline;

	if (argc != 7) {
		fprintf(stderr, "usage: bench_fanout PORT STREAM_PATH N POST_PATH MARKER ROUNDS\n");
		return 2;
	}
	port = parse_count(argv[1], 65535);
	n = parse_count(argv[3], FAN_MAX_STREAMS);
	marker = argv[5];
	mlen = strlen(marker);
	rounds = parse_count(argv[6], 100000);
	if (port < 0 || n < 0 || rounds < 0 || mlen == 0 || mlen > FAN_TAIL) {
		fprintf(stderr, "bench_fanout: bad arguments\n");
		return 2;
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if ((streams = calloc((size_t)n, sizeof(*streams))) == NULL || (ep = epoll_create1(0)) < 0)
		return 1;
	/* BENCH_AUTH: a branchqd API token, for the staff stream and the POST. */
	if (getenv("BENCH_AUTH") != NULL)
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", getenv("BENCH_AUTH"));
	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s"
	    "Accept: text/event-stream\r\n\r\n", argv[2], auth);
	for (int i = 0; i < n; i++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)i };
		streams[i].fd = dial(port, i);
		if (streams[i].fd < 0 || !send_all(streams[i].fd, req, strlen(req)) ||
		    epoll_ctl(ep, EPOLL_CTL_ADD, streams[i].fd, &ev) != 0) {
			if (streams[i].fd >= 0)
				close(streams[i].fd);
			streams[i].fd = -1;
		}
	}
	/* Every stream's 200 (its first read); a stream refused or closed does not count. */
	waiting = n;
	deadline = now_us() + FAN_OPEN_TIMEOUT_US;
	for (int i = 0; i < n; i++)
		if (streams[i].fd < 0)
			waiting--;
	while (waiting > 0 && now_us() < deadline) {
		int k = epoll_wait(ep, evs, 512, 200);
		for (int j = 0; j < k; j++) {
			struct stream *st = &streams[evs[j].data.u32];
			ssize_t r;
			if (st->fd < 0)
				continue;
			r = recv(st->fd, buf, sizeof(buf), 0);
			if (st->ok) {
				if (r <= 0)
					stream_drop(st);
				continue;
			}
			if (r >= 12 && memcmp(buf, "HTTP/1.1 200", 12) == 0) {
				st->ok = true;
				opened++;
			} else {
				stream_drop(st);
			}
			waiting--;
		}
	}
	printf("opened %d of %d\n", opened, n);
	fflush(stdout);
	if ((post = dial(port, -1)) < 0) {
		printf("round -1 -1\n");
		return 0;
	}
	{
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = UINT32_MAX };
		epoll_ctl(ep, EPOLL_CTL_ADD, post, &ev);
	}
	snprintf(req, sizeof(req), "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s"
	    "Content-Type: application/json\r\nContent-Length: 0\r\n\r\n", argv[4], auth);
	for (int round = 0, misses = 0; round < rounds && misses < FAN_MAX_MISSES; round++) {
		long long t0, last = -1, trip = -1, gap_end;
		int left = opened;
		size_t alen = 0;

		for (int i = 0; i < n; i++) {
			streams[i].got = false;
			streams[i].tail_len = 0;
		}
		t0 = now_us();
		if (!send_all(post, req, strlen(req)))
			break;
		deadline = t0 + FAN_ROUND_TIMEOUT_US;
		while ((left > 0 || trip < 0) && now_us() < deadline) {
			int k = epoll_wait(ep, evs, 512, 100);
			for (int j = 0; j < k; j++) {
				long long t;
				ssize_t r;
				struct stream *st;
				if (evs[j].data.u32 == UINT32_MAX) {
					r = recv(post, answer + alen, sizeof(answer) - alen, 0);
					if (r > 0)
						alen += (size_t)r;
					if (trip < 0 && answer_complete(answer, alen))
						trip = now_us() - t0;
					if (r <= 0 || alen == sizeof(answer))
						deadline = 0;   /* the POST connection broke */
					continue;
				}
				st = &streams[evs[j].data.u32];
				if (st->fd < 0)
					continue;
				r = recv(st->fd, buf, sizeof(buf), 0);
				t = now_us();
				if (r <= 0) {
					if (st->ok && !st->got)
						left--;
					stream_drop(st);
					continue;
				}
				if (!st->got && saw_marker(st, buf, (size_t)r, marker, mlen)) {
					st->got = true;
					left--;
					last = t - t0;
				}
			}
		}
		misses = left == 0 ? 0 : misses + 1;
		printf("round %lld %lld\n", left == 0 ? last : -1, trip);
		fflush(stdout);
		/* Let the rest of this event (a second one, keep-alives) go by. */
		gap_end = now_us() + FAN_GAP_US;
		while (now_us() < gap_end) {
			int k = epoll_wait(ep, evs, 512, 10);
			for (int j = 0; j < k; j++) {
				if (evs[j].data.u32 == UINT32_MAX) {
					if (recv(post, buf, sizeof(buf), MSG_DONTWAIT) == 0) {
						epoll_ctl(ep, EPOLL_CTL_DEL, post, NULL);
						close(post);
						post = -1;
					}
				} else {
					struct stream *st = &streams[evs[j].data.u32];
					if (st->fd >= 0 && recv(st->fd, buf, sizeof(buf), MSG_DONTWAIT) == 0)
						stream_drop(st);
				}
			}
		}
		if (post < 0)
			break;
	}
	/* The streams stay open until stdin ends, so their memory can be read. */
	printf("done\n");
	fflush(stdout);
	while (read(0, buf, sizeof(buf)) > 0)
		;
	return 0;
}
