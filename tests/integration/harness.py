"""
harness.py: start the real branchqd and talk to it as a client would.

Each test gets an Env: a fresh temporary directory and the daemons it
starts there. A Daemon writes its config into that directory, runs
`branchqd -d -f CONF --listen 127.0.0.1:0 --db DIR/q.db` in the foreground,
waits for the "ready ... listening on http://127.0.0.1:PORT" log line and
then speaks plain HTTP/1.1 on loopback (http.client, or a raw socket where
the test needs to control the bytes on the wire, as for chunked bodies and
Server-Sent Events). A daemon with [tls] says https:// there; a test that
sets d.ssl (an ssl.SSLContext) makes d.fetch and d.request speak HTTPS.

The daemon's output (stderr; stdout only matters for -n) is drained by a
thread into memory and into DIR/daemon.log, so a full pipe never stalls the
daemon and a file-size limit set on the daemon never truncates its log. On a
failure the runner prints that log. A clean stop is part of every test: exit
status 0 and no AddressSanitizer, UBSan or LeakSanitizer report.

Python standard library only.
"""
import datetime
import http.client
import json
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

PAGES_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "display")
READY_TIMEOUT_S = 10
STOP_TIMEOUT_S = 15
HTTP_TIMEOUT_S = 10
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "runtime error", "LeakSanitizer",
                     "ERROR: UndefinedBehaviorSanitizer")
READY_RE = re.compile(r"ready.*listening on https?://127\.0\.0\.1:(\d+)")

# Asia/Shanghai has had no daylight saving time since 1991: UTC+8 all year.
SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))


class Skip(Exception):
    """
    The machine cannot run this test, and the message says why (no root to
    mount a tmpfs, a descriptor limit too low). It counts as neither passed
    nor failed; a Skip without a reason is a failure (run.py). A missing
    Debian package of DEBS_TEST is no reason: make deps-test installs it,
    so its absence is a Failure.
    """


class Failure(AssertionError):
    """A check that failed; its message is what the runner prints."""


def check(cond, what):
    if not cond:
        raise Failure(what)


def check_eq(actual, expected, what):
    if actual != expected:
        raise Failure("%s: expected %r, got %r" % (what, expected, actual))


def check_event_ids(events, after=None):
    """The ids of a stream's events: whole numbers, strictly increasing, all after `after`."""
    ids = [e["id"] for e in events]
    check(all(isinstance(i, int) for i in ids), "every event has an id: %r" % ids)
    check(all(a < b for a, b in zip(ids, ids[1:])), "ids strictly increase: %r" % ids)
    if after is not None and ids:
        check(ids[0] > after, "first id %d after %d" % (ids[0], after))
    return ids


def check_error(resp, status, code, what):
    """resp is (status, headers, body): an error of exactly the documented shape."""
    st, _, body = resp
    check_eq(st, status, what + ": status")
    check(isinstance(body, dict) and list(body.keys()) == ["error"],
          "%s: body is not {\"error\":{...}}: %r" % (what, body))
    err = body["error"]
    check(isinstance(err, dict) and sorted(err.keys()) == ["code", "message"],
          "%s: error object must have exactly code and message: %r" % (what, err))
    check_eq(err["code"], code, what + ": error code")
    check(isinstance(err["message"], str) and err["message"] != "",
          "%s: error message must be a non-empty string: %r" % (what, err))


# --------------------------------------------------------------------------
# Configuration

def safe_day_reset():
    """
    A day_reset 12 hours from now in the branch's zone, so that no test runs
    across the start of a business day (the daemon numbers and queues per
    business day; a reset in the middle of a test would empty its queue).
    """
    t = datetime.datetime.now(SHANGHAI) + datetime.timedelta(hours=12)
    return "%02d:%02d" % (t.hour, t.minute)


DEFAULT_SERVICES = {
    "A": {"name_zh": "个人业务", "name_en": "Personal banking", "overtime": "20m"},
    "B": {"name_zh": "对公业务", "name_en": "Corporate banking", "overtime": "20m"},
    "V": {"name_zh": "贵宾理财", "name_en": "Wealth (VIP)", "overtime": "20m"},
}

# The demo branch's counters (config/branchq.conf).
DEFAULT_COUNTERS = {
    1: {"services": "A B", "green": "yes"},
    2: {"services": "A B", "english": "yes"},
    3: {"services": "A"},
    4: {"services": "A"},
    5: {"services": "B V"},
}


def make_config(branch=None, green=None, services=None, counters=None, advisor=None):
    """
    The demo branch as INI text, with the keys given here changed. Each
    argument maps keys (or service ids, counter numbers) to values; a dict
    for services/counters replaces that section's keys given, None removes
    the section. [advisor] has live = no unless advisor says otherwise: the
    live advice would otherwise put advice.* events into the streams of
    tests that count them, at the hours of the day it runs.
    """
    b = {
        "name_zh": "测试支行",
        "name_en": "Test Branch",
        "timezone": "Asia/Shanghai",
        "day_reset": safe_day_reset(),
        "listen": "127.0.0.1:8080",
        "database": "var/unused.db",
        "pages": PAGES_DIR,
        "recalls": "2",
    }
    b.update(branch or {})
    g = {"elderly_age": "60", "elderly": "10m", "disabled": "15m", "pregnant": "15m",
         "military": "10m", "foreign": "5m"}
    g.update(green or {})
    svcs = {k: dict(v) for k, v in DEFAULT_SERVICES.items()}
    for k, v in (services or {}).items():
        if v is None:
            svcs.pop(k, None)
        else:
            svcs.setdefault(k, {}).update(v)
    ctrs = {k: dict(v) for k, v in DEFAULT_COUNTERS.items()}
    for k, v in (counters or {}).items():
        if v is None:
            ctrs.pop(k, None)
        else:
            ctrs.setdefault(k, {}).update(v)

    out = ["; written by tests/integration/harness.py", "[branch]"]
    out += ["%s = %s" % kv for kv in b.items()]
    out += ["", "[green]"] + ["%s = %s" % kv for kv in g.items()]
    adv = {"live": "no"}
    adv.update(advisor or {})
    out += ["", "[advisor]"] + ["%s = %s" % kv for kv in adv.items()]
    for sid, keys in svcs.items():
        out += ["", "[service %s]" % sid] + ["%s = %s" % kv for kv in keys.items()]
    for num, keys in sorted(ctrs.items()):
        out += ["", "[counter %d]" % num] + ["%s = %s" % kv for kv in keys.items()]
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------
# Chinese resident ID numbers (GB 11643-1999)

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"


def id_check_char(body17):
    return ID_CHECK[sum(w * int(c) for w, c in zip(ID_WEIGHTS, body17)) % 11]


def id_number(area, birth, seq="123"):
    """An 18-character ID with a valid check character: area (6), birth YYYYMMDD, seq (3)."""
    body = area + birth + seq
    assert len(body) == 17 and body.isdigit()
    return body + id_check_char(body)


# --------------------------------------------------------------------------
# HTTP

def _decode_json(data):
    if not data:
        return None
    try:
        return json.loads(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return {"_not_json": data.decode("utf-8", "replace")}


def read_http_head(sock_file):
    """The status line and headers of a response: (status, {lower-case name: value}), or None at EOF."""
    line = sock_file.readline()
    if not line:
        return None
    status = int(line.decode("latin-1").split(" ", 2)[1])
    headers = {}
    while True:
        h = sock_file.readline()
        if h in (b"\r\n", b"\n", b""):
            break
        k, _, v = h.decode("latin-1").partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers


def read_http_response(sock_file):
    """Read one HTTP/1.1 response from a binary file; (status, headers, body bytes)."""
    head = read_http_head(sock_file)
    if head is None:
        raise Failure("connection closed before a response")
    status, headers = head
    body = b""
    if headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size = int(sock_file.readline().split(b";")[0].strip(), 16)
            if size == 0:
                while sock_file.readline() not in (b"\r\n", b"\n", b""):
                    pass
                break
            body += sock_file.read(size)
            sock_file.readline()
    elif "content-length" in headers:
        body = sock_file.read(int(headers["content-length"]))
    elif status not in (204, 304):
        body = sock_file.read()
    return status, headers, body


class SSEClient:
    """
    One Server-Sent Events stream read by a thread from a raw socket. The
    thread undoes the chunked transfer coding, splits events at blank lines
    and queues each as {"id": int or None, "data": parsed JSON, "text": str}.
    Comments and "retry:" are kept in .raw only. .raw holds every byte of
    the decoded stream, so a test can check that a secret never went out.
    """

    def __init__(self, port, path="/api/v1/events", headers=None):
        self.events = queue.Queue()
        self.raw = bytearray()
        self.status = None
        self.headers = {}
        self.opened = threading.Event()     # status line and headers read
        self.hello = threading.Event()      # the "retry:" preamble arrived
        self.ended = threading.Event()      # EOF or error
        self.clean_end = False              # the last chunk (0 CRLF CRLF) arrived
        self.error = None
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=HTTP_TIMEOUT_S)
        self.sock.settimeout(None)
        req = "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAccept: text/event-stream\r\n" % (path, port)
        for k, v in (headers or {}).items():
            req += "%s: %s\r\n" % (k, v)
        self.sock.sendall((req + "\r\n").encode("latin-1"))
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        check(self.opened.wait(HTTP_TIMEOUT_S), "SSE: no response headers within %d s" % HTTP_TIMEOUT_S)

    def _run(self):
        f = self.sock.makefile("rb")
        try:
            head = read_http_head(f)
            if head is None:
                raise OSError("closed before a status line")
            self.status, self.headers = head
            self.opened.set()
            if self.status != 200:
                self.raw += f.read(int(self.headers.get("content-length", "0")))
                return
            chunked = self.headers.get("transfer-encoding", "").lower() == "chunked"
            pending = b""
            while True:
                if chunked:
                    line = f.readline()
                    if not line:
                        return
                    size = int(line.split(b";")[0].strip(), 16)
                    if size == 0:
                        self.clean_end = True
                        return
                    data = f.read(size)
                    f.readline()
                else:
                    data = f.read1(65536)
                    if not data:
                        return
                self.raw += data
                pending += data
                while b"\n\n" in pending:
                    block, pending = pending.split(b"\n\n", 1)
                    self._event(block.decode("utf-8"))
        except (OSError, ValueError) as e:
            self.error = e
        finally:
            self.opened.set()
            self.ended.set()

    def _event(self, block):
        ev_id, data = None, []
        for line in block.split("\n"):
            if line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            if value.startswith(" "):
                value = value[1:]
            if name == "retry":
                self.hello.set()
            elif name == "id":
                ev_id = int(value)
            elif name == "data":
                data.append(value)
        if data:
            text = "\n".join(data)
            self.events.put({"id": ev_id, "data": json.loads(text), "text": text})

    def wait_hello(self, timeout=HTTP_TIMEOUT_S):
        check_eq(self.status, 200, "SSE status")
        check(self.hello.wait(timeout), "SSE: no retry: preamble within %d s" % timeout)

    def take(self, n, timeout=HTTP_TIMEOUT_S):
        """The next n events; fails if they do not all arrive within timeout."""
        out = []
        deadline = time.monotonic() + timeout
        while len(out) < n:
            left = deadline - time.monotonic()
            try:
                out.append(self.events.get(timeout=max(left, 0.01)))
            except queue.Empty:
                raise Failure("SSE: expected %d events, got %d within %d s: %r"
                              % (n, len(out), timeout, [e["data"].get("type") for e in out]))
        return out

    def expect_quiet(self, seconds=1.0):
        """No further event arrives within seconds (a duplicate would)."""
        try:
            ev = self.events.get(timeout=seconds)
        except queue.Empty:
            return
        raise Failure("SSE: unexpected extra event id %r: %s" % (ev["id"], ev["text"]))

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self.thread.join(5)


class Daemon:
    """One branchqd, its config, database and log in a directory of its Env."""

    def __init__(self, env, name, config_text, db=None):
        self.env = env
        self.name = name
        self.dir = env.dir
        self.conf = os.path.join(self.dir, name + ".conf")
        self.db = db or os.path.join(self.dir, "q.db")
        self.logfile = os.path.join(self.dir, name + ".log")
        self.proc = None
        self.port = None
        self.lines = []
        self.lock = threading.Lock()
        self.reader = None
        self.extra_env = {}          # more environment for the daemon (a fake clock, say)
        self.ssl = None              # an ssl.SSLContext: fetch speaks HTTPS (a config with [tls])
        self.write_config(config_text)

    # -- process ----------------------------------------------------------

    def write_config(self, text):
        tmp = self.conf + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, self.conf)

    def argv(self):
        return [self.env.daemon_path, "-d", "-f", self.conf, "--listen", "127.0.0.1:0",
                "--db", self.db]

    def _drain(self, proc, ready, port_box):
        with open(self.logfile, "ab") as lf:
            for raw in proc.stdout:
                lf.write(raw)
                lf.flush()
                line = raw.decode("utf-8", "replace").rstrip("\n")
                with self.lock:
                    self.lines.append(line)
                m = READY_RE.search(line)
                if m and not ready.is_set():
                    port_box.append(int(m.group(1)))
                    ready.set()

    def spawn(self, preexec_fn=None):
        """Start the process and return it, without waiting for ready."""
        with self.lock:
            self.lines.append("---- %s start: %s" % (self.name, " ".join(self.argv())))
        env = self.env.child_env()
        env.update(self.extra_env)
        proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, cwd=self.dir, env=env,
                                preexec_fn=preexec_fn)
        self.env.procs.append(proc)
        return proc

    def start(self, preexec_fn=None):
        check(self.proc is None, "%s is already running" % self.name)
        proc = self.spawn(preexec_fn)
        ready = threading.Event()
        port_box = []
        self.reader = threading.Thread(target=self._drain, args=(proc, ready, port_box),
                                       daemon=True)
        self.reader.start()
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not ready.wait(0.05):
            if proc.poll() is not None:
                self.reader.join(5)
                raise Failure("%s exited with %d before it was ready" % (self.name, proc.returncode))
            if time.monotonic() > deadline:
                raise Failure("%s not ready within %d s" % (self.name, READY_TIMEOUT_S))
        self.proc = proc
        self.port = port_box[0]
        return self

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        self.proc.send_signal(sig)

    def kill9(self):
        """SIGKILL: no chance to close anything; what was acknowledged must survive."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(STOP_TIMEOUT_S)
        self.reader.join(5)
        with self.lock:
            self.lines.append("---- %s killed with SIGKILL" % self.name)
        self.proc = None

    def stop(self):
        """SIGTERM; the daemon must exit 0 with no sanitizer report."""
        check(self.proc is not None, "%s is not running" % self.name)
        proc, self.proc = self.proc, None
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise Failure("%s did not exit within %d s of SIGTERM" % (self.name, STOP_TIMEOUT_S))
        self.reader.join(5)
        with self.lock:
            self.lines.append("---- %s exited with %d" % (self.name, rc))
        self.check_log_clean()
        check_eq(rc, 0, "%s exit status after SIGTERM" % self.name)
        return rc

    def restart(self, preexec_fn=None):
        if self.running():
            self.stop()
        self.proc = None
        return self.start(preexec_fn)

    def log(self):
        with self.lock:
            return "\n".join(self.lines)

    def check_log_clean(self):
        text = self.log()
        for m in SANITIZER_MARKERS:
            check(m not in text, "%s log contains %r" % (self.name, m))

    def wait_log(self, substring, timeout=10, start=0):
        """Wait until a log line from index start on contains substring; return its index."""
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                for i in range(start, len(self.lines)):
                    if substring in self.lines[i]:
                        return i
            if time.monotonic() > deadline:
                raise Failure("%s: no log line with %r within %d s" % (self.name, substring, timeout))
            time.sleep(0.05)

    def log_mark(self):
        with self.lock:
            return len(self.lines)

    # -- HTTP -------------------------------------------------------------

    def request(self, method, path, body=None, headers=None, auth=True):
        """
        One request on a fresh connection. body: a dict or list (sent as
        JSON), bytes or str (sent as is), or None. Returns (status, headers
        with lower-case names, parsed JSON body or None).
        """
        st, hdrs, data = self.fetch(method, path, body, headers, auth)
        return st, hdrs, _decode_json(data)

    def token(self):
        """
        An admin API token for this database, made once with `branchqd token add`
        (the command line works with the daemon running or not). Every request
        of the harness carries it unless asked with auth=False.
        """
        tokens = self.env.tokens
        if self.db not in tokens:
            out = subprocess.run([self.env.daemon_path, "token", "add", "--role", "admin",
                                  "--name", "tests", "-f", self.conf, "--db", self.db],
                                 capture_output=True, text=True, env=self.env.child_env(),
                                 timeout=30)
            check(out.returncode == 0, "token add failed: %s" % out.stderr[-500:])
            tokens[self.db] = out.stdout.split()[-1]
        return tokens[self.db]

    def cli(self, *args, stdin=None):
        """Run a branchqd subcommand (user, token) on this daemon's config and database."""
        return subprocess.run([self.env.daemon_path] + list(args) + ["-f", self.conf, "--db",
                              self.db], input=stdin, capture_output=True, text=True,
                              env=self.env.child_env(), timeout=60)

    def auth_header(self):
        return {"Authorization": "Bearer " + self.token()}

    def fetch(self, method, path, body=None, headers=None, auth=True):
        """Like request, but the body comes back as the bytes received (pages, sounds, images)."""
        hdrs = dict(self.auth_header() if auth else {})
        hdrs.update(headers or {})
        hdrs = {k: v for k, v in hdrs.items() if v is not None}
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode("utf-8")
            hdrs.setdefault("Content-Type", "application/json")
        elif isinstance(body, str):
            body = body.encode("utf-8")
        if self.ssl is not None:
            conn = http.client.HTTPSConnection("127.0.0.1", self.port, timeout=HTTP_TIMEOUT_S,
                                               context=self.ssl)
        else:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=HTTP_TIMEOUT_S)
        try:
            conn.request(method, path, body=body, headers=hdrs)
            r = conn.getresponse()
            data = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, data
        finally:
            conn.close()

    def get(self, path, headers=None, auth=True):
        return self.request("GET", path, headers=headers, auth=auth)

    def post(self, path, body=None, headers=None, auth=True):
        return self.request("POST", path, body=body, headers=headers, auth=auth)

    def with_auth(self, data):
        """Raw request bytes with the harness's Authorization header after the request line."""
        if b"\r\n" not in data or b"Authorization:" in data:
            return data
        line, rest = data.split(b"\r\n", 1)
        return line + b"\r\nAuthorization: Bearer " + self.token().encode() + b"\r\n" + rest

    def raw(self, data, auth=True):
        """Send raw bytes, read one response: (status, headers, parsed JSON body or None)."""
        if auth:
            data = self.with_auth(data)
        s = socket.create_connection(("127.0.0.1", self.port), timeout=HTTP_TIMEOUT_S)
        try:
            s.sendall(data)
            f = s.makefile("rb")
            st, hdrs, body = read_http_response(f)
            return st, hdrs, _decode_json(body)
        finally:
            s.close()

    def sse(self, last_event_id=None, query=None, path="/api/v1/events", auth=True):
        """A stream: the staff's by default, or the one at path (a display's, a phone's)."""
        headers = self.auth_header() if auth else {}
        if last_event_id is not None:
            headers["Last-Event-ID"] = str(last_event_id)
        path = path + ("?" + query if query else "")
        c = SSEClient(self.port, path, headers)
        self.env.streams.append(c)
        return c

    # -- conveniences -----------------------------------------------------

    def issue(self, service="A", **fields):
        """POST /api/v1/tickets; the ticket object of a 201, else a Failure."""
        body = {"service": service}
        body.update(fields)
        st, _, j = self.post("/api/v1/tickets", body)
        check_eq(st, 201, "issue %r: status (body %r)" % (body, j))
        return j["ticket"]

    def call(self, counter):
        """POST /counters/N/call: the called ticket, or None on 204."""
        st, _, j = self.post("/api/v1/counters/%d/call" % counter)
        if st == 204:
            check(j is None, "204 must have no body, got %r" % (j,))
            return None
        check_eq(st, 200, "call at counter %d: status (body %r)" % (counter, j))
        return j["ticket"]

    def action(self, counter, action, body=None):
        return self.post("/api/v1/counters/%d/%s" % (counter, action), body)

    def ticket(self, tid):
        st, _, j = self.get("/api/v1/tickets/%d" % tid)
        check_eq(st, 200, "GET ticket %d" % tid)
        return j["ticket"]

    def queue(self):
        st, _, j = self.get("/api/v1/queue")
        check_eq(st, 200, "GET /api/v1/queue")
        return j

    def waiting_numbers(self, service):
        """Numbers of service's waiting tickets in call order, from /api/v1/queue."""
        for s in self.queue()["services"]:
            if s["id"] == service:
                return [t["number"] for t in s["tickets"]]
        raise Failure("no service %s in /api/v1/queue" % service)

    def counter(self, number):
        st, _, j = self.get("/api/v1/counters/%d" % number)
        check_eq(st, 200, "GET counter %d" % number)
        return j["counter"]


class Env:
    """What one test owns: a temporary directory, its daemons and streams."""

    def __init__(self, daemon_path, name):
        self.daemon_path = daemon_path
        self.name = name
        self.dir = tempfile.mkdtemp(prefix="branchq-it-%s-" % name)
        self.daemons = []
        self.procs = []
        self.streams = []
        self.tokens = {}             # database path -> the harness's admin token
        self.cleanups = []           # callables run at cleanup, last first (a PostgreSQL)

    def child_env(self):
        env = dict(os.environ)
        asan = env.get("ASAN_OPTIONS", "")
        if "detect_leaks" not in asan:
            asan = (asan + ":" if asan else "") + "detect_leaks=1"
        env["ASAN_OPTIONS"] = asan
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
        return env

    def daemon(self, config_text=None, name=None, db=None, start=True, preexec_fn=None):
        d = Daemon(self, name or "d%d" % (len(self.daemons) + 1),
                   config_text if config_text is not None else make_config(), db)
        self.daemons.append(d)
        if start:
            d.start(preexec_fn)
        return d

    def run(self, argv, timeout=STOP_TIMEOUT_S, preexec_fn=None):
        """Run the daemon binary to completion: (exit status, stdout+stderr text)."""
        p = subprocess.run([self.daemon_path] + argv, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=self.dir,
                           env=self.child_env(), timeout=timeout, preexec_fn=preexec_fn)
        return p.returncode, p.stdout.decode("utf-8", "replace")

    def finish(self):
        """Stop every daemon still running, cleanly; a failure here fails the test."""
        for s in self.streams:
            s.close()
        first = None
        for d in self.daemons:
            if d.running():
                try:
                    d.stop()
                except Failure as e:
                    first = first or e
        if first:
            raise first

    def cleanup(self, keep=False):
        for s in self.streams:
            try:
                s.close()
            except OSError:
                pass
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        for d in self.daemons:
            if d.reader is not None:
                d.reader.join(2)
        for fn in reversed(self.cleanups):
            try:
                fn()
            except Exception:  # cleanup goes on; the test's own checks have spoken
                pass
        if not keep:
            shutil.rmtree(self.dir, ignore_errors=True)

    def logs(self):
        return "\n".join("==== log of %s (%s)\n%s" % (d.name, d.logfile, d.log())
                         for d in self.daemons)


# The demo branch's config in the source tree.
ROOT_CONFIG = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                           "config", "branchq.conf")
