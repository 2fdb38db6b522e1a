"""
The wall clock moved under the real daemon (libfaketime, its offset read
from a file at every call, the monotonic clock left true): a step back
does not let a later ticket jump ahead of one already waiting, nor bring
back a business day that has ended, not even across a restart; a jump
forward is followed. Each is said in the log. The rule itself is
tests/unit/test_clock.c.
"""
import datetime
import os

from harness import SHANGHAI, check, check_eq, make_config

FAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"


def _fake_clock(d):
    """Give d a wall clock offset by what the returned function writes (seconds)."""
    check(os.path.exists(FAKETIME), "libfaketime (package faketime) is installed")
    path = os.path.join(d.dir, d.name + ".faketime")

    def set_offset(seconds):
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            f.write("%+d\n" % int(seconds))
        os.replace(tmp, path)
    set_offset(0)
    d.extra_env.update({
        "LD_PRELOAD": FAKETIME,
        "FAKETIME_TIMESTAMP_FILE": path,
        "FAKETIME_NO_CACHE": "1",
        "FAKETIME_DONT_FAKE_MONOTONIC": "1",
        # libfaketime is preloaded ahead of the sanitizer's runtime.
        "ASAN_OPTIONS": d.env.child_env()["ASAN_OPTIONS"] + ":verify_asan_link_order=0",
    })
    return set_offset


def test_clock_step_back_keeps_the_order_and_is_logged(env):
    d = env.daemon(start=False)
    set_offset = _fake_clock(d)
    d.start()
    first = d.issue("A")
    set_offset(-3600)
    second = d.issue("A")
    d.wait_log("stepped 3600 s back", timeout=30)
    check(second["issued_at"] >= first["issued_at"],
          "a ticket issued after the step (%s) is not stamped before the one issued "
          "earlier (%s)" % (second["issued_at"], first["issued_at"]))
    check_eq(d.call(1)["id"], first["id"], "the customer who waited longest is called first")
    set_offset(0)


def test_clock_jump_forward_is_followed(env):
    d = env.daemon(start=False)
    set_offset = _fake_clock(d)
    d.start()
    before = d.issue("A")
    set_offset(7200)
    after = d.issue("A")
    d.wait_log("jumped 7200 s forward", timeout=30)
    t0 = datetime.datetime.fromisoformat(before["issued_at"])
    t1 = datetime.datetime.fromisoformat(after["issued_at"])
    check(t1 - t0 >= datetime.timedelta(hours=2), "the jump is followed: %s then %s" % (t0, t1))


def test_clock_back_across_the_day_reset_never_reopens_the_day(env):
    now = datetime.datetime.now(SHANGHAI)
    reset = (now + datetime.timedelta(minutes=10)).replace(second=0, microsecond=0)
    until = (reset - now).total_seconds()
    d = env.daemon(make_config(branch={"day_reset": reset.strftime("%H:%M")}), start=False)
    set_offset = _fake_clock(d)
    set_offset(until + 60)                  # a minute into the new business day
    d.start()
    today = d.issue("A")
    check_eq(today["number"], "A001", "the new day's first ticket")
    new_day = today["business_day"]
    check_eq(new_day, reset.date().isoformat(), "the business day that began at the reset")
    # NTP pulls the clock back two minutes before the reset: yesterday's business day by the
    # wall clock.
    set_offset(until - 120)
    later = d.issue("A")
    d.wait_log("stepped", timeout=30)
    check_eq((later["business_day"], later["number"]), (new_day, "A002"),
             "the day that began is not left for the one before it")
    # Restarted with the clock still back: the daemon starts from the last recorded time.
    d.stop()
    d.start()
    again = d.issue("A")
    check_eq((again["business_day"], again["number"]), (new_day, "A003"),
             "after a restart with the clock back, the same business day")
    d.wait_log("behind the last time the database recorded", timeout=30)
    waiting = d.waiting_numbers("A")
    check_eq(waiting, ["A001", "A002", "A003"], "the day's queue, in order")


def test_day_reset_while_running_closes_what_was_left_waiting(env):
    now = datetime.datetime.now(SHANGHAI)
    reset = (now + datetime.timedelta(minutes=10)).replace(second=0, microsecond=0)
    until = (reset - now).total_seconds()
    d = env.daemon(make_config(branch={"day_reset": reset.strftime("%H:%M")}), start=False)
    set_offset = _fake_clock(d)
    set_offset(until - 90)                  # the old business day's last minutes
    d.start()
    left = [d.issue("A") for _ in range(3)]
    old_day = left[0]["business_day"]
    check_eq(d.call(1)["id"], left[0]["id"], "the first is called before the reset")
    live = d.sse()
    live.wait_hello()
    set_offset(until + 30)                  # the reset passes while the daemon runs
    d.wait_log("day reset: 2 tickets left waiting on earlier business days closed as expired",
               timeout=60)
    for t in left[1:]:
        check_eq(d.ticket(t["id"])["status"], "expired", "%s after the reset" % t["number"])
    check_eq(d.ticket(left[0]["id"])["status"], "called",
             "the customer called to a counter is the teller's to finish")
    told = live.take(2)
    check_eq([(e["data"]["type"], e["data"]["ticket"]["id"]) for e in told],
             [("ticket.expired", t["id"]) for t in left[1:]], "the staff stream is told")
    logged = d.sse(last_event_id=0).take(6)
    check_eq([e["data"]["type"] for e in logged],
             ["ticket.issued"] * 3 + ["ticket.called"] + ["ticket.expired"] * 2, "the event log")
    fresh = d.issue("A")
    check_eq((fresh["business_day"] != old_day, fresh["number"]), (True, "A001"),
             "the new business day numbers from A001")
    st, _, rep = d.get("/api/v1/reports/daily?date=" + old_day)
    check_eq(st, 200, "the old day's report")
    check_eq((rep["totals"]["issued"], rep["totals"]["called"],
              rep["totals"]["waiting_at_close"]), (3, 1, 2),
             "the old day's report counts the expired as left waiting at its close")
    # Once closed they stay closed: a restart finds nothing more to close.
    mark = d.log_mark()
    d.stop()
    d.start()
    check(not any("closed as expired" in l for l in d.log().splitlines()[mark:]),
          "a restart closes nothing twice")
