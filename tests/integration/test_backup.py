"""
Keeping the data: `branchqd backup` while the daemon serves, `branchqd
restore` into a stopped one, `branchqd prune` of the days older than the
kept ones with their daily reports kept, and a WAL that stays small.
"""
import datetime
import glob
import hashlib
import json
import os
import re
import shutil
import sqlite3
import threading
import time

from harness import SHANGHAI, check, check_eq, check_error, make_config

# store.c: the checkpointer runs once the WAL holds STORE_CHECKPOINT_FRAMES frames.
CHECKPOINT_FRAMES = 1000
FRAME_BYTES = 4096 + 24
WAL_HEADER = 32


def _sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def _integrity(path):
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    try:
        return db.execute("PRAGMA integrity_check").fetchall()
    finally:
        db.close()


def _ticket_ids(path):
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    try:
        return {r[0] for r in db.execute("SELECT id FROM tickets")}
    finally:
        db.close()


class Load:
    """A thread that issues and calls over HTTP, keeping every 201's ticket id and when it came."""

    def __init__(self, d):
        self.d = d
        self.acked = []              # (monotonic time of the answer, ticket id)
        self.errors = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        i = 0
        while not self.stop.is_set():
            i += 1
            try:
                st, _, body = self.d.post("/api/v1/tickets", {"service": "AB"[i % 2]})
                if st == 201:
                    self.acked.append((time.monotonic(), body["ticket"]["id"]))
                else:
                    self.errors.append((st, body))
                if i % 3 == 0:
                    st, _, body = self.d.post("/api/v1/counters/%d/call" % (1 + i % 5))
                    if st not in (200, 204):
                        self.errors.append((st, body))
            except OSError as e:
                self.errors.append(repr(e))

    def wait_for(self, n):
        deadline = time.monotonic() + 60
        while len(self.acked) < n and time.monotonic() < deadline and self.thread.is_alive():
            time.sleep(0.01)
        check(len(self.acked) >= n, "the load issued %d tickets, not %d" % (len(self.acked), n))

    def end(self):
        self.stop.set()
        self.thread.join(30)
        check(not self.thread.is_alive(), "the load thread ended")
        check_eq(self.errors, [], "every request of the load answered")


def test_backup_under_load_has_every_acknowledged_ticket(env):
    d = env.daemon()
    load = Load(d)
    load.wait_for(30)
    out = os.path.join(env.dir, "backup", "branchq.db")
    os.mkdir(os.path.dirname(out))
    began = time.monotonic()
    r = d.cli("backup", "--to", out)
    ended = time.monotonic()
    load.wait_for(len(load.acked) + 10)
    load.end()
    check_eq(r.returncode, 0, "backup exit status (%s)" % r.stderr)
    check("backup ok" in r.stdout and "integrity_check ok" in r.stdout,
          "backup says ok: %r" % r.stdout)
    before = {tid for at, tid in load.acked if at < began}
    after = {tid for at, tid in load.acked if at > ended}
    check(len(before) >= 30, "tickets acknowledged before the backup began: %d" % len(before))
    check(after, "tickets were acknowledged after the backup ended")
    check_eq(_integrity(out), [("ok",)], "integrity_check of the backup")
    ids = _ticket_ids(out)
    check_eq(sorted(before - ids), [], "acknowledged before the backup began, missing from it")
    check("%d tickets" % len(ids) in r.stdout, "backup's ticket count %d in %r" % (len(ids),
                                                                                   r.stdout))
    check_eq(sorted(os.listdir(os.path.dirname(out))), ["branchq.db"],
             "one file, no -wal, no .tmp left")
    # One snapshot: each ticket and its event came in one commit, and so are in the copy together.
    db = sqlite3.connect("file:%s?mode=ro" % out, uri=True)
    try:
        orphans = db.execute("SELECT count(*) FROM tickets t WHERE t.id = t.origin_id AND NOT "
                             "EXISTS (SELECT 1 FROM events e WHERE e.type = 'ticket.issued' "
                             "AND e.ticket_id = t.id)").fetchone()[0]
        strays = db.execute("SELECT count(*) FROM events e WHERE e.type = 'ticket.issued' AND NOT "
                            "EXISTS (SELECT 1 FROM tickets t WHERE t.id = e.ticket_id)").fetchone()[0]
        seqs = db.execute("SELECT s.service, s.last, (SELECT count(*) FROM tickets t WHERE "
                          "t.bday = s.bday AND t.service = s.service AND t.id = t.origin_id) "
                          "FROM sequences s").fetchall()
    finally:
        db.close()
    check_eq((orphans, strays), (0, 0), "tickets without their event, events without their ticket")
    check(all(last == n for _, last, n in seqs), "each day's last number is its count: %r" % seqs)
    # The daemon went on serving through it.
    check_eq(d.get("/healthz")[0], 200, "healthz after the backup")


def test_backup_refuses_the_live_database_and_keeps_n(env):
    d = env.daemon()
    d.issue("A")
    live = _sha(d.db)
    for target in (d.db, d.db + "-wal"):
        r = d.cli("backup", "--to", target)
        check_eq(r.returncode, 1, "backup onto %s: exit status" % target)
        check("live database" in r.stderr, "says it is the live database: %r" % r.stderr)
    check_eq(_sha(d.db), live, "the live database untouched")
    bdir = os.path.join(env.dir, "b")
    os.mkdir(bdir)
    # Four older nightly backups (their dates in the name, their ages in the mtime).
    for k in range(4):
        p = os.path.join(bdir, "branchq-2026010%d.db" % (k + 1))
        with open(p, "wb") as f:
            f.write(b"old")
        os.utime(p, (time.time() - (10 - k) * 86400,) * 2)
    other = os.path.join(bdir, "notes.txt")
    open(other, "w").close()
    r = d.cli("backup", "--to", os.path.join(bdir, "branchq-%Y%m%d.db"), "--keep", "2")
    check_eq(r.returncode, 0, "backup --keep 2: %s" % r.stderr)
    today = datetime.datetime.now(SHANGHAI).strftime("%Y%m%d")
    check_eq(sorted(os.listdir(bdir)), ["branchq-20260104.db", "branchq-%s.db" % today,
                                        "notes.txt"],
             "the new backup and the newest older one kept, other files left alone")
    check_eq(_integrity(os.path.join(bdir, "branchq-%s.db" % today)), [("ok",)],
             "integrity_check of the dated backup")
    r = d.cli("backup", "--to", os.path.join(bdir, "fixed.db"), "--keep", "2")
    check_eq(r.returncode, 2, "--keep without a date in the name is refused")


def test_restore_into_a_new_daemon_has_every_ticket(env):
    d = env.daemon()
    load = Load(d)
    load.wait_for(40)
    load.end()
    tickets = {tid: d.ticket(tid) for _, tid in load.acked}
    waiting = d.queue()
    out = os.path.join(env.dir, "nightly.db")
    r = d.cli("backup", "--to", out)
    check_eq(r.returncode, 0, "backup: %s" % r.stderr)
    d.stop()
    # A new daemon on a database of its own, which does not exist yet.
    d2 = env.daemon(make_config(), name="restored", db=os.path.join(env.dir, "new", "q.db"),
                    start=False)
    os.mkdir(os.path.dirname(d2.db))
    r = d2.cli("restore", "--from", out)
    check_eq(r.returncode, 0, "restore: %s" % r.stderr)
    check("restore ok" in r.stdout and "%d tickets" % len(tickets) in r.stdout,
          "restore says ok with the count: %r" % r.stdout)
    d2.start()
    for tid, t in tickets.items():
        got = d2.ticket(tid)
        check_eq({k: got[k] for k in ("number", "status", "service", "issued_at")},
                 {k: t[k] for k in ("number", "status", "service", "issued_at")},
                 "ticket %d after the restore" % tid)
    q2 = d2.queue()
    check_eq([(s["id"], s["waiting"]) for s in q2["services"]],
             [(s["id"], s["waiting"]) for s in waiting["services"]], "waiting counts match")
    check_eq(_integrity(d2.db), [("ok",)], "integrity_check of the restored database")
    # Numbering goes on after the last ticket of the backup.
    last_a = max(t["number"] for t in tickets.values() if t["service"] == "A")
    check_eq(d2.issue("A")["number"], "A%03d" % (int(last_a[1:]) + 1), "next number")


def test_restore_refused_while_the_daemon_runs(env):
    d = env.daemon()
    for _ in range(3):
        d.issue("A")
    out = os.path.join(env.dir, "b.db")
    check_eq(d.cli("backup", "--to", out).returncode, 0, "backup")
    d.issue("A")
    r = d.cli("restore", "--from", out)
    check_eq(r.returncode, 1, "restore beside a running daemon: exit status")
    check("running branchqd" in r.stderr and "stop it" in r.stderr,
          "says the daemon runs: %r" % r.stderr)
    check_eq(glob.glob(d.db + ".before-restore-*") + glob.glob(d.db + ".restore.tmp"), [],
             "nothing moved or left beside the database")
    check_eq(d.waiting_numbers("A"), ["A001", "A002", "A003", "A004"],
             "the running daemon keeps all its tickets")
    check_eq(d.issue("A")["number"], "A005", "and goes on issuing")


def test_restore_refuses_damaged_and_foreign_files(env):
    d = env.daemon()
    for _ in range(3):
        d.issue("A")
    good = os.path.join(env.dir, "good.db")
    check_eq(d.cli("backup", "--to", good).returncode, 0, "backup")
    d.stop()
    live = _sha(d.db)

    text = os.path.join(env.dir, "notes.db")
    with open(text, "w") as f:
        f.write("this is not a database\n" * 500)
    foreign = os.path.join(env.dir, "foreign.db")
    db = sqlite3.connect(foreign)
    db.execute("CREATE TABLE accounts(id INTEGER PRIMARY KEY, name TEXT)")
    db.commit()
    db.close()
    newer = os.path.join(env.dir, "newer.db")
    shutil.copy(good, newer)
    db = sqlite3.connect(newer)
    db.execute("PRAGMA user_version = 999")
    db.commit()
    db.close()
    damaged = os.path.join(env.dir, "damaged.db")
    shutil.copy(good, damaged)
    db = sqlite3.connect(damaged)
    root = db.execute("SELECT rootpage FROM sqlite_master WHERE name = 'tickets_number'").fetchone()[0]
    page = db.execute("PRAGMA page_size").fetchone()[0]
    db.close()
    with open(damaged, "r+b") as f:
        f.seek((root - 1) * page + 8)
        f.write(b"\xff" * (page - 8))

    # A damaged database gives no backup: the copy is checked before it gets its name.
    copy = os.path.join(env.dir, "of-damaged.db")
    rc, out = env.run(["backup", "-f", d.conf, "--db", damaged, "--to", copy])
    check_eq(rc, 1, "backup of a damaged database: exit status (%s)" % out)
    check("damaged: integrity_check" in out, "backup says the database is damaged: %r" % out)
    check_eq(glob.glob(copy + "*"), [], "no backup file, no .tmp left")

    cases = [(text, "not a database SQLite can read"), (foreign, "not a branchq database"),
             (newer, "newer than this branchqd"), (damaged, "damaged: integrity_check"),
             (os.path.join(env.dir, "missing.db"), "No such file")]
    for path, words in cases:
        r = d.cli("restore", "--from", path)
        check_eq(r.returncode, 1, "restore of %s: exit status" % os.path.basename(path))
        check(words in r.stderr, "restore of %s says %r: %r" % (os.path.basename(path), words,
                                                                r.stderr))
        check_eq(_sha(d.db), live, "live database untouched by %s" % os.path.basename(path))
        check_eq(glob.glob(d.db + ".before-restore-*") + glob.glob(d.db + ".restore.tmp*"), [],
                 "nothing moved or left beside the database by %s" % os.path.basename(path))
    d.start()
    check_eq(d.waiting_numbers("A"), ["A001", "A002", "A003"], "the database still serves")


OLD_DAY = datetime.date(2020, 6, 2)


def _at(day, h, m):
    return int(datetime.datetime(day.year, day.month, day.day, h, m, tzinfo=SHANGHAI).timestamp())


def _write_day(db, day, first_id, n):
    """n tickets of day (served, one no-show), their events, a pause and audit rows."""
    for i in range(n):
        tid = first_id + i
        issued = _at(day, 9, i)
        called = issued + 300 + 60 * i
        status = "no_show" if i == n - 1 else "served"
        db.execute("INSERT INTO tickets(id, origin_id, bday, number, service, category, lang, "
                   "status, token, issued_at, created_at, called_at, started_at, ended_at, "
                   "counter) VALUES (?, ?, ?, ?, 'A', 'normal', 'zh', ?, ?, ?, ?, ?, ?, ?, 3)",
                   (tid, tid, day.isoformat(), "A%03d" % (i + 1), status, "%032x" % tid, issued,
                    issued, called, None if status == "no_show" else called + 10, called + 400))
        db.execute("INSERT INTO events(at, type, ticket_id, counter, data) "
                   "VALUES (?, 'ticket.issued', ?, NULL, '{}')", (issued, tid))
        db.execute("INSERT INTO events(at, type, ticket_id, counter, data) "
                   "VALUES (?, 'ticket.called', ?, 3, '{}')", (called, tid))
        db.execute("INSERT INTO audit(at, who, role, counter, action, ticket_id, result, address) "
                   "VALUES (?, 'teller1', 'teller', 3, 'call', ?, 'ok', '127.0.0.1')",
                   (called, tid))
    db.execute("INSERT INTO events(at, type, ticket_id, counter, data) "
               "VALUES (?, 'counter.paused', NULL, 4, '{}')", (_at(day, 11, 0),))
    db.execute("INSERT INTO events(at, type, ticket_id, counter, data) "
               "VALUES (?, 'counter.resumed', NULL, 4, '{}')", (_at(day, 11, 30),))
    db.execute("INSERT INTO sequences(bday, service, last) VALUES (?, 'A', ?)",
               (day.isoformat(), n))


def _report(d, day):
    st, _, body = d.get("/api/v1/reports/daily?date=%s" % day.isoformat())
    check_eq(st, 200, "daily report of %s" % day)
    body = dict(body)
    body.pop("generated_at", None)
    return body


def test_prune_removes_old_days_and_keeps_their_reports(env):
    cfg = make_config(branch={"day_reset": "04:00", "keep": "3y"})
    d = env.daemon(cfg)
    d.stop()
    recent = (datetime.datetime.now(SHANGHAI) - datetime.timedelta(days=30)).date()
    db = sqlite3.connect(d.db)
    with db:
        _write_day(db, OLD_DAY, 1000, 6)
        _write_day(db, OLD_DAY + datetime.timedelta(days=1), 2000, 4)
        _write_day(db, recent, 3000, 5)
    db.close()
    d.start()
    d.issue("A")
    old_report = _report(d, OLD_DAY)
    check_eq(old_report["totals"]["issued"], 6, "the old day's report before the prune")
    check_eq(old_report["totals"]["no_show"], 1, "its no-show")
    cli_before = d.cli("report", "--date", OLD_DAY.isoformat())
    check_eq(cli_before.returncode, 0, "branchqd report before the prune")
    recent_report = _report(d, recent)

    r = d.cli("prune")
    check_eq(r.returncode, 0, "prune: %s" % r.stderr)
    check("removed 2 days: 10 tickets, 24 events, 10 audit rows" in r.stdout,
          "prune says what it removed: %r" % r.stdout)

    db = sqlite3.connect("file:%s?mode=ro" % d.db, uri=True)
    bdays = [x[0] for x in db.execute("SELECT DISTINCT bday FROM tickets ORDER BY bday")]
    old_events = db.execute("SELECT count(*) FROM events WHERE at < ?",
                            (_at(recent, 0, 0),)).fetchone()[0]
    old_audit = db.execute("SELECT count(*) FROM audit WHERE at < ?",
                           (_at(recent, 0, 0),)).fetchone()[0]
    kept_events = db.execute("SELECT count(*) FROM events WHERE at >= ?",
                             (_at(recent, 0, 0),)).fetchone()[0]
    pruned = db.execute("SELECT action FROM audit WHERE action LIKE 'prune%'").fetchall()
    summaries = [x[0] for x in db.execute("SELECT bday FROM daily_summaries ORDER BY bday")]
    triggers = sorted(x[0] for x in db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'trigger'"))
    db.close()
    check_eq(bdays[0], recent.isoformat(), "the oldest day left is the recent one")
    check_eq(len(bdays), 2, "the recent day and today are left: %r" % bdays)
    check_eq((old_events, old_audit), (0, 0), "no event or audit row of the pruned days left")
    check(kept_events >= 5 * 2 + 2 + 1, "the kept days' events are there (%d)" % kept_events)
    check_eq(len(pruned), 1, "the audit trail records the prune")
    check_eq(summaries, [OLD_DAY.isoformat(), (OLD_DAY + datetime.timedelta(days=1)).isoformat()],
             "a summary for each pruned day")
    check_eq(triggers, ["audit_no_delete", "audit_no_update", "events_no_delete",
                        "events_no_update"], "the append-only triggers are back")
    # The log is append-only again: a delete is refused.
    db = sqlite3.connect(d.db)
    try:
        db.execute("DELETE FROM events")
        refused = False
    except sqlite3.DatabaseError as e:
        refused = "append-only" in str(e)
    db.close()
    check(refused, "DELETE FROM events is refused after the prune")

    # The pruned day's report is served from its summary, over HTTP and on the command line.
    check_eq(_report(d, OLD_DAY), old_report, "the pruned day's daily report")
    check_eq(_report(d, recent), recent_report, "a kept day's report unchanged")
    cli_after = d.cli("report", "--date", OLD_DAY.isoformat())
    check_eq(cli_after.returncode, 0, "branchqd report of the pruned day")
    strip = lambda t: {k: v for k, v in json.loads(t).items() if k != "generated_at"}
    check_eq(strip(cli_after.stdout), strip(cli_before.stdout), "the CLI's report of the pruned day")
    check_error(d.get("/api/v1/reports/range?from=%s&to=%s" % (
        OLD_DAY.isoformat(), (OLD_DAY + datetime.timedelta(days=5)).isoformat())),
        400, "invalid_query", "a range over pruned days")
    # The daemon served through it and still does.
    check_eq(d.waiting_numbers("A"), ["A001"], "today's queue untouched")
    check_eq(d.issue("A")["number"], "A002", "issuing goes on")
    # A second prune finds nothing more to do.
    r = d.cli("prune", "--keep", "40")
    check_eq(r.returncode, 0, "prune --keep 40: %s" % r.stderr)
    check("removed 0 days" in r.stdout, "nothing more within 40 days: %r" % r.stdout)
    r = d.cli("prune", "--keep", "0")
    check_eq(r.returncode, 2, "prune --keep 0 is refused")


def test_wal_stays_bounded_after_many_tickets(env):
    """
    Each sequential ticket is its own commit of about 11 frames; past
    CHECKPOINT_FRAMES the checkpointer copies them into the database and
    the WAL starts again from its beginning, so the file never grows past
    the threshold and the frames of the commits made while one checkpoint
    ran (allowed here: twice as many again, about 180 tickets, far more
    than one checkpoint of a few dozen pages takes). Without the
    checkpoint the file passes the bound at about 210 tickets (and their
    calls).
    """
    d = env.daemon()
    wal = d.db + "-wal"
    bound = WAL_HEADER + 3 * CHECKPOINT_FRAMES * FRAME_BYTES
    biggest = 0
    n = 600                          # about 6,600 frames: six times the threshold
    for i in range(n):
        d.issue("AB"[i % 2])
        if i % 4 == 3:
            d.call(1 + i % 5)
        biggest = max(biggest, os.path.getsize(wal))
        check(biggest <= bound, "WAL at %d bytes after %d tickets, over %d" % (biggest, i + 1,
                                                                               bound))
    check(biggest > CHECKPOINT_FRAMES * FRAME_BYTES // 2,
          "the WAL did fill towards the threshold (%d bytes)" % biggest)
    check_eq(_integrity(d.db), [("ok",)], "integrity_check after the checkpoints")
    d.stop()
    check(not os.path.exists(wal), "a clean stop leaves no WAL")


def test_keep_option_is_checked_and_backup_works_with_the_daemon_stopped(env):
    d = env.daemon()
    d.issue("A")
    d.stop()
    for value, ok in (("3y", True), ("400", True), ("30d", True), ("0", False), ("3x", False),
                      ("-1", False), ("101y", False), ("", False)):
        d.write_config(make_config(branch={"keep": value}))
        rc, out = env.run(["-n", "-f", d.conf])
        check_eq(rc == 0, ok, "keep = %r: -n says %r" % (value, out))
        if not ok:
            check(re.search(r"\.conf:\d+: keep: ", out) is not None and "days" in out,
                  "keep = %r: the error names the line and the key: %r" % (value, out))
    d.write_config(make_config())
    # No daemon, no -wal or -shm: backup opens the database alone.
    out = os.path.join(env.dir, "cold.db")
    r = d.cli("backup", "--to", out)
    check_eq(r.returncode, 0, "backup with the daemon stopped: %s" % r.stderr)
    check_eq(_integrity(out), [("ok",)], "integrity_check")
    check_eq(len(_ticket_ids(out)), 1, "the one ticket")
    check_eq(glob.glob(d.db + "-*"), [], "no -wal or -shm left by the backup")
    d.start()
    check_eq(d.waiting_numbers("A"), ["A001"], "the daemon starts on its database as before")
