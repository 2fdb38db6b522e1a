"""
What a teller does at a counter and what the lobby manager does to a
waiting ticket: recall and its limit, no-show, start and finish, transfer,
pause and resume, cancel, and the green-channel upgrade, with the errors
each refuses with.
"""
import os
import time

from harness import check, check_eq, check_error, make_config


def test_recall_limit_makes_no_show(env):
    d = env.daemon(make_config(branch={"recalls": "2"}))
    t = d.issue("A")
    check_eq(d.call(3)["id"], t["id"], "call")
    for n in (1, 2):
        st, _, j = d.action(3, "recall")
        check_eq(st, 200, "recall %d: status" % n)
        check_eq(j["ticket"]["recalls"], n, "recall %d: recalls" % n)
        check_eq(j["ticket"]["status"], "called", "recall %d: still called" % n)
        check(j["ticket"]["recalled_at"] is not None, "recall %d: recalled_at set" % n)
        check_eq(j["counter"]["state"], "called", "recall %d: counter state" % n)
    st, _, j = d.action(3, "recall")
    check_eq(st, 200, "third recall: status")
    check_eq(j["ticket"]["status"], "no_show", "third recall makes the ticket a no-show")
    check_eq(j["counter"]["state"], "idle", "counter idle after the no-show")
    check_eq(j["counter"]["ticket"], None, "counter has no ticket after the no-show")
    got = d.ticket(t["id"])
    check_eq((got["status"], got["recalls"]), ("no_show", 2), "ticket after the third recall")
    check(got["ended_at"] is not None, "no-show has ended_at")
    check_error(d.action(3, "recall"), 409, "no_current_ticket", "recall at an idle counter")


def test_no_show_start_finish(env):
    d = env.daemon()
    t1, t2, t3 = d.issue("A"), d.issue("A"), d.issue("A")
    check_error(d.action(3, "finish"), 409, "no_current_ticket", "finish with no current ticket")
    check_error(d.action(3, "no-show"), 409, "no_current_ticket", "no-show with no current ticket")
    check_error(d.action(3, "start"), 409, "no_current_ticket", "start with no current ticket")

    check_eq(d.call(3)["id"], t1["id"], "call t1")
    st, _, j = d.action(3, "no-show")
    check_eq(st, 200, "no-show: status")
    check_eq(j["ticket"]["status"], "no_show", "no-show: ticket status")
    check_eq(d.ticket(t1["id"])["status"], "no_show", "t1 stays no_show")
    check_eq(d.counter(3)["state"], "idle", "counter idle after no-show")

    check_eq(d.call(3)["id"], t2["id"], "call t2")
    st, _, j = d.action(3, "start")
    check_eq(st, 200, "start: status")
    check_eq(j["ticket"]["status"], "serving", "start: ticket serving")
    check(j["ticket"]["started_at"] is not None, "start: started_at set")
    check_eq(j["counter"]["state"], "serving", "start: counter serving")
    check_error(d.action(3, "recall"), 409, "not_called", "recall after start")
    check_error(d.action(3, "no-show"), 409, "not_called", "no-show after start")
    check_error(d.action(3, "start"), 409, "not_called", "start twice")
    check_eq(d.ticket(t2["id"])["status"], "serving", "refused actions changed nothing")
    st, _, j = d.action(3, "finish")
    check_eq(st, 200, "finish: status")
    check_eq(j["ticket"]["status"], "served", "finish: ticket served")
    check_eq(j["counter"]["state"], "idle", "finish: counter idle")
    check_error(d.action(3, "finish"), 409, "no_current_ticket", "finish twice")
    check_eq(d.ticket(t2["id"])["status"], "served", "t2 served")
    check_eq(d.waiting_numbers("A"), [t3["number"]], "t3 still waiting")


def test_transfer(env):
    d = env.daemon()
    t = d.issue("A")
    other = d.issue("B")       # most likely in the same second as A001: a tie on issue time
    time.sleep(1.5)
    later = d.issue("B")       # surely after A001
    check_eq(d.call(1)["id"], t["id"], "counter 1 calls A001")

    check_error(d.action(1, "transfer", {"service": "A"}), 400, "same_service", "transfer to same service")
    check_error(d.action(1, "transfer", {"service": "Z"}), 404, "unknown_service", "transfer to unknown service")
    check_error(d.action(1, "transfer", {}), 400, "invalid_field", "transfer without service")
    check_error(d.action(1, "transfer", {"service": "B", "x": 1}), 400, "invalid_field",
                "transfer with an unknown field")
    check_eq(d.counter(1)["ticket"]["id"], t["id"], "refused transfers leave the ticket at counter 1")
    check_eq(d.ticket(t["id"])["status"], "called", "still called")

    st, _, j = d.action(1, "transfer", {"service": "B"})
    check_eq(st, 200, "transfer: status")
    leg = j["ticket"]
    check(leg["id"] != t["id"], "the new leg is a new ticket id")
    check_eq(leg["number"], t["number"], "new leg keeps the number")
    check_eq(leg["service"], "B", "new leg service")
    check_eq(leg["status"], "waiting", "new leg waits")
    check_eq(leg["issued_at"], t["issued_at"], "new leg keeps the original issued_at")
    check_eq(leg["origin_id"], t["id"], "new leg origin_id")
    check_eq(j["counter"]["state"], "idle", "counter idle after the transfer")
    old = d.ticket(t["id"])
    check_eq(old["status"], "transferred", "old leg status")
    check_eq(old["transferred_to"], leg["id"], "old leg transferred_to")
    check(old["ended_at"] is not None, "old leg ended_at")
    # It kept its original issue time, so it goes before B002, which was
    # issued after it (but before the transfer), and wins a tie with B001,
    # issued after it in the same second.
    check_eq(d.waiting_numbers("B"), [t["number"], other["number"], later["number"]], "queue B")
    check_eq(d.waiting_numbers("A"), [], "queue A empty")
    # The lobby still holds the id it issued: an upgrade follows the ticket to its open leg.
    st, _, j = d.post("/api/v1/tickets/%d/green" % t["id"], {"category": "disabled"})
    check_eq(st, 200, "green on the first leg's id")
    check_eq((j["ticket"]["id"], j["ticket"]["category"], j["ticket"]["status"]),
             (leg["id"], "disabled", "waiting"), "green applied to the open leg")
    check_eq(d.ticket(t["id"])["category"], "normal", "the ended leg is left as it was")
    got = d.call(5)
    check_eq((got["id"], got["number"], got["service"]), (leg["id"], "A001", "B"), "counter 5 calls the new leg")
    check_error(d.action(3, "transfer", {"service": "B"}), 409, "no_current_ticket",
                "transfer with no current ticket")


def test_pause_resume(env):
    d = env.daemon()
    t = d.issue("A")
    st, _, j = d.action(3, "pause")
    check_eq(st, 200, "pause: status")
    check_eq(j["counter"]["paused"], True, "pause: counter paused")
    check(j["counter"]["paused_at"] is not None, "pause: paused_at")
    check_error(d.action(3, "call"), 409, "counter_paused", "call at a paused counter")
    check_error(d.action(3, "pause"), 409, "counter_paused", "pause twice")
    check_eq(d.waiting_numbers("A"), [t["number"]], "nothing was called while paused")
    st, _, j = d.action(3, "resume")
    check_eq(st, 200, "resume: status")
    check_eq(j["counter"]["paused"], False, "resume: not paused")
    check_error(d.action(3, "resume"), 409, "counter_not_paused", "resume twice")
    check_eq(d.call(3)["id"], t["id"], "call after resume")
    # A paused counter may still finish its customer.
    st, _, _ = d.action(3, "pause")
    check_eq(st, 200, "pause with a customer")
    st, _, j = d.action(3, "finish")
    check_eq(st, 200, "finish while paused")
    check_eq(d.ticket(t["id"])["status"], "served", "served while paused")
    check_eq(d.counter(3)["paused"], True, "still paused after finish")


def test_cancel(env):
    d = env.daemon()
    a, b = d.issue("A"), d.issue("A")
    st, _, j = d.post("/api/v1/tickets/%d/cancel" % a["id"])
    check_eq(st, 200, "cancel waiting: status")
    check_eq(j["ticket"]["status"], "cancelled", "cancel: status")
    check_eq(d.ticket(a["id"])["status"], "cancelled", "GET after cancel")
    check_eq(d.waiting_numbers("A"), [b["number"]], "cancelled ticket left the queue")
    check_eq(d.ticket(b["id"])["ahead"], 0, "A002 moves up")
    check_error(d.post("/api/v1/tickets/%d/cancel" % a["id"]), 409, "ticket_not_waiting", "cancel twice")
    check_eq(d.call(3)["id"], b["id"], "the cancelled ticket is not callable")
    check_eq(d.call(3), None, "nobody else waits")
    c = d.issue("A")
    check_eq(d.call(4)["id"], c["id"], "call c")
    check_error(d.post("/api/v1/tickets/%d/cancel" % c["id"]), 409, "ticket_not_waiting",
                "cancel a called ticket")
    check_eq(d.ticket(c["id"])["status"], "called", "refused cancel changed nothing")
    check_error(d.post("/api/v1/tickets/%d/cancel" % 9999), 404, "unknown_ticket", "cancel unknown ticket")


def test_green_upgrade(env):
    d = env.daemon()
    n1, n2 = d.issue("A"), d.issue("A")
    check_error(d.post("/api/v1/tickets/%d/green" % n2["id"], {"category": "normal"}), 400,
                "invalid_category", "green with normal")
    check_error(d.post("/api/v1/tickets/%d/green" % n2["id"], {"category": "vip"}), 400,
                "invalid_category", "green with an unknown category")
    check_error(d.post("/api/v1/tickets/%d/green" % n2["id"], {}), 400,
                "invalid_category", "green without category")
    check_eq(d.ticket(n2["id"])["green"], False, "refused upgrades changed nothing")
    st, _, j = d.post("/api/v1/tickets/%d/green" % n2["id"], {"category": "disabled"})
    check_eq(st, 200, "green: status")
    check_eq((j["ticket"]["category"], j["ticket"]["green"]), ("disabled", True), "green: ticket")
    check_eq(j["ticket"]["ahead"], 0, "upgraded ticket moves to the front (15 min boost)")
    check_eq(d.waiting_numbers("A"), [n2["number"], n1["number"]], "queue after upgrade")
    check_eq(d.call(3)["id"], n2["id"], "upgraded ticket called first at an ordinary counter")
    check_error(d.post("/api/v1/tickets/%d/green" % n2["id"], {"category": "elderly"}), 409,
                "ticket_not_waiting", "upgrade a called ticket")
    st, _, j = d.post("/api/v1/tickets/%d/green" % n1["id"], {"category": "foreign"})
    check_eq(st, 200, "upgrade to foreign")
    check_eq(j["ticket"]["lang"], "en", "upgrade to foreign sets lang en")


def test_double_click_on_call_loses_nobody(env):
    """Two "call" clicks racing from one counter, each saying what the teller saw."""
    import threading
    d = env.daemon()
    first = d.issue("A")
    second = d.issue("A")
    results = []
    go = threading.Barrier(2)

    def click():
        go.wait()
        results.append(d.action(3, "call", {"expect": None}))

    threads = [threading.Thread(target=click) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(r[0] for r in results)
    check_eq(statuses, [200, 409], "one click calls, the other is refused")
    refused = [r for r in results if r[0] == 409][0]
    check_error(refused, 409, "counter_changed", "the second click")
    check_eq(d.ticket(first["id"])["status"], "called", "the called customer was not marked served")
    check_eq(d.ticket(second["id"])["status"], "waiting", "the next customer still waits")

    # With what the teller really sees, call next finishes A001 and calls A002.
    st, _, j = d.action(3, "call", {"expect": first["id"]})
    check_eq((st, j["ticket"]["id"]), (200, second["id"]), "call with the current ticket expected")
    check_eq(d.ticket(first["id"])["status"], "served", "A001 served")
    # A stale expectation changes nothing, for every ticket action.
    for action, body in (("recall", {"expect": first["id"]}), ("finish", {"expect": None}),
                         ("no-show", {"expect": 99}), ("transfer", {"service": "B", "expect": first["id"]})):
        check_error(d.action(3, action, body), 409, "counter_changed", "%s with a stale expect" % action)
    check_eq(d.ticket(second["id"])["status"], "called", "A002 still called")
    check_eq(d.ticket(second["id"])["recalls"], 0, "no recall happened")
    check_error(d.action(3, "call", {"expect": "A002"}), 400, "invalid_field", "expect must be an id")
    check_error(d.action(3, "pause", {"expect": None}), 400, "invalid_field", "pause takes no expect")


def _next(d, counter):
    st, _, j = d.get("/api/v1/counters/%d/next" % counter)
    check_eq(st, 200, "GET next for counter %d: status (body %r)" % (counter, j))
    return j


def test_next_five_are_what_five_calls_give(env):
    d = env.daemon()
    # A mix the policy orders differently from issue order: A and B for counter 1 (a green
    # window), green ones that overtake, an English ticket counter 2 (English) would take
    # from counter 1.
    issued = [d.issue("A"), d.issue("B"), d.issue("A", category="elderly"), d.issue("A"),
              d.issue("B", category="disabled"), d.issue("A", category="foreign"),
              d.issue("V"), d.issue("A"), d.issue("B"), d.issue("B")]
    check_eq(_next(d, 1)["legs"], [], "no current ticket: no legs")
    for counter in (1, 2, 5):
        j = _next(d, counter)
        check_eq(j["counter"], counter, "the answer names its counter")
        shown = [t["number"] for t in j["next"]]
        check_eq(len(shown), 5, "counter %d: five shown with %d waiting" % (counter, len(issued)))
        check(all(t["status"] == "waiting" and t["ahead"] is not None for t in j["next"]),
              "each shown ticket is waiting, with its place")
        called = []
        for _ in range(5):
            now = [t["number"] for t in _next(d, counter)["next"]]
            t = d.call(counter)
            check_eq(t["number"], now[0], "counter %d calls the first it showed" % counter)
            called.append(t["number"])
            check_eq(d.action(counter, "finish")[0], 200, "finish")
        check_eq(called, shown, "counter %d: the five shown are the five calls, in order" % counter)
        # Put them back: the same hall for the next counter.
        for num in called:
            t = next(x for x in issued if x["number"] == num)
            issued.remove(t)
            issued.append(d.issue(t["service"], category=t["category"]))
    # Fewer than five waiting for a counter: as many as there are, then none.
    d2 = env.daemon(name="few", db=os.path.join(env.dir, "few.db"))
    d2.issue("V")
    check_eq([t["service"] for t in _next(d2, 5)["next"]], ["V"], "one waiting: one shown")
    check_eq(_next(d2, 3)["next"], [], "counter 3 (A only): nothing for it")
    check_error(d2.get("/api/v1/counters/99/next"), 404, "unknown_counter", "an unknown counter")
    check_error(d2.post("/api/v1/counters/1/next"), 404, "not_found",
                "next is read, not an action")


def test_next_shows_the_current_tickets_legs(env):
    d = env.daemon()
    t = d.issue("A")
    check_eq(d.call(1)["id"], t["id"], "counter 1 calls A001")
    legs = _next(d, 1)["legs"]
    check_eq([(x["id"], x["service"], x["status"]) for x in legs], [(t["id"], "A", "called")],
             "never transferred: one leg, the ticket itself")
    st, _, j = d.action(1, "transfer", {"service": "B"})
    check_eq(st, 200, "transfer to B")
    got = d.call(5)
    check_eq(got["id"], j["ticket"]["id"], "counter 5 calls the new leg")
    legs = _next(d, 5)["legs"]
    check_eq([(x["id"], x["service"], x["status"], x["counter"]) for x in legs],
             [(t["id"], "A", "transferred", 1), (got["id"], "B", "called", 5)],
             "the legs, first first: where it came from and where it is")
    check_eq({x["number"] for x in legs}, {"A001"}, "every leg keeps the number")
    check("token" not in legs[0], "no leg gives away the phone token")
