"""
Group commit, seen from outside: changes sent at the same moment are
committed together, yet a change that fails fails alone and leaves nothing
(no ticket, no number used, no event); under load, kill -9 loses no
acknowledged ticket, and what the daemon holds in memory is what its
database holds, before the kill and after the restart.
"""
import json
import socket
import sqlite3
import threading
import time

from harness import HTTP_TIMEOUT_S, check, check_eq, read_http_response


def _post_bytes(path, body):
    data = json.dumps(body).encode()
    return (("POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
             "Content-Length: %d\r\nConnection: close\r\n\r\n" % (path, len(data))).encode() + data)


def _send_together(port, requests):
    """Open a connection per request, then send every request at once; the answers in order."""
    socks = [socket.create_connection(("127.0.0.1", port), timeout=HTTP_TIMEOUT_S) for _ in requests]
    try:
        for s, req in zip(socks, requests):
            s.sendall(req)
        out = []
        for s in socks:
            st, _, body = read_http_response(s.makefile("rb"))
            out.append((st, json.loads(body) if body else None))
        return out
    finally:
        for s in socks:
            s.close()


def _db_waiting(d):
    """The waiting tickets of today as the database holds them: {id: (number, service)}."""
    db = sqlite3.connect("file:%s?mode=ro" % d.db, uri=True, timeout=HTTP_TIMEOUT_S)
    try:
        rows = db.execute("SELECT id, number, service, bday FROM tickets WHERE status = 'waiting'").fetchall()
    finally:
        db.close()
    return {r[0]: (r[1], r[2]) for r in rows}, {r[3] for r in rows}


def _memory_waiting(d):
    q = d.queue()
    return {t["id"]: (t["number"], s["id"]) for s in q["services"] for t in s["tickets"]}


def test_batch_where_some_fail_alone(env):
    d = env.daemon()
    first = d.issue("A")
    reqs = []
    for i in range(30):
        reqs.append(_post_bytes("/api/v1/tickets", {"service": "AB"[i % 2]}))
        if i % 10 == 4:
            reqs.append(_post_bytes("/api/v1/tickets", {"service": "Z"}))
        if i % 10 == 7:
            reqs.append(_post_bytes("/api/v1/counters/3/call", {"expect": 999}))
    answers = _send_together(d.port, [d.with_auth(r) for r in reqs])
    ok = [j["ticket"] for st, j in answers if st == 201]
    check_eq(len(ok), 30, "every good ticket issued (answers %r)" % [st for st, _ in answers])
    bad = [(st, j["error"]["code"]) for st, j in answers if st != 201]
    check_eq(sorted(bad), sorted([(404, "unknown_service")] * 3 + [(409, "counter_changed")] * 3),
             "each bad request failed with its own error")
    # The failed ones used no number: each service's numbers run on without a gap.
    a = sorted(t["number"] for t in ok if t["service"] == "A")
    b = sorted(t["number"] for t in ok if t["service"] == "B")
    check_eq(a, ["A%03d" % n for n in range(2, 17)], "A numbers")
    check_eq(b, ["B%03d" % n for n in range(1, 16)], "B numbers")
    # ... and wrote no event: one issue event per ticket, nothing else.
    q = d.queue()
    check_eq(q["last_event_id"], 31, "events in the log")
    check_eq(len(_memory_waiting(d)), 31, "tickets waiting")
    check_eq(d.counter(3)["ticket"], None, "counter 3 called nobody")
    check(first["number"] == "A001", "the ticket before the batch")


def test_kill9_under_load_memory_is_the_database(env):
    d = env.daemon()
    acked = {}
    lock = threading.Lock()
    stop = threading.Event()
    errors = []

    def issuer(svc):
        deadline = time.monotonic() + 30
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                st, _, j = d.post("/api/v1/tickets", {"service": svc})
            except OSError:
                return      # the daemon was killed under this request
            if st != 201:
                errors.append(st)
                return
            with lock:
                acked[j["ticket"]["id"]] = (j["ticket"]["number"], svc)

    def caller(n):
        deadline = time.monotonic() + 30
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                d.post("/api/v1/counters/%d/call" % n)
            except OSError:
                return

    threads = [threading.Thread(target=issuer, args=(s,)) for s in "AABV"]
    threads += [threading.Thread(target=caller, args=(n,)) for n in (3, 5)]
    for t in threads:
        t.start()
    # Under load: wait for a few hundred acknowledged tickets, then compare memory with the file.
    deadline = time.monotonic() + 30
    while len(acked) < 300 and time.monotonic() < deadline and not errors:
        time.sleep(0.05)
    check(not errors, "issues failed under load: %r" % errors[:5])
    check(len(acked) >= 300, "only %d tickets acknowledged in 30 s" % len(acked))
    d.kill9()
    stop.set()
    for t in threads:
        t.join()
    d.start()
    mem = _memory_waiting(d)
    db, days = _db_waiting(d)
    check(len(days) <= 1, "waiting tickets of one business day: %r" % days)
    check_eq(mem, db, "waiting tickets after the restart: memory against the database")
    # Nothing acknowledged was lost: a ticket acknowledged was either still waiting or called since.
    db_all = sqlite3.connect("file:%s?mode=ro" % d.db, uri=True)
    try:
        rows = dict(db_all.execute("SELECT id, number FROM tickets").fetchall())
    finally:
        db_all.close()
    lost = [i for i, (num, _) in acked.items() if rows.get(i) != num]
    check_eq(lost, [], "acknowledged tickets missing after kill -9 (of %d)" % len(acked))
    numbers = list(rows.values())
    check_eq(len(numbers), len(set(numbers)), "no number issued twice")
    # The queue goes on from where the database is; under load again, then at rest,
    # the live memory is what the file holds.
    t = d.issue("V")
    check(t["number"].startswith("V"), "issue after restart")
    stop.clear()
    acked.clear()
    threads = [threading.Thread(target=issuer, args=(s,)) for s in "AB"]
    threads += [threading.Thread(target=caller, args=(n,)) for n in (1, 2, 5)]
    for th in threads:
        th.start()
    deadline = time.monotonic() + 30
    while len(acked) < 200 and time.monotonic() < deadline and not errors:
        time.sleep(0.05)
    stop.set()
    for th in threads:
        th.join()
    check(not errors and len(acked) >= 200, "second load: %d acknowledged, errors %r" % (len(acked), errors[:5]))
    mem = _memory_waiting(d)
    db, _ = _db_waiting(d)
    check_eq(mem, db, "waiting tickets of the running daemon: memory against the database")
    q = d.queue()
    dbc = sqlite3.connect("file:%s?mode=ro" % d.db, uri=True)
    try:
        rows = dict(dbc.execute("SELECT number, ticket_id FROM counters").fetchall())
        status = dict(dbc.execute("SELECT id, status FROM tickets WHERE id IN (SELECT ticket_id FROM counters)").fetchall())
    finally:
        dbc.close()
    check(any(c["ticket"] for c in q["counters"]), "no counter has a ticket to compare")
    for c in q["counters"]:
        want = rows.get(c["number"])
        want = want if want is not None and status.get(want) in ("called", "serving") else None
        check_eq((c["ticket"] or {}).get("id"), want, "counter %d's ticket: memory against the database" % c["number"])


def test_wal_is_checkpointed_off_the_loop(env):
    """SQLite's own checkpoint runs inside a commit; branchq's thread must do it instead, and must."""
    import os
    d = env.daemon()
    start = os.path.getsize(d.db)
    for _ in range(300):
        d.issue("A")
    deadline = time.monotonic() + 20
    while os.path.getsize(d.db) <= start and time.monotonic() < deadline:
        time.sleep(0.05)
    check(os.path.getsize(d.db) > start,
          "the database file never grew: the WAL (%d bytes) was never checkpointed"
          % os.path.getsize(d.db + "-wal"))
