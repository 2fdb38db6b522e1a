"""
The reports (docs/reports.md) against a fixture day whose every figure is
worked out by hand below.

The fixture is written straight into the database with exact timestamps,
for a business day long past (2025-06-02, Asia/Shanghai, day_reset 04:00):
the daemon's clock is the real one, so building the day through the API
would leave seconds to chance. The daemon creates the schema (a first
start), the test writes the legs and the counter pauses as queue.c would
have, and the daemon is started again on that database and asked for the
report, as JSON, CSV and through `branchqd report`.

The day (services A: overtime 20 min, target 5 %; B: 10 min, 10 %; V: 20
min, 5 %; counters as the demo: 1 A B green, 2 A B English, 3 A, 4 A, 5 B V):

  ticket  category  issued  leg(s)                                     wait    outcome
  A001    normal    09:00   called 09:05 c3, served 09:15              300     served
  A002    elderly   09:02   called 09:10 c1, served 09:20              480     served
  A003    normal    09:04   called 09:30 c3, recalled 09:31, served    1560 OT served
                            09:42
  A004    normal    09:10   called 09:31 c4, no-show 09:33            1260 OT no-show
  A005    foreign   09:20   cancelled 09:25                            -       cancelled
  A006    normal    10:00   A: called 10:05 c4, transferred 10:10;     1500 OT served (in B)
                            B: called 10:25 c5, served 10:35           (B: 10 min)
  B001    normal    10:30   called 10:36 c5, served 10:45              360     served
  A007    disabled  16:00   never called                               43200 OT waiting at close
  (A001 of 2025-06-01, the day before, must not count.)

Counter 2 was paused the evening before and all day; counter 4 paused
11:00-11:30; counters 1, 3 and 4 paused at 17:00 for the night.
"""
import csv
import datetime
import io
import json
import os
import sqlite3
import threading
import time

from harness import SHANGHAI, check, check_eq, check_error, make_config

DAY = "2025-06-02"


def at(h, m, s=0, day=2):
    return int(datetime.datetime(2025, 6, day, h, m, s, tzinfo=SHANGHAI).timestamp())


CLOSE = int(datetime.datetime(2025, 6, 3, 4, 0, tzinfo=SHANGHAI).timestamp())


def fixture_config():
    return make_config(branch={"day_reset": "04:00"},
                       services={"A": {"overtime": "20m", "target": "5%"},
                                 "B": {"overtime": "10m", "target": "10%"},
                                 "V": {"overtime": "20m", "target": "5%"}})


# id, origin, bday, number, service, category, status, issued, created, called, recalled,
# started, ended, counter, recalls, transferred_to
LEGS = [
    (1, 1, "2025-06-01", "A001", "A", "normal", "served", at(9, 0, day=1), at(9, 0, day=1),
     at(9, 1, day=1), None, at(9, 2, day=1), at(9, 9, day=1), 3, 0, None),
    (2, 2, DAY, "A001", "A", "normal", "served", at(9, 0), at(9, 0), at(9, 5), None,
     at(9, 6), at(9, 15), 3, 0, None),
    (3, 3, DAY, "A002", "A", "elderly", "served", at(9, 2), at(9, 2), at(9, 10), None,
     at(9, 11), at(9, 20), 1, 0, None),
    (4, 4, DAY, "A003", "A", "normal", "served", at(9, 4), at(9, 4), at(9, 30), at(9, 31),
     at(9, 32), at(9, 42), 3, 1, None),
    (5, 5, DAY, "A004", "A", "normal", "no_show", at(9, 10), at(9, 10), at(9, 31), None,
     None, at(9, 33), 4, 0, None),
    (6, 6, DAY, "A005", "A", "foreign", "cancelled", at(9, 20), at(9, 20), None, None,
     None, at(9, 25), None, 0, None),
    (7, 7, DAY, "A006", "A", "normal", "transferred", at(10, 0), at(10, 0), at(10, 5), None,
     at(10, 6), at(10, 10), 4, 0, 10),
    (8, 8, DAY, "B001", "B", "normal", "served", at(10, 30), at(10, 30), at(10, 36), None,
     at(10, 37), at(10, 45), 5, 0, None),
    (9, 9, DAY, "A007", "A", "disabled", "waiting", at(16, 0), at(16, 0), None, None,
     None, None, None, 0, None),
    (10, 7, DAY, "A006", "B", "normal", "served", at(10, 0), at(10, 10), at(10, 25), None,
     at(10, 26), at(10, 35), 5, 0, None),
]

PAUSES = [  # at, type, counter
    (at(18, 0, day=1), "counter.paused", 2),
    (at(11, 0), "counter.paused", 4),
    (at(11, 30), "counter.resumed", 4),
    (at(17, 0), "counter.paused", 1),
    (at(17, 0), "counter.paused", 3),
    (at(17, 0), "counter.paused", 4),
]


def fixture_daemon(env):
    """A daemon on a database holding the fixture day; stopped while the rows are written."""
    d = env.daemon(fixture_config(), name="reports")
    d.stop()
    db = sqlite3.connect(d.db)
    with db:
        for leg in LEGS:
            (tid, origin, bday, number, svc, cat, status, issued, created, called, recalled,
             started, ended, counter, recalls, to) = leg
            db.execute("INSERT INTO tickets(id, origin_id, bday, number, service, category, "
                       "lang, status, token, issued_at, created_at, called_at, recalled_at, "
                       "started_at, ended_at, counter, recalls, transferred_to) VALUES "
                       "(?, ?, ?, ?, ?, ?, 'zh', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (tid, origin, bday, number, svc, cat, status, "%032x" % tid, issued,
                        created, called, recalled, started, ended, counter, recalls, to))
        for t, typ, counter in PAUSES:
            db.execute("INSERT INTO events(at, type, ticket_id, counter, data) "
                       "VALUES (?, ?, NULL, ?, '{}')", (t, typ, counter))
    db.close()
    return d.start()


def figures(issued, called, served, no_show, cancelled, waiting, transferred, waits, overtime,
            overtime_waiting, target):
    """The figures a group must show, from its raw counts and its waits."""
    base = called + overtime_waiting
    w = sorted(waits)
    rank = lambda p: w[max(1, -(-p * len(w) // 100)) - 1]  # nearest rank: ceil(p n / 100)
    return {
        "issued": issued, "called": called, "served": served, "no_show": no_show,
        "cancelled": cancelled, "waiting_at_close": waiting, "transferred": transferred,
        "wait_avg_s": round(sum(w) / len(w), 1) if w else None,
        "wait_p50_s": rank(50) if w else None, "wait_p90_s": rank(90) if w else None,
        "wait_max_s": w[-1] if w else None,
        "overtime": overtime, "overtime_waiting": overtime_waiting, "overtime_base": base,
        "overtime_share": overtime / base if base else None,
        "target_share": target, "target_met": base == 0 or overtime <= target * base,
    }


def check_figures(actual, expected, what):
    for k, v in expected.items():
        got = actual.get(k, "(absent)")
        if isinstance(v, float) and isinstance(got, (int, float)):
            check(abs(got - v) < 5e-6, "%s.%s: expected %r, got %r" % (what, k, v, got))
        else:
            check_eq(got, v, "%s.%s" % (what, k))


def test_report_fixture_day_exact(env):
    d = fixture_daemon(env)
    st, hdrs, rep = d.get("/api/v1/reports/daily?date=" + DAY)
    check_eq(st, 200, "daily report status")
    check_eq(rep["date"], DAY, "date")
    check_eq(rep["so_far"], False, "a past day is complete")
    check_eq(rep["close_at"], "2025-06-03T04:00:00+08:00", "a past day closes at the next reset")

    # Waits 300 360 480 1260 1500 1560: average 910, p50 rank 3 = 480, p90 rank 6 = 1560.
    # Overtime: A003, A004, A006 (1500 > B's 600) and A007 still waiting: 4 of 6 + 1 = 7.
    totals = figures(8, 6, 5, 1, 1, 1, 1, [300, 480, 1560, 1260, 1500, 360], 4, 1, 0.05)
    check_eq(totals["wait_avg_s"], 910.0, "hand-computed average")
    check_eq((totals["wait_p50_s"], totals["wait_p90_s"]), (480, 1560), "hand-computed ranks")
    check_figures(rep["totals"], totals, "totals")
    check(abs(rep["totals"]["overtime_share"] - 4 / 7) < 1e-6, "share 4/7")
    check_eq(rep["totals"]["target_met"], False, "57 % is not within 5 %")

    # Waits in 5-minute bins: 300 360 480 | 1260 | 1500 1560.
    dist = rep["wait_distribution"]
    check_eq(dist["bin_s"], 300, "bin width")
    check_eq([b["count"] for b in dist["bins"]], [0, 3, 0, 0, 1, 2, 0, 0, 0, 0, 0, 0, 0], "bins")
    check_eq((dist["bins"][-1]["from_s"], dist["bins"][-1]["to_s"]), (3600, None), "last bin")

    by_service = {r["service"]: r for r in rep["by_service"]}
    check_eq(list(by_service), ["A", "B", "V"], "every configured service, in config order")
    # A: A001 A002 A003 A004 A005 A007; A006 counts in B, where its last leg was called.
    check_figures(by_service["A"], figures(6, 4, 3, 1, 1, 1, 0, [300, 480, 1560, 1260], 3, 1,
                                           0.05), "A")
    check_eq((by_service["A"]["wait_p50_s"], by_service["A"]["wait_p90_s"]), (480, 1560), "A ranks")
    check_figures(by_service["B"], figures(2, 2, 2, 0, 0, 0, 1, [1500, 360], 1, 0, 0.10), "B")
    check_eq(by_service["B"]["overtime_threshold_s"], 600, "B's threshold")
    check_figures(by_service["V"], figures(0, 0, 0, 0, 0, 0, 0, [], 0, 0, 0.05), "V")
    check_eq(by_service["V"]["target_met"], True, "nobody waited: met")

    cats = {r["category"]: r for r in rep["by_category"]}
    check_eq(list(cats), ["normal", "elderly", "disabled", "pregnant", "military", "foreign"],
             "categories")
    check_figures(cats["normal"], figures(5, 5, 4, 1, 0, 0, 1, [300, 1560, 1260, 1500, 360], 3,
                                          0, 0.05), "normal")
    check_eq(cats["normal"]["wait_p50_s"], 1260, "normal median, rank 3 of 5")
    check_figures(cats["elderly"], figures(1, 1, 1, 0, 0, 0, 0, [480], 0, 0, 0.05), "elderly")
    check_figures(cats["disabled"], figures(1, 0, 0, 0, 0, 1, 0, [], 1, 1, 0.05), "disabled")
    check_figures(cats["foreign"], figures(1, 0, 0, 0, 1, 0, 0, [], 0, 0, 0.05), "foreign")
    check_eq(cats["foreign"]["overtime_share"], None, "no base, no share")
    check_figures(rep["green_vs_normal"]["green"],
                  figures(3, 1, 1, 0, 1, 1, 0, [480], 1, 1, 0.05), "green")
    check_figures(rep["green_vs_normal"]["normal"],
                  {k: v for k, v in cats["normal"].items() if k not in ("category", "green")},
                  "normal side")

    # Hours by issue; calls in the hour of the measured call (A006's at 10:25, not 10:05).
    hours = {r["hour"]: r for r in rep["by_hour"]}
    check_eq([r["hour"] for r in rep["by_hour"]], [9, 10, 16], "active hours in day order")
    check_figures(hours[9], figures(5, 4, 3, 1, 1, 0, 0, [300, 480, 1560, 1260], 2, 0, 0.05), "9h")
    check_eq(hours[9]["calls"], 4, "calls 9-10")
    check_figures(hours[10], figures(2, 2, 2, 0, 0, 0, 1, [1500, 360], 1, 0, 0.05), "10h")
    check_eq(hours[10]["calls"], 2, "calls 10-11")
    check_figures(hours[16], figures(1, 0, 0, 0, 0, 1, 0, [], 1, 1, 0.05), "16h")
    check_eq(hours[16]["overtime_share"], 1.0, "16h share")

    # Idle while customers waited (see the module docstring for the legs):
    #  c1 (A B): waiting 09:00-09:31 but busy 09:10-09:20 -> 600 + 660; 10:00-10:05 300;
    #     10:10-10:25 (A006 in B) 900; 10:30-10:36 360; 16:00-17:00 3600 = 6420
    #  c3 (A): 09:00-09:05 300; 09:15-09:30 900; 10:00-10:05 300; 16:00-17:00 3600 = 5100
    #  c4 (A): 09:00-09:31 1860; 10:00-10:05 300; 16:00-17:00 3600 = 5760
    #  c5 (B V): 10:10-10:25 900; 10:35-10:36 60 = 960
    #  c2 paused the whole day: 0 idle, 86400 paused.
    counters = {r["counter"]: r for r in rep["by_counter"]}
    expect = {  # calls, served, service_avg_s, pause_s, idle_waiting_s
        1: (1, 1, 600.0, 11 * 3600, 6420),
        2: (0, 0, None, 86400, 0),
        3: (2, 2, 660.0, 11 * 3600, 5100),
        4: (2, 0, None, 1800 + 11 * 3600, 5760),
        5: (2, 2, 570.0, 0, 960),
    }
    for n, (calls, served, avg, pause, idle) in expect.items():
        c = counters[n]
        check_eq((c["calls"], c["served"], c["service_avg_s"], c["pause_s"], c["idle_waiting_s"]),
                 (calls, served, avg, pause, idle), "counter %d" % n)

    longest = [(r["number"], r["wait_s"], r["overtime"], r["outcome"]) for r in rep["longest_waits"]]
    check_eq(longest, [("A007", 43200, True, "waiting"), ("A003", 1560, True, "served"),
                       ("A006", 1500, True, "served"), ("A004", 1260, True, "no_show"),
                       ("A002", 480, False, "served"), ("B001", 360, False, "served"),
                       ("A001", 300, False, "served")], "longest waits")
    check_eq(rep["longest_waits"][2]["service"], "B", "A006 listed in its last service")
    check_eq(rep["longest_waits"][0]["called_at"], None, "a waiting ticket has no call")

    # The range of two days has a line per day and the totals of both.
    st, _, rng = d.get("/api/v1/reports/range?from=2025-06-01&to=" + DAY)
    check_eq(st, 200, "range status")
    check_eq((rng["from"], rng["to"]), ("2025-06-01", DAY), "range bounds")
    check_eq([r["date"] for r in rng["by_day"]], ["2025-06-01", DAY], "by_day")
    check_eq(rng["totals"]["issued"], 9, "range issued")
    check_eq(rng["by_day"][0]["wait_max_s"], 60, "the day before: one wait of a minute")
    check_eq({r["counter"]: r["pause_s"] for r in rng["by_counter"]}[2], 10 * 3600 + 86400,
             "counter 2 paused 18:00 the day before until the end of the range")


def test_report_csv_and_cli_match_json(env):
    d = fixture_daemon(env)
    _, _, rep = d.get("/api/v1/reports/daily?date=" + DAY)
    st, hdrs, data = d.fetch("GET", "/api/v1/reports/daily?date=%s&format=csv" % DAY)
    check_eq(st, 200, "csv status")
    check_eq(hdrs.get("content-type"), "text/csv; charset=utf-8", "csv type")
    check_eq(hdrs.get("content-disposition"),
             'attachment; filename="branchq-report-%s.csv"' % DAY, "csv attachment name")
    check(data.startswith(b"\xef\xbb\xbf"), "the CSV starts with a UTF-8 BOM")
    text = data.decode("utf-8-sig")
    check("个人业务" in text, "Chinese service names in the CSV")
    # Sections are separated by an empty line: title row, header row, rows.
    sections = {}
    for block in text.split("\r\n\r\n")[1:]:
        rows = list(csv.reader(io.StringIO(block)))
        rows = [r for r in rows if r]
        sections[rows[0][0]] = [dict(zip(rows[1], r)) for r in rows[2:]]
    tot = sections["totals"][0]
    for k in ("issued", "called", "served", "no_show", "cancelled", "waiting_at_close",
              "wait_p50_s", "wait_p90_s", "wait_max_s", "overtime", "overtime_base"):
        check_eq(int(tot[k]), rep["totals"][k], "csv totals " + k)
    check_eq(float(tot["wait_avg_s"]), rep["totals"]["wait_avg_s"], "csv average")
    check(abs(float(tot["overtime_share"]) - rep["totals"]["overtime_share"]) < 1e-6, "csv share")
    check_eq(tot["target_met"], "false", "csv target_met")
    check_eq([r["service"] for r in sections["by_service"]], ["A", "B", "V"], "csv services")
    check_eq(sections["by_service"][2]["overtime_share"], "", "null is an empty cell")
    check_eq([int(r["idle_waiting_s"]) for r in sections["by_counter"]], [6420, 0, 5100, 5760, 960],
             "csv idle")
    check_eq([r["number"] for r in sections["longest_waits"]][:2], ["A007", "A003"], "csv longest")
    check_eq([r["hour"] for r in sections["by_hour"]], ["9", "10", "16"], "csv hours")

    # The command line reads the same database (beside the running daemon) and prints the same.
    conf = os.path.join(env.dir, "reports.conf")
    rc, out = env.run(["report", "-f", conf, "--db", d.db, "--date", DAY])
    check_eq(rc, 0, "branchqd report exit status: " + out)
    cli = json.loads(out)
    for j in (cli, rep):
        j.pop("generated_at")
    check_eq(cli, rep, "the CLI's JSON is the API's")
    rc, out = env.run(["report", "-f", conf, "--db", d.db, "--date", DAY, "--format", "csv"])
    check_eq(rc, 0, "CLI csv")
    check_eq(out.split("\n", 4)[4], data.decode("utf-8").split("\n", 4)[4], "CLI CSV = API CSV")
    rc, out = env.run(["report", "-f", conf, "--db", d.db, "--date", DAY, "--format", "html"])
    check_eq(rc, 0, "CLI html")
    check(out.startswith("<!DOCTYPE html>") and "A007" in out and "未达标" in out,
          "the HTML report lists the longest wait and says the target was missed")
    rc, out = env.run(["report", "-f", conf, "--db", d.db, "--date", "2025-02-30"])
    check_eq(rc, 2, "CLI bad date: " + out)
    d.stop()
    rc, out = env.run(["report", "-f", conf, "--db", d.db, "--date", DAY])
    check_eq(rc, 0, "the CLI works with no daemon running: " + out)
    cli = json.loads(out)
    cli.pop("generated_at")
    check_eq(cli, rep, "same JSON without the daemon")
    # A year is for the command line (over HTTP a range stops at 92 days): 366 days, not 367.
    rc, out = env.run(["report", "-f", conf, "--db", d.db, "--from", "2024-06-02", "--to", DAY])
    check_eq(rc, 0, "CLI 366-day range: " + out[:300])
    year = json.loads(out)
    check_eq((year["from"], year["to"]), ("2024-06-02", DAY), "the year's bounds")
    check(year["totals"]["issued"] >= rep["totals"]["issued"], "the year holds the day")
    rc, out = env.run(["report", "-f", conf, "--db", d.db, "--from", "2024-06-01", "--to", DAY])
    check_eq(rc, 2, "CLI 367-day range refused: " + out[:300])


def test_report_today_so_far_and_bad_input(env):
    d = env.daemon()
    t = d.issue("A")
    d.call(3)
    d.issue("A", category="elderly")
    st, _, rep = d.get("/api/v1/reports/daily")
    check_eq(st, 200, "today so far")
    check_eq(rep["so_far"], True, "today is so far")
    check_eq((rep["totals"]["issued"], rep["totals"]["called"], rep["totals"]["waiting_at_close"]),
             (2, 1, 1), "today's counts")
    check_eq(rep["totals"]["overtime_share"], 0.0, "nobody over the threshold yet")
    check_eq((rep["totals"]["target_share"], rep["totals"]["target_met"]), (0.05, True),
             "the lobby's fields")
    check_eq(rep["longest_waits"][0]["number"] in (t["number"], "A002"), True, "listed")
    bad = [
        ("/api/v1/reports/daily?date=2025-13-01", "month 13"),
        ("/api/v1/reports/daily?date=2025-02-29", "no such day"),
        ("/api/v1/reports/daily?date=20250601", "no dashes"),
        ("/api/v1/reports/daily?date=", "empty date"),
        ("/api/v1/reports/daily?date=2999-01-01", "a day not begun"),
        ("/api/v1/reports/daily?format=xml", "unknown format"),
        ("/api/v1/reports/range?from=2025-06-02&to=2025-06-01", "from after to"),
        ("/api/v1/reports/range?from=2024-01-01&to=2024-04-02", "93 days over HTTP"),
        ("/api/v1/reports/range?from=2025-06-01", "no to"),
        ("/api/v1/reports/range?to=2025-06-01", "no from"),
    ]
    for path, what in bad:
        check_error(d.get(path), 400, "invalid_query", what)
    check_eq(d.get("/api/v1/reports/range?from=2024-01-01&to=2024-03-31")[0], 200,
             "a quarter (91 days in a leap year) is allowed over HTTP")
    check_error(d.post("/api/v1/reports/daily"), 405, "method_not_allowed", "POST a report")
    check_error(d.get("/api/v1/reports/weekly"), 404, "not_found", "unknown report")


def _history(db_path, days, per_day, last_day):
    """days business days of per_day served tickets each, ending last_day, written straight in."""
    rows = []
    tid = 0
    for k in range(days):
        day = last_day - datetime.timedelta(days=days - 1 - k)
        t0 = int(datetime.datetime(day.year, day.month, day.day, 9, 0, tzinfo=SHANGHAI).timestamp())
        for i in range(per_day):
            tid += 1
            svc = "AB"[i % 2]
            issued = t0 + i * 25
            called = issued + 60 + (i * 37) % 1500
            rows.append((tid, tid, day.isoformat(), "%s%03d" % (svc, i // 2 + 1), svc, "normal",
                         "served", "%032x" % tid, issued, issued, called, called + 10,
                         called + 300, 1 + i % 5))
    db = sqlite3.connect(db_path)
    with db:
        db.executemany("INSERT INTO tickets(id, origin_id, bday, number, service, category, "
                       "lang, status, token, issued_at, created_at, called_at, started_at, "
                       "ended_at, counter) VALUES (?, ?, ?, ?, ?, ?, 'zh', ?, ?, ?, ?, ?, ?, ?, ?)",
                       rows)
    db.close()
    return len(rows)


def test_long_report_does_not_hold_calls(env):
    """
    A 92-day report is built off the loop: a call sent just after it is
    answered first, and /healthz keeps answering quickly while it is built.
    """
    d = env.daemon()
    d.stop()
    last = (datetime.datetime.now(SHANGHAI) - datetime.timedelta(days=2)).date()
    first = last - datetime.timedelta(days=91)
    n = _history(d.db, 92, 2000, last)
    d.start()
    t = d.issue("A")
    path = "/api/v1/reports/range?from=%s&to=%s" % (first, last)
    done = {}

    def report():
        t0 = time.monotonic()
        done["resp"] = d.get(path)
        done["took"] = time.monotonic() - t0
        done["at"] = time.monotonic()

    th = threading.Thread(target=report, daemon=True)
    th.start()
    st, _, j = d.post("/api/v1/counters/3/call")
    call_at = time.monotonic()
    check_eq(st, 200, "the call (%r)" % (j,))
    check_eq(j["ticket"]["id"], t["id"], "the call takes today's ticket")
    slowest = 0.0
    polls = 0
    while th.is_alive() and polls < 10000:
        t0 = time.monotonic()
        check_eq(d.get("/healthz")[0], 200, "healthz while the report is built")
        slowest = max(slowest, time.monotonic() - t0)
        polls += 1
    th.join(60)
    check("resp" in done, "the report was answered")
    st, _, rep = done["resp"]
    check_eq(st, 200, "the 92-day report (%r)" % (rep if st != 200 else None,))
    check_eq(len(rep["by_day"]), 92, "a line per day")
    check_eq(rep["totals"]["issued"], n, "every ticket of the history counts")
    print("  92-day report of %d tickets: %.2f s; the call after it answered %.0f ms into it; "
          "%d healthz meanwhile, the slowest %.0f ms"
          % (n, done["took"], (call_at - (done["at"] - done["took"])) * 1000, polls,
             slowest * 1000))
    check(done["took"] > 0.2, "the report took %.2f s: too short to tell whether it holds the "
          "loop; make the history longer" % done["took"])
    check(call_at < done["at"], "the call was answered before the report")
    check(slowest < done["took"] / 3, "healthz took up to %.0f ms while the report took %.0f ms"
          % (slowest * 1000, done["took"] * 1000))


def test_report_today_follows_each_change_at_once(env):
    """Today so far, asked right after each change (within the same second), holds it."""
    d = env.daemon()
    for i in range(1, 6):
        d.issue("A")
        st, _, rep = d.get("/api/v1/reports/daily")
        check_eq(st, 200, "today so far")
        check_eq(rep["totals"]["issued"], i, "issued after the issue of ticket %d" % i)
    d.call(3)
    check_eq(d.get("/api/v1/reports/daily")[2]["totals"]["called"], 1, "called, right after the call")
