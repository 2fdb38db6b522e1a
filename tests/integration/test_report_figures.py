"""
The report figures of docs/reports.md's "Wait bands", "Satisfaction" and
"Missed and abandoned", against a fixture day worked out by hand.

The day is test_reports.py's (its legs) with test_report_tellers.py's finish
and pause events, and these besides, written straight into the database as
queue.c writes them (the rating, acknowledgement and reinstatement events
in the shape of the issue's contract):

  leg  ticket         counter  issued called  end            by      wait
  11   A008 normal    3        11:00  11:10   no-show 11:12  tina
  12   A008 (again)   3        (reinstated 11:15) 11:20  served 11:30 tina  1200 (exactly 20 min)
  13   V001 normal    5        12:00  12:02   served 12:10   c5 pad   120
  14   B002 military  5        13:00  13:40   served 13:52   c5 pad  2400
  15   A009 normal    4        14:00  14:05   no-show 14:07  tom
  16   A009 (again)   -        (reinstated 14:10) never called: waiting at close

Ratings of the served legs (p: rating.prompted, r: ticket.rated):
  leg 2  A001 c3 tina    p 09:15, r very_satisfied 09:15:10
  leg 3  A002 c1 fay     no prompt, r satisfied 09:40 from the phone
  leg 4  A003 c3 tina    p 09:42, no rating                    -> not rated
  leg 8  B001 c5 c5 pad  p 10:45, r neutral 10:45:08
  leg 10 A006 c5 (none)  p 10:35 (no counter in the event), no rating -> not rated
  leg 12 A008 c3 tina    p 11:30, r dissatisfied 11:30:20
  leg 13 V001 c5 c5 pad  nothing                               -> prompt not shown
  leg 14 B002 c5 c5 pad  p 13:52, r satisfied 13:52:05, and a second
                         ticket.rated very_satisfied 13:52:30 (only the first counts)
  a ticket.rated for leg 5 (a no-show): not a served leg, not counted.

Help calls: 09:50 acknowledged 09:51:30 (90 s; again at 09:58, which does
not count), 15:00 acknowledged 15:04 (240 s), 16:30 never; the day before
(the range only), 10:00 acknowledged 10:01 and 03:59 (still that business
day) acknowledged at 04:01, after that day's close. The
dissatisfied rating's alert is acknowledged at 11:31:20: not a help call.
"""
import csv
import io
import json
import os
import sqlite3

from harness import check, check_eq
from test_report_tellers import FINISHES, PAUSES
from test_reports import DAY, LEGS, at, fixture_config

# id, origin, bday, number, service, category, status, issued, created, called, recalled,
# started, ended, counter, recalls, transferred_to (a reinstated no-show points to its new leg,
# and stays no_show)
MORE_LEGS = [
    (11, 11, DAY, "A008", "A", "normal", "no_show", at(11, 0), at(11, 0), at(11, 10), None,
     None, at(11, 12), 3, 0, 12),
    (12, 11, DAY, "A008", "A", "normal", "served", at(11, 0), at(11, 15), at(11, 20), None,
     at(11, 21), at(11, 30), 3, 0, None),
    (13, 13, DAY, "V001", "V", "normal", "served", at(12, 0), at(12, 0), at(12, 2), None,
     at(12, 3), at(12, 10), 5, 0, None),
    (14, 14, DAY, "B002", "B", "military", "served", at(13, 0), at(13, 0), at(13, 40), None,
     at(13, 41), at(13, 52), 5, 0, None),
    (15, 15, DAY, "A009", "A", "normal", "no_show", at(14, 0), at(14, 0), at(14, 5), None,
     None, at(14, 7), 4, 0, 16),
    (16, 15, DAY, "A009", "A", "normal", "waiting", at(14, 0), at(14, 10), None, None,
     None, None, None, 0, None),
]

MORE_FINISHES = [  # at, type, leg, counter, by
    (at(11, 12), "ticket.no_show", 11, 3, "tina"),
    (at(11, 30), "ticket.served", 12, 3, "tina"),
    (at(12, 10), "ticket.served", 13, 5, "c5 pad"),
    (at(13, 52), "ticket.served", 14, 5, "c5 pad"),
    (at(14, 7), "ticket.no_show", 15, 4, "tom"),
]

REINSTATED = [  # at, new leg, from leg, counter column, by
    (at(11, 15), 12, 11, 3, "tina"),
    (at(14, 10), 16, 15, None, "lobby1"),
]

# at, type, leg, counter column (None: NULL), fields. Phone ratings have no "by".
RATINGS = [
    (at(9, 15), "rating.prompted", 2, 3, {"by": "tina"}),
    (at(9, 15, 10), "ticket.rated", 2, 3, {"key": "very_satisfied", "source": "counter",
                                           "teller": "tina", "by": "c3 keypad"}),
    (at(9, 40), "ticket.rated", 3, 1, {"key": "satisfied", "source": "phone",
                                          "teller": "fay"}),
    (at(9, 42), "rating.prompted", 4, 3, {"by": "tina"}),
    (at(10, 45), "rating.prompted", 8, 5, {"by": "c5 pad"}),
    (at(10, 45, 8), "ticket.rated", 8, 5, {"key": "neutral", "source": "counter",
                                           "teller": "c5 pad", "by": "c5 keypad"}),
    (at(10, 35), "rating.prompted", 10, None, {}),     # an event without a counter
    (at(11, 30), "rating.prompted", 12, 3, {"by": "tina"}),
    (at(11, 30, 20), "ticket.rated", 12, 3, {"key": "dissatisfied", "source": "counter",
                                             "teller": "tina", "by": "c3 keypad"}),
    (at(13, 52), "rating.prompted", 14, 5, {"by": "c5 pad"}),
    (at(13, 52, 5), "ticket.rated", 14, 5, {"key": "satisfied", "source": "counter",
                                            "teller": "c5 pad", "by": "c5 keypad"}),
    (at(13, 52, 30), "ticket.rated", 14, 5, {"key": "very_satisfied", "source": "counter",
                                             "teller": "c5 pad", "by": "c5 keypad"}),
    (at(9, 34), "ticket.rated", 5, 4, {"key": "dissatisfied", "source": "counter",
                                       "teller": "tom", "by": "c4 keypad"}),
]

HELPS = [  # at of help.called, the ats of its alert.acknowledged events
    (at(9, 50), [at(9, 51, 30), at(9, 58)]),          # only the first counts
    (at(15, 0), [at(15, 4)]),
    (at(16, 30), []),
    (at(10, 0, day=1), [at(10, 1, day=1)]),
    (at(3, 59, day=2), [at(4, 1, day=2)]),            # the day before's, after its close
]


def _insert_leg(db, leg):
    (tid, origin, bday, number, svc, cat, status, issued, created, called, recalled,
     started, ended, counter, recalls, to) = leg
    db.execute("INSERT INTO tickets(id, origin_id, bday, number, service, category, "
               "lang, status, token, issued_at, created_at, called_at, recalled_at, "
               "started_at, ended_at, counter, recalls, transferred_to) VALUES "
               "(?, ?, ?, ?, ?, ?, 'zh', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
               (tid, origin, bday, number, svc, cat, status, "%032x" % tid, issued,
                created, called, recalled, started, ended, counter, recalls, to))


def _iso(t):
    import datetime
    from harness import SHANGHAI
    return datetime.datetime.fromtimestamp(t, SHANGHAI).isoformat()


def _event(db, t, typ, leg, counter, fields):
    """One event as queue.c's event_text writes it: type, at, ticket, counter, extra, by."""
    data = {"type": typ, "at": _iso(t)}
    if leg is not None:
        number = {l[0]: l[3] for l in LEGS + MORE_LEGS}[leg]
        data["ticket"] = {"id": leg, "number": number}
    data["counter"] = counter
    data.update(fields)
    cur = db.execute("INSERT INTO events(at, type, ticket_id, counter, data) VALUES "
                     "(?, ?, ?, ?, ?)", (t, typ, leg, counter, json.dumps(data)))
    return cur.lastrowid


def figures_daemon(env):
    d = env.daemon(fixture_config(), name="figures")
    d.stop()
    db = sqlite3.connect(d.db)
    with db:
        for leg in LEGS + MORE_LEGS:
            _insert_leg(db, leg)
        for t, typ, leg, counter, by in FINISHES + MORE_FINISHES:
            _event(db, t, typ, leg, counter, {} if by is None else {"by": by})
        for t, typ, counter, by in PAUSES:
            _event(db, t, typ, None, counter, {} if by is None else {"by": by})
        for t, leg, old, counter, by in REINSTATED:
            _event(db, t, "ticket.reinstated", leg, counter, {"from": old, "places": 3, "by": by})
        rated_ids = {}
        for t, typ, leg, counter, fields in RATINGS:
            if typ == "rating.prompted":
                fields = dict(fields, until=_iso(t + 30))
            rated_ids.setdefault((typ, leg), _event(db, t, typ, leg, counter, fields))
        for t, acks in HELPS:
            hid = _event(db, t, "help.called", None, None, {"from": "door kiosk",
                                                            "by": "door kiosk"})
            for acked in acks:
                _event(db, acked, "alert.acknowledged", None, None,
                       {"of": hid, "kind": "help", "after_s": acked - t, "by": "lobby1"})
        _event(db, at(11, 31, 20), "alert.acknowledged", None, 3,
               {"of": rated_ids[("ticket.rated", 12)], "kind": "dissatisfied", "after_s": 60,
                "by": "lobby1"})
    db.close()
    return d.start()


KEYS = ("very_satisfied", "satisfied", "neutral", "dissatisfied")


def sat(served, vs, s, n, dis, not_rated, not_shown):
    """The satisfaction fields from counts by hand; the shares follow from them."""
    rated = vs + s + n + dis
    check_eq(rated + not_rated + not_shown, served, "the fixture's own sums")
    return {"rated": rated, "ratings": dict(zip(KEYS, (vs, s, n, dis))),
            "not_rated": not_rated, "prompt_not_shown": not_shown,
            "satisfied_share": (vs + s) / rated if rated else None,
            "rated_share": rated / served if served else None}


def check_close(actual, expected, what):
    for k, v in expected.items():
        got = actual.get(k, "(absent)")
        if isinstance(v, float) and isinstance(got, (int, float)):
            check(abs(got - v) < 5e-6, "%s.%s: expected %r, got %r" % (what, k, v, got))
        else:
            check_eq(got, v, "%s.%s" % (what, k))


BAND_NAMES = ["le_3m", "3_5m", "5_10m", "10_15m", "15_20m", "20_30m", "gt_30m"]


def check_bands(row, counts, what):
    bands = row["wait_bands"]
    check_eq([b["band"] for b in bands], BAND_NAMES, what + " band names")
    check_eq([(b["from_s"], b["to_s"]) for b in bands],
             [(0, 180), (180, 300), (300, 600), (600, 900), (900, 1200), (1200, 1800),
              (1800, None)], what + " band edges")
    check_eq([b["count"] for b in bands], counts, what + " band counts")
    called = sum(counts)
    check_eq(row["called"], called, what + ": the bands hold every called ticket")
    for b, c in zip(bands, counts):
        if called == 0:
            check_eq(b["share"], None, what + " share with nobody called")
        else:
            check(abs(b["share"] - c / called) < 5e-6,
                  "%s %s share: expected %d/%d, got %r" % (what, b["band"], c, called, b["share"]))


def csv_sections(text):
    sections = {}
    for block in text.split("\r\n\r\n")[1:]:
        rows = [r for r in csv.reader(io.StringIO(block)) if r]
        sections[rows[0][0]] = [dict(zip(rows[1], r)) for r in rows[2:]]
    return sections


def test_report_figures_fixture_exact(env):
    d = figures_daemon(env)
    st, _, rep = d.get("/api/v1/reports/daily?date=" + DAY)
    check_eq(st, 200, "daily report")

    # Wait bands: (from, to], the first [0, 180]. The called tickets' waits (last leg):
    #  A001 300  A002 480  A003 1560  A004 1260  A006 1500 (in B)  B001 360
    #  A008 1200 (its new leg: 11:20 - 11:00)  V001 120  B002 2400
    #  <=3: 120 | 3-5: 300 (exactly 5 min is 3-5) | 5-10: 360 480 | 10-15: - |
    #  15-20: 1200 (exactly 20 min) | 20-30: 1260 1500 1560 | >30: 2400      -> 9 called
    check_bands(rep["totals"], [1, 1, 2, 0, 1, 3, 1], "totals")
    svc = {r["service"]: r for r in rep["by_service"]}
    # A: A001 300, A002 480, A008 1200, A003 1560, A004 1260 (A009 waits: no band)
    check_bands(svc["A"], [0, 1, 1, 0, 1, 2, 0], "A")
    # A's overtime among the called (> 1200 s) is exactly its bands above 20 min: 2.
    check_eq(svc["A"]["overtime"] - svc["A"]["overtime_waiting"], 2, "A's called overtime")
    # B: B001 360, A006 1500, B002 2400.  V: V001 120.
    check_bands(svc["B"], [0, 0, 1, 0, 0, 1, 1], "B")
    check_bands(svc["V"], [1, 0, 0, 0, 0, 0, 0], "V")
    cats = {r["category"]: r for r in rep["by_category"]}
    # normal: 120 300 360 1200 1260 1500 1560; elderly: A002 480; military: B002 2400.
    check_bands(cats["normal"], [1, 1, 1, 0, 1, 3, 0], "normal")
    check_bands(cats["elderly"], [0, 0, 1, 0, 0, 0, 0], "elderly")
    check_bands(cats["military"], [0, 0, 0, 0, 0, 0, 1], "military")
    check_bands(cats["disabled"], [0] * 7, "disabled (A007 only waits)")

    # By teller (finishes by "by"; service = finish - call):
    #  tina: legs 2 (600), 4 (720), 12 (600): avg 1920/3 = 640.0, median rank 2 of
    #        600 600 720 = 600; no-show leg 11
    #  c5 pad: legs 8 (540), 13 (480), 14 (720): avg 1740/3 = 580.0, median 540
    #  fay: leg 3 (600); tom: no-shows legs 5 and 15; (none): leg 10 (600)
    tellers = {r["teller"]: r for r in rep["by_teller"]}
    got = {k: (r["served"], r["service_avg_s"], r["service_p50_s"], r["no_show"], r["pause_s"])
           for k, r in tellers.items()}
    check_eq(got, {
        "@SUM(1+1)": (0, None, None, 0, 60),
        "c5 pad": (3, 580.0, 540, 0, 0),
        "fay": (1, 600.0, 600, 0, 39600),
        "tina": (3, 640.0, 600, 1, 39600),
        "tom": (0, None, None, 2, 86400 + 1800),
        None: (1, 600.0, 600, 0, 39600),
    }, "by_teller: served, average, median, no-shows, pauses")
    # The tellers' no-shows are the legs marked: the tickets that ended no-show (A004)
    # and the no-shows put back in line (A008, A009): 1 + 2 = 3.
    check_eq(sum(r["no_show"] for r in rep["by_teller"]),
             rep["totals"]["no_show"] + rep["missed"]["reinstated"], "no-shows add up")
    check_eq(sum(r["served"] for r in rep["by_teller"]), rep["totals"]["served"], "served add up")

    # Satisfaction by teller: served = rated + not rated + prompt not shown.
    #  tina: 2 very_satisfied, 12 dissatisfied; 4 prompted only -> 2 of 3 rated,
    #        satisfied share 1/2, rated share 2/3
    #  c5 pad: 8 neutral, 14 satisfied (its second rating ignored); 13 nothing
    #        -> satisfied 1/2, rated 2/3
    #  fay: 3 satisfied on the phone without a prompt -> 1/1, 1/1
    #  (none): 10 prompted, not rated -> satisfied null, rated 0/1
    want = {"tina": sat(3, 1, 0, 0, 1, 1, 0), "c5 pad": sat(3, 0, 1, 1, 0, 0, 1),
            "fay": sat(1, 0, 1, 0, 0, 0, 0), None: sat(1, 0, 0, 0, 0, 1, 0),
            "tom": sat(0, 0, 0, 0, 0, 0, 0), "@SUM(1+1)": sat(0, 0, 0, 0, 0, 0, 0)}
    for name, w in want.items():
        check_close(tellers[name], w, "teller %s" % name)
    check_eq((tellers["tina"]["satisfied_share"], tellers["c5 pad"]["rated_share"],
              tellers[None]["rated_share"]), (0.5, round(2 / 3, 6), 0.0),
             "shares, by hand (to six digits, as the JSON)")

    # By counter: c1 leg 3; c3 legs 2 4 12 (as tina); c5 legs 8 10 13 14:
    #  2 rated (neutral, satisfied), 10 not rated, 13 prompt not shown: 1/2 satisfied, 2/4 rated.
    counters = {r["counter"]: r for r in rep["by_counter"]}
    for n, w in {1: sat(1, 0, 1, 0, 0, 0, 0), 2: sat(0, 0, 0, 0, 0, 0, 0),
                 3: sat(3, 1, 0, 0, 1, 1, 0), 4: sat(0, 0, 0, 0, 0, 0, 0),
                 5: sat(4, 0, 1, 1, 0, 1, 1)}.items():
        check_eq(counters[n]["served"], w["rated"] + w["not_rated"] + w["prompt_not_shown"],
                 "counter %d served" % n)
        check_close(counters[n], w, "counter %d" % n)
    check_eq(counters[5]["rated_share"], 0.5, "counter 5: 2 of 4 rated")

    # The whole day: 8 served legs; 5 rated (1 very satisfied, 2 satisfied, 1 neutral,
    # 1 dissatisfied): satisfied 3/5 = 0.6, rated 5/8 = 0.625; 2 not rated; 1 not shown.
    check_close(rep["satisfaction"], dict(sat(8, 1, 2, 1, 1, 2, 1), served=8), "satisfaction")
    check_eq((rep["satisfaction"]["satisfied_share"], rep["satisfaction"]["rated_share"]),
             (0.6, 0.625), "the day's shares")

    # Missed and abandoned. Tickets: the 8 of test_reports + A008 V001 B002 A009 = 12;
    # called 9 (the bands); no-show at close: A004 -> 1/9; cancelled: A005 -> 1/12;
    # reinstated A008 (called again 11:20, 300 s after 11:15) and A009 (not called again).
    # Help: 3 calls; 2 acknowledged after 90 and 240 s: avg 165.0, max 240.
    check_close(rep["missed"], {
        "called": 9, "no_show": 1, "no_show_rate": 1 / 9, "issued": 12, "cancelled": 1,
        "cancelled_rate": 1 / 12, "reinstated": 2, "reinstated_called": 1,
        "reinstated_wait_avg_s": 300.0, "reinstated_wait_max_s": 300,
        "help_calls": 3, "help_acknowledged": 2, "help_ack_avg_s": 165.0,
        "help_ack_max_s": 240}, "missed")
    t = rep["totals"]
    check_eq((t["issued"], t["called"], t["no_show"], t["cancelled"], t["waiting_at_close"]),
             (12, 9, 1, 1, 2), "the totals agree: A009 waits at close in its new leg")
    check_eq(t["issued"], t["called"] + t["cancelled"] + t["waiting_at_close"], "issued adds up")
    longest = {r["number"]: r for r in rep["longest_waits"]}
    check_eq((longest["A008"]["wait_s"], longest["A008"]["outcome"], longest["A008"]["overtime"]),
             (1200, "served", False), "A008: its last leg's call, exactly the threshold")
    check_eq(longest["A009"]["outcome"], "waiting", "A009 waits in its new leg")

    # The range adds the day before: tina's leg 1 (480 s) makes 480 600 600 720, median 600;
    # its two help calls make 5, one acknowledged by its close (60 s): 3.
    st, _, rng = d.get("/api/v1/reports/range?from=2025-06-01&to=" + DAY)
    check_eq(st, 200, "range")
    rt = {r["teller"]: r for r in rng["by_teller"]}
    check_eq((rt["tina"]["served"], rt["tina"]["service_avg_s"], rt["tina"]["service_p50_s"]),
             (4, 600.0, 600), "tina over the range")
    check_eq((rng["missed"]["help_calls"], rng["missed"]["help_acknowledged"],
              rng["missed"]["help_ack_max_s"]), (5, 3, 240), "help calls over the range")
    check_eq([b["count"] for b in rng["totals"]["wait_bands"]], [2, 1, 2, 0, 1, 3, 1],
             "the day before's wait of 60 s joins <= 3 min")

    # CSV: the same figures, flat.
    st, _, data = d.fetch("GET", "/api/v1/reports/daily?date=%s&format=csv" % DAY)
    check_eq(st, 200, "csv")
    sec = csv_sections(data.decode("utf-8-sig"))
    bands = {(r["scope"], r["key"]): r for r in sec["wait_bands"]}
    check_eq(list(bands)[:4], [("totals", ""), ("service", "A"), ("service", "B"),
                               ("service", "V")], "wait_bands rows")
    check_eq([int(bands[("totals", "")][b]) for b in BAND_NAMES], [1, 1, 2, 0, 1, 3, 1],
             "CSV total bands")
    check_eq(bands[("service", "B")]["gt_30m_share"], "%.6g" % (1 / 3), "CSV B's share over 30 min")
    check_eq(bands[("category", "disabled")]["le_3m_share"], "", "no share with nobody called")
    c5 = [r for r in sec["by_counter"] if r["counter"] == "5"][0]
    check_eq((c5["rated"], c5["ratings.neutral"], c5["ratings.satisfied"], c5["not_rated"],
              c5["prompt_not_shown"], c5["rated_share"]), ("2", "1", "1", "1", "1", "0.5"),
             "CSV counter 5")
    tina = [r for r in sec["by_teller"] if r["teller"] == "tina"][0]
    check_eq((tina["service_p50_s"], tina["ratings.dissatisfied"], tina["satisfied_share"]),
             ("600", "1", "0.5"), "CSV tina")
    check_eq(sec["satisfaction"][0]["satisfied_share"], "0.6", "CSV satisfaction")
    m = sec["missed"][0]
    check_eq((m["reinstated"], m["help_ack_avg_s"], m["cancelled_rate"]),
             ("2", "165", "%.6g" % (1 / 12)), "CSV missed")

    # branchqd report: the same JSON, and the HTML has the tables.
    conf = os.path.join(env.dir, "figures.conf")
    rc, out = env.run(["report", "-f", conf, "--db", d.db, "--date", DAY])
    check_eq(rc, 0, "branchqd report: " + out[-300:])
    cli = json.loads(out)
    for j in (cli, rep):
        j.pop("generated_at")
    check_eq(cli, rep, "the CLI's JSON is the API's")
    rc, out = env.run(["report", "-f", conf, "--db", d.db, "--date", DAY, "--format", "html"])
    check_eq(rc, 0, "branchqd report html")
    check("等候时长分段 Waits in bands" in out and "满意度 Satisfaction" in out and
          "过号与弃号 Missed and abandoned" in out, "the HTML has the new tables")


def test_report_figures_today_through_the_api(env):
    """Today so far, made through the API: a help call, a no-show, served legs, their bands."""
    d = env.daemon()
    for _ in range(3):
        d.issue("A")
    d.call(3)
    check_eq(d.post("/api/v1/counters/3/finish")[0], 200, "finish")
    d.call(3)
    check_eq(d.post("/api/v1/counters/3/no-show")[0], 200, "no-show")
    # Asked for right after the call, in the same second: today's close is now, and it counts.
    st, _, j = d.post("/api/v1/help", {})
    check_eq(st, 202, "a help call (%r)" % (j,))
    st, _, rep = d.get("/api/v1/reports/daily")
    check_eq(st, 200, "today so far")
    m = rep["missed"]
    check_eq((m["help_calls"], m["help_acknowledged"], m["help_ack_avg_s"]), (1, 0, None),
             "the help call, not acknowledged yet")
    check_eq((m["called"], m["no_show"], m["no_show_rate"], m["issued"], m["cancelled_rate"]),
             (2, 1, 0.5, 3, 0.0), "one no-show of two called; nothing cancelled of three")
    # Both called within seconds: both in the first band.
    check_eq([b["count"] for b in rep["totals"]["wait_bands"]], [2, 0, 0, 0, 0, 0, 0], "bands")
    check_eq(rep["totals"]["wait_bands"][0]["share"], 1.0, "all of them")
    c3 = {r["counter"]: r for r in rep["by_counter"]}[3]
    check_eq((c3["served"], c3["rated"], c3["prompt_not_shown"]), (1, 0, 1),
             "the served leg, never prompted (no keypad here)")


def test_report_figures_ratings_alerts_reinstatement_through_the_api(env):
    """
    A rating, its alert, a help call and a reinstatement made through the
    routes (the keypad's rating, the lobby's acknowledgement, the
    reinstatement), and the figures they make.
    """
    d = env.daemon()
    for _ in range(2):
        d.issue("A")
    first = d.call(3)
    check_eq(d.post("/api/v1/counters/3/finish")[0], 200, "finish")
    st, _, j = d.post("/api/v1/counters/3/rating", {"ticket_id": first["id"], "key": "dissatisfied"})
    check_eq(st, 200, "the keypad's rating (%r)" % (j,))
    missed = d.call(3)
    check_eq(d.post("/api/v1/counters/3/no-show")[0], 200, "no-show")
    st, _, j = d.post("/api/v1/tickets/%d/reinstate" % missed["id"])
    check_eq(st, 200, "reinstate (%r)" % (j,))
    again = d.call(3)             # nobody else waits: it is called at once
    check_eq(again["number"], missed["number"], "the reinstated ticket is called")
    check_eq(d.post("/api/v1/counters/3/finish")[0], 200, "finish the reinstated")
    check_eq(d.post("/api/v1/help", {})[0], 202, "a help call")
    st, _, j = d.get("/api/v1/alerts")
    check_eq(sorted(a["kind"] for a in j["alerts"]), ["dissatisfied", "help"], "two alerts")
    for a in j["alerts"]:
        check_eq(d.post("/api/v1/alerts/%d/ack" % a["id"])[0], 200, "ack %s" % a["kind"])

    st, _, rep = d.get("/api/v1/reports/daily")
    check_eq(st, 200, "today so far")
    m = rep["missed"]
    check_eq((m["issued"], m["called"], m["no_show"], m["reinstated"], m["reinstated_called"]),
             (2, 2, 0, 1, 1), "a no-show put back and served is no longer a no-show")
    check(m["reinstated_wait_max_s"] is not None and m["reinstated_wait_max_s"] <= 5,
          "called again at once: %r" % m["reinstated_wait_max_s"])
    check_eq((m["help_calls"], m["help_acknowledged"]), (1, 1),
             "the help call, acknowledged; the dissatisfied alert's acknowledgement is not one")
    check(m["help_ack_max_s"] is not None and m["help_ack_max_s"] <= 5, "acknowledged at once")
    s = rep["satisfaction"]
    check_eq((s["served"], s["rated"], s["ratings"]["dissatisfied"], s["satisfied_share"],
              s["rated_share"]), (2, 1, 1, 0.0, 0.5), "one of two served legs rated, dissatisfied")
    c3 = {r["counter"]: r for r in rep["by_counter"]}[3]
    check_eq((c3["served"], c3["rated"]), (2, 1), "counter 3")
    check_eq(sum(r["no_show"] for r in rep["by_teller"]), m["no_show"] + m["reinstated"],
             "the tellers' no-shows: the leg marked, then put back")
