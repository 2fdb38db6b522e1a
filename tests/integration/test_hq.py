"""
The head office (docs/hq.md): branches' event logs up to a private
PostgreSQL (tests/integration/pg.py) through each branchqd's [uplink], and
the head office's figures computed there by hq/schema.sql's views.

- Same figures: a busy day played through the real daemon (its wall clock
  moved by libfaketime, as test_advise_history.py) and a second, small
  branch; the head office's figures for each branch and day equal that
  branch's own `branchqd report`, figure for figure, and `branchqd hq
  report` ranks them worst first.
- WAN outage: PostgreSQL stopped while tickets are issued and called, then
  started again: every event arrives exactly once; the branch answered
  meanwhile (the issue latency before and during is printed).
- Crash: kill -9 of branchqd and of PostgreSQL in the middle of sending:
  nothing lost, nothing doubled.
- Isolation: a branch's login cannot write another branch's rows or read
  the analysts' views; an analyst reads the views and writes nothing.
- Bad input: a wrong password, a schema of another version, a branch id
  another database has taken: a clear error in the log and in /healthz,
  the branch unaffected; [uplink] without its keys is a config error.
"""
import datetime
import json
import os
import random
import sqlite3
import statistics
import subprocess
import time

import pg
from harness import SHANGHAI, check, check_eq, make_config
from test_advise_history import Clock, _play_day


def _config(db, branch_id, conninfo, batch=500):
    return make_config(branch={"day_reset": "04:00", "database": db}) + (
        "\n[uplink]\nconninfo = %s\nbranch_id = %s\nbatch = %d\ninterval = 1s\nretry = 1s\n"
        % (conninfo, branch_id, batch))


def _events(db):
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    ids = [r[0] for r in con.execute("SELECT id FROM events ORDER BY id")]
    con.close()
    return ids


def _hq_ids(p, branch_id):
    return [int(r[0]) for r in p.rows("SELECT event_id FROM hq.events WHERE branch_id = '%s' "
                                      "ORDER BY event_id" % branch_id)]


def _caught_up(d, p, branch_id, timeout=90):
    """Wait until the head office holds every event of d's database; returns their ids."""
    deadline = time.monotonic() + timeout
    while True:
        want = _events(d.db)
        st, _, h = d.get("/healthz", auth=False)
        up = (h or {}).get("uplink") or {}
        if up.get("sent_event_id") == (want[-1] if want else 0) and up.get("behind") == 0:
            got = _hq_ids(p, branch_id)
            if got == want:
                return want
        check(time.monotonic() < deadline, "the head office catches up with %s within %d s: %r"
              % (branch_id, timeout, up))
        time.sleep(0.1)


def _in_order(p, branch_id):
    """The head office received the branch's events in id order: never a later one first."""
    (n,) = p.rows("SELECT count(*) FROM (SELECT received_at < lag(received_at) OVER (ORDER BY "
                  "event_id) AS back FROM hq.events WHERE branch_id = '%s') x WHERE back"
                  % branch_id)[0]
    check_eq(int(n), 0, "%s's events arrived in order" % branch_id)


def _cursor(d):
    con = sqlite3.connect("file:%s?mode=ro" % d.db, uri=True)
    (sent,) = con.execute("SELECT sent FROM uplink").fetchone()
    con.close()
    return sent


FIGS = ["issued", "called", "served", "no_show", "cancelled", "waiting_at_close", "transferred",
        "wait_avg_s", "wait_p50_s", "wait_p90_s", "wait_max_s", "overtime", "overtime_waiting",
        "overtime_base", "overtime_share", "target_share", "target_met"]


def _num(v):
    if v == "" or v is None:
        return None
    if v in ("t", "f"):
        return v == "t"
    f = float(v)
    return int(f) if f.is_integer() else f


def _hq_row(p, view, branch_id, date, keys, where=""):
    cols = ", ".join('"%s"' % k for k in keys)
    rows = p.rows("SELECT %s FROM hq.%s WHERE branch_id = '%s' AND date = '%s' %s" % (
        cols, view, branch_id, date, where))
    return [dict(zip(keys, map(_num, r))) for r in rows]


def _same(branch, hq, keys, what):
    for k in keys:
        b, h = branch.get(k), hq.get(k)
        if isinstance(b, bool) or isinstance(h, bool):
            ok = b is h
        elif isinstance(b, float) or isinstance(h, float):
            # The report's JSON rounds a share to six significant digits.
            ok = b is not None and h is not None and float("%.6g" % b) == float("%.6g" % h)
        else:
            ok = b == h
        check(ok, "%s %s: the branch says %r, the head office %r" % (what, k, b, h))


def _compare(env, p, d, branch_id, date):
    """The head office's figures of branch_id on date equal `branchqd report --date`."""
    out = subprocess.run([env.daemon_path, "report", "--date", date, "-f", d.conf, "--db", d.db],
                         capture_output=True, text=True, env=env.child_env(), timeout=120)
    check_eq(out.returncode, 0, "branchqd report (%s)" % out.stderr)
    rep = json.loads(out.stdout)
    (tot,) = _hq_row(p, "daily", branch_id, date, FIGS)
    _same(rep["totals"], tot, FIGS, "%s %s totals" % (branch_id, date))
    for s in rep["by_service"]:
        rows = _hq_row(p, "daily_by_service", branch_id, date, FIGS,
                       "AND service = '%s'" % s["service"])
        if s["issued"] == 0:
            check_eq(rows, [], "%s %s: no tickets of %s at the head office either" % (
                branch_id, date, s["service"]))
            continue
        _same(s, rows[0], FIGS, "%s %s service %s" % (branch_id, date, s["service"]))
    hkeys = ["issued", "called", "overtime", "overtime_base", "overtime_share", "target_met"]
    for h in rep["by_hour"]:
        if h["issued"] == 0:
            continue
        (row,) = _hq_row(p, "daily_by_hour", branch_id, date, hkeys, "AND hour = %d" % h["hour"])
        _same(h, row, hkeys, "%s %s hour %d" % (branch_id, date, h["hour"]))
    gkeys = ["issued", "called", "wait_avg_s", "wait_p90_s", "overtime", "overtime_base",
             "overtime_share", "target_met"]
    for g in ("green", "normal"):
        want = rep["green_vs_normal"][g]
        rows = _hq_row(p, "daily_green_vs_normal", branch_id, date, gkeys,
                       "AND \"group\" = '%s'" % g)
        if want["issued"] == 0:
            check_eq(rows, [], "%s %s: no %s tickets at the head office either" % (
                branch_id, date, g))
            continue
        _same(want, rows[0], gkeys, "%s %s %s" % (branch_id, date, g))
    return rep


def test_hq_same_figures_as_each_branch(env):
    p = pg.Postgres(env)
    p.load_schema()
    p.psql("SELECT hq.add_months('%s', 3)" % (datetime.date.today() - datetime.timedelta(days=40)))
    c1, c2 = p.add_branch("B001"), p.add_branch("B002")
    today = datetime.datetime.now(SHANGHAI).date()
    day = today - datetime.timedelta(days=8)
    opening = datetime.datetime.combine(day, datetime.time(9, 0), SHANGHAI).timestamp()

    # Branch 1: a busy day, every call chosen by the daemon's policy, then a few at the end of
    # the day: one cancelled, one transferred, two left waiting at close (overtime by then).
    db1 = os.path.join(env.dir, "b1.db")
    d1 = env.daemon(_config(db1, "B001", c1), start=False, db=db1)
    clock = Clock(d1)
    clock.set(opening - 600)
    d1.start()
    issued = _play_day(d1, clock, opening, random.Random(20261203), set())
    clock.set(opening + 8.5 * 3600)
    late = [d1.issue("A"), d1.issue("A"), d1.issue("A", category="elderly"), d1.issue("A")]
    check_eq(d1.post("/api/v1/tickets/%d/cancel" % late[0]["id"])[0], 200, "cancel")
    st, _, j = d1.post("/api/v1/counters/1/call", {"expect": None})
    check_eq(st, 200, "call at counter 1 (%r)" % (j,))
    check_eq(d1.action(1, "transfer", {"service": "B", "expect": j["ticket"]["id"]})[0], 200,
             "transfer to B")
    # The day ends; the next morning the uplink has sent it all.
    clock.set(opening + 24 * 3600)
    _caught_up(d1, p, "B001")
    print("branch B001: %d tickets on %s through the daemon" % (issued + 4, day))

    # Branch 2: a small day of its own on the same date.
    db2 = os.path.join(env.dir, "b2.db")
    d2 = env.daemon(_config(db2, "B002", c2), start=False, db=db2)
    clock2 = Clock(d2)
    clock2.set(opening)
    d2.start()
    for k in range(6):
        clock2.set(opening + k * 600)
        d2.issue("A" if k % 2 else "B")
    for k in range(4):
        clock2.set(opening + 3600 + k * 900)
        st, _, j = d2.post("/api/v1/counters/%d/call" % (1 + k % 2), {"expect": None})
        check_eq(st, 200, "B002 call (%r)" % (j,))
        clock2.set(opening + 3600 + k * 900 + 300)
        check_eq(d2.action(1 + k % 2, "finish", {"expect": j["ticket"]["id"]})[0], 200, "finish")
    clock2.set(opening + 24 * 3600)
    _caught_up(d2, p, "B002")

    # Nothing personal went up: no phone token (the key of a customer's page), no ID number.
    con = sqlite3.connect("file:%s?mode=ro" % db1, uri=True)
    tokens = [r[0] for r in con.execute("SELECT token FROM tickets")]
    con.close()
    (keyed,) = p.rows("SELECT count(*) FROM hq.events WHERE data->'ticket' ? 'token' "
                      "OR data::text ~ '[0-9]{17}[0-9Xx]'")[0]
    check_eq(int(keyed), 0, "no event at the head office carries a token or an ID number")
    leaked = p.rows("SELECT count(*) FROM hq.events WHERE data::text LIKE ANY (ARRAY[%s])"
                    % ", ".join("'%%%s%%'" % t for t in tokens[:50]))[0][0]
    check_eq(int(leaked), 0, "no ticket's phone token is anywhere in the head office's events")

    r1 = _compare(env, p, d1, "B001", day.isoformat())
    r2 = _compare(env, p, d2, "B002", day.isoformat())
    check(r1["totals"]["cancelled"] == 1 and r1["totals"]["transferred"] == 1 and
          r1["totals"]["overtime_waiting"] >= 2, "the day has a cancel, a transfer and overtime "
          "waiting at close: %r" % r1["totals"])
    print("B001 %s: %d issued, overtime %d of %d; B002: %d issued, overtime %d of %d" % (
        day, r1["totals"]["issued"], r1["totals"]["overtime"], r1["totals"]["overtime_base"],
        r2["totals"]["issued"], r2["totals"]["overtime"], r2["totals"]["overtime_base"]))

    # The league table, as an analyst reads it with `branchqd hq report`.
    an, apw = p.add_analyst()
    rc, out = env.run(["hq", "report", "--conninfo", p.conninfo(an, apw), "--date",
                       day.isoformat(), "--format", "json"])
    check_eq(rc, 0, "branchqd hq report: %s" % out)
    league = json.loads(out)
    order = sorted([("B001", r1["totals"]), ("B002", r2["totals"])],
                   key=lambda b: -(b[1]["overtime_share"] or 0))
    check_eq([b["branch_id"] for b in league["branches"]], [b[0] for b in order],
             "worst share first")
    for b in league["branches"]:
        want = r1["totals"] if b["branch_id"] == "B001" else r2["totals"]
        _same(want, b, ["issued", "called", "served", "overtime", "overtime_base",
                        "overtime_share", "target_met"], "league %s" % b["branch_id"])
    tot = league["totals"]
    check_eq(tot["overtime"], r1["totals"]["overtime"] + r2["totals"]["overtime"], "totals")
    check_eq(tot["overtime_base"], r1["totals"]["overtime_base"] + r2["totals"]["overtime_base"],
             "totals' base")
    check(abs(tot["overtime_share"] - tot["overtime"] / tot["overtime_base"]) < 1e-6,
          "the total share is summed from counts")
    rc, html = env.run(["hq", "report", "--conninfo", p.conninfo(an, apw), "--date",
                        day.isoformat(), "--format", "html"])
    check(rc == 0 and "<svg" in html and "B001" in html and "<script" not in html,
          "the HTML report is one page with its chart")
    rc, csv = env.run(["hq", "report", "--conninfo", p.conninfo(an, apw), "--date",
                       day.isoformat(), "--format", "csv"])
    check(rc == 0 and csv.splitlines()[0].startswith("branch_id,") and len(csv.splitlines()) == 3,
          "the CSV has a header and a row per branch: %r" % csv[:300])


def _branch(env, p, branch_id, batch=500, conninfo=None):
    db = os.path.join(env.dir, branch_id + ".db")
    conninfo = conninfo or p.add_branch(branch_id)
    return env.daemon(_config(db, branch_id, conninfo, batch), db=db)


def _issue_ms(d, n):
    times = []
    for _ in range(n):
        t0 = time.monotonic()
        d.issue("A")
        times.append((time.monotonic() - t0) * 1000)
    return times


def test_hq_wan_outage_loses_and_doubles_nothing(env):
    p = pg.Postgres(env)
    p.load_schema()
    d = _branch(env, p, "B010")
    before = _issue_ms(d, 30)
    _caught_up(d, p, "B010")
    p.stop()
    during = _issue_ms(d, 40)
    for n in (1, 2, 3):
        st, _, j = d.post("/api/v1/counters/%d/call" % n, {"expect": None})
        check_eq(st, 200, "call during the outage (%r)" % (j,))
    deadline = time.monotonic() + 30
    while True:
        st, _, h = d.get("/healthz", auth=False)
        up = h["uplink"]
        if up["last_error"] and up["behind"] > 0:
            break
        check(time.monotonic() < deadline, "/healthz says the uplink is down: %r" % h)
        time.sleep(0.1)
    check(st == 200 and h["status"] == "degraded" and any("uplink" in r for r in h["reasons"]),
          "the branch is degraded, not failing, without its head office: %r" % h)
    check(not up["connected"], "not connected")
    print("issue latency: median %.1f ms before the outage, %.1f ms during it (p90 %.1f, %.1f)" % (
        statistics.median(before), statistics.median(during),
        sorted(before)[int(0.9 * len(before))], sorted(during)[int(0.9 * len(during))]))
    st, _, m = d.fetch("GET", "/metrics")
    check(b"branchq_uplink_up 0" in m and b"branchq_uplink_behind_events" in m,
          "/metrics shows the uplink down")
    p.start()
    ids = _caught_up(d, p, "B010")
    check_eq(len(ids), len(set(ids)), "every event once")
    check_eq(_cursor(d), ids[-1], "the durable cursor in SQLite is the last event sent")
    (n,) = p.rows("SELECT count(*) FROM hq.events WHERE branch_id = 'B010'")[0]
    check_eq(int(n), len(ids), "no event twice at the head office")
    _in_order(p, "B010")
    st, _, h = d.get("/healthz", auth=False)
    check(h["status"] == "ok" and h["uplink"]["connected"] and h["uplink"]["last_error"] is None,
          "healthy again: %r" % h)


def _mid_send(d, p, branch_id, above, timeout=60):
    """Wait until the head office holds more than `above` of d's events but not all of them."""
    deadline = time.monotonic() + timeout
    while True:
        have, want = len(_hq_ids(p, branch_id)), len(_events(d.db))
        if above < have < want:
            return have, want
        check(time.monotonic() < deadline, "caught sending: %d of %d" % (have, want))
        time.sleep(0.005)


def test_hq_kill9_of_either_side_mid_batch(env):
    p = pg.Postgres(env)
    p.load_schema()
    # Batches of two, and hundreds of events: the uplink is behind, a kill lands mid-stream.
    # A backlog (the head office down while the branch works), then sending it in batches of two.
    d = _branch(env, p, "B020", batch=2)
    p.stop()
    _issue_ms(d, 150)
    p.start()
    have, want = _mid_send(d, p, "B020", 0)
    d.kill9()
    print("branchqd killed with %d of %d events at the head office" % (have, want))
    p.stop()
    d.start()
    _issue_ms(d, 150)
    p.start()
    have2, want2 = _mid_send(d, p, "B020", have)
    p.kill9()
    print("PostgreSQL killed with %d of %d events there" % (have2, want2))
    _issue_ms(d, 20)
    p.start()
    ids = _caught_up(d, p, "B020", timeout=180)
    check_eq(len(ids), 320, "every ticket's event, across both kills")
    (n,) = p.rows("SELECT count(*) FROM hq.events WHERE branch_id = 'B020'")[0]
    check_eq(int(n), len(ids), "nothing doubled")
    _in_order(p, "B020")


def test_hq_a_branch_writes_only_its_own_rows(env):
    p = pg.Postgres(env)
    p.load_schema()
    p.add_branch("B031", "pw1")
    p.add_branch("B032", "pw2")
    an, apw = p.add_analyst()
    p.psql("SELECT hq.claim('B032', 'x32')", user="br_b032", password="pw2")
    ev = ("INSERT INTO hq.events (branch_id, event_id, bday, at, type, data) VALUES "
          "('%s', 1, '2026-12-01', now(), 'ticket.issued', '{}')")
    rc, out = p.psql(ev % "B031", user="br_b031", password="pw1", check_rc=False)
    check_eq(rc, 0, "a branch writes its own events: %s" % out)
    rc, out = p.psql(ev % "B032", user="br_b031", password="pw1", check_rc=False)
    check(rc != 0 and "row-level security" in out, "not another branch's: %s" % out)
    rc, out = p.psql("SELECT hq.put_events('B032', 'x32', '[]', '{\"services\":[],"
                     "\"counters\":[]}')", user="br_b031", password="pw1", check_rc=False)
    check(rc != 0 and "not this login" in out, "nor through put_events: %s" % out)
    for q in ("SELECT * FROM hq.daily", "SELECT * FROM hq.events",
              "SELECT * FROM hq.league('2026-12-01', '2026-12-01')"):
        rc, out = p.psql(q, user="br_b031", password="pw1", check_rc=False)
        check(rc != 0 and "permission denied" in out, "a branch cannot read %r: %s" % (q, out))
    rc, out = p.psql("UPDATE hq.branches SET name_en = 'x' WHERE branch_id = 'B032'",
                     user="br_b031", password="pw1")
    check_eq(p.rows("SELECT coalesce(name_en, '-') FROM hq.branches WHERE branch_id = 'B032'"),
             [["-"]], "another branch's row is out of reach")
    rc, out = p.psql("SELECT count(*) FROM hq.daily", user=an, password=apw, check_rc=False)
    check_eq(rc, 0, "an analyst reads the views: %s" % out)
    for q in (ev % "B031", "SELECT * FROM hq.events", "DELETE FROM hq.branches"):
        rc, out = p.psql(q, user=an, password=apw, check_rc=False)
        check(rc != 0 and "permission denied" in out, "an analyst cannot %r: %s" % (q, out))


def _wait_error(d, text, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        st, _, h = d.get("/healthz", auth=False)
        err = (h.get("uplink") or {}).get("last_error") or ""
        if text in err:
            return h
        check(time.monotonic() < deadline, "/healthz says %r: %r" % (text, h))
        time.sleep(0.1)


def test_hq_bad_conninfo_schema_and_taken_branch(env):
    p = pg.Postgres(env)
    p.load_schema()
    good = p.add_branch("B041")
    wrong = good.replace("password=pw-B041", "password=wrong")
    d = _branch(env, p, "B041", conninfo=wrong)
    h = _wait_error(d, "cannot connect to the head office")
    check("password authentication failed" in h["uplink"]["last_error"], "says why: %r" % h)
    check("uplink: cannot connect" in d.log(), "and in the log")
    t = d.issue("A")
    check(t["number"], "the branch issues all the same")
    d.stop()

    p.psql("UPDATE hq.schema_version SET version = 99")
    d2 = _branch(env, p, "B042")
    _wait_error(d2, "the head office's schema is version 99; this branchqd speaks version 1")
    d2.issue("A")
    p.psql("UPDATE hq.schema_version SET version = 1")
    _caught_up(d2, p, "B042")
    d2.stop()

    # Another database sends as B042: refused, and B042's rows stay B042's own.
    db3 = os.path.join(env.dir, "other.db")
    d3 = env.daemon(_config(db3, "B042", p.conninfo("br_b042", "pw-B042")), db=db3)
    _wait_error(d3, "branch id B042 is already taken by another branch's database")
    d3.issue("A")
    d3.stop()

    rc, out = env.run(["-n", "-f", _write(env, make_config() + "\n[uplink]\nbranch_id = B1\n")])
    check(rc != 0 and "conninfo" in out, "[uplink] without conninfo: %s" % out)
    rc, out = env.run(["-n", "-f", _write(env, make_config() +
                                         "\n[uplink]\nconninfo = host=x\nbranch_id = b/1\n")])
    check(rc != 0 and "branch_id" in out, "a branch id with a slash: %s" % out)


def _write(env, text):
    path = os.path.join(env.dir, "bad-%d.conf" % len(os.listdir(env.dir)))
    with open(path, "w") as f:
        f.write(text)
    return path


def test_hq_prune_waits_for_the_uplink(env):
    """`branchqd prune` removes no day the head office has not received yet."""
    p = pg.Postgres(env)
    p.load_schema()
    conninfo = p.add_branch("B050")
    db = os.path.join(env.dir, "b50.db")
    d = env.daemon(_config(db, "B050", conninfo), start=False, db=db)
    clock = Clock(d)
    old = datetime.datetime.combine(datetime.datetime.now(SHANGHAI).date() -
                                    datetime.timedelta(days=5), datetime.time(10, 0), SHANGHAI)
    clock.set(old.timestamp())
    p.stop()                                   # the head office is away that day
    d.start()
    for _ in range(5):
        d.issue("A")
    d.stop()
    argv = [env.daemon_path, "prune", "--keep", "2", "-f", d.conf, "--db", db]
    out = subprocess.run(argv, capture_output=True, text=True, env=env.child_env(), timeout=120)
    check(out.returncode != 0 and "has not received the events before" in out.stderr,
          "prune refuses while the head office lacks those days: %r" % out.stderr)
    check_eq(len(_events(db)), 5, "nothing was removed")
    p.start()
    d.extra_env.pop("LD_PRELOAD", None)
    d.start()
    sent = _caught_up(d, p, "B050")      # the five issued, and their expiry at the day's end
    d.stop()
    out = subprocess.run(argv, capture_output=True, text=True, env=env.child_env(), timeout=120)
    check(out.returncode == 0 and "prune ok" in out.stdout, "then it prunes: %r %r" % (
        out.stdout, out.stderr))
    check(len(_events(db)) < len(sent), "the old day is gone from the branch")
    check_eq(int(p.rows("SELECT count(*) FROM hq.events WHERE branch_id = 'B050'")[0][0]),
             len(sent), "the head office keeps the pruned day's events")
