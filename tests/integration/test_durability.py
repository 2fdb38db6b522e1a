"""
What survives and how the daemon stops: kill -9 and restart lose nothing,
a full disk refuses a change cleanly and keeps serving, a second daemon
cannot open the same database, and SIGTERM ends open event streams and
exits 0.
"""
import os
import resource
import signal

import subprocess

from harness import Failure, Skip, check, check_eq, check_error


def _snapshot(d, ids):
    tickets = {}
    for tid in ids:
        t = d.ticket(tid)
        tickets[tid] = {k: t[k] for k in ("number", "service", "category", "green", "lang", "status",
                                          "issued_at", "called_at", "counter", "recalls")}
    q = d.queue()
    order = {s["id"]: [t["id"] for t in s["tickets"]] for s in q["services"]}
    counters = {c["number"]: (c["paused"], c["state"], (c["ticket"] or {}).get("id"))
                for c in q["counters"]}
    return tickets, order, counters


def test_kill9_and_restart_lose_nothing(env):
    d = env.daemon()
    issued = []
    for svc, extra in [("A", {}), ("A", {"category": "elderly"}), ("A", {}), ("B", {}),
                       ("A", {"category": "pregnant"}), ("B", {"category": "military"}),
                       ("A", {"lang": "en"}), ("V", {}), ("A", {})]:
        issued.append(d.issue(svc, **extra))
    called = d.call(3)
    check_eq(called["category"], "pregnant", "counter 3 calls the pregnant ticket (15 min boost) first")
    st, _, _ = d.action(4, "pause")
    check_eq(st, 200, "pause counter 4")
    before = _snapshot(d, [t["id"] for t in issued])
    check_eq(len(before[1]["A"]), 5, "A tickets waiting before the kill")
    # The last ticket is acknowledged and then the daemon dies at once.
    final = d.issue("B")
    d.kill9()
    d.start()
    after = _snapshot(d, [t["id"] for t in issued])
    check_eq(after[0], before[0], "every ticket unchanged after kill -9")
    check_eq({k: v for k, v in after[1].items() if k != "B"}, {k: v for k, v in before[1].items() if k != "B"},
             "waiting order of A and V unchanged")
    check_eq(after[1]["B"], before[1]["B"] + [final["id"]], "waiting order of B, with the last ticket")
    got = d.ticket(final["id"])
    check_eq((got["number"], got["status"], got["category"], got["issued_at"]),
             ("B003", "waiting", "normal", final["issued_at"]), "the ticket acknowledged just before the kill")
    check_eq(after[2], before[2], "counters unchanged (paused, state, current ticket)")
    check_eq(after[2][4][0], True, "counter 4 still paused")
    check_error(d.action(4, "call"), 409, "counter_paused", "call at counter 4 after restart")

    numbers = [t["number"] for t in issued] + [final["number"]]
    a = d.issue("A")
    b = d.issue("B")
    v = d.issue("V")
    check_eq((a["number"], b["number"], v["number"]), ("A007", "B004", "V002"),
             "numbering continues after the restart")
    numbers += [a["number"], b["number"], v["number"]]
    check_eq(len(numbers), len(set(numbers)), "no number issued twice")
    # The current ticket at counter 3 is still there to finish.
    st, _, j = d.action(3, "finish")
    check_eq(st, 200, "finish the ticket called before the kill")
    check_eq(j["ticket"]["id"], called["id"], "the finished ticket")


def test_disk_full_refuses_cleanly(env):
    d = env.daemon()
    acked = [d.issue("A")["id"] for _ in range(3)]
    d.stop()
    sizes = {p: os.path.getsize(d.db + p) for p in ("", "-wal") if os.path.exists(d.db + p)}
    limit = max(sizes.values()) + 64 * 1024

    def limit_file_size():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    d.start(preexec_fn=limit_file_size)
    failure = None
    for i in range(500):
        st, _, body = d.post("/api/v1/tickets", {"service": "A"})
        if st == 201:
            acked.append(body["ticket"]["id"])
            continue
        failure = (st, None, body)
        break
    if failure is None:
        raise Failure("500 tickets issued under a %d-byte file-size limit without an error "
                      "(files: %r)" % (limit, sizes))
    # SQLite reports a write refused by the file-size limit as an I/O error (a
    # real full disk is SQLITE_FULL, 507: test_real_full_disk_answers_storage_full).
    check_error(failure, 503, "storage_unwritable", "issue past the file-size limit")
    check(len(acked) > 3, "some tickets were issued before the disk filled (%d)" % len(acked))

    # Still running and serving; everything acknowledged is there, nothing more.
    # /healthz tells the truth: the last write failed (test_health.py has the rest).
    st, _, body = d.get("/healthz")
    check_eq((st, body.get("status")), (503, "failing"), "healthz after the failed write")
    check(d.running(), "daemon still running")
    waiting = d.queue()["services"][0]
    check_eq(waiting["id"], "A", "first service")
    check_eq(sorted(t["id"] for t in waiting["tickets"]), sorted(acked), "waiting == acknowledged")
    check_eq(waiting["waiting"], len(acked), "queue count == acknowledged count")
    for tid in acked:
        check_eq(d.ticket(tid)["status"], "waiting", "acknowledged ticket %d" % tid)
    # A second attempt fails the same clean way and changes nothing either.
    again = d.post("/api/v1/tickets", {"service": "A"})
    check_error(again, 503, "storage_unwritable", "second issue past the file-size limit")
    check_eq(d.queue()["services"][0]["waiting"], len(acked), "still nothing half-written")
    d.stop()
    # Without the limit the same database works and numbering continues.
    d.start()
    t = d.issue("A")
    check_eq(t["number"], "A%03d" % (len(acked) + 1), "next number after the full disk")
    check_eq(d.queue()["services"][0]["waiting"], len(acked) + 1, "all tickets after restart")


def test_real_full_disk_answers_storage_full(env):
    """The database on a tiny tmpfs: the write fails with ENOSPC, as on a full disk."""
    mnt = os.path.join(env.dir, "small")
    os.mkdir(mnt)
    if os.geteuid() != 0:
        raise Skip("mounting a small tmpfs needs root")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", mnt],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if mounted.returncode != 0:
        raise Skip("cannot mount a tmpfs here: %s" % mounted.stdout.decode().strip())
    try:
        # Room the test can give back, as an operator deleting old files would.
        filler = os.path.join(mnt, "filler")
        with open(filler, "wb") as f:
            f.write(b"\0" * 256 * 1024)
        d = env.daemon(db=os.path.join(mnt, "q.db"))
        acked = []
        failure = None
        for _ in range(2000):
            st, h, body = d.post("/api/v1/tickets", {"service": "A"})
            if st != 201:
                failure = (st, h, body)
                break
            acked.append(body["ticket"]["number"])
        check(failure is not None, "2000 tickets fit in 256 KiB: the disk never filled")
        check_error(failure, 507, "storage_full", "issue on a full disk")
        # Each commit adds a ticket, its event and its audit row to a WAL on 1 MiB.
        check(len(acked) > 10, "tickets were issued before the disk filled (%d)" % len(acked))
        check(d.running(), "daemon still running on a full disk")
        check_eq(d.waiting_numbers("A"), acked, "every acknowledged ticket, in order, nothing more")
        # Calling needs a write too: it fails the same clean way and loses nobody.
        st, h, body = d.post("/api/v1/counters/3/call")
        if st != 200:
            check_error((st, h, body), 507, "storage_full", "call on a full disk")
            check_eq(d.waiting_numbers("A"), acked, "a failed call loses nobody")
        # Space again: the next change works at once, no restart.
        os.unlink(filler)
        t = d.issue("A")
        check_eq(t["number"], "A%03d" % (len(acked) + 1), "the next number once there is room")
        check_eq(d.waiting_numbers("A")[-1], t["number"], "and it is in the queue")
        d.stop()
    finally:
        for x in env.daemons:
            if x.running():
                x.kill9()
        subprocess.run(["umount", mnt])


def test_second_daemon_on_same_database_refuses(env):
    d = env.daemon()
    d.issue("A")
    rc, out = env.run(["-d", "-f", d.conf, "--listen", "127.0.0.1:0", "--db", d.db])
    check(rc != 0, "second daemon must exit non-zero, got %d: %s" % (rc, out))
    check("in use" in out, "second daemon says the database is in use: %r" % out)
    check("ready" not in out, "second daemon never got ready: %r" % out)
    for m in ("AddressSanitizer", "LeakSanitizer", "runtime error"):
        check(m not in out, "second daemon output has %r: %s" % (m, out))
    check_eq(d.waiting_numbers("A"), ["A001"], "first daemon unaffected")
    check_eq(d.issue("A")["number"], "A002", "first daemon still issues")


def test_sigterm_with_open_event_stream(env):
    d = env.daemon()
    s = d.sse()
    s.wait_hello()
    d.issue("A")
    check_eq(s.take(1)[0]["data"]["type"], "ticket.issued", "stream is live")
    proc = d.proc
    mark = d.log_mark()
    d.stop()  # SIGTERM; asserts exit 0 within its timeout and a clean sanitizer log
    check_eq(proc.returncode, 0, "exit status")
    check(s.ended.wait(5), "the event stream ended")
    check(s.clean_end, "the event stream ended with its last chunk, not a reset")
    log = d.log().split("\n")[mark:]
    check(not any("still open at shutdown" in line for line in log),
          "no request left open at shutdown: %s" % "\n".join(log))
    check(any("branchqd stopped" in line for line in log), "log says stopped")


def test_sigint_stops_cleanly_too(env):
    d = env.daemon()
    d.issue("A")
    proc = d.proc
    d.signal(signal.SIGINT)
    rc = proc.wait(15)
    check_eq(rc, 0, "exit status after SIGINT")
    d.reader.join(5)
    d.proc = None
    d.check_log_clean()
    d.start()
    check_eq(d.waiting_numbers("A"), ["A001"], "ticket kept after SIGINT")


def test_second_daemon_on_same_port_refuses(env):
    """Two daemons must never share a port: requests would be split between two databases."""
    d = env.daemon()
    d.issue("A")
    rc, out = env.run(["-d", "-f", d.conf, "--listen", "127.0.0.1:%d" % d.port,
                       "--db", os.path.join(env.dir, "other.db")])
    check(rc != 0, "second daemon on the same port must exit non-zero, got %d: %s" % (rc, out))
    check("cannot listen" in out, "second daemon says it cannot listen: %r" % out)
    check("branchqd ready" not in out, "second daemon never got ready: %r" % out)
    for _ in range(6):
        d.issue("A")
    check_eq(d.waiting_numbers("A"), ["A%03d" % i for i in range(1, 8)], "every ticket in one database")


def test_unwritable_database_answers_503_and_recovers_without_restart(env):
    """The database's log made immutable under the running daemon (as root, chattr +i: even
    root cannot write it, as on a file system remounted read-only): changes are refused with
    503 storage_unwritable and lose nothing; once it is writable again they work, no restart."""
    d = env.daemon()
    first = d.issue("A")
    wal = d.db + "-wal"
    made = subprocess.run(["chattr", "+i", wal], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    check(made.returncode == 0, "chattr +i on the database's WAL (ext4 and root needed): %s" %
          made.stdout.decode().strip())
    try:
        for _ in range(3):
            check_error(d.post("/api/v1/tickets", {"service": "A"}), 503, "storage_unwritable",
                        "issue while the database cannot be written")
        check_error(d.post("/api/v1/counters/1/call"), 503, "storage_unwritable",
                    "call while the database cannot be written")
        check(d.running(), "daemon still running")
        check_eq(d.waiting_numbers("A"), [first["number"]], "nothing half-written, nobody lost")
        st, _, health = d.get("/healthz", auth=False)
        check_eq((st, health["status"]), (503, "failing"), "/healthz says so meanwhile")
    finally:
        subprocess.run(["chattr", "-i", wal])
    again = d.issue("A")
    check_eq(again["number"], "A002", "the next ticket once writable again, without a restart")
    check_eq(d.call(1)["id"], first["id"], "calls work again")
    d.stop()
    d.start()
    check_eq(d.waiting_numbers("A"), ["A002"], "what was acknowledged is what the file holds")
