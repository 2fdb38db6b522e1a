"""
Twenty kill -9s under load. Each round starts the daemon on the same
database, issues from several clients and calls from several counters at
once, and kills it mid-flight; after every round: every ticket answered
201 is in the database with its number, no number was issued twice in a
business day, no ticket was called twice (one ticket.called event per
leg), and what the daemon shows after the restart is what its file holds.
"""
import sqlite3
import threading
import time

from harness import HTTP_TIMEOUT_S, check, check_eq

ROUNDS = 20
PER_ROUND = 40          # acknowledged tickets before the kill


def _load(d, acked, called, stop, errors):
    lock = threading.Lock()

    def issuer(svc):
        while not stop.is_set():
            try:
                st, _, j = d.post("/api/v1/tickets", {"service": svc})
            except OSError:
                return          # killed under this request: it may or may not have landed
            if st != 201:
                errors.append(("issue", st, j))
                return
            with lock:
                acked[j["ticket"]["id"]] = j["ticket"]["number"]

    def caller(n):
        while not stop.is_set():
            try:
                st, _, j = d.post("/api/v1/counters/%d/call" % n)
            except OSError:
                return
            if st == 200 and j and j.get("ticket"):
                with lock:
                    called.append(j["ticket"]["id"])
            elif st not in (200, 204):
                errors.append(("call", st, j))
                return
    threads = [threading.Thread(target=issuer, args=(s,)) for s in "AAB"]
    threads += [threading.Thread(target=caller, args=(n,)) for n in (1, 3, 5)]
    for t in threads:
        t.start()
    return threads


def test_twenty_kill9_rounds_under_issuing_and_calling(env):
    d = env.daemon(start=False)
    acked, called = {}, []
    for rnd in range(ROUNDS):
        d.start()
        before = len(acked)
        stop = threading.Event()
        errors = []
        threads = _load(d, acked, called, stop, errors)
        deadline = time.monotonic() + 60
        while len(acked) < before + PER_ROUND and not errors and time.monotonic() < deadline:
            time.sleep(0.01)
        check(not errors, "round %d: a request failed under load: %r" % (rnd + 1, errors[:3]))
        check(len(acked) >= before + PER_ROUND, "round %d: only %d tickets acknowledged" % (
            rnd + 1, len(acked) - before))
        d.kill9()
        stop.set()
        for t in threads:
            t.join(HTTP_TIMEOUT_S + 5)
        db = sqlite3.connect("file:%s?mode=ro" % d.db, uri=True, timeout=HTTP_TIMEOUT_S)
        try:
            rows = dict(db.execute("SELECT id, number FROM tickets").fetchall())
            days = db.execute("SELECT bday, number, count(DISTINCT origin_id) FROM tickets "
                              "GROUP BY bday, number HAVING count(DISTINCT origin_id) > 1").fetchall()
            twice = db.execute("SELECT ticket_id, count(*) FROM events WHERE type = 'ticket.called' "
                               "GROUP BY ticket_id HAVING count(*) > 1").fetchall()
        finally:
            db.close()
        lost = [i for i, num in acked.items() if rows.get(i) != num]
        check_eq(lost, [], "round %d: acknowledged tickets missing after kill -9 (of %d)" % (
            rnd + 1, len(acked)))
        check_eq(days, [], "round %d: a number issued twice in a day" % (rnd + 1))
        check_eq(twice, [], "round %d: a ticket called twice" % (rnd + 1))
        check(all(i in rows for i in called), "round %d: a ticket answered as called is missing" % (
            rnd + 1))
    # The last restart: the daemon's queue is its file's, and it goes on numbering.
    d.start()
    q = d.queue()
    shown = sorted(t["id"] for s in q["services"] for t in s["tickets"])
    db = sqlite3.connect("file:%s?mode=ro" % d.db, uri=True, timeout=HTTP_TIMEOUT_S)
    try:
        waiting = sorted(r[0] for r in db.execute("SELECT id FROM tickets WHERE status = 'waiting'"))
    finally:
        db.close()
    check_eq(shown, waiting, "after %d kills the queue shown is the database's" % ROUNDS)
    t = d.issue("A")
    check(t["number"] not in {n for n in acked.values() if n.startswith("A")},
          "the next number is a new one: %s" % t["number"])
    print("crash: %d rounds, %d tickets acknowledged, %d calls answered" % (
        ROUNDS, len(acked), len(called)))
