"""
/healthz tells the truth, against the real daemon: a damaged database is
refused at start with a message that names the file and says what to do;
a full disk shows as failing (503) while writes fail and as degraded once
they work again; a disk nearly full is degraded, then failing; a failing
printer degrades. Disks are real: small tmpfs mounts (root only).
"""
import os
import sqlite3
import subprocess
import time

import cups
from harness import Skip, check, check_eq, make_config

HEALTH_KEYS = ["database", "disk", "printer", "reasons", "status"]


def health(d, status):
    st, _, body = d.get("/healthz", auth=False)
    check_eq(st, status, "GET /healthz status (%r)" % (body,))
    check_eq(sorted(body), HEALTH_KEYS, "the parts of /healthz")
    return body


def metric(d, name):
    st, _, body = d.fetch("GET", "/metrics")
    check_eq(st, 200, "GET /metrics")
    for line in body.decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split(" ")[1])
    raise AssertionError("no %s in /metrics" % name)


class Tmpfs:
    """A tmpfs of size under the test's directory, or Skip (it needs root)."""

    def __init__(self, env, size):
        self.mnt = os.path.join(env.dir, "small")
        os.mkdir(self.mnt)
        if os.geteuid() != 0:
            raise Skip("mounting a small tmpfs needs root")
        m = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s" % size, "tmpfs", self.mnt],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if m.returncode != 0:
            raise Skip("cannot mount a tmpfs here: %s" % m.stdout.decode().strip())
        self.env = env

    def fill(self, name, nbytes):
        path = os.path.join(self.mnt, name)
        with open(path, "wb") as f:
            f.write(b"\0" * nbytes)
        return path

    def umount(self):
        for x in self.env.daemons:
            if x.running():
                x.stop()
        subprocess.run(["umount", self.mnt])


def test_healthz_ok_says_what_it_checked(env):
    d = env.daemon()
    t = d.issue("A")
    h = health(d, 200)
    check_eq((h["status"], h["reasons"]), ("ok", []), "a sound daemon")
    check_eq(h["database"]["errors"], {"full": 0, "io": 0, "readonly": 0, "corrupt": 0,
                                       "other": 0}, "no storage error since start")
    check_eq((h["database"]["failing"], h["database"]["last_error_at"]), (False, None),
             "writes work")
    st = os.statvfs(env.dir)
    check(abs(h["disk"]["free_bytes"] - st.f_bavail * st.f_frsize) < 64 * 1024 * 1024,
          "the free space of the database's disk: %r" % h["disk"])
    check_eq(h["disk"]["min_free_bytes"], 100 * 1024 * 1024, "the default min_free_disk")
    check_eq(h["printer"]["state"], "none", "no printer configured")
    text = d.fetch("GET", "/healthz", auth=False)[2].decode()
    check(t["number"] not in text and t["token"] not in text, "nothing about a customer")


def test_damaged_database_refused_at_start(env):
    d = env.daemon()
    for _ in range(30):
        d.issue("A")
    d.stop()
    conn = sqlite3.connect(d.db)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page = conn.execute("PRAGMA page_size").fetchone()[0]
        name, root = conn.execute("SELECT name, rootpage FROM sqlite_master WHERE type = 'index' "
                                  "AND tbl_name = 'tickets' ORDER BY rootpage LIMIT 1").fetchone()
    finally:
        conn.close()
    with open(d.db, "r+b") as f:             # garbage over the index's root page
        f.seek((root - 1) * page)
        f.write(bytes((i * 7 + 3) & 0xff for i in range(page)))
    rc, out = env.run(d.argv()[1:], timeout=60)
    check(rc != 0, "a damaged database is refused (exit %d): %s" % (rc, out[-500:]))
    check("ready" not in out, "it never said ready: %s" % out[-500:])
    check(d.db in out, "the message names the file: %s" % out[-500:])
    check("damaged" in out and "restore it from a backup" in out,
          "the message says what to do: %s" % out[-500:])
    check("AddressSanitizer" not in out and "runtime error" not in out, "no sanitizer report")


def test_full_disk_fails_health_then_degrades_once_writes_work(env):
    disk = Tmpfs(env, "1m")
    try:
        filler = disk.fill("filler", 320 * 1024)
        conf = make_config() + "\n[monitoring]\nmin_free_disk = 0\n"
        d = env.daemon(conf, db=os.path.join(disk.mnt, "q.db"))
        check_eq(health(d, 200)["status"], "ok", "before the disk fills")
        st = 201
        for _ in range(2000):
            st, _, body = d.post("/api/v1/tickets", {"service": "A"})
            if st != 201:
                break
        check_eq(st, 507, "the disk filled: storage_full")
        h = health(d, 503)
        check_eq(h["status"], "failing", "writes fail now")
        check(any("last write failed" in r for r in h["reasons"]), "the reason: %r" % h["reasons"])
        check(h["database"]["errors"]["full"] >= 1 and h["database"]["failing"],
              "the storage errors since start: %r" % h["database"])
        check(metric(d, 'branchq_storage_errors_total{kind="full"}') >= 1, "counted in /metrics")
        os.unlink(filler)                     # room again: the next write works
        check_eq(d.post("/api/v1/tickets", {"service": "A"})[0], 201, "issue after the room came")
        h = health(d, 200)
        check_eq(h["status"], "degraded", "writes work again, the error was recent")
        check(any("last 15 minutes" in r for r in h["reasons"]), "the reason: %r" % h["reasons"])
        check_eq(h["database"]["failing"], False, "not failing any more")
        check(h["database"]["last_error_at"] is not None, "when the last error was")
    finally:
        disk.umount()


def test_low_disk_degrades_then_fails(env):
    disk = Tmpfs(env, "64m")
    try:
        d = env.daemon(db=os.path.join(disk.mnt, "q.db"))    # min_free_disk: 100 MiB
        d.issue("A")
        h = health(d, 200)
        check_eq(h["status"], "degraded", "64 MiB free is under min_free_disk")
        check(any("getting full" in r for r in h["reasons"]), "the reason: %r" % h["reasons"])
        filler = disk.fill("filler", 58 * 1024 * 1024)
        h = health(d, 503)
        check_eq(h["status"], "failing", "under a tenth of min_free_disk")
        check(any("nearly full" in r for r in h["reasons"]), "the reason: %r" % h["reasons"])
        check(metric(d, "branchq_disk_free_bytes") < 10 * 1024 * 1024, "/metrics shows it too")
        os.unlink(filler)
        check_eq(health(d, 200)["status"], "degraded", "room again")
        # The threshold is the operator's: under it, the same disk is fine.
        d.stop()
        d.write_config(make_config() + "\n[monitoring]\nmin_free_disk = 16M\n")
        d.start()
        check_eq(health(d, 200)["status"], "ok", "64 MiB free is plenty for min_free_disk 16M")
    finally:
        disk.umount()


def test_failing_printer_degrades_health(env):
    port = cups.free_port()                   # no CUPS there: every job fails
    conf = make_config() + "\n[printer]\nqueue = tk\nserver = 127.0.0.1:%d\ntimeout = 2s\n" % port
    d = env.daemon(conf)
    t = d.issue("A")
    deadline = time.monotonic() + 20
    while d.ticket(t["id"])["print"]["state"] != "failed":
        check(time.monotonic() < deadline, "the print fails")
        time.sleep(0.05)
    h = health(d, 200)
    check_eq((h["status"], h["printer"]["state"]), ("degraded", "failing"), "printer failing")
    check(any("printer" in r for r in h["reasons"]), "the reason: %r" % h["reasons"])
    check_eq(metric(d, 'branchq_printer_state{state="failing"}'), 1, "/metrics: failing")
    check(metric(d, 'branchq_printer_jobs_total{result="failed"}') >= 1, "/metrics: a failed job")
    check_eq(metric(d, 'branchq_printer_jobs_total{result="printed"}'), 0, "nothing printed")
