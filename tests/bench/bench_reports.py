"""Benchmark the reports over a year of history.

Writes a year of business days straight into a fresh database (the daemon
creates the schema first): DAYS days of about TICKETS_PER_DAY tickets each
across services A, B and V, a share of them green, with a simple queue
simulation for the calls (12 counters, first free counter that serves the
service), no-shows, cancellations, transfers A -> B, lunch and evening
pauses, and an issue, a call and an end event per leg besides. Then it
starts the optimised branchqd on that database and times, over HTTP on
loopback, one day's report and a month's range (the issue's targets: 50 ms
and 200 ms), and `branchqd report` from the command line for one day.
Prints numbers, not pass/fail.
"""
import argparse
import datetime
import http.client
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))
COUNTERS = {1: "AB", 2: "AB", 3: "A", 4: "A", 5: "BV", 6: "A", 7: "A", 8: "AB", 9: "B",
            10: "V", 11: "A", 12: "AB"}
CATEGORIES = ["normal"] * 85 + ["elderly"] * 8 + ["disabled", "pregnant", "military"] * 1 + \
             ["foreign"] * 4


def config_text(root):
    text = open(os.path.join(root, "config", "branchq.conf"), encoding="utf-8").read()
    text = re.sub(r"(?s)\n\[counter 1\].*", "\n", text)
    for n, svcs in COUNTERS.items():
        text += "\n[counter %d]\nservices = %s\n" % (n, " ".join(svcs))
    return text


def percentile(values, p):
    values = sorted(values)
    return values[max(0, min(len(values) - 1, int(round(p / 100.0 * (len(values) - 1)))))]


def generate(db_path, days, per_day, last_day, seed=1):
    rnd = random.Random(seed)
    db = sqlite3.connect(db_path)
    db.execute("PRAGMA synchronous = OFF")
    tid = 0
    tickets, events = [], []
    for k in range(days):
        date = last_day - datetime.timedelta(days=days - 1 - k)
        bday = date.isoformat()
        t0 = int(datetime.datetime(date.year, date.month, date.day, 9, 0,
                                   tzinfo=SHANGHAI).timestamp())
        free = {n: t0 for n in COUNTERS}
        for n in COUNTERS:
            events.append((t0 - 600, "counter.resumed", None, n))
            lunch = t0 + 3 * 3600 + rnd.randint(0, 3600)
            if rnd.random() < 0.5:
                events.append((lunch, "counter.paused", None, n))
                events.append((lunch + 1800, "counter.resumed", None, n))
            events.append((t0 + 8 * 3600 + 1800, "counter.paused", None, n))
        seq = {"A": 0, "B": 0, "V": 0}
        n_today = per_day + rnd.randint(-per_day // 10, per_day // 10)
        arrivals = sorted(t0 + int(rnd.triangular(0, 8 * 3600, 2 * 3600)) for _ in range(n_today))
        for at in arrivals:
            svc = rnd.choices("ABV", (60, 25, 15))[0]
            seq[svc] += 1
            number = "%s%03d" % (svc, seq[svc])
            cat = rnd.choice(CATEGORIES)
            tid += 1
            origin = tid
            legs = [(svc, at)]
            if svc == "A" and rnd.random() < 0.03:
                legs.append(("B", None))
            created = at
            for li, (lsvc, _) in enumerate(legs):
                leg_id = tid if li == 0 else tid + 1
                if li > 0:
                    tid += 1
                events.append((created, "ticket.issued" if li == 0 else "ticket.transferred",
                               leg_id, None))
                if rnd.random() < 0.03 and li == len(legs) - 1:
                    end = created + rnd.randint(60, 1200)
                    tickets.append((leg_id, origin, bday, number, lsvc, cat, "cancelled", at,
                                    created, None, None, end, None, None))
                    events.append((end, "ticket.cancelled", leg_id, None))
                    break
                ctr = min((n for n, s in COUNTERS.items() if lsvc in s),
                          key=lambda n: max(free[n], created))
                called = max(free[ctr], created) + rnd.randint(0, 30)
                if called > t0 + 8 * 3600 + 1800 and li == len(legs) - 1 and rnd.random() < 0.5:
                    tickets.append((leg_id, origin, bday, number, lsvc, cat, "waiting", at,
                                    created, None, None, None, None, None))
                    break
                events.append((called, "ticket.called", leg_id, ctr))
                if rnd.random() < 0.05:
                    end, status = called + 120, "no_show"
                else:
                    end = called + int(rnd.gauss(480 if lsvc != "V" else 900, 120))
                    end = max(called + 60, end)
                    status = "served"
                nxt = None
                if li < len(legs) - 1:
                    status, nxt = "transferred", tid + 1
                    end = called + rnd.randint(120, 400)
                free[ctr] = end
                tickets.append((leg_id, origin, bday, number, lsvc, cat, status, at, created,
                                called, called + 20 if status != "no_show" else None, end, ctr,
                                nxt))
                if status != "transferred":
                    events.append((end, "ticket." + status, leg_id, ctr))
                created = end
    with db:
        db.executemany("INSERT INTO tickets(id, origin_id, bday, number, service, category, lang, "
                       "status, token, issued_at, created_at, called_at, started_at, ended_at, "
                       "counter, transferred_to) VALUES (?, ?, ?, ?, ?, ?, 'zh', ?, lower(hex("
                       "randomblob(16))), ?, ?, ?, ?, ?, ?, ?)", tickets)
        db.executemany("INSERT INTO events(at, type, ticket_id, counter, data) "
                       "VALUES (?, ?, ?, ?, '{}')", events)
    db.execute("ANALYZE")
    db.close()
    return len({t[1] for t in tickets}), len(tickets), len(events)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--daemon", default="build/release/branchqd")
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--per-day", type=int, default=1100)
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args()
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
    daemon = os.path.abspath(args.daemon)

    tmp = tempfile.mkdtemp(prefix="branchq-bench-reports-")
    conf = os.path.join(tmp, "bench.conf")
    db = os.path.join(tmp, "q.db")
    with open(conf, "w", encoding="utf-8") as f:
        f.write(config_text(root))
    log = open(os.path.join(tmp, "log"), "w+")
    argv = [daemon, "-d", "-f", conf, "--listen", "127.0.0.1:0", "--db", db]
    proc = None

    def start():
        p = subprocess.Popen(argv, stderr=log, stdout=log, cwd=root)
        for _ in range(400):
            log.seek(0)
            m = re.findall(r"ready.*http://127\.0\.0\.1:(\d+)", log.read())
            if m and len(m) > start.count:
                start.count += 1
                return p, int(m[-1])
            time.sleep(0.05)
        sys.exit("branchqd did not start")
    start.count = 0

    def stop(p):
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=30)

    try:
        proc, _ = start()                   # creates and migrates the schema
        stop(proc)
        # Yesterday in the branch's zone is certainly a whole, past business day.
        last = (datetime.datetime.now(SHANGHAI) - datetime.timedelta(days=2)).date()
        t = time.perf_counter()
        ntickets, nlegs, nevents = generate(db, args.days, args.per_day, last)
        gen_s = time.perf_counter() - t
        print("reports bench: %d days, %d tickets (%d legs), %d events, %.0f MiB, generated in "
              "%.1f s" % (args.days, ntickets, nlegs, nevents, os.path.getsize(db) / 2**20, gen_s))
        made = subprocess.run([daemon, "token", "add", "--role", "head", "--name", "bench",
                               "-f", conf, "--db", db], capture_output=True,
                              text=True)
        if made.returncode != 0:
            sys.exit("token add failed: " + made.stderr)
        auth = {"Authorization": "Bearer " + made.stdout.split()[-1]}
        proc, port = start()
        conn = http.client.HTTPConnection("127.0.0.1", port)

        def timed(path):
            t0 = time.perf_counter()
            conn.request("GET", path, headers=auth)
            r = conn.getresponse()
            body = r.read()
            dt = time.perf_counter() - t0
            if r.status != 200:
                sys.exit("%s: %d %s" % (path, r.status, body[:200]))
            return dt

        day = last - datetime.timedelta(days=args.days // 2)
        month_from = day - datetime.timedelta(days=29)
        cases = [
            ("daily (HTTP)", "/api/v1/reports/daily?date=%s" % day),
            ("daily csv (HTTP)", "/api/v1/reports/daily?date=%s&format=csv" % day),
            ("30-day range (HTTP)", "/api/v1/reports/range?from=%s&to=%s" % (month_from, day)),
            ("today so far (HTTP)", "/api/v1/reports/daily"),
            ("92-day range (HTTP)", "/api/v1/reports/range?from=%s&to=%s" %
             (last - datetime.timedelta(days=91), last)),
        ]
        for name, path in cases:
            timed(path)                     # one to warm the page cache
            runs = args.runs if "92" not in name else 5
            ms = [timed(path) * 1000 for _ in range(runs)]
            print("%-22s n=%-3d p50=%7.2f ms  max=%7.2f ms" % (name, len(ms), percentile(ms, 50),
                                                              max(ms)))
        cli = []
        for _ in range(5):
            t0 = time.perf_counter()
            subprocess.run([daemon, "report", "-f", conf, "--db", db, "--date", str(day)],
                           check=True, stdout=subprocess.DEVNULL, cwd=root)
            cli.append((time.perf_counter() - t0) * 1000)
        print("%-22s n=%-3d p50=%7.2f ms  max=%7.2f ms  (whole process, beside the daemon)" %
              ("daily (CLI)", len(cli), percentile(cli, 50), max(cli)))
        t0 = time.perf_counter()
        subprocess.run([daemon, "report", "-f", conf, "--db", db, "--from",
                        str(last - datetime.timedelta(days=364)), "--to", str(last)],
                       check=True, stdout=subprocess.DEVNULL, cwd=root)
        print("%-22s n=1    %7.2f ms  (whole process; over HTTP a range stops at 92 days)" %
              ("365-day range (CLI)", (time.perf_counter() - t0) * 1000))
        stop(proc)
        proc = None
    finally:
        if proc is not None and proc.poll() is None:
            stop(proc)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
