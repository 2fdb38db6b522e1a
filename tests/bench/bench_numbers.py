"""The issue's numbers: branchqd beside bare servers built and run in the same run.

Each figure is measured on branchqd and on a baseline (tests/bench/bench_baseline.c)
one after the other on this machine, and printed as a ratio: the machine is shared
and noisy, so an absolute number means little on its own. The figures (docs/performance.md
says what each means):

  issue        wrk, 50 keep-alive connections, POST /api/v1/tickets: req/s and p99,
               beside one SQLite commit per request (baseline sqlite); again with
               10,000 tickets already waiting
  fan-out      POST .../call -> the last of 500 hall-display streams has the event,
               beside a bare SSE server broadcasting to 500 streams (baseline sse),
               both timed by the C client build/release/bench_fanout
  mixed        500 phone, 20 staff, 2 display streams and 2,000 waiting: a call's
               round trip, and the daemon's CPU time per event
  5,000        5,000 streams open: a staff POST on a new connection
  slow disk    every sync 20 ms (build/release/slowsync.so), 200 waiting:
               GET /api/v1/queue while wrk issues at 50 connections
  memory       VmRSS idle, with 500 streams, after 10,000 tickets

Streams are opened with plain non-blocking sockets. The kind of stream is found by
asking: a hall-display or per-ticket phone stream URL that does not answer 200 with
text/event-stream falls back to the staff stream /api/v1/events, and the output says so.
Waiting tickets are written into the database before the daemon starts (an HTTP
issue of 10,000 would take minutes today); the daemon's own count is checked after.
Every loop is bounded in count and in time; all traffic goes to 127.0.0.1.
"""
import argparse
import datetime
import http.client
import json
import os
import random
import re
import resource
import selectors
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.join(ROOT, "build", "release")
LUA = os.path.join(ROOT, "tests", "bench", "post.lua")
# Issue, then cancel one of one's own: the hall keeps its size while others issue.
LUA_ISSUE_CANCEL = os.path.join(ROOT, "tests", "bench", "issue_cancel.lua")
CONFIG = os.path.join(ROOT, "config", "branchq.conf")
CLK_TCK = os.sysconf("SC_CLK_TCK")
ORIG_NOFILE = resource.getrlimit(resource.RLIMIT_NOFILE)

# Candidate URLs of the stream kinds that are being built; the first that answers wins.
# BRANCHQ_BENCH_DISPLAY_STREAM and BRANCHQ_BENCH_PHONE_STREAM name others to try first.
DISPLAY_STREAMS = [p for p in [os.environ.get("BRANCHQ_BENCH_DISPLAY_STREAM")] if p] + \
    ["/api/v1/display/events", "/api/v1/hall/events", "/api/v1/events/display"]
PHONE_STREAM = os.environ.get("BRANCHQ_BENCH_PHONE_STREAM") or "/api/v1/t/{token}/events"
STAFF_STREAM = "/api/v1/events"
SERVICES = ["A", "A", "A", "B", "V"]


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def restore_nofile():
    """In a server's child before exec: the daemon gets the limit make bench was given."""
    resource.setrlimit(resource.RLIMIT_NOFILE, ORIG_NOFILE)


def percentile(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[max(0, min(len(values) - 1, int(round(p / 100.0 * (len(values) - 1)))))]


class Server:
    """A server under test, started in the foreground; stop() ends it by its pid."""

    def __init__(self, tmp, name, argv, ready, env=None):
        self.log_path = os.path.join(tmp, name + ".log")
        self.log = open(self.log_path, "w+")
        e = dict(os.environ)
        e.update(env or {})
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=self.log, env=e, cwd=ROOT,
                                     preexec_fn=restore_nofile)
        self.pid = self.proc.pid
        self.port = None
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and self.proc.poll() is None:
            self.log.seek(0)
            m = re.search(ready, self.log.read())
            if m:
                self.port = int(m.group(1))
                return
            time.sleep(0.02)
        self.stop()
        self.log.seek(0)
        sys.exit("%s did not start:\n%s" % (name, self.log.read()[-3000:]))

    def status(self):
        with open("/proc/%d/status" % self.pid) as f:
            text = f.read()
        return {k: int(re.search(k + r":\s+(\d+) kB", text).group(1)) for k in ("VmRSS", "VmHWM")}

    def cpu_s(self):
        with open("/proc/%d/stat" % self.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# port -> the API token its branchqd was started with (staff requests need one).
TOKENS = {}


def start_branchqd(tmp, name, db, env=None):
    out = subprocess.run([os.path.join(BUILD, "branchqd"), "token", "add", "--role", "admin",
                          "--name", "bench", "-f", CONFIG, "--db", db],
                         capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        sys.exit("token add failed: " + out.stderr)
    s = Server(tmp, name, [os.path.join(BUILD, "branchqd"), "-d", "-f", CONFIG, "--listen",
                           "127.0.0.1:0", "--db", db],
               r"ready.*http://127\.0\.0\.1:(\d+)", env)
    TOKENS[s.port] = out.stdout.split()[-1]
    return s


def auth_env(port, env=None):
    e = dict(env or os.environ)
    if port in TOKENS:
        e["BENCH_AUTH"] = TOKENS[port]
    return e


def start_baseline(tmp, name, mode, db=None, env=None):
    argv = [os.path.join(BUILD, "bench_baseline"), mode] + ([db] if db else [])
    return Server(tmp, name, argv, r"ready port (\d+)", env)


def slow_env(ms):
    return {"LD_PRELOAD": os.path.join(BUILD, "slowsync.so"), "BRANCHQ_BENCH_SYNC_MS": str(ms)}


def wrk(port, path, seconds, conns=50, body='{"service":"A"}'):
    """wrk POSTing body at 50 keep-alive connections; req/s counts only 2xx answers."""
    env = dict(auth_env(port), BENCH_BODY=body)
    out = subprocess.run(["wrk", "-t2", "-c%d" % conns, "-d%ds" % seconds, "--timeout", "10s",
                          "-s", LUA, "http://127.0.0.1:%d%s" % (port, path)],
                         capture_output=True, text=True, env=env, timeout=seconds + 60).stdout
    m = re.search(r"BENCH (.*)", out)
    if not m:
        sys.exit("wrk printed no summary:\n" + out)
    r = {k: int(v) for k, v in (kv.split("=") for kv in m.group(1).split())}
    bad = r["status"] + r["timeout"] + r["connect"] + r["read"] + r["write"]
    r["ok"] = r["requests"] - r["status"]
    r["req_s"] = r["ok"] / (r["duration_us"] / 1e6)
    r["p99_ms"] = r["p99_us"] / 1000.0
    r["errors"] = bad
    return r


def wrk_start(port, path, seconds, conns=50, body='{"service":"A"}', script=LUA):
    env = dict(auth_env(port), BENCH_BODY=body)
    return subprocess.Popen(["wrk", "-t2", "-c%d" % conns, "-d%ds" % seconds, "--timeout", "10s",
                             "-s", script, "http://127.0.0.1:%d%s" % (port, path)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)


class Client:
    """One keep-alive HTTP connection; request() returns (seconds, status, body)."""

    def __init__(self, port, timeout=10):
        self.port, self.timeout = port, timeout
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)

    def request(self, method, path, body=None):
        headers = {"Content-Type": "application/json"} if body is not None else {}
        if self.port in TOKENS:
            headers["Authorization"] = "Bearer " + TOKENS[self.port]
        data = json.dumps(body) if body is not None else None
        t0 = time.perf_counter()
        try:
            self.conn.request(method, path, body=data, headers=headers)
            r = self.conn.getresponse()
            payload = r.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            return time.perf_counter() - t0, None, b""
        return time.perf_counter() - t0, r.status, payload

    def json(self, method, path, body=None):
        _, st, data = self.request(method, path, body)
        return st, (json.loads(data) if data else None)


# ---- waiting tickets, written straight into the database -------------------------------

def config_value(key, default):
    with open(CONFIG, encoding="utf-8") as f:
        m = re.search(r"(?m)^%s\s*=\s*(\S+)" % re.escape(key), f.read())
    return m.group(1) if m else default


def business_day(now):
    from zoneinfo import ZoneInfo
    tz = ZoneInfo(config_value("timezone", "Asia/Shanghai"))
    h, m = (int(x) for x in config_value("day_reset", "04:00").split(":"))
    local = datetime.datetime.fromtimestamp(now, tz) - datetime.timedelta(hours=h, minutes=m)
    return local.date().isoformat()


def preload(tmp, db, n):
    """n waiting tickets for today in a fresh database; returns their tokens.

    The daemon creates its schema first. Should the schema have moved on so the
    insert fails, the tickets are issued over HTTP instead, for at most 120 s.
    """
    s = start_branchqd(tmp, "schema", db)
    s.stop()
    now = int(time.time())
    bday = business_day(now)
    rnd = random.Random(n)
    seq = {}
    rows, tokens = [], []
    for i in range(n):
        svc = SERVICES[i % len(SERVICES)]
        seq[svc] = seq.get(svc, 0) + 1
        token = "%032x" % rnd.getrandbits(128)
        tokens.append(token)
        at = now - n + i
        rows.append((i + 1, i + 1, bday, "%s%03d" % (svc, seq[svc]), svc,
                     "elderly" if i % 7 == 0 else "normal", token, at, at))
    try:
        con = sqlite3.connect(db)
        with con:
            con.executemany("INSERT INTO tickets(id, origin_id, bday, number, service, category, "
                            "lang, status, token, issued_at, created_at) VALUES "
                            "(?, ?, ?, ?, ?, ?, 'zh', 'waiting', ?, ?, ?)", rows)
            con.executemany("INSERT INTO sequences(bday, service, last) VALUES (?, ?, ?)",
                            [(bday, k, v) for k, v in seq.items()])
            con.executemany("INSERT INTO events(at, type, ticket_id, counter, data) "
                            "VALUES (?, 'ticket.issued', ?, NULL, '{}')",
                            [(r[7], r[0]) for r in rows])
        con.close()
        return tokens
    except sqlite3.Error as e:
        print("  (preload into the database failed: %s; issuing over HTTP)" % e)
    s = start_branchqd(tmp, "preload", db)
    c, tokens = Client(s.port), []
    deadline = time.monotonic() + 120
    for i in range(n):
        if time.monotonic() > deadline:
            print("  (HTTP preload stopped at %d of %d tickets after 120 s)" % (i, n))
            break
        st, body = c.json("POST", "/api/v1/tickets", {"service": SERVICES[i % len(SERVICES)]})
        if st == 201:
            tokens.append(body["ticket"]["token"])
    s.stop()
    return tokens


def waiting(port):
    st, body = Client(port, timeout=30).json("GET", "/api/v1/services")
    return sum(s.get("waiting", 0) for s in body["services"]) if st == 200 else -1


# ---- event streams over plain sockets ------------------------------------------------

class Stream:
    __slots__ = ("sock", "path", "ok", "head")

    def __init__(self, sock, path):
        self.sock, self.path, self.ok, self.head = sock, path, None, b""


def stream_source(i):
    """The i-th stream's own loopback address (127.1.x.y): each phone and display in a
    hall has its own, so a daemon's per-address cap must not count them as one client."""
    return "127.1.%d.%d" % (i // 250 % 250, 1 + i % 250)


def open_streams(port, paths, batch=250, timeout=10.0, budget=60.0):
    """Open one stream per path; returns (streams that answered 200, all streams).

    Streams are opened batch by batch; once a whole batch is refused (the
    server's connection limit) or budget seconds are spent, the rest are not tried.
    """
    raise_nofile()
    sel = selectors.DefaultSelector()
    all_streams = []
    end = time.monotonic() + budget
    for start in range(0, len(paths), batch):
        if time.monotonic() > end:
            break
        pending = []
        for i, path in enumerate(paths[start:start + batch], start):
            try:
                s = socket.create_connection(("127.0.0.1", port), timeout=1,
                                             source_address=(stream_source(i), 0))
                auth = ("Authorization: Bearer %s\r\n" % TOKENS[port]) if port in TOKENS else ""
                s.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n" % path + auth +
                           "Accept: text/event-stream\r\n\r\n").encode())
            except OSError:
                all_streams.append(Stream(None, path))
                continue
            s.setblocking(False)
            st = Stream(s, path)
            all_streams.append(st)
            pending.append(st)
            sel.register(s, selectors.EVENT_READ, st)
        deadline = min(end, time.monotonic() + timeout)
        while any(st.ok is None for st in pending) and time.monotonic() < deadline:
            for key, _ in sel.select(0.2):
                st = key.data
                try:
                    data = st.sock.recv(65536)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if st.ok is None:
                    st.head += data
                    if b"\r\n\r\n" in st.head or not data:
                        st.ok = st.head.startswith(b"HTTP/1.1 200") and \
                            b"text/event-stream" in st.head.lower()
                if not data:
                    sel.unregister(st.sock)
                    st.sock.close()
                    st.sock = None
                    st.ok = False
        for st in pending:
            if st.ok is None:
                st.ok = False
        if pending and not any(st.ok for st in pending):
            break
    sel.close()
    for st in all_streams:
        if not st.ok and st.sock is not None:
            st.sock.close()
            st.sock = None
    return [st for st in all_streams if st.ok], all_streams


def close_streams(streams):
    for st in streams:
        if st.sock is not None:
            st.sock.close()
            st.sock = None


def probe_stream(port, path):
    ok, _ = open_streams(port, [path], timeout=3)
    close_streams(ok)
    return bool(ok)


def stream_kinds(port, token):
    """The URLs of the display and phone streams this daemon offers, or the staff stream."""
    display = next((p for p in DISPLAY_STREAMS if probe_stream(port, p)), None)
    phone = PHONE_STREAM.format(token=token) if token else None
    if phone and not probe_stream(port, phone):
        phone = None
    return display, phone is not None


def hold(args):
    """--hold: open the streams given as JSON on stdin, keep reading them until stdin says stop."""
    paths = json.loads(sys.stdin.readline())
    if os.environ.get("BENCH_AUTH"):
        TOKENS[args.port] = os.environ["BENCH_AUTH"]     # the parent's token for this daemon
    ok, _ = open_streams(args.port, paths)
    print(json.dumps({"opened": len(ok), "asked": len(paths)}), flush=True)
    sel = selectors.DefaultSelector()
    for st in ok:
        sel.register(st.sock, selectors.EVENT_READ, st)
    sel.register(sys.stdin, selectors.EVENT_READ, None)
    deadline = time.monotonic() + args.hold_seconds
    while time.monotonic() < deadline:
        for key, _ in sel.select(1.0):
            if key.data is None:
                close_streams(ok)
                return
            try:
                if not key.data.sock.recv(262144):
                    sel.unregister(key.data.sock)
            except BlockingIOError:
                pass
    close_streams(ok)


class Holder:
    """A child process that keeps streams open and read while this one measures."""

    def __init__(self, port, paths, seconds=300):
        self.proc = subprocess.Popen([sys.executable, __file__, "--hold", "--port", str(port),
                                      "--hold-seconds", str(seconds)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     env=auth_env(port))
        self.proc.stdin.write(json.dumps(paths) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        self.opened = json.loads(line)["opened"] if line else 0

    def stop(self):
        try:
            self.proc.stdin.write("stop\n")
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def timed_posts(port, path, n, gap, keep=None, timeout=3.0, budget=20.0):
    """n POSTs, each on a new connection as a page after a reconnect would, or all on the
    keep-alive Client keep (opened before the streams); failures counted."""
    times, failed = [], 0
    end = time.monotonic() + budget
    for _ in range(n):
        if time.monotonic() > end:
            break
        c = keep or Client(port, timeout=timeout)
        dt, st, _ = c.request("POST", path, {})
        if keep is None:
            c.conn.close()
        if st is not None and st < 500:
            times.append(dt)
        else:
            failed += 1
        time.sleep(gap)
    return times, failed


# ---- the table ----------------------------------------------------------------------

ROWS = []


def row(figure, ours, base, unit, target=None, kind="info", fmt="%.1f", note=""):
    """kind: 'max' (ours <= target), 'min' (ours >= target), 'ratio_max'/'ratio_min' (ratio)."""
    ratio = ours / base if base and ours == ours and base == base else float("nan")
    met = "-"
    if kind == "max":
        met = "met" if ours <= target else "not met"
    elif kind == "min":
        met = "met" if ours >= target else "not met"
    elif kind == "ratio_max":
        met = "met" if ratio <= target else "not met"
    elif kind == "ratio_min":
        met = "met" if ratio >= target else "not met"
    if kind == "info" or ours != ours:
        met = "-" if kind == "info" else "not met"
    tgt = {"max": "<= %g %s" % (target, unit) if target is not None else "",
           "min": ">= %g %s" % (target, unit) if target is not None else "",
           "ratio_max": "ratio <= %g" % target if target is not None else "",
           "ratio_min": "ratio >= %g" % target if target is not None else "",
           "info": "-"}[kind]
    ROWS.append((figure, (fmt % ours) + " " + unit if ours == ours else "n/a",
                 (fmt % base) + " " + unit if base is not None and base == base else "-",
                 "%.2f" % ratio if ratio == ratio else "-", tgt, met, note))
    print("  %s: branchq %s, baseline %s" % (figure, ROWS[-1][1], ROWS[-1][2]), flush=True)


def print_table():
    head = ("figure", "branchq", "baseline", "ratio", "target", "met")
    widths = [max(len(str(r[i])) for r in ROWS + [head]) for i in range(6)]
    line = "| " + " | ".join(h.ljust(w) for h, w in zip(head, widths)) + " |"
    print()
    print(line)
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in ROWS:
        print("| " + " | ".join(str(v).ljust(w) for v, w in zip(r[:6], widths)) + " |")
    notes = [(i + 1, r[6]) for i, r in enumerate(ROWS) if r[6]]
    if notes:
        print()
        for i, r in enumerate(ROWS):
            if r[6]:
                print("- %s: %s" % (r[0], r[6]))


# ---- the figures ----------------------------------------------------------------------

def median(values):
    return percentile(values, 50)


def issue_figures(tmp, seconds, runs):
    """Medians of runs rounds, each round one run of the baseline beside one of branchqd."""
    print("durable issue at 50 connections, %d rounds" % runs, flush=True)
    b1 = start_baseline(tmp, "base-json", "json")
    j = wrk(b1.port, "/", seconds, body="{}")
    b1.stop()
    db10k = os.path.join(tmp, "10k.db")
    preload(tmp, db10k, 10000)
    s, q, q10, n10 = [], [], [], []
    idle = after = None
    for k in range(runs):
        b2 = start_baseline(tmp, "base-sqlite", "sqlite", os.path.join(tmp, "base%d.db" % k))
        s.append(wrk(b2.port, "/", seconds))
        b2.stop()
        d = start_branchqd(tmp, "issue", os.path.join(tmp, "issue%d.db" % k))
        idle = idle or d.status()
        q.append(wrk(d.port, "/api/v1/tickets", seconds))
        d.stop()
        db = os.path.join(tmp, "10k-%d.db" % k)
        shutil.copy(db10k, db)
        d = start_branchqd(tmp, "issue-10k", db)
        n10.append(waiting(d.port))
        q10.append(wrk(d.port, "/api/v1/tickets", seconds))
        after = after or d.status()
        d.stop()

    def med(rs, key):
        return median([r[key] for r in rs])
    errs = "%d issued, %d errors over %d runs" % (sum(r["ok"] for r in q), sum(r["errors"] for r in q),
                                                  runs)
    row("issue req/s, 50 conns (vs bare HTTP, tiny JSON)", med(q, "req_s"), j["req_s"], "req/s",
        fmt="%.0f", note="one run of the bare server")
    row("issue req/s, 50 conns (vs one commit per request)", med(q, "req_s"), med(s, "req_s"),
        "req/s", 3, "ratio_min", "%.0f", errs)
    row("issue p99, 50 conns", med(q, "p99_ms"), med(s, "p99_ms"), "ms", 10, "max")
    note = "%s waiting at start, %d issued, %d errors over %d runs" % (
        "/".join(str(n) for n in sorted(set(n10))), sum(r["ok"] for r in q10),
        sum(r["errors"] for r in q10), runs)
    row("issue req/s, 10,000 waiting (vs empty hall)", med(q10, "req_s"), med(q, "req_s"),
        "req/s", 0.8, "ratio_min", "%.0f", note)
    row("issue p99, 10,000 waiting (vs empty hall)", med(q10, "p99_ms"), med(q, "p99_ms"), "ms",
        10, "max")
    return idle, after


class Fanout:
    """build/release/bench_fanout: N streams, rounds POSTs, each timed to the last stream."""

    def __init__(self, port, stream_path, n, post_path, rounds, marker="ticket.called"):
        self.proc = subprocess.Popen([os.path.join(BUILD, "bench_fanout"), str(port), stream_path,
                                      str(n), post_path, marker, str(rounds)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     env=auth_env(port))
        self.opened, self.lasts, self.trips, self.missed = 0, [], [], 0
        end = time.monotonic() + 120
        for line in self.proc.stdout:
            f = line.split()
            if f[0] == "opened":
                self.opened = int(f[1])
            elif f[0] == "round":
                if int(f[1]) >= 0:
                    self.lasts.append(int(f[1]) / 1e6)
                else:
                    self.missed += 1
                if int(f[2]) >= 0:
                    self.trips.append(int(f[2]) / 1e6)
            if f[0] == "done" or time.monotonic() > end:
                break

    def close(self):
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def fanout_figures(tmp, rounds):
    print("call -> the last of 500 display streams", flush=True)
    b3 = start_baseline(tmp, "base-sse", "sse")
    b3_idle = b3.status()
    fb = Fanout(b3.port, "/events", 500, "/event", rounds)
    b3_500 = b3.status()
    fb.close()
    b3.stop()

    db = os.path.join(tmp, "fanout.db")
    tokens = preload(tmp, db, rounds + 50)
    d = start_branchqd(tmp, "fanout", db)
    display, _ = stream_kinds(d.port, tokens[0] if tokens else None)
    path = display or STAFF_STREAM
    before = d.status()
    f = Fanout(d.port, path, 500, "/api/v1/counters/1/call", rounds)
    marker = "ticket.called"
    if not f.lasts:
        # A stream that words a call otherwise: time the first event of any kind.
        f.close()
        marker = "data:"
        f = Fanout(d.port, path, 500, "/api/v1/counters/1/call", rounds, marker)
    rss500 = d.status()
    f.close()
    d.stop()
    kind = "display stream %s" % path if display else "no display stream yet: %s" % path
    if marker != "ticket.called":
        kind += ", timed to its first event after the call (no 'ticket.called' in it)"
    row("call -> last of 500 display streams, p99", percentile(f.lasts, 99) * 1000,
        percentile(fb.lasts, 99) * 1000, "ms", 1.5, "ratio_max", "%.1f",
        "%s; %d of 500 streams open (baseline %d); %d rounds, %d timed out (baseline %d); "
        "p50 %.1f ms (baseline %.1f ms)" %
        (kind, f.opened, fb.opened, rounds, f.missed, fb.missed,
         percentile(f.lasts, 50) * 1000, percentile(fb.lasts, 50) * 1000))
    per_stream = ((rss500["VmRSS"] - before["VmRSS"]) / max(1, f.opened),
                  (b3_500["VmRSS"] - b3_idle["VmRSS"]) / 500)
    return b3_idle, b3_500, rss500, f.opened, per_stream


def mixed_figures(tmp, calls):
    print("500 phone, 20 staff, 2 display streams, 2,000 waiting: a call's round trip",
          flush=True)
    db = os.path.join(tmp, "mixed.db")
    tokens = preload(tmp, db, 2000)
    d = start_branchqd(tmp, "mixed", db)
    n = waiting(d.port)
    display, phone = stream_kinds(d.port, tokens[0] if tokens else None)
    paths = [PHONE_STREAM.format(token=t) if phone else STAFF_STREAM for t in tokens[:500]]
    paths += [STAFF_STREAM] * 20 + [display or STAFF_STREAM] * 2
    h = Holder(d.port, paths)
    c = Client(d.port)
    _, ev = c.json("GET", "/api/v1/queue")
    first_event = ev.get("last_event_id") if ev else None
    trips, cpu0 = [], d.cpu_s()
    end = time.monotonic() + 60
    for i in range(calls):
        if time.monotonic() > end:
            break
        dt, st, _ = c.request("POST", "/api/v1/counters/%d/call" % (1 + i % 5), {})
        if st is not None and st < 300:
            trips.append(dt)
        time.sleep(0.02)
    time.sleep(0.5)              # the last events reach every stream
    cpu = d.cpu_s() - cpu0
    _, ev = c.json("GET", "/api/v1/queue")
    events = (ev.get("last_event_id") - first_event) if ev and first_event is not None else 0
    h.stop()
    d.stop()

    # The bare SSE server with as many streams: a POST's round trip and its CPU per event.
    b3 = start_baseline(tmp, "base-sse-mixed", "sse")
    hb = Holder(b3.port, ["/events"] * len(paths))
    cb = Client(b3.port)
    btrips, bcpu0 = [], b3.cpu_s()
    for _ in range(calls):
        dt, st, _ = cb.request("POST", "/event", {})
        if st is not None:
            btrips.append(dt)
        time.sleep(0.02)
    time.sleep(0.5)
    bcpu = b3.cpu_s() - bcpu0
    hb.stop()
    b3.stop()
    kinds = "phone streams %s, display %s" % (
        "per token" if phone else "not there yet (staff stream instead)",
        display or "not there yet (staff stream instead)")
    row("call round trip p99, 522 streams + 2,000 waiting", percentile(trips, 99) * 1000,
        percentile(btrips, 99) * 1000, "ms", 20, "max", "%.1f",
        "%s; %d of %d streams open (baseline %d); %d waiting at start; %d calls" %
        (kinds, h.opened, len(paths), hb.opened, n, len(trips)))
    per_event = cpu / events * 1000 if events else float("nan")
    row("daemon CPU per event, same streams", per_event, bcpu / max(1, len(btrips)) * 1000, "ms",
        fmt="%.2f", note="%d events from %d calls, %.2f s CPU (utime+stime); baseline: one event "
        "per POST" % (events, len(trips), cpu))


def many_streams_figures(tmp, posts):
    print("5,000 streams open: a staff POST", flush=True)
    b3 = start_baseline(tmp, "base-sse-5000", "sse")
    keep = Client(b3.port, timeout=3)
    keep.request("GET", "/")
    hb = Holder(b3.port, ["/events"] * 5000)
    btimes, bfailed = timed_posts(b3.port, "/event", posts, 0.1)
    bktimes, bkfailed = timed_posts(b3.port, "/event", posts, 0.1, keep)
    hb.stop()
    b3.stop()
    db = os.path.join(tmp, "many.db")
    tokens = preload(tmp, db, 2 * posts + 50)
    d = start_branchqd(tmp, "many", db)
    display, _ = stream_kinds(d.port, tokens[0] if tokens else None)
    path = display or STAFF_STREAM
    keep = Client(d.port, timeout=3)
    keep.request("GET", "/healthz")
    h = Holder(d.port, [path] * 5000)
    times, failed = timed_posts(d.port, "/api/v1/counters/1/call", posts, 0.1)
    ktimes, kfailed = timed_posts(d.port, "/api/v1/counters/1/call", posts, 0.1, keep)
    h.stop()
    d.stop()
    kind = "display stream " + path if display else "staff stream (no display stream yet)"
    p99 = percentile(times, 99) * 1000 if not failed else float("nan")
    row("staff POST p99, 5,000 streams open, new connection", p99,
        percentile(btimes, 99) * 1000, "ms", 50, "max", "%.1f",
        "POST /api/v1/counters/1/call, each on a new connection; %s; %d of 5,000 "
        "streams open (baseline %d); %d of %d POSTs failed or timed out after 3 s (baseline %d)"
        % (kind, h.opened, hb.opened, failed, failed + len(times), bfailed))
    p99 = percentile(ktimes, 99) * 1000 if not kfailed else float("nan")
    row("staff POST p99, 5,000 streams open, kept-alive connection", p99,
        percentile(bktimes, 99) * 1000, "ms", 50, "max", "%.1f",
        "the same on one connection opened before the streams; %d of %d failed (baseline %d)"
        % (kfailed, kfailed + len(ktimes), bkfailed))


def probe_gets(port, path, wrk_proc, readers=4, limit=200, gap=0.01):
    """GETs from a few readers, each one request at a time, while wrk_proc runs."""
    times, failed = [], [0]
    time.sleep(0.3)              # wrk has its connections up
    end = time.monotonic() + 60

    def reader():
        c = Client(port)
        while wrk_proc.poll() is None and len(times) < limit and time.monotonic() < end:
            dt, st, _ = c.request("GET", path)
            if st == 200:
                times.append(dt)
            else:
                failed[0] += 1
            time.sleep(gap)
    threads = [threading.Thread(target=reader) for _ in range(readers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out, _ = wrk_proc.communicate(timeout=90)
    m = re.search(r"BENCH (.*)", out or "")
    r = {k: int(v) for k, v in (kv.split("=") for kv in m.group(1).split())} if m else {}
    req_s = (r["requests"] - r["status"]) / (r["duration_us"] / 1e6) if r else float("nan")
    return times, failed[0], req_s


def slow_disk_figures(tmp, seconds, ms=20):
    print("every sync %d ms, 200 waiting: GET /api/v1/queue while 50 connections issue" % ms,
          flush=True)
    b2 = start_baseline(tmp, "base-sqlite-slow", "sqlite", os.path.join(tmp, "slow-base.db"),
                        slow_env(ms))
    w = wrk_start(b2.port, "/", seconds)
    btimes, bfailed, breq = probe_gets(b2.port, "/", w)
    b2.stop()
    db = os.path.join(tmp, "slow.db")
    preload(tmp, db, 200)
    d = start_branchqd(tmp, "slow", db, slow_env(ms))
    n = waiting(d.port)
    w = wrk_start(d.port, "/api/v1/tickets", seconds)
    times, failed, req = probe_gets(d.port, "/api/v1/queue", w)
    grown = waiting(d.port)
    # The same on a read whose size does not grow with the hall: what the disk alone costs a read.
    w = wrk_start(d.port, "/api/v1/tickets", seconds)
    dtimes, dfailed, _ = probe_gets(d.port, "/api/v1/display", w)
    d.stop()
    # 200 waiting held: each writer cancels a ticket it issued for each it issues.
    db2 = os.path.join(tmp, "slow-held.db")
    preload(tmp, db2, 200)
    d = start_branchqd(tmp, "slow-held", db2, slow_env(ms))
    w = wrk_start(d.port, "/api/v1/tickets", seconds, script=LUA_ISSUE_CANCEL)
    htimes, hfailed, _ = probe_gets(d.port, "/api/v1/queue", w)
    held = waiting(d.port)
    d.stop()
    row("GET /api/v1/queue p99, syncs %d ms, 50 conns issuing" % ms,
        percentile(times, 99) * 1000, percentile(btimes, 99) * 1000, "ms", 5, "max", "%.1f",
        "%d waiting at start, %d at the end (the JSON grows with them); %d GETs, %d failed; "
        "baseline: GET of the one-commit server while it commits" % (n, grown, len(times), failed))
    row("GET /api/v1/queue p99, syncs %d ms, 200 held, 50 conns issue+cancel" % ms,
        percentile(htimes, 99) * 1000, percentile(btimes, 99) * 1000, "ms", 5, "max", "%.1f",
        "the writers cancel a ticket of theirs for each they issue, so the hall stays at 200 "
        "(%d at the end); %d GETs, %d failed" % (held, len(htimes), hfailed))
    row("GET /api/v1/display p99, syncs %d ms, 50 conns issuing" % ms,
        percentile(dtimes, 99) * 1000, percentile(btimes, 99) * 1000, "ms", 5, "max", "%.1f",
        "the hall display's state (counts and counters: its size does not grow); %d GETs, %d "
        "failed" % (len(dtimes), dfailed))
    # One commit per request cannot beat one per sync: more means the shim did not load.
    shim = "" if breq <= 1.5 * 1000 / ms else \
        "; WARNING: the baseline beat one commit per %d ms, so syncs were not slowed" % ms
    row("issue req/s, syncs %d ms (vs one commit per request)" % ms, req, breq, "req/s",
        fmt="%.0f", note="group commit shows as a ratio well over 1" + shim)


def lap(t0):
    print("  (%.0f s so far)" % (time.monotonic() - t0), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=5, help="length of each wrk run")
    ap.add_argument("--runs", type=int, default=3, help="wrk runs of each issue figure")
    ap.add_argument("--rounds", type=int, default=100, help="fan-out rounds")
    ap.add_argument("--calls", type=int, default=100, help="calls in the mixed figure")
    ap.add_argument("--hold", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--hold-seconds", type=float, default=300, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.hold:
        hold(args)
        return
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (make bench installs it)")
    raise_nofile()
    tmp = tempfile.mkdtemp(prefix="branchq-numbers-")
    t0 = time.monotonic()
    try:
        idle, after10k = issue_figures(tmp, args.seconds, args.runs)
        lap(t0)
        b3_idle, b3_500, rss500, nopen, per_stream = fanout_figures(tmp, args.rounds)
        lap(t0)
        mixed_figures(tmp, args.calls)
        lap(t0)
        many_streams_figures(tmp, 30)
        lap(t0)
        slow_disk_figures(tmp, args.seconds)
        lap(t0)
        row("VmRSS idle (vs bare SSE server idle)", idle["VmRSS"] / 1024, b3_idle["VmRSS"] / 1024,
            "MiB")
        row("VmRSS with 500 streams (vs bare SSE server)", rss500["VmRSS"] / 1024,
            b3_500["VmRSS"] / 1024, "MiB", 1.3, "ratio_max",
            note="%d of 500 streams open on branchqd; each stream added %.1f KiB (bare server "
            "%.1f KiB)" % ((nopen,) + per_stream))
        row("VmRSS after 10,000 tickets (vs idle)", after10k["VmRSS"] / 1024, idle["VmRSS"] / 1024,
            "MiB", note="VmHWM %.1f MiB" % (after10k["VmHWM"] / 1024))
        print_table()
        print("\n%d-core machine; %.0f s" % (os.cpu_count(), time.monotonic() - t0))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
