"""Benchmark the head office (docs/hq.md) on a private PostgreSQL
(tests/integration/pg.py):

- load 500 branches x one busy day (500 tickets a branch, four events a
  ticket: about a million events) into hq.events, and 20 branches x 30
  days (1.2 million more) for a month;
- the league table (hq.league) over all 500 branches for that day, and
  over the 20 branches' month; beside each, in the same run, a plain scan
  of the same events (count and total size): the ratio is what the
  figures cost over reading the rows at all;
- the uplink catching up a day's backlog: a branchqd whose head office
  was down while 4,000 tickets were issued, then back; events a second
  from the first batch landing to the last,
  beside one INSERT and COMMIT per event through psql (the baseline).

Prints numbers, not pass/fail.
"""
import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
sys.dont_write_bytecode = True

import harness  # noqa: E402
import pg  # noqa: E402

DAY = "2026-11-02"
MONTH_FROM, MONTH_TO = "2026-10-01", "2026-10-30"


class Env:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="branchq-bench-hq-")
        self.cleanups = []

    def close(self):
        for fn in reversed(self.cleanups):
            fn()
        shutil.rmtree(self.dir, ignore_errors=True)


# Events of a branch day made in SQL, as a branch sends them: issued, called, serving, served,
# each with its ticket image; one ticket every 50 s from 09:00, waits of 0 to 29 minutes.
GEN = """
INSERT INTO hq.events (branch_id, event_id, bday, at, type, ticket_id, counter, data)
SELECT b.id, x.tid * 4 + k.k, d.day, x.at, k.type, x.tid, 1 + t.n %% 5,
  jsonb_build_object('type', k.type, 'at', x.at, 'counter', 1 + t.n %% 5, 'ticket',
    jsonb_build_object('id', x.tid, 'origin_id', x.tid, 'number', 'A' || t.n, 'service', 'A',
      'category', CASE WHEN t.n %% 7 = 0 THEN 'elderly' ELSE 'normal' END, 'status', k.status,
      'business_day', d.day, 'issued_at', x.issued,
      'called_at', CASE WHEN k.k >= 1 THEN x.called END,
      'ended_at', CASE WHEN k.k = 3 THEN x.called + interval '5 minutes' END))
FROM (SELECT 'BR' || lpad(i::text, 4, '0') AS id FROM generate_series(%(b0)d, %(b1)d) i) b,
     (SELECT generate_series(%(d0)s::date, %(d1)s::date, interval '1 day')::date AS day) d,
     generate_series(1, %(tickets)d) t(n),
     (VALUES (0, 'ticket.issued', 'waiting'), (1, 'ticket.called', 'called'),
             (2, 'ticket.serving', 'serving'), (3, 'ticket.served', 'served')) k(k, type, status),
     LATERAL (SELECT (d.day + time '09:00') AT TIME ZONE 'Asia/Shanghai' + t.n * interval '50 s'
                  AS issued) i,
     LATERAL (SELECT i.issued AS issued, i.issued + (t.n * 37 %% 30) * interval '1 minute' AS called) c,
     LATERAL (SELECT c.issued, c.called, (d.day - date '2026-01-01') * 100000 + t.n AS tid,
                  CASE k.k WHEN 0 THEN c.issued WHEN 3 THEN c.called + interval '5 minutes'
                  ELSE c.called END AS at) x
"""


def load(p, b0, b1, d0, d1, tickets):
    p.psql("INSERT INTO hq.branches (branch_id, db_role, name_zh, name_en, timezone, day_reset) "
           "SELECT 'BR' || lpad(i::text, 4, '0'), 'bench_' || i, '网点' || i, 'Branch ' || i, "
           "'Asia/Shanghai', '04:00' FROM generate_series(%d, %d) i ON CONFLICT DO NOTHING"
           % (b0, b1))
    p.psql("INSERT INTO hq.services_day SELECT 'BR' || lpad(i::text, 4, '0'), d::date, 'A', "
           "'个人业务', 'Personal', 1200, 0.05 FROM generate_series(%d, %d) i, "
           "generate_series('%s'::date, '%s'::date, interval '1 day') d ON CONFLICT DO NOTHING"
           % (b0, b1, d0, d1))
    t0 = time.monotonic()
    p.psql(GEN % {"b0": b0, "b1": b1, "d0": "'%s'" % d0, "d1": "'%s'" % d1, "tickets": tickets})
    p.psql("ANALYZE hq.events")
    return time.monotonic() - t0


def timed(p, sql, runs=3):
    best = None
    for _ in range(runs):
        t0 = time.monotonic()
        p.psql(sql)
        dt = time.monotonic() - t0
        best = dt if best is None or dt < best else best
    return best


def uplink_catch_up(p, env, daemon, tickets):
    conninfo = p.add_branch("UP01")
    db = os.path.join(env.dir, "up.db")
    conf = os.path.join(env.dir, "up.conf")
    with open(conf, "w") as f:
        f.write(harness.make_config(branch={"day_reset": harness.safe_day_reset(), "database": db})
                + "\n[uplink]\nconninfo = %s\nbranch_id = UP01\n" % conninfo)
    subprocess.run([daemon, "token", "add", "--role", "admin", "--name", "bench", "-f", conf,
                    "--db", db], capture_output=True, check=True)
    out = subprocess.run([daemon, "token", "add", "--role", "admin", "--name", "bench2", "-f",
                          conf, "--db", db], capture_output=True, text=True, check=True)
    token = out.stdout.split()[-1]
    p.stop()
    # The log to a file: a pipe nobody reads would stop the daemon when it fills.
    log = open(os.path.join(env.dir, "up.log"), "w")
    proc = subprocess.Popen([daemon, "-d", "-f", conf, "--listen", "127.0.0.1:0", "--db", db],
                            stdout=subprocess.DEVNULL, stderr=log)
    port = None
    while port is None:
        with open(log.name) as f:
            for line in f:
                if "listening on http://127.0.0.1:" in line:
                    port = int(line.split("127.0.0.1:")[1].split(",")[0].split()[0])
        if proc.poll() is not None:
            raise SystemExit("bench_hq: branchqd exited: %s" % open(log.name).read()[-2000:])
        time.sleep(0.05)
    hdr = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}

    def req(method, path, body=None):
        r = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), method=method,
                                   headers=hdr, data=json.dumps(body).encode() if body else None)
        with urllib.request.urlopen(r, timeout=30) as resp:
            return json.loads(resp.read() or b"null")

    for _ in range(tickets):
        req("POST", "/api/v1/tickets", {"service": "A"})
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    (n,) = con.execute("SELECT count(*) FROM events").fetchone()
    con.close()
    p.start()
    # From the first batch that lands (the worker retries every [uplink] retry) to the last.
    first = None
    while True:
        h = req("GET", "/healthz")
        sent = h["uplink"]["sent_event_id"]
        if first is None and sent > 0:
            first, t0 = sent, time.monotonic()
        if sent >= n and h["uplink"]["behind"] == 0:
            break
        time.sleep(0.01)
    dt = time.monotonic() - t0
    n -= first
    proc.terminate()
    proc.wait(30)
    log.close()
    return n, dt


def baseline_inserts(p, n):
    """One INSERT and COMMIT per event through one psql session: a round trip and an fsync each."""
    p.psql("CREATE TABLE IF NOT EXISTS bench_one (id bigint PRIMARY KEY, data jsonb)")
    script = os.path.join(tempfile.mkdtemp(), "one.sql")
    with open(script, "w") as f:
        for i in range(n):
            f.write("INSERT INTO bench_one VALUES (%d, '{\"type\":\"ticket.issued\",\"n\":%d}');\n"
                    % (i, i))
    argv = [os.path.join(p.bin, "psql"), "-X", "-q", "-h", "127.0.0.1", "-p", str(p.port), "-U",
            "hq_admin", "-d", "postgres", "-f", script]
    env = dict(os.environ, PGPASSWORD="bench-admin")
    t0 = time.monotonic()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, env=env)
    return time.monotonic() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--daemon", default=os.path.join(ROOT, "build/release/branchqd"))
    ap.add_argument("--branches", type=int, default=500)
    ap.add_argument("--tickets", type=int, default=500)
    args = ap.parse_args()
    env = Env()
    try:
        p = pg.Postgres(env)
        p.load_schema()
        p.psql("ALTER ROLE hq_admin PASSWORD 'bench-admin'")
        p.psql("SELECT hq.add_months('2026-10-01', 2)")
        t_day = load(p, 1, args.branches, DAY, DAY, args.tickets)
        t_month = load(p, 1, 20, MONTH_FROM, MONTH_TO, args.tickets)
        (day_events,) = p.rows("SELECT count(*) FROM hq.events WHERE bday = '%s'" % DAY)[0]
        (month_events,) = p.rows("SELECT count(*) FROM hq.events WHERE bday BETWEEN '%s' AND '%s'"
                                 % (MONTH_FROM, MONTH_TO))[0]
        (size,) = p.rows("SELECT pg_size_pretty(sum(pg_total_relation_size(c.oid))) FROM "
                         "pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                         "WHERE i.inhparent = 'hq.events'::regclass")[0]
        print("hq: loaded %s events (%d branches x 1 day) in %.1f s and %s (20 branches x 30 days) "
              "in %.1f s; hq.events on disk %s" % (day_events, args.branches, t_day,
                                                   month_events, t_month, size))
        league_day = timed(p, "SELECT count(*) FROM hq.league('%s', '%s')" % (DAY, DAY))
        scan_day = timed(p, "SELECT count(*), sum(length(data::text)) FROM hq.events WHERE bday = '%s'"
                         % DAY)
        league_month = timed(p, "SELECT count(*) FROM hq.league('%s', '%s')" % (MONTH_FROM, MONTH_TO))
        scan_month = timed(p, "SELECT count(*), sum(length(data::text)) FROM hq.events WHERE "
                           "bday BETWEEN '%s' AND '%s'" % (MONTH_FROM, MONTH_TO))
        print("hq: league table, %d branches x 1 day: %.2f s; a plain scan of the same events "
              "%.2f s; ratio %.1f" % (args.branches, league_day, scan_day, league_day / scan_day))
        print("hq: league table, 20 branches x 30 days: %.2f s; a plain scan %.2f s; ratio %.1f"
              % (league_month, scan_month, league_month / scan_month))
        n, dt = uplink_catch_up(p, env, args.daemon, 4000)
        base = baseline_inserts(p, n)
        print("hq: uplink caught up a backlog of %d events in %.2f s (%.0f events/s); one "
              "INSERT+COMMIT per event through psql: %.2f s (%.0f/s); ratio %.1f" % (
                  n, dt, n / dt, base, n / base, (n / dt) / (n / base)))
    finally:
        env.close()


if __name__ == "__main__":
    main()
