"""
The report's by-teller table (docs/reports.md, "Tellers"): who finished each
leg and who paused each counter, as the event log's "by" records it.

The exact test uses test_reports.py's fixture day (its legs, by hand) with
events of its own, written straight into the database with exact times and
"by" fields, as queue.c writes them:

  leg  ticket  counter  called  finished     by        service
  2    A001    3        09:05   served 09:15 tina      600
  3    A002    1        09:10   served 09:20 fay       600
  4    A003    3        09:30   served 09:42 tina      720
  5    A004    4        09:31   no-show      tom
  8    B001    5        10:36   served 10:45 c5 pad    540  (a device's label)
  10   A006/B  5        10:25   served 10:35 (none)    600  (an event from before "by")
  1    A001 of the day before, served by tina (counts in the range only)

Pauses: counter 2 by tom the evening before (18:00), never resumed: the
whole day; counter 4 by tom 11:00, resumed by fay 11:30 (tom's, 1800 s);
counter 5 by "@SUM(1+1)" 12:00-12:01 (a name a spreadsheet would run);
counters 1 (fay), 3 (tina) and 4 (no "by") at 17:00 until close (04:00):
39600 s each.

The live test signs two tellers in at two counters and has them serve
through the API; the clock is the real one, so their service times are
whatever the tickets record, and the report must give exactly those.
"""
import csv
import datetime
import io
import json
import os
import sqlite3

from harness import check, check_eq
from test_auth import Session, _user
from test_reports import DAY, LEGS, at, fixture_config

FINISHES = [  # at, type, leg, counter, by (None: the event has no "by")
    (at(9, 9, day=1), "ticket.served", 1, 3, "tina"),
    (at(9, 15), "ticket.served", 2, 3, "tina"),
    (at(9, 20), "ticket.served", 3, 1, "fay"),
    (at(9, 42), "ticket.served", 4, 3, "tina"),
    (at(9, 33), "ticket.no_show", 5, 4, "tom"),
    (at(10, 45), "ticket.served", 8, 5, "c5 pad"),
    (at(10, 35), "ticket.served", 10, 5, None),
    (at(10, 10), "ticket.transferred", 7, 4, "tom"),      # a transfer is no one's finish
]

PAUSES = [  # at, type, counter, by
    (at(18, 0, day=1), "counter.paused", 2, "tom"),
    (at(11, 0), "counter.paused", 4, "tom"),
    (at(11, 30), "counter.resumed", 4, "fay"),
    (at(12, 0), "counter.paused", 5, "@SUM(1+1)"),
    (at(12, 1), "counter.resumed", 5, "@SUM(1+1)"),
    (at(17, 0), "counter.paused", 1, "fay"),
    (at(17, 0), "counter.paused", 3, "tina"),
    (at(17, 0), "counter.paused", 4, None),
]

ROW_KEYS = ("teller", "recorded", "served", "service_avg_s", "no_show", "pause_s")

# The day, by hand: rows by name (byte order), the one not recorded last.
EXPECT_DAY = [
    ("@SUM(1+1)", True, 0, None, 0, 60),
    ("c5 pad", True, 1, 540.0, 0, 0),
    ("fay", True, 1, 600.0, 0, 39600),
    ("tina", True, 2, 660.0, 0, 39600),
    ("tom", True, 0, None, 1, 86400 + 1800),
    (None, False, 1, 600.0, 0, 39600),
]


def tellers_daemon(env):
    d = env.daemon(fixture_config(), name="tellers")
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
        for t, typ, leg, counter, by in FINISHES:
            data = {"type": typ, "counter": counter}
            if by is not None:
                data["by"] = by
            db.execute("INSERT INTO events(at, type, ticket_id, counter, data) VALUES "
                       "(?, ?, ?, ?, ?)", (t, typ, leg, counter, json.dumps(data)))
        for t, typ, counter, by in PAUSES:
            data = {"type": typ, "counter": counter}
            if by is not None:
                data["by"] = by
            db.execute("INSERT INTO events(at, type, ticket_id, counter, data) VALUES "
                       "(?, ?, NULL, ?, ?)", (t, typ, counter, json.dumps(data)))
    db.close()
    return d.start()


def rows_of(rep):
    return [tuple(r[k] for k in ROW_KEYS) for r in rep["by_teller"]]


def csv_sections(text):
    sections = {}
    for block in text.split("\r\n\r\n")[1:]:
        rows = [r for r in csv.reader(io.StringIO(block)) if r]
        sections[rows[0][0]] = [dict(zip(rows[1], r)) for r in rows[2:]]
    return sections


def test_report_by_teller_fixture_exact(env):
    d = tellers_daemon(env)
    st, _, rep = d.get("/api/v1/reports/daily?date=" + DAY)
    check_eq(st, 200, "daily report")
    check_eq(rows_of(rep), EXPECT_DAY, "by_teller, by hand")
    # What the tellers did adds up to what the branch did.
    check_eq(sum(r["served"] for r in rep["by_teller"]), rep["totals"]["served"], "served add up")
    check_eq(sum(r["no_show"] for r in rep["by_teller"]), rep["totals"]["no_show"],
             "no-shows add up")
    check_eq(sum(r["pause_s"] for r in rep["by_teller"]),
             sum(c["pause_s"] for c in rep["by_counter"]), "pauses add up to the counters'")

    # The range: tina's leg of the day before, and tom's pause from 18:00 the evening before.
    st, _, rng = d.get("/api/v1/reports/range?from=2025-06-01&to=" + DAY)
    check_eq(st, 200, "range report")
    tellers = {r["teller"]: r for r in rng["by_teller"]}
    check_eq((tellers["tina"]["served"], tellers["tina"]["service_avg_s"]), (3, 600.0),
             "tina over the two days: 480, 600, 720")
    check_eq(tellers["tom"]["pause_s"], 10 * 3600 + 86400 + 1800, "tom's pauses over the range")

    # The CSV has the same rows, the one not recorded in words, and no formula.
    st, _, data = d.fetch("GET", "/api/v1/reports/daily?date=%s&format=csv" % DAY)
    check_eq(st, 200, "csv")
    text = data.decode("utf-8-sig")
    rows = csv_sections(text)["by_teller"]
    check_eq(len(rows), len(EXPECT_DAY), "a CSV row per teller")
    want_teller = ["'@SUM(1+1)", "c5 pad", "fay", "tina", "tom", "未记录 not recorded"]
    check_eq([r["teller"] for r in rows], want_teller, "CSV tellers")
    for r, (_, recorded, served, avg, no_show, pause) in zip(rows, EXPECT_DAY):
        check_eq((r["recorded"], int(r["served"]), r["service_avg_s"], int(r["no_show"]),
                  int(r["pause_s"])),
                 ("true" if recorded else "false", served, "" if avg is None else "%g" % avg,
                  no_show, pause), "CSV row of %s" % r["teller"])
    check('"\'@SUM(1+1)"' in text, "the formula-like name is quoted text after an apostrophe")

    # branchqd report prints the same table, in every format.
    conf = os.path.join(env.dir, "tellers.conf")
    rc, out = env.run(["report", "-f", conf, "--db", d.db, "--date", DAY])
    check_eq(rc, 0, "branchqd report: " + out[-300:])
    check_eq(rows_of(json.loads(out)), EXPECT_DAY, "the CLI's by_teller")
    rc, out = env.run(["report", "-f", conf, "--db", d.db, "--date", DAY, "--format", "csv"])
    check_eq(rc, 0, "branchqd report csv")
    check_eq(out.split("\n", 4)[4], data.decode("utf-8").split("\n", 4)[4], "CLI CSV = API CSV")
    rc, out = env.run(["report", "-f", conf, "--db", d.db, "--date", DAY, "--format", "html"])
    check_eq(rc, 0, "branchqd report html")
    check("按柜员 By teller" in out and "<td>tina</td>" in out and "未记录 not recorded" in out,
          "the HTML report has the by-teller table")
    check("<td>@SUM(1+1)</td>" in out, "the HTML shows the name as it is")


def _t(iso):
    return datetime.datetime.fromisoformat(iso).timestamp()


def test_report_by_teller_two_tellers_live(env):
    """Two tellers at two counters: their counts, and their service times as the tickets say."""
    d = env.daemon()
    _user(d, "tina", "teller")
    _user(d, "tom", "teller")
    tina, tom = Session(d, "tina", 1), Session(d, "tom", 3)
    check_eq((tina.status, tom.status), (201, 201), "both signed in")
    for _ in range(5):
        d.issue("A")

    def act(s, counter, action):
        st, _, j = s.request("POST", "/api/v1/counters/%d/%s" % (counter, action))
        check_eq(st, 200, "%s at %d: %r" % (action, counter, j))
        return j

    served = {"tina": [], "tom": []}
    for _ in range(2):
        tid = act(tina, 1, "call")["ticket"]["id"]
        act(tina, 1, "finish")
        served["tina"].append(tid)
    tid = act(tom, 3, "call")["ticket"]["id"]
    act(tom, 3, "start")
    act(tom, 3, "finish")
    served["tom"].append(tid)
    act(tom, 3, "call")
    act(tom, 3, "no-show")
    act(tom, 3, "pause")
    act(tom, 3, "resume")

    st, _, rep = d.get("/api/v1/reports/daily")
    check_eq(st, 200, "today so far")
    rows = {r["teller"]: r for r in rep["by_teller"]}
    check_eq(sorted(rows), ["tina", "tom"], "one row per teller, nobody else finished or paused")
    for name, ids in served.items():
        times = [d.ticket(i) for i in ids]
        secs = [_t(t["ended_at"]) - _t(t["called_at"]) for t in times]
        check_eq(rows[name]["served"], len(ids), "%s served" % name)
        check_eq(rows[name]["service_avg_s"], round(sum(secs) / len(secs), 1),
                 "%s's average service, call to finish, as the tickets record it" % name)
        check_eq(rows[name]["recorded"], True, "%s is recorded" % name)
    check_eq((rows["tina"]["no_show"], rows["tom"]["no_show"]), (0, 1), "no-shows")
    check_eq(rows["tina"]["pause_s"], 0, "tina never paused")
    db = sqlite3.connect(d.db)
    try:
        ats = [r[0] for r in db.execute("SELECT at FROM events WHERE counter = 3 AND type IN "
                                        "('counter.paused', 'counter.resumed') ORDER BY id")]
    finally:
        db.close()
    check_eq(len(ats), 2, "one pause and one resume logged")
    check_eq(rows["tom"]["pause_s"], ats[1] - ats[0], "tom's pause, as the log records it")

    st, _, data = d.fetch("GET", "/api/v1/reports/daily?format=csv")
    check_eq(st, 200, "csv")
    got = [(r["teller"], int(r["served"]), int(r["no_show"]), int(r["pause_s"]))
           for r in csv_sections(data.decode("utf-8-sig"))["by_teller"]]
    check_eq(got, [(r["teller"], r["served"], r["no_show"], r["pause_s"])
                   for r in rep["by_teller"]], "the CSV has the JSON's rows")

    # The lobby reads today's figures, but not who served how much: that is the head's.
    out = d.cli("token", "add", "--role", "lobby", "--name", "lobby pc")
    check_eq(out.returncode, 0, "token add: %s" % out.stderr)
    lobby = {"Authorization": "Bearer " + out.stdout.split()[-1]}
    st, _, rep = d.request("GET", "/api/v1/reports/daily", headers=lobby, auth=False)
    check_eq(st, 200, "the lobby's report")
    check("by_teller" not in rep and "by_counter" in rep, "no by_teller for the lobby")
    st, _, data = d.fetch("GET", "/api/v1/reports/daily?format=csv", headers=lobby, auth=False)
    check("by_teller" not in csv_sections(data.decode("utf-8-sig")), "nor in its CSV")
