"""
The simulator and the advisor on a branch's own history (docs/advisor.md).

The history is made by the real daemon: three busy days, a week apart, are
played through its HTTP API by a driver that issues each customer at its
arrival time and works the counters as tellers would (call the next as soon
as free, finish after the customer's service time, a few no-shows, counter 3
opening at 10:00 and counter 4 only from 11:00 to 13:00 by pause and resume),
while the daemon's wall clock is moved to each instant (libfaketime, its
offset read from a file at every call, as tests/integration/test_clock.py).
So the days in the database are what a branch records, every call chosen by
the daemon's own policy.

Then, through `branchqd simulate` and `branchqd advise` beside that database:
- replaying the last day (its arrivals and service times, its counter plan)
  gives the overtime share `branchqd report` gives for it;
- the fit of the three same weekdays predicts the day's tickets per hour;
- the advice for the next such day plans every configured hour and meets the
  targets, and the same arguments print the same bytes;
- a date with no history, and a bad date: a clear error, nothing printed.
"""
import datetime
import heapq
import json
import os
import random
import subprocess
import threading
import time

from harness import SHANGHAI, check, check_eq, check_error, make_config

FAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"

RATES = {  # customers an hour, 09:00 … 16:00
    "A": [20, 38, 40, 26, 20, 30, 40, 26],
    "B": [6, 8, 10, 6, 6, 8, 10, 6],
}
MEAN_SERVICE_S = {"A": 240, "B": 360}
NO_SHOW = 0.03
NO_SHOW_AFTER_S = 90
OPEN_HOURS = {1: (9, 17), 2: (9, 17), 3: (10, 17), 4: (11, 13), 5: (9, 17)}


def _config(db):
    return make_config(branch={"day_reset": "04:00", "database": db},
                       advisor={"open": "09:00", "close": "17:00", "weeks": "4",
                                "replications": "60"})


class Clock:
    """The daemon's wall clock, set to an instant by the offset libfaketime reads."""

    def __init__(self, d):
        check(os.path.exists(FAKETIME), "libfaketime (package faketime) is installed")
        self.path = os.path.join(d.dir, d.name + ".faketime")
        self.now = 0
        self._write(0)
        d.extra_env.update({
            "LD_PRELOAD": FAKETIME,
            "FAKETIME_TIMESTAMP_FILE": self.path,
            "FAKETIME_NO_CACHE": "1",
            "FAKETIME_DONT_FAKE_MONOTONIC": "1",
            "ASAN_OPTIONS": d.env.child_env()["ASAN_OPTIONS"] + ":verify_asan_link_order=0",
        })

    def _write(self, offset):
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            # Fractional: the daemon's second is then the instant's, never the one before.
            f.write("%+.3f\n" % offset)
        os.replace(tmp, self.path)

    def set(self, t):
        """Move the clock to epoch second t (never back: the daemon holds its order)."""
        t = max(t, self.now)
        self.now = t
        self._write(t - time.time())


def _play_day(d, clock, opening, rng, paused):
    """One business day through the API; returns how many tickets it issued."""
    events = []  # (time, order, kind, data)
    order = [0]

    def push(t, kind, data=None):
        order[0] += 1
        heapq.heappush(events, (t, order[0], kind, data))

    for sid, rates in RATES.items():
        for h, rate in enumerate(rates):
            t = opening + h * 3600
            while True:
                t += rng.expovariate(rate / 3600.0)
                if t >= opening + (h + 1) * 3600:
                    break
                push(t, "arrive", sid)
    for n, (a, b) in OPEN_HOURS.items():
        if a > 9:
            push(opening - 60, "pause", n)
            push(opening + (a - 9) * 3600, "resume", n)
        if b < 17:
            push(opening + (b - 9) * 3600, "pause", n)
    busy = {}        # counter -> ticket id at it
    plan = {}        # ticket id -> (service time, no-show)
    issued = 0

    def call(n, t):
        if n in paused or n in busy:
            return
        st, _, j = d.post("/api/v1/counters/%d/call" % n, {"expect": None})
        if st == 204:
            return
        check_eq(st, 200, "call at counter %d (%r)" % (n, j))
        tid = j["ticket"]["id"]
        busy[n] = tid
        service_s, no_show = plan.get(tid, (MEAN_SERVICE_S["A"], False))
        push(t + (NO_SHOW_AFTER_S if no_show else service_s), "no_show" if no_show else "finish",
             n)

    while events:
        t, _, kind, data = heapq.heappop(events)
        clock.set(t)
        if kind == "arrive":
            body = {"service": data}
            u = rng.random()
            if u < 0.08:
                body["category"] = "disabled"
            elif u < 0.11:
                body["category"] = "foreign"
            tk = d.issue(**body)
            issued += 1
            plan[tk["id"]] = (rng.expovariate(1.0 / MEAN_SERVICE_S[data]) + 1,
                              rng.random() < NO_SHOW)
            for n in sorted(OPEN_HOURS):
                call(n, t)
        elif kind in ("finish", "no_show"):
            st, _, j = d.action(data, "finish" if kind == "finish" else "no-show",
                                {"expect": busy[data]})
            check_eq(st, 200, "%s at counter %d (%r)" % (kind, data, j))
            del busy[data]
            call(data, t)
        elif kind == "pause":
            if data in paused:
                continue
            check_eq(d.action(data, "pause")[0], 200, "pause counter %d" % data)
            paused.add(data)
        elif kind == "resume":
            check_eq(d.action(data, "resume")[0], 200, "resume counter %d" % data)
            paused.discard(data)
            call(data, t)
    check(not busy, "every counter finished its customer")
    return issued


def _history(env):
    """Three busy days a week apart, the last 8 days ago; (dates, issued per day, db)."""
    db = os.path.join(env.dir, "history.db")
    d = env.daemon(_config(db), start=False, db=db)
    clock = Clock(d)
    today = datetime.datetime.now(SHANGHAI).date()
    days = [today - datetime.timedelta(days=k) for k in (22, 15, 8)]
    first = datetime.datetime.combine(days[0], datetime.time(8, 50), SHANGHAI).timestamp()
    clock.set(first)
    d.start()
    rng = random.Random(20261202)
    issued = []
    paused = set()   # counters paused, carried over the nights
    for day in days:
        opening = datetime.datetime.combine(day, datetime.time(9, 0), SHANGHAI).timestamp()
        issued.append(_play_day(d, clock, opening, rng, paused))
    d.stop()
    return days, issued, d, db


def _cli(env, d, *args):
    p = subprocess.run([env.daemon_path] + list(args) + ["-f", d.conf, "--db", d.db],
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       cwd=env.dir, env=env.child_env(), timeout=600)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def test_advise_history_replay_fit_and_advice(env):
    days, issued, d, _ = _history(env)
    last = days[-1].isoformat()

    # The recorded day, as the branch's own report gives it.
    rc, out, err = _cli(env, d, "report", "--date", last)
    check_eq(rc, 0, "branchqd report --date %s (%s)" % (last, err))
    rec = json.loads(out)["totals"]
    check_eq(rec["issued"], issued[-1], "the report counts every ticket the driver issued")

    # Replayed: the same customers, the same counter plan, the same policy.
    rc, out, err = _cli(env, d, "simulate", "--replay", last)
    check_eq(rc, 0, "simulate --replay (%s)" % err)
    rep = json.loads(out)
    sim = rep["totals"]
    print("replay of %s: recorded overtime %d of %d (share %.4f, mean wait %.0f s); "
          "replayed %.0f of %.0f (share %.4f, mean wait %.0f s)" % (
              last, rec["overtime"], rec["overtime_base"], rec["overtime_share"],
              rec["wait_avg_s"], sim["overtime"], sim["overtime_base"], sim["overtime_share"],
              sim["wait_avg_s"]))
    check_eq(rep["recorded"]["overtime_share"], rec["overtime_share"],
             "the replay shows the recorded share beside its own")
    check_eq(sim["issued"], issued[-1], "every recorded customer is replayed")
    check(rec["overtime"] >= 3, "the generated day is busy enough to have overtime (%d)"
          % rec["overtime"])
    check(abs(sim["overtime"] - rec["overtime"]) <= max(2, 0.1 * rec["overtime"]),
          "the replay's overtime count %.0f is the recorded %d within 10 %% (or 2)"
          % (sim["overtime"], rec["overtime"]))
    check(abs(sim["wait_avg_s"] - rec["wait_avg_s"]) <= max(15, 0.05 * rec["wait_avg_s"]),
          "the replay's mean wait %.1f s is the recorded %.1f s within 5 %% (or 15 s)"
          % (sim["wait_avg_s"], rec["wait_avg_s"]))
    plan = {p["hour"]: p["counters"] for p in rep["plan"]}
    check_eq(plan["09:00"], [1, 2, 5], "the recorded plan: counters 1, 2 and 5 at 09:00")
    check_eq(plan["11:00"], [1, 2, 3, 4, 5], "all five from 11:00 to 13:00")
    check_eq(plan["14:00"], [1, 2, 3, 5], "counter 4 closed again at 13:00")

    # The fit of the three same weekdays, for the next one.
    target = (days[-1] + datetime.timedelta(days=7)).isoformat()
    rc, out, err = _cli(env, d, "simulate", "--date", target, "--seed", "7")
    check_eq(rc, 0, "simulate --date %s (%s)" % (target, err))
    fit = json.loads(out)
    check_eq(fit["history"]["days"], [x.isoformat() for x in reversed(days)],
             "the fit read the three same weekdays before the date")
    mean_issued = sum(issued) / len(issued)
    check(abs(fit["totals"]["issued"] - mean_issued) <= 0.1 * mean_issued,
          "the predicted day has the history's tickets: %.1f against %.1f"
          % (fit["totals"]["issued"], mean_issued))
    hours = {h["hour"]: h["issued"] for h in fit["by_hour"]}
    expected_10 = sum(r[1] for r in RATES.values())
    check(abs(hours[10] - expected_10) <= 0.35 * expected_10,
          "10:00's arrivals %.1f near the generated rate %d" % (hours[10], expected_10))
    rc2, out2, _ = _cli(env, d, "simulate", "--date", target, "--seed", "7")
    check(rc2 == 0 and out2 == out, "the same seed prints the same bytes")

    # The advice for that day.
    rc, out, err = _cli(env, d, "advise", "--date", target)
    check_eq(rc, 0, "advise --date %s (%s)" % (target, err))
    adv = json.loads(out)
    print("advice for %s: counters %s, Erlang C alone %s" % (
        target, adv["counters_per_hour"], adv["erlang_c_per_hour"]))
    check_eq(len(adv["counters_per_hour"]), 8, "one entry per hour from 09:00 to 17:00")
    check_eq([h["hour"] for h in adv["hours"]][0], "09:00", "the plan starts at opening")
    check(adv["met"], "the advice meets the targets")
    for h in adv["hours"]:
        for s in h["by_service"]:
            if s["overtime_share"] is not None:
                check(s["overtime_share_ci"][1] <= s["target_share"] + 1e-9,
                      "%s %s: predicted share's upper bound %.4f within target %.2f" % (
                          h["hour"], s["service"], s["overtime_share_ci"][1],
                          s["target_share"]))
    check(adv["predicted"]["totals"]["overtime_share"] <= 0.05,
          "the plan's predicted day meets the 5 % target")

    # No history for another weekday; a date that is not one.
    other = (days[-1] + datetime.timedelta(days=3)).isoformat()
    rc, out, err = _cli(env, d, "advise", "--date", other)
    check_eq(rc, 2, "advise for a weekday with no history exits 2")
    check("no history" in err and out == "", "it says so and prints nothing: %r" % err)
    rc, out, err = _cli(env, d, "simulate", "--replay", other)
    check(rc == 2 and "no tickets on " + other in err and out == "",
          "nothing to replay on a day without tickets: %r" % err)
    rc, out, err = _cli(env, d, "advise", "--date", "2026-13-01")
    check(rc == 2 and "--date must be a date" in err and out == "",
          "a bad date is refused: %r" % err)

    # The same advice through the API, made by the daemon's worker off its loop.
    api = env.daemon(_config(d.db), db=d.db)
    holder = {}

    def ask():
        holder["r"] = api.get("/api/v1/advice?date=" + target)
        holder["done"] = time.monotonic()

    asker = threading.Thread(target=ask)
    asker.start()
    # While the advice is being made, the hall goes on: a ticket is issued and answered.
    t = api.issue("A")
    issued_at = time.monotonic()
    asker.join(600)
    st, _, body = holder["r"]
    check_eq(st, 200, "GET /api/v1/advice?date=%s (%s)" % (target, body))
    print("the API's advice came %.2f s after the ticket issued meanwhile" % (
        holder["done"] - issued_at))
    check(holder["done"] > issued_at, "a ticket issued while the advice was being made is "
          "answered first: the advice is made off the loop")
    check(t["number"], "the ticket has its number")
    check_eq(body, adv, "the API gives the advice `branchqd advise --date` prints, figure for figure")
    st2, _, body2 = api.get("/api/v1/advice?date=" + target)
    check(st2 == 200 and body2 == body, "asked again: the same advice")
    # No date: the next business day, whose weekday has no history here.
    st, _, body = api.get("/api/v1/advice")
    check_error((st, None, body), 404, "no_history", "the next day's weekday has no history")
    check("no history" in body["error"]["message"], "it says why: %r" % body)
    st, _, body = api.get("/api/v1/advice?date=2026-13-01")
    check_error((st, None, body), 400, "invalid_query", "a bad date")
    api.stop()
