"""
A no-show put back in line (过号重排), as the lobby and the counter see it:
it keeps its number, waits behind the next `reinstate_places` calls of its
service (docs/policy.md), goes first after them, at most `reinstate_max`
times; the display and the phone page follow.
"""
from harness import check, check_eq, check_error, make_config


def _no_show(d, counter):
    """Call the head of the line at counter and mark it a no-show after its recalls."""
    t = d.call(counter)
    st, _, j = d.action(counter, "no-show")
    check_eq(st, 200, "no-show (body %r)" % (j,))
    return t


def test_reinstated_ticket_waits_behind_three_calls_then_goes_first(env):
    d = env.daemon()
    first = d.issue("A")
    others = [d.issue("A") for _ in range(5)]
    gone = _no_show(d, 3)
    check_eq(gone["id"], first["id"], "the first customer missed the call")
    st, _, j = d.post("/api/v1/tickets/%d/reinstate" % first["id"], {})
    check_eq(st, 200, "the lobby puts it back (body %r)" % (j,))
    leg = j["ticket"]
    check_eq((leg["number"], leg["status"], leg["reinstated"]), (first["number"], "waiting", 1),
             "same number, waiting again")
    check_eq(leg["ahead"], 3, "three calls before it")
    order = d.waiting_numbers("A")
    check_eq(order[-1], first["number"], "listed after those it waits for: %r" % order)
    phone = d.get("/api/v1/t/%s" % first["token"], auth=False)[2]["ticket"]
    check_eq((phone["status"], phone["ahead"]), ("waiting", 3), "the phone page follows")
    called = [d.call(4)["number"] for _ in range(3)]
    check_eq(called, [t["number"] for t in others[:3]], "the next three go first")
    check_eq(d.call(4)["number"], first["number"], "then the reinstated ticket, first")
    check_eq(d.call(4)["number"], others[3]["number"], "then the line as it was")
    # The counter's legs show the whole story.
    check_eq(d.ticket(first["id"])["status"], "no_show", "the missed leg stays a no-show")


def test_reinstate_limits_and_errors(env):
    d = env.daemon(make_config(branch={"reinstate_places": "0", "reinstate_max": "1"}))
    t = d.issue("A")
    w = d.issue("A")
    check_error(d.post("/api/v1/tickets/%d/reinstate" % w["id"], {}), 409, "not_no_show",
                "a waiting ticket")
    _no_show(d, 1)
    st, _, j = d.post("/api/v1/tickets/%d/reinstate" % t["id"], {})
    check_eq((st, j["ticket"]["ahead"]), (200, 0), "places 0: first at once")
    check_error(d.post("/api/v1/tickets/%d/reinstate" % t["id"], {}), 409, "not_no_show",
                "the missed leg again")
    again = d.call(1)
    check_eq(again["number"], t["number"], "called first")
    d.action(1, "no-show")
    check_error(d.post("/api/v1/tickets/%d/reinstate" % again["id"], {}), 409, "reinstate_limit",
                "a second reinstatement")
    check_error(d.post("/api/v1/tickets/999999/reinstate", {}), 404, "unknown_ticket", "no ticket")


def test_teller_reinstates_only_its_own_no_shows_and_a_restart_keeps_the_place(env):
    d = env.daemon()
    teller = d.cli("user", "add", "t3", "--role", "teller", stdin="pw-teller-3\npw-teller-3\n")
    check(teller.returncode == 0, "user add: %s" % teller.stderr[-200:])
    a = d.issue("A")
    [d.issue("A") for _ in range(4)]
    _no_show(d, 4)
    check_error(d.post("/api/v1/counters/3/reinstate", {"ticket_id": a["id"]}), 403, "forbidden",
                "counter 3 did not call it")
    st, _, j = d.post("/api/v1/counters/4/reinstate", {"ticket_id": a["id"]})
    check_eq((st, j["ticket"]["ahead"]), (200, 3), "its counter puts it back")
    d.call(2)
    d.restart()
    check_eq(d.waiting_numbers("A")[-1], a["number"], "after a restart it still waits behind")
    phone = d.get("/api/v1/t/%s" % a["token"], auth=False)[2]["ticket"]
    check_eq(phone["ahead"], 2, "two calls still to go")
    d.call(2)
    d.call(2)
    check_eq(d.call(2)["number"], a["number"], "then it is called")
