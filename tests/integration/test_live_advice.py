"""
建议增开窗口 Open another counter, live (docs/advisor.md): the daemon
simulates the rest of the day from the hall as it stands every [advisor]
live_every, and when a service's predicted overtime share crosses its
target it logs advice.open_counter, with the figures and the counter to
open, which the staff stream carries; when the prediction falls back under
the target, advice.cleared.

The daemon's clock is set to 10:00 in the branch's zone (libfaketime, as
test_advise_history.py), inside the advisor's hours whatever time the test
runs. One counter of the four that serve A is open; ten customers of A
(five minutes each, a 20-minute threshold, a 5 % target) are too many for
it, and few enough for four.
"""
import datetime
import json
import sqlite3
import time

from harness import SHANGHAI, check, check_eq, make_config
from test_advise_history import Clock


def _config(db, live="yes"):
    return make_config(branch={"day_reset": "04:00", "database": db},
                       services={"A": {"service_time": "5m", "target": "5%"}},
                       advisor={"open": "09:00", "close": "17:00", "live": live,
                                "live_every": "1s", "live_replications": "40"})


def _at_ten(env, live="yes"):
    db = env.dir + "/live-%s.db" % live
    d = env.daemon(_config(db, live), start=False, db=db)
    clock = Clock(d)
    today = datetime.datetime.now(SHANGHAI).date()
    clock.set(datetime.datetime.combine(today, datetime.time(10, 0), SHANGHAI).timestamp())
    d.start()
    return d


def _advice_event(stream, kind, timeout=60):
    """The next advice.* event of the staff stream, which must be kind."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        check(left > 0, "an %s event within %d s" % (kind, timeout))
        ev = stream.take(1, timeout=left)[0]
        t = ev["data"].get("type", "")
        if t.startswith("advice."):
            check_eq(t, kind, "the advice event")
            return ev


def test_live_advice_appears_and_clears(env):
    d = _at_ten(env)
    for n in (2, 3, 4):
        check_eq(d.action(n, "pause")[0], 200, "pause counter %d" % n)
    st, _, body = d.get("/api/v1/advice/live")
    check(st == 200 and body == {"advice": None}, "nothing to advise with nobody waiting: %r"
          % (body,))
    staff = d.sse()
    staff.wait_hello()
    display = d.sse(path="/api/v1/display/events", auth=False)
    display.wait_hello()
    for _ in range(10):
        d.issue("A")

    ev = _advice_event(staff, "advice.open_counter")
    a = ev["data"]
    print("advice.open_counter: %s" % json.dumps(a, ensure_ascii=False))
    check_eq(a["waiting"], 10, "the ten waiting")
    check_eq(a["history"], False, "no history: nobody more is expected")
    svc = {s["service"]: s for s in a["services"]}
    check(svc["A"]["over"] and svc["A"]["overtime_share"] > 0.05,
          "A's predicted share %.3f is over its 5 %% target" % svc["A"]["overtime_share"])
    lo, hi = svc["A"]["overtime_share_ci"]
    check(lo <= svc["A"]["overtime_share"] <= hi, "with its interval")
    c = a["open_counter"]
    check_eq(c["number"], 2, "the first closed counter that serves A")
    check(c["overtime_share"] < a["predicted"]["overtime_share"],
          "with it open the predicted share falls: %.3f < %.3f" % (
              c["overtime_share"], a["predicted"]["overtime_share"]))
    check(svc["A"]["with_counter"]["overtime_share"] < svc["A"]["overtime_share"],
          "and A's too")
    st, _, body = d.get("/api/v1/advice/live")
    check_eq(body["advice"]["open_counter"]["number"], 2, "GET /api/v1/advice/live says the same")
    # The hall's screens never hear of it.
    for e in list(display.events.queue):
        check(not e["data"].get("type", "").startswith("advice."), "no advice on the display")

    for n in (2, 3, 4):
        check_eq(d.action(n, "resume")[0], 200, "resume counter %d" % n)
    ev = _advice_event(staff, "advice.cleared", timeout=60)
    check(ev["data"]["predicted"]["overtime_share"] <= 0.05,
          "four counters bring the prediction under the target: %r" % ev["data"]["predicted"])
    check_eq(ev["data"]["open_counter"], None, "nothing more to open")
    st, _, body = d.get("/api/v1/advice/live")
    check_eq(body, {"advice": None}, "GET /api/v1/advice/live: nothing now")
    staff.expect_quiet(3)      # a prediction that stays under says nothing more

    # Both are in the event log: what the advisor said, and when.
    con = sqlite3.connect("file:%s?mode=ro" % d.db, uri=True)
    kinds = [r[0] for r in con.execute("SELECT type FROM events WHERE type LIKE 'advice.%' "
                                       "ORDER BY id")]
    con.close()
    check_eq(kinds, ["advice.open_counter", "advice.cleared"], "the event log")
    staff.close()
    display.close()


def test_live_advice_off_says_nothing(env):
    d = _at_ten(env, live="no")
    for n in (2, 3, 4):
        check_eq(d.action(n, "pause")[0], 200, "pause counter %d" % n)
    staff = d.sse()
    staff.wait_hello()
    for _ in range(10):
        d.issue("A")
    staff.take(10)
    staff.expect_quiet(4)
    st, _, body = d.get("/api/v1/advice/live")
    check_eq(body, {"advice": None}, "live = no: no advice")
    staff.close()
