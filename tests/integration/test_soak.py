"""
A busy day, compressed, against the sanitizer build: about 2,000 tickets
from the lobby (green ones by ID number and by hand, cancels, reprints
through a private cupsd), eight counters calling, recalling, starting,
marking no-shows, transferring, finishing and pausing, the config reloaded
now and then, and at the end the day reset passing under the running
daemon (its wall clock moved by libfaketime). Then: no sanitizer report,
no leak at exit, no request that failed on the daemon's side, and the
day's report equal, figure by figure, to one computed here from the event
log alone.
"""
import datetime
import json
import random
import signal
import sqlite3
import threading
import time

from harness import SHANGHAI, check, check_eq, id_number, make_config
from test_clock import _fake_clock
import test_printing

TICKETS = 2000
COUNTERS = {
    1: {"services": "A B", "green": "yes"},
    2: {"services": "A B", "english": "yes"},
    3: {"services": "A"},
    4: {"services": "A"},
    5: {"services": "A V"},
    6: {"services": "B"},
    7: {"services": "B V"},
    8: {"services": "V"},
}


def _config(reset, cupsd, recalls):
    return make_config(branch={"day_reset": reset.strftime("%H:%M"), "recalls": str(recalls),
                               "kiosk_rate": "0"},
                       counters=COUNTERS) + (
        "\n[printer]\nqueue = tk\nserver = %s\npaper = 80mm\ntimeout = 20s\n" % cupsd.server)


def _report_from_events(db_path, day):
    """The day's totals and each counter's served, from the event log only."""
    db = sqlite3.connect("file:%s?mode=ro" % db_path, uri=True)
    try:
        rows = db.execute("SELECT type, ticket_id, counter, data FROM events ORDER BY id").fetchall()
    finally:
        db.close()
    origin_of, last, legs, served_at = {}, {}, {}, {}
    for typ, tid, counter, data in rows:
        t = json.loads(data).get("ticket")
        if t is None or t.get("business_day") != day:
            continue
        o = t["origin_id"]
        origin_of[t["id"]] = o
        legs.setdefault(o, set()).add(t["id"])
        if typ in ("ticket.print", "ticket.green"):
            continue
        last[o] = (typ, counter)
        if typ == "ticket.served":
            served_at[o] = counter
    tot = dict(issued=len(legs), transferred=sum(1 for v in legs.values() if len(v) > 1),
               served=0, no_show=0, cancelled=0, waiting_at_close=0, called=0)
    for o, (typ, _) in last.items():
        if typ == "ticket.served":
            tot["served"] += 1
            tot["called"] += 1
        elif typ == "ticket.no_show":
            tot["no_show"] += 1
            tot["called"] += 1
        elif typ == "ticket.cancelled":
            tot["cancelled"] += 1
        elif typ in ("ticket.called", "ticket.recalled", "ticket.serving"):
            tot["called"] += 1
        else:   # issued, transferred (the new leg waits), expired at the reset
            tot["waiting_at_close"] += 1
    by_counter = {}
    for o, c in served_at.items():
        if last[o][0] == "ticket.served":
            by_counter[c] = by_counter.get(c, 0) + 1
    return tot, by_counter


def test_soak_busy_day_under_sanitizers(env):
    rng = random.Random(20261202)
    now = datetime.datetime.now(SHANGHAI)
    reset = (now + datetime.timedelta(minutes=30)).replace(second=0, microsecond=0)
    until = (reset - now).total_seconds()
    cupsd, printer, d = test_printing.printing_env(env)
    d.stop()
    d.write_config(_config(reset, cupsd, 2))
    set_offset = _fake_clock(d)
    set_offset(until - 1200)                # twenty minutes before the day's end
    d.start()
    issued = []
    lock = threading.Lock()
    failures = []
    done = threading.Event()

    def note(what, st, body):
        if st >= 500 or st in (400, 401, 403, 404, 405, 413, 415, 421, 429):
            failures.append((what, st, body))

    def lobby():
        for i in range(TICKETS):
            svc = rng.choice("AAAABBV")
            body = {"service": svc}
            r = rng.random()
            if r < 0.08:
                body["id_number"] = id_number("110105", "19490101" if r < 0.05 else "19900101")
            elif r < 0.12:
                body["category"] = rng.choice(["disabled", "pregnant", "military", "foreign"])
            st, _, j = d.post("/api/v1/tickets", body)
            note("issue", st, j)
            if st == 201:
                with lock:
                    issued.append(j["ticket"]["id"])
            if i % 50 == 25:
                with lock:
                    pick = issued[-1]
                st, _, j = d.post("/api/v1/tickets/%d/green" % pick, {"category": "disabled"})
                note("green", st, j)
            if i % 20 == 10 and st == 201:
                # The customer changes their mind at once (a counter may have called them first).
                st, _, j = d.post("/api/v1/tickets/%d/cancel" % j["ticket"]["id"])
                note("cancel", st, j)
            if i % 90 == 45:
                with lock:
                    pick = rng.choice(issued[-20:])
                st, _, j = d.post("/api/v1/tickets/%d/reprint" % pick)
                note("reprint", st, j)
            if i % 500 == 250:
                d.write_config(_config(reset, cupsd, 3 if i % 1000 == 250 else 2))
                d.signal(signal.SIGHUP)
        done.set()

    def counter(n):
        r = random.Random(n)
        services = COUNTERS[n]["services"].split()
        while True:
            st, _, j = d.post("/api/v1/counters/%d/call" % n)
            note("call", st, j)
            if st == 204:
                if done.is_set():
                    return
                time.sleep(0.01)    # nobody waits for this counter yet: ask again soon
                continue
            if st != 200:
                continue
            tid = j["ticket"]["id"]
            x = r.random()
            if x < 0.06:
                st, _, j = d.post("/api/v1/counters/%d/no-show" % n, {"expect": tid})
                note("no-show", st, j)
                continue
            if x < 0.14:
                for _ in range(r.randint(1, 3)):    # past `recalls` the recall is a no-show
                    st, _, j = d.post("/api/v1/counters/%d/recall" % n, {"expect": tid})
                    if st == 409:
                        break
                    note("recall", st, j)
                    if j and j.get("ticket") and j["ticket"]["status"] == "no_show":
                        break
                if d.get("/api/v1/tickets/%d" % tid)[2]["ticket"]["status"] == "no_show":
                    continue
            st, _, j = d.post("/api/v1/counters/%d/start" % n, {"expect": tid})
            note("start", st, j)
            if st != 200:
                continue
            if x > 0.92:
                other = r.choice([s for s in "ABV" if s not in j["ticket"]["service"]])
                st, _, j = d.post("/api/v1/counters/%d/transfer" % n,
                                  {"service": other, "expect": tid})
                note("transfer", st, j)
                continue
            st, _, j = d.post("/api/v1/counters/%d/finish" % n, {"expect": tid})
            note("finish", st, j)
            if x > 0.97:
                st, _, j = d.post("/api/v1/counters/%d/pause" % n)
                note("pause", st, j)
                st, _, j = d.post("/api/v1/counters/%d/resume" % n)
                note("resume", st, j)

    threads = [threading.Thread(target=lobby)]
    threads += [threading.Thread(target=counter, args=(n,)) for n in COUNTERS]
    began = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(900)
    check(not any(t.is_alive() for t in threads), "the day's load finished")
    check_eq(failures[:5], [], "requests refused or failed on the daemon's side")
    check(len(issued) == TICKETS, "%d of %d tickets issued" % (len(issued), TICKETS))
    old_day = d.ticket(issued[0])["business_day"]
    # A few are left waiting at the end of the day: the reset passes and closes them.
    for _ in range(5):
        d.issue("V")
    set_offset(until + 30)
    d.wait_log("closed as expired", timeout=60)
    mine, by_counter = _report_from_events(d.db, old_day)
    check(mine["cancelled"] > 0 and mine["transferred"] > 0 and mine["no_show"] > 0,
          "the day had cancels, transfers and no-shows: %r" % mine)
    # Compressed a thousandfold, the day outruns any printer: some tickets are still queued.
    check(len(printer.jobs) >= 50, "the printer got tickets (%d)" % len(printer.jobs))
    check(len([l for l in d.log().splitlines() if "reload" in l]) >= 4, "the config was reloaded")
    st, _, rep = d.get("/api/v1/reports/daily?date=" + old_day)
    check_eq(st, 200, "the day's report")
    theirs = {k: rep["totals"][k] for k in mine}
    check_eq(theirs, mine, "the day's totals against the event log")
    served = {c["counter"]: c["served"] for c in rep["by_counter"] if c["served"]}
    check_eq(served, by_counter, "served per counter against the event log")
    d.stop()                                # asserts exit 0 and no sanitizer report
    print("soak: %d tickets, %s, in %.0f s" % (len(issued), json.dumps(mine),
                                              time.monotonic() - began))
