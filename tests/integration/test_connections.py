"""
Connections that can never lock the staff out (docs/architecture.md,
"Connections"): thousands of idle connections leave a call and an issue
fast; event streams past the per-address cap and past the total cap are
refused at once with a 503 and Retry-After while staff requests go on; a
slowloris client and an idle keep-alive connection are closed by the
request deadline, which the daemon states in its log at start.

The test process opens thousands of sockets, so it raises its own
descriptor limit first; the total stream cap is reached by starting a
daemon under a small descriptor limit, from which it sizes its budget.
"""
import json
import re
import resource
import select
import signal
import socket
import threading
import time

from harness import (HTTP_TIMEOUT_S, Failure, Skip, _decode_json, check, check_eq, check_error,
                     make_config, read_http_response)

IDLE = 2000
LIMITS_RE = re.compile(r"http: up to (\d+) connections, (\d+) of them event streams \((\d+) per "
                       r"address.*within (\d+) s")
# How much later than its deadline a connection may be closed (the loop's timer, a busy machine).
SLACK_S = 3


def _raise_own_fd_limit(need):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < need:
        raise Skip("the descriptor hard limit is %d, the test needs %d" % (hard, need))
    if soft == resource.RLIM_INFINITY or soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _limits(d):
    """(connections, streams, streams per address, request deadline s) as the daemon logged them."""
    i = d.wait_log("http: up to ")
    with d.lock:
        m = LIMITS_RE.search(d.lines[i])
    check(m is not None, "the limits line does not parse: %r" % d.lines[i])
    return tuple(int(g) for g in m.groups())


def _timed(what, fn, limit_s):
    t0 = time.monotonic()
    r = fn()
    dt = time.monotonic() - t0
    check(dt < limit_s, "%s took %.2f s (at most %.1f s)" % (what, dt, limit_s))
    return r, dt


def _wait_closed(sock, timeout):
    """Seconds until the peer closed sock (EOF or reset), or a Failure after timeout."""
    t0 = time.monotonic()
    sock.setblocking(False)
    p = select.poll()       # descriptors past 1024: select() cannot take them
    p.register(sock, select.POLLIN)
    while True:
        left = timeout - (time.monotonic() - t0)
        if left <= 0:
            raise Failure("the daemon did not close the connection within %.0f s" % timeout)
        if not p.poll(left * 1000):
            continue
        try:
            data = sock.recv(4096)
        except BlockingIOError:
            continue
        except ConnectionResetError:
            return time.monotonic() - t0
        if data == b"":
            return time.monotonic() - t0


def _staff_still_served(d, what):
    """An issue, a call, the hall and /healthz, each answered quickly."""
    t, dt_issue = _timed(what + ": issue", lambda: d.issue("A"), 2.0)
    st, _, j = _timed(what + ": call", lambda: d.post("/api/v1/counters/3/call"), 2.0)[0]
    check_eq(st, 200, what + ": call status (%r)" % (j,))
    check_eq(j["ticket"]["id"], t["id"], what + ": the call takes the ticket just issued")
    check_eq(_timed(what + ": hall", lambda: d.get("/api/v1/queue"), 2.0)[0][0], 200,
             what + ": GET /api/v1/queue")
    check_eq(_timed(what + ": healthz", lambda: d.get("/healthz"), 2.0)[0][0], 200,
             what + ": GET /healthz")
    st, _, j = d.post("/api/v1/counters/3/finish")
    check(st in (200, 204), what + ": complete the call (%d %r)" % (st, j))
    return dt_issue


def test_idle_connections_leave_staff_served_and_are_closed_on_time(env):
    _raise_own_fd_limit(IDLE + 200)
    d = env.daemon()
    conns, streams, per_address, deadline = _limits(d)
    check(conns >= IDLE + 500, "the daemon takes %d connections, fewer than %d idle + staff"
          % (conns, IDLE))
    check(streams >= 5000 or conns < 10000, "at the full budget, at least 5000 streams (%d)"
          % streams)
    d.wait_log("descriptors: ")

    idle = []
    t0 = time.monotonic()
    try:
        for _ in range(IDLE):
            idle.append(socket.create_connection(("127.0.0.1", d.port), timeout=HTTP_TIMEOUT_S))
        opened_s = time.monotonic() - t0
        dt = _staff_still_served(d, "with %d idle connections" % IDLE)
        print("  %d idle connections opened in %.2f s; an issue then took %.1f ms"
              % (IDLE, opened_s, dt * 1000))
        # Every idle connection is closed by its deadline, counted from its accept.
        late = deadline + SLACK_S + opened_s
        for s in idle:
            _wait_closed(s, max(late - (time.monotonic() - t0), 0.5))
        closed_s = time.monotonic() - t0
        check(closed_s >= deadline - 1, "idle connections were closed after %.1f s, before their "
              "%d s deadline" % (closed_s, deadline))
        print("  the last idle connection closed %.1f s after the first opened" % closed_s)
    finally:
        for s in idle:
            s.close()
    d.wait_log("sent no whole request within %d s" % deadline)
    _staff_still_served(d, "after the idle connections")


def test_kept_alive_connection_is_closed_after_the_deadline(env):
    """An idle keep-alive connection is closed by the deadline; an event stream is not."""
    d = env.daemon()
    deadline = _limits(d)[3]
    stream = d.sse()
    stream.wait_hello()
    s = socket.create_connection(("127.0.0.1", d.port), timeout=HTTP_TIMEOUT_S)
    try:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        head = s.recv(4096)
        check(head.startswith(b"HTTP/1.1 200"), "healthz on a kept-alive connection: %r" % head[:40])
        # Still open well inside the deadline: a second request on it is answered.
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        check(s.recv(4096).startswith(b"HTTP/1.1 200"), "a second request on the same connection")
        waited = _wait_closed(s, deadline + SLACK_S)
        check(waited >= deadline - 1, "the idle connection was closed after %.1f s, before its "
              "%d s deadline" % (waited, deadline))
        print("  idle keep-alive connection closed %.1f s after its last reply" % waited)
    finally:
        s.close()
    # The stream, open longer than the deadline, still carries the next event.
    t = d.issue("A")
    for _ in range(10):
        ev = stream.take(1)[0]
        if (ev["data"].get("ticket") or {}).get("number") == t["number"]:
            break
    else:
        raise Failure("the issue of %s never reached the stream" % t["number"])
    check(not stream.ended.is_set(), "the stream is still open")


def _trickle(port, head):
    """A connection that sends head, then one more byte every 0.9 s until it is closed."""
    s = socket.create_connection(("127.0.0.1", port), timeout=HTTP_TIMEOUT_S)
    stop = threading.Event()
    sent = [0]

    def run():
        try:
            s.sendall(head)
            while not stop.wait(0.9):
                s.send(b"a")
                sent[0] += 1
        except OSError:
            pass

    t = threading.Thread(target=run, daemon=True)
    t0 = time.monotonic()
    t.start()
    return s, stop, t, sent, t0


def test_slowloris_is_closed_by_the_request_deadline(env):
    """Headers that never end, and a body that never ends: both closed by the deadline."""
    d = env.daemon()
    deadline = _limits(d)[3]
    slow = {
        "headers": _trickle(d.port, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "),
        "body": _trickle(d.port, b"POST /api/v1/tickets HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                         b"Content-Type: application/json\r\nContent-Length: 4000\r\n\r\n"
                         b"{\"service\": \""),
    }
    for what, (s, stop, t, sent, t0) in slow.items():
        try:
            _wait_closed(s, max(t0 + deadline + SLACK_S - time.monotonic(), 0.5))
            waited = time.monotonic() - t0
        finally:
            stop.set()
            t.join(5)
            s.close()
        check(waited >= deadline - 1, "the slow %s were closed after %.1f s, before the %d s "
              "deadline" % (what, waited, deadline))
        check(sent[0] >= deadline - 2, "the client kept trickling its %s (%d bytes sent)"
              % (what, sent[0]))
        print("  slow %s (a byte every 0.9 s) closed after %.1f s, %d bytes in"
              % (what, waited, sent[0]))
    _staff_still_served(d, "after the slowloris")


def _refused(c, code, what):
    """An SSEClient that got a 503 of code, with Retry-After."""
    check_eq(c.status, 503, "%s: status" % what)
    c.ended.wait(HTTP_TIMEOUT_S)
    body = json.loads(bytes(c.raw).decode("utf-8"))
    check_error((c.status, c.headers, body), 503, code, what)
    ra = c.headers.get("retry-after", "")
    check(ra.isdigit() and int(ra) > 0, "%s: Retry-After %r" % (what, ra))


def _open_until_refused(d, n, what):
    """n streams that must open, then one more that must not; returns the n."""
    out = []
    for i in range(n):
        c = d.sse()
        check_eq(c.status, 200, "%s: stream %d of %d" % (what, i + 1, n))
        out.append(c)
    return out, d.sse()


def test_streams_past_the_per_address_cap_get_503(env):
    d = env.daemon()
    per_address = _limits(d)[2]
    check_eq(per_address, 16, "the default per-address cap")
    streams, extra = _open_until_refused(d, per_address, "one address")
    _refused(extra, "too_many_streams", "stream %d from one address" % (per_address + 1))
    d.wait_log("the most one address may")
    for c in streams:
        c.wait_hello()
    _staff_still_served(d, "with an address at its stream cap")
    # A stream that ends gives its place back (the daemon sees it gone at its next write).
    streams[0].close()
    deadline = time.monotonic() + 20
    while True:
        d.issue("B")
        c = d.sse()
        if c.status == 200:
            break
        check(time.monotonic() < deadline, "no stream opened within 20 s of one closing")
        time.sleep(0.2)


def test_streams_past_the_total_cap_get_503_and_staff_is_served(env):
    fds = 200

    def few_descriptors():
        resource.setrlimit(resource.RLIMIT_NOFILE, (fds, fds))

    d = env.daemon(make_config(branch={"streams_per_address": "0"}), preexec_fn=few_descriptors)
    conns, streams, per_address, _ = _limits(d)
    d.wait_log("descriptors: %d" % fds)
    check_eq(per_address, 0, "streams_per_address = 0")
    check_eq(conns, fds - 64, "connections: the descriptors less the daemon's reserve")
    check(streams < conns, "streams (%d) leave a reserve below the connection limit (%d)"
          % (streams, conns))
    opened, extra = _open_until_refused(d, streams, "total")
    _refused(extra, "streams_full", "stream %d" % (streams + 1))
    d.wait_log("event streams open, the most allowed")
    _staff_still_served(d, "with %d streams open" % streams)
    # The streams still carry events.
    opened[0].wait_hello()
    t = d.issue("A")
    for _ in range(10):
        ev = opened[-1].take(1)[0]
        if ev["data"].get("type") == "ticket.issued" and \
                (ev["data"].get("ticket") or {}).get("number") == t["number"]:
            break
    else:
        raise Failure("the issue of %s never reached the last stream opened" % t["number"])


def test_request_during_shutdown_is_refused(env):
    """
    After SIGTERM the daemon finishes what it has begun and refuses what
    begins later: a request still being sent keeps it in its grace period,
    and a new request on a keep-alive connection opened before gets 503
    shutting_down with Retry-After, not a dropped connection.
    """
    d = env.daemon()
    keep = socket.create_connection(("127.0.0.1", d.port), timeout=HTTP_TIMEOUT_S)
    kf = keep.makefile("rb")
    keep.sendall(d.with_auth(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"))
    st, _, _ = read_http_response(kf)
    check_eq(st, 200, "a first request on the keep-alive connection")
    slow = socket.create_connection(("127.0.0.1", d.port), timeout=HTTP_TIMEOUT_S)
    slow.sendall(d.with_auth(b"POST /api/v1/tickets HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                             b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"))
    # The daemon has the request once it issues nothing and answers a queue: it is in flight.
    check_eq(d.get("/api/v1/queue")[0], 200, "the daemon reads on")
    mark = d.log_mark()
    d.signal(signal.SIGTERM)
    d.wait_log("shutting down", start=mark)
    keep.sendall(d.with_auth(b"GET /api/v1/queue HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"))
    st, hdrs, body = read_http_response(kf)
    check_error((st, hdrs, _decode_json(body)), 503, "shutting_down", "a request begun after SIGTERM")
    check(hdrs.get("retry-after", "").isdigit(), "503 shutting_down says when to retry: %r" % hdrs)
    slow.close()
    keep.close()
    d.stop()
