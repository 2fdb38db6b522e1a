"""
Who is called next, as tellers and customers see it: numbering and first
come first served, the green channel's boost and its limit, ID numbers, the
green window, English routing, the overtime rule, and concurrent calls.

Timing: the daemon's clock has 1-second resolution, so every wait that a
rule depends on keeps at least 1 s of margin on either side of the limit.
"""
import datetime
import os
import threading
import time

from harness import SHANGHAI, check, check_eq, check_error, id_number, make_config


def test_issue_and_call_in_order(env):
    d = env.daemon()
    tickets = [d.issue("A") for _ in range(3)]
    check_eq([t["number"] for t in tickets], ["A001", "A002", "A003"], "numbers")
    check_eq([t["ahead"] for t in tickets], [0, 1, 2], "ahead when issued")
    check_eq([t["status"] for t in tickets], ["waiting"] * 3, "status when issued")
    check(all(len(t["token"]) == 32 for t in tickets), "each ticket has a 32-character token")
    check_eq(len({t["token"] for t in tickets}), 3, "distinct tokens")
    b = d.issue("B")
    check_eq(b["number"], "B001", "B numbers its own sequence")
    check_eq(b["ahead"], 0, "B001 ahead")

    check_eq(d.waiting_numbers("A"), ["A001", "A002", "A003"], "queue A before any call")

    first = d.call(3)
    check_eq(first["number"], "A001", "first call at counter 3")
    check_eq(first["status"], "called", "called ticket status")
    check_eq(first["counter"], 3, "called ticket counter")

    q = d.queue()
    svc = {s["id"]: s for s in q["services"]}
    check_eq([t["number"] for t in svc["A"]["tickets"]], ["A002", "A003"], "queue A after one call")
    check_eq([t["ahead"] for t in svc["A"]["tickets"]], [0, 1], "ahead in queue A")
    check_eq(svc["A"]["waiting"], 2, "A waiting count")
    check_eq([t["number"] for t in svc["B"]["tickets"]], ["B001"], "queue B")
    check_eq(svc["V"]["tickets"], [], "queue V")
    ctr = {c["number"]: c for c in q["counters"]}
    check_eq(sorted(ctr), [1, 2, 3, 4, 5], "counters in /queue")
    check_eq(ctr[3]["state"], "called", "counter 3 state")
    check_eq(ctr[3]["ticket"]["number"], "A001", "counter 3 current ticket")
    for n in (1, 2, 4, 5):
        check_eq(ctr[n]["state"], "idle", "counter %d state" % n)
        check_eq(ctr[n]["ticket"], None, "counter %d ticket" % n)
    check_eq(d.ticket(tickets[1]["id"])["ahead"], 0, "A002 ahead after A001 was called")

    second = d.call(3)
    check_eq(second["number"], "A002", "second call")
    check_eq(d.ticket(first["id"])["status"], "served", "call finished A001 as served")
    check_eq(d.call(3)["number"], "A003", "third call")
    check_eq(d.ticket(second["id"])["status"], "served", "call finished A002 as served")

    # Counter 3 serves only A: B001 is not its, so nobody waits for it.
    check_eq(d.call(3), None, "call with nobody waiting (204)")
    check_eq(d.ticket(tickets[2]["id"])["status"], "served", "the 204 call finished A003")
    check_eq(d.counter(3)["state"], "idle", "counter 3 idle after 204")
    check_eq(d.waiting_numbers("B"), ["B001"], "B001 still waiting")


def test_green_boost_within_not_beyond(env):
    d = env.daemon(make_config(green={"elderly": "3s"}))
    n1 = d.issue("A")
    e1 = d.issue("A", category="elderly")
    check_eq(e1["green"], True, "elderly is green")
    check_eq(e1["ahead"], 0, "E1 ahead (goes before N1)")
    check_eq(d.ticket(n1["id"])["ahead"], 1, "N1 ahead after E1 arrived")
    check_eq(d.call(3)["id"], e1["id"], "elderly within its boost is called first")
    check_eq(d.call(3)["id"], n1["id"], "then the normal one")

    n2 = d.issue("A")
    time.sleep(4.5)  # more than the 3 s boost, with over 1 s of margin
    e2 = d.issue("A", category="elderly")
    check_eq(e2["ahead"], 1, "E2 issued 4.5 s after N2 queues behind it")
    check_eq(d.waiting_numbers("A"), [n2["number"], e2["number"]], "queue order N2, E2")
    check_eq(d.call(3)["id"], n2["id"], "normal ticket older than the boost is called first")
    check_eq(d.call(3)["id"], e2["id"], "then the elderly one")


def _years_ago(n):
    today = datetime.datetime.now(SHANGHAI).date()
    return "%04d0101" % (today.year - n)


def test_id_number_sets_category_and_is_never_kept(env):
    d = env.daemon()
    old = id_number("110101", "19400101", "123")
    young = id_number("110101", _years_ago(20), "456")
    foreign = id_number("910000", "19800101", "789")
    bad = old[:17] + ("0" if old[17] != "0" else "1")
    secrets = [old, young, foreign, bad]

    e = d.issue("A", id_number=old)
    check_eq((e["category"], e["green"], e["lang"]), ("elderly", True, "zh"), "born 1940: elderly")
    n = d.issue("A", id_number=young)
    check_eq((n["category"], n["green"], n["lang"]), ("normal", False, "zh"), "born 20 years ago: normal")
    f = d.issue("A", id_number=foreign)
    check_eq((f["category"], f["green"], f["lang"]), ("foreign", True, "en"), "ID starting with 9: foreign, en")
    lower_x = None
    # An ID whose check character is X, written as x, is also valid.
    for seq in range(1000):
        cand = id_number("110101", "19400101", "%03d" % seq)
        if cand.endswith("X"):
            lower_x = cand[:17] + "x"
            break
    check(lower_x is not None, "found an ID with check character X")
    secrets.append(lower_x)
    x = d.issue("A", id_number=lower_x)
    check_eq(x["category"], "elderly", "check character x (lower case) accepted")
    legacy = "110101400101123"  # the 15-digit form: 19YYMMDD read from YYMMDD, no check character
    secrets.append(legacy)
    g = d.issue("A", id_number=legacy)
    check_eq(g["category"], "elderly", "15-digit ID born 1940: elderly")
    # A green category chosen by the lobby manager stands over the ID's.
    p = d.issue("A", id_number=old, category="pregnant")
    check_eq(p["category"], "pregnant", "explicit green category stands")

    resp = d.post("/api/v1/tickets", {"service": "A", "id_number": bad})
    check_error(resp, 400, "invalid_id_number", "bad check character")
    check(bad[:17] not in str(resp[2]), "the refused ID is not echoed")
    check_eq(len(d.waiting_numbers("A")), 6, "the refused request issued nothing")

    for t in (e, n, f, x, g, p):
        text = str(d.ticket(t["id"]))
        for s in secrets:
            check(s not in text, "GET ticket does not echo the ID number")

    def look(where, wal):
        files = [d.db + sfx for sfx in ("", "-wal") if os.path.exists(d.db + sfx)]
        check(d.db in files, "q.db exists")
        if wal:
            check(d.db + "-wal" in files, "q.db-wal exists while the daemon runs")
        for path in files:
            blob = open(path, "rb").read()
            for s in secrets:
                check(s[:17].encode() not in blob,
                      "ID number %s... found in %s (%s)" % (s[:6], path, where))

    # While running the changes sit in the WAL; after a stop, in q.db.
    look("daemon running", True)
    d.stop()
    look("daemon stopped", False)
    log = d.log()
    for s in secrets:
        check(s[:17] not in log, "ID number %s... appears in the daemon's log" % s[:6])


def test_green_window(env):
    d = env.daemon(make_config(green={"elderly": "3s"}))
    n = d.issue("A")
    time.sleep(4.5)  # beyond the elderly boost: by boost alone N goes first
    e = d.issue("A", category="elderly")
    check_eq(d.waiting_numbers("A"), [n["number"], e["number"]], "general order: N before E")
    got = d.call(1)
    check_eq(got["id"], e["id"], "green window 1 calls the elderly ticket beyond its boost")
    got = d.call(1)
    check_eq(got["id"], n["id"], "with no green waiting the green window calls the normal one")
    check_eq(d.call(1), None, "then nobody")


def test_english_routing(env):
    d = env.daemon()
    en = d.issue("A", lang="en")
    check_eq((en["lang"], en["category"]), ("en", "normal"), "en ticket")
    zh = d.issue("A")
    got = d.call(3)
    check_eq(got["id"], zh["id"], "counter 3 (no English) skips the earlier en ticket")
    check_eq(d.call(3), None, "counter 3 leaves the en ticket to counter 2 (204)")
    fo = d.issue("A", category="foreign")
    check_eq(fo["lang"], "en", "foreign defaults to en")
    check_eq(d.call(4), None, "counter 4 (no English) skips the foreign ticket too")

    # Service V has no English counter: counter 5 takes en tickets there.
    v_en = d.issue("V", lang="en")
    check_eq(d.call(5)["id"], v_en["id"], "counter 5 calls an en ticket nobody else could")

    st, _, _ = d.action(2, "pause")
    check_eq(st, 200, "pause counter 2")
    # With the English counter away anyone calls en tickets; the foreign
    # ticket's 5-minute boost puts it before the earlier en one.
    check_eq(d.call(3)["id"], fo["id"], "counter 3 calls the foreign ticket once 2 is paused")
    check_eq(d.call(3)["id"], en["id"], "then the en ticket")
    check_eq(d.call(3), None, "then nobody")


def test_overtime_before_fresh_green(env):
    d = env.daemon(make_config(services={"A": {"overtime": "3s"}}))
    n0 = d.issue("A")
    e0 = d.issue("A", category="elderly")
    check_eq(d.call(1)["id"], e0["id"], "before overtime the green window calls green first")
    check_eq(d.call(1)["id"], n0["id"], "then the normal one")

    n1 = d.issue("A")
    time.sleep(4.5)  # n1 waits more than the 3 s threshold
    e1 = d.issue("A", category="elderly")
    check_eq(d.call(1)["id"], n1["id"], "overtime normal ticket goes before a fresh green one")
    check_eq(d.call(1)["id"], e1["id"], "then the green one")


def test_concurrent_calls_never_share_a_ticket(env):
    d = env.daemon()
    issued = []
    kinds = [("A", {}), ("A", {"category": "elderly"}), ("B", {}), ("A", {"lang": "en"}),
             ("V", {}), ("A", {}), ("B", {"category": "disabled"}), ("A", {})]
    for i in range(40):
        svc, extra = kinds[i % len(kinds)]
        issued.append(d.issue(svc, **extra)["id"])
    check_eq(len(set(issued)), 40, "40 distinct tickets issued")

    counters = [1, 2, 3, 4, 5]
    got = {c: [] for c in counters}
    errors = []
    barrier = threading.Barrier(len(counters))

    def worker(c):
        try:
            barrier.wait(10)
            while True:
                st, _, j = d.post("/api/v1/counters/%d/call" % c)
                if st == 204:
                    return
                if st != 200:
                    errors.append("counter %d: status %d %r" % (c, st, j))
                    return
                got[c].append(j["ticket"]["id"])
        except Exception as e:  # reported below; a thread must not die silently
            errors.append("counter %d: %r" % (c, e))

    threads = [threading.Thread(target=worker, args=(c,)) for c in counters]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    check(not any(t.is_alive() for t in threads), "callers finished")
    check_eq(errors, [], "call errors")
    called = [tid for c in counters for tid in got[c]]
    dups = sorted({t for t in called if called.count(t) > 1})
    check_eq(dups, [], "tickets called more than once")
    check_eq(sorted(called), sorted(issued), "every ticket called exactly once")
    q = d.queue()
    check_eq(sum(s["waiting"] for s in q["services"]), 0, "nobody left waiting")
    # The closing 204 call at each counter finished its last ticket as served.
    check_eq([c["state"] for c in q["counters"]], ["idle"] * 5, "counters idle at the end")
    for tid in issued:
        check_eq(d.ticket(tid)["status"], "served", "status of ticket %d" % tid)


def test_hall_view_is_fresh_and_never_stored(env):
    """The hall's JSON is kept between requests; a change in the same second must still show."""
    d = env.daemon()
    first = d.issue("A")
    st, hdrs, q1 = d.get("/api/v1/queue")
    check_eq(st, 200, "GET /api/v1/queue")
    check_eq(hdrs.get("cache-control"), "no-store", "the hall is never stored by a browser")
    check_eq([t["id"] for t in q1["services"][0]["tickets"]], [first["id"]], "one waiting")
    second = d.issue("A")
    q2 = d.queue()
    check_eq([t["id"] for t in q2["services"][0]["tickets"]], [first["id"], second["id"]],
             "the ticket issued just after is in the next view")
    called = d.call(3)
    q3 = d.queue()
    check_eq([t["id"] for t in q3["services"][0]["tickets"]], [second["id"]],
             "the called ticket has left the line")
    c3 = [c for c in q3["counters"] if c["number"] == 3][0]
    check_eq(c3["ticket"]["id"], called["id"], "counter 3 shows the called ticket")
    check(q3["last_event_id"] > q1["last_event_id"], "the view's last event moved on")


def test_estimated_wait_over_http(env):
    """
    What a customer is told: tickets ahead times the service time (4 min
    here, nothing served yet) shared by the counters serving A that are not
    paused. Counters 1-4 serve A; 4 pauses, so three share the line: 80 s
    per ticket ahead, on the ticket, in /queue and on the phone page.
    """
    d = env.daemon(make_config(services={"A": {"service_time": "4m"}}))
    st, _, _ = d.action(4, "pause")
    check_eq(st, 200, "pause counter 4")
    tickets = [d.issue("A") for _ in range(4)]
    check_eq([t["estimated_wait_s"] for t in tickets], [0, 80, 160, 240], "estimates when issued")
    check_eq([d.ticket(t["id"])["estimated_wait_s"] for t in tickets], [0, 80, 160, 240],
             "estimates of GET /tickets/ID")
    svc = {s["id"]: s for s in d.queue()["services"]}
    check_eq(svc["A"]["open_counters"], 3, "open counters for A with 4 paused")
    check_eq([t["estimated_wait_s"] for t in svc["A"]["tickets"]], [0, 80, 160, 240],
             "estimates in /queue")
    st, _, phone = d.get("/api/v1/t/%s" % tickets[2]["token"], auth=False)
    check_eq((st, phone["ticket"]["estimated_wait_s"]), (200, 160), "the phone page's estimate")
    st, _, _ = d.action(4, "resume")
    check_eq(st, 200, "resume counter 4")
    check_eq(d.ticket(tickets[3]["id"])["estimated_wait_s"], 180, "four counters share the line")


def _next_minute_reset(margin_s=8):
    """A day_reset at the next minute in the branch's zone at least margin_s away, and that instant."""
    now = datetime.datetime.now(SHANGHAI)
    at = now.replace(second=0, microsecond=0) + datetime.timedelta(minutes=1)
    if (at - now).total_seconds() < margin_s:
        at += datetime.timedelta(minutes=1)
    return "%02d:%02d" % (at.hour, at.minute), at


def test_day_reset_while_running(env):
    """
    The business day turns over while the daemon runs (day_reset a minute
    or so from now; the test waits for the new day, it sleeps for no fixed
    time): numbers start again at 001, the new day's queue holds none of
    yesterday's tickets, and the ticket still at a counter from yesterday
    cannot be transferred into today (409 previous_day), since its number
    may be today's too.
    """
    reset, at = _next_minute_reset()
    d = env.daemon(make_config(branch={"day_reset": reset}))
    before = d.queue()["business_day"]
    first = d.issue("A")
    d.issue("A")
    check_eq(first["number"], "A001", "the first number of the day")
    check_eq(d.call(3)["number"], "A001", "A001 at counter 3 before the reset")
    check_eq(d.waiting_numbers("A"), ["A002"], "A002 waits before the reset")

    deadline = time.monotonic() + (at - datetime.datetime.now(SHANGHAI)).total_seconds() + 60
    while d.queue()["business_day"] == before:
        check(time.monotonic() < deadline, "the business day did not change after %s" % reset)
        time.sleep(0.2)   # polling for the new day, not waiting a fixed time
    after = d.queue()["business_day"]
    check(after > before, "the new business day %s follows %s" % (after, before))

    check_eq(d.waiting_numbers("A"), [], "none of yesterday's tickets wait today")
    t = d.issue("A")
    check_eq((t["number"], t["business_day"]), ("A001", after), "numbers start again today")
    check_error(d.action(3, "transfer", {"service": "B"}), 409, "previous_day",
                "transfer of yesterday's A001 into today")
    check_eq(d.waiting_numbers("B"), [], "nothing was transferred")
