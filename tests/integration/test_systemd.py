"""
test_systemd.py: branchqd under systemd, without systemd as PID 1.

The notify protocol is a datagram per message on the AF_UNIX socket named
by NOTIFY_SOCKET: the test binds one and is the service manager. The
journal's priority prefixes are checked by giving the daemon a stderr whose
device and inode JOURNAL_STREAM names, as systemd does. The unit file is
checked with systemd-analyze (verify, and the sandbox's exposure score).
"""
import http.client
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import threading
import time

from harness import Failure, Skip, check, check_eq, make_config

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
UNIT = os.path.join(ROOT, "config", "branchqd.service")
WATCHDOG_USEC = 2000000
STATUS_PORT_RE = re.compile(r"STATUS=.*listening on http://127\.0\.0\.1:(\d+)")
# The score docs/operator.md gives; a weaker sandbox scores higher (worse).
EXPOSURE_MAX = 1.5


class NotifySocket:
    """The service manager's end: every datagram the daemon sends, in order."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.2)
        self.messages = queue.Queue()
        self.all = []
        self.closed = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.closed:
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            msg = data.decode("utf-8", "replace")
            self.all.append(msg)
            self.messages.put(msg)

    def next(self, skip_watchdog=True, timeout=15):
        """The next message (WATCHDOG=1 pings skipped unless asked), or a Failure."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Failure("no sd_notify message within %d s (got so far: %r)" %
                              (timeout, self.all))
            try:
                msg = self.messages.get(timeout=left)
            except queue.Empty:
                continue
            if skip_watchdog and msg == "WATCHDOG=1":
                continue
            return msg

    def close(self):
        self.closed = True
        self.thread.join(2)
        self.sock.close()


def fields(msg):
    return dict(line.split("=", 1) for line in msg.split("\n") if "=" in line)


def healthz(port):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/healthz")
        return conn.getresponse().status
    finally:
        conn.close()


def start_notified(env, notify_path, config_text=None):
    """
    Start a daemon whose NOTIFY_SOCKET is notify_path and with systemd's
    watchdog on, without waiting for its ready log line: the test waits
    for READY=1 instead. Returns the Daemon (stopped by the harness).
    """
    base = env.child_env
    env.child_env = lambda: dict(base(), NOTIFY_SOCKET=notify_path,
                                 WATCHDOG_USEC=str(WATCHDOG_USEC))
    d = env.daemon(config_text, start=False)
    d.proc = d.spawn()
    d.reader = threading.Thread(target=d._drain, args=(d.proc, threading.Event(), []),
                                daemon=True)
    d.reader.start()
    return d


def test_systemd_notify_ready_reload_watchdog_stop(env):
    ns = NotifySocket(os.path.join(env.dir, "notify"))
    try:
        d = start_notified(env, ns.path)

        # READY=1 comes once the daemon listens with its database open: at
        # that moment /healthz answers (a READY=1 sent before the listening
        # socket exists would find the connection refused).
        ready = ns.next()
        f = fields(ready)
        check_eq(f.get("READY"), "1", "the first message is READY=1: %r" % ready)
        m = STATUS_PORT_RE.search(ready)
        check(m is not None, "READY=1 comes with a STATUS naming the port: %r" % ready)
        d.port = int(m.group(1))
        check_eq(healthz(d.port), 200, "GET /healthz as READY=1 arrives")
        d.wait_log("systemd watchdog: 2000 ms")

        # The loop pings at half WATCHDOG_USEC, again and again.
        pings = 0
        while pings < 3:
            if ns.next(skip_watchdog=False) == "WATCHDOG=1":
                pings += 1

        # SIGHUP: RELOADING=1, then READY=1 once the new config runs.
        d.signal(signal.SIGHUP)
        check_eq(fields(ns.next()).get("RELOADING"), "1", "SIGHUP first says RELOADING=1")
        after = ns.next()
        check_eq(fields(after).get("READY"), "1", "after the reload, READY=1: %r" % after)
        check("configuration reloaded" in after, "STATUS says it reloaded: %r" % after)

        # A config with errors is refused: still READY=1 (it serves the old
        # one), and the status says so.
        d.write_config("[branch]\nname_zh = 测试\n")
        d.signal(signal.SIGHUP)
        check_eq(fields(ns.next()).get("RELOADING"), "1", "a refused reload: RELOADING=1")
        after = ns.next()
        check_eq(fields(after).get("READY"), "1", "a refused reload: READY=1 after: %r" % after)
        check("reload refused" in after, "STATUS says the reload was refused: %r" % after)
        check_eq(healthz(d.port), 200, "GET /healthz after the refused reload")

        # SIGTERM: STOPPING=1 before the daemon exits (0, sanitizers quiet).
        d.stop()
        check_eq(fields(ns.next()).get("STOPPING"), "1", "SIGTERM says STOPPING=1")
    finally:
        ns.close()


def test_systemd_no_watchdog_without_manager(env):
    """Without NOTIFY_SOCKET and WATCHDOG_USEC the daemon runs as before and says nothing of it."""
    d = env.daemon()
    check("systemd watchdog" not in d.log(), "no watchdog without WATCHDOG_USEC:\n" + d.log())
    check_eq(healthz(d.port), 200, "GET /healthz")


def run_to_exit(env, argv, journal, name):
    """
    Run the daemon with stdout and stderr on a file; with journal, set
    JOURNAL_STREAM to that file's device:inode, as systemd does when the
    journal is the service's stderr. Returns the log's lines after the
    process exits (after SIGTERM once it is ready, if it gets that far).
    """
    path = os.path.join(env.dir, name + ".log")
    with open(path, "wb") as out:
        st = os.fstat(out.fileno())
        child = env.child_env()
        child.pop("JOURNAL_STREAM", None)
        if journal:
            child["JOURNAL_STREAM"] = "%d:%d" % (st.st_dev, st.st_ino)
        else:
            # Set, but naming another file: a child whose stderr is not the journal.
            child["JOURNAL_STREAM"] = "%d:%d" % (st.st_dev, st.st_ino + 1)
        proc = subprocess.Popen([env.daemon_path] + argv, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=out, cwd=env.dir, env=child)
    env.procs.append(proc)
    deadline = time.monotonic() + 15
    while proc.poll() is None:
        with open(path, "rb") as f:
            if b"branchqd ready" in f.read():
                proc.send_signal(signal.SIGTERM)
                break
        if time.monotonic() > deadline:
            raise Failure("%s: neither ready nor exited within 15 s" % name)
        time.sleep(0.05)
    proc.wait(15)
    with open(path, "rb") as f:
        return proc.returncode, f.read().decode("utf-8", "replace").splitlines()


def test_systemd_journal_priorities(env):
    conf = os.path.join(env.dir, "missing-pages.conf")
    with open(conf, "w", encoding="utf-8") as f:
        f.write(make_config(branch={"pages": os.path.join(env.dir, "no-such-dir")}))
    argv = ["-d", "-f", conf, "--listen", "127.0.0.1:0", "--db", os.path.join(env.dir, "q.db")]

    rc, lines = run_to_exit(env, argv, True, "journal")
    check_eq(rc, 0, "exit status after SIGTERM (log: %r)" % lines)
    check(lines, "the daemon logged something")
    for line in lines:
        check(re.match(r"<[0-7]>(info|warning|fatal): ", line) is not None,
              "every line to the journal starts with its priority: %r" % line)
    check(any(line.startswith("<6>info: branchqd ready") for line in lines),
          "the ready line is <6> (info): %r" % lines)
    check(any(line.startswith("<4>warning: pages:") for line in lines),
          "the missing pages are a <4> (warning): %r" % lines)

    bad = os.path.join(env.dir, "bad.conf")
    with open(bad, "w", encoding="utf-8") as f:
        f.write("[branch]\nname_zh = 测试\nrecalls = many\n")
    rc, lines = run_to_exit(env, ["-d", "-f", bad], True, "journal-fatal")
    check_eq(rc, 1, "a config with errors stops the daemon")
    check(any(line.startswith("<4>warning: ") and "recalls" in line for line in lines),
          "each config error is a <4> line: %r" % lines)
    check(any(line.startswith("<2>fatal: ") for line in lines),
          "the refusal to start is <2> (critical): %r" % lines)

    # Not the journal (JOURNAL_STREAM names another file): plain lines with a time.
    rc, lines = run_to_exit(env, argv, False, "plain")
    check_eq(rc, 0, "exit status after SIGTERM")
    for line in lines:
        check(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d (info|warning): ", line) is not None,
              "a line to a plain stderr starts with its time: %r" % line)


def systemd_analyze():
    path = shutil.which("systemd-analyze")
    if path is None:
        raise Skip("systemd-analyze is not installed (Debian's systemd package, in make deps-test)")
    return path


def test_systemd_unit_verifies(env):
    """
    `systemd-analyze verify` on the units as make install writes them (the
    daemon's, and the nightly backup's service and timer), against
    the files it installed: ExecStart's daemon and the man pages that
    Documentation= names. It runs without systemd as PID 1.
    """
    sa = systemd_analyze()
    dest = os.path.join(env.dir, "dest")
    out = subprocess.run(["make", "-s", "-C", ROOT, "install", "DESTDIR=" + dest,
                          "INSTALL_BIN=" + env.daemon_path], capture_output=True, text=True,
                         timeout=120)
    check_eq(out.returncode, 0, "make install: %s" % out.stderr[-2000:])
    staged = []
    for name in ("branchqd.service", "branchqd-backup.service", "branchqd-backup.timer"):
        with open(os.path.join(dest, "usr/local/lib/systemd/system", name), encoding="utf-8") as f:
            unit = f.read()
        # Point ExecStart at the staged daemon: verify checks it exists.
        unit = unit.replace("/usr/local/sbin/branchqd",
                            os.path.join(dest, "usr/local/sbin/branchqd"))
        staged.append(os.path.join(env.dir, name))
        with open(staged[-1], "w", encoding="utf-8") as f:
            f.write(unit)
    child = dict(os.environ, MANPATH=os.path.join(dest, "usr/local/share/man"))
    out = subprocess.run([sa, "verify"] + staged, capture_output=True, text=True, env=child,
                         timeout=60)
    check_eq(out.returncode, 0, "systemd-analyze verify: %s%s" % (out.stdout, out.stderr))
    check(out.stdout.strip() == "" and out.stderr.strip() == "",
          "systemd-analyze verify has nothing to say: %r %r" % (out.stdout, out.stderr))


def test_systemd_unit_sandbox_score(env):
    sa = systemd_analyze()
    out = subprocess.run([sa, "security", "--offline=yes", UNIT], capture_output=True,
                         text=True, timeout=60)
    check_eq(out.returncode, 0, "systemd-analyze security: %s" % out.stderr)
    m = re.search(r"Overall exposure level for branchqd\.service: (\d+\.\d+) (\w+)", out.stdout)
    check(m is not None, "an overall exposure level: %s" % out.stdout[-500:])
    score = float(m.group(1))
    check(score <= EXPOSURE_MAX, "exposure %.1f (%s) is at most %.1f, as docs/operator.md says"
          % (score, m.group(2), EXPOSURE_MAX))
    for setting in ("ProtectSystem=", "NoNewPrivileges=", "PrivateTmp=", "SystemCallFilter=~@privileged",
                    "CapabilityBoundingSet=~CAP_SYS_ADMIN", "User=/DynamicUser="):
        line = next((ln for ln in out.stdout.splitlines() if setting in ln), None)
        check(line is not None and line.lstrip().startswith("\u2713"),
              "the sandbox has %s: %r" % (setting, line))
