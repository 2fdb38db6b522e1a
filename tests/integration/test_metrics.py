"""
GET /metrics against the real daemon: the figures of known tickets exactly,
the same after a restart (today's tickets are read again at start) and the
same as the daily report's, the real promtool accepting the output and the
alert rules, the request histograms, and who may read it (a metrics token,
an admin, an address in [monitoring] metrics_allow; nobody else).
"""
import os
import re
import subprocess
import time

from harness import ROOT_CONFIG, SSEClient, Failure, check, check_eq, check_error, make_config

ROOT = os.path.dirname(os.path.dirname(ROOT_CONFIG))
RULES = os.path.join(ROOT, "config", "prometheus", "branchq.rules.yml")
RULES_TEST = os.path.join(ROOT, "config", "prometheus", "branchq.rules.test.yml")
LINE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)')
CATEGORIES = ("normal", "elderly", "disabled", "pregnant", "military", "foreign")


def parse(text):
    """The text format as {(name, frozenset of (label, value)): float}, and {name: type}."""
    samples, types = {}, {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            types[name] = kind
            continue
        if line.startswith("#") or not line:
            continue
        m = LINE_RE.match(line)
        check(m is not None, "a sample line of the text format: %r" % line)
        labels = frozenset((k, v.replace('\\"', '"').replace("\\\\", "\\"))
                           for k, v in LABEL_RE.findall(m.group(2) or ""))
        key = (m.group(1), labels)
        check(key not in samples, "a series appears once: %r" % line)
        samples[key] = float(m.group(3))
    return samples, types


def value(samples, name, **labels):
    key = (name, frozenset(labels.items()))
    check(key in samples, "the metrics have %s%r" % (name, labels))
    return samples[key]


def scrape(d, headers=None, auth=True):
    st, h, body = d.fetch("GET", "/metrics", headers=headers, auth=auth)
    check_eq(st, 200, "GET /metrics (%r)" % body[:200])
    check_eq(h["content-type"].split(";")[0:2], ["text/plain", " version=0.0.4"],
             "the exposition format's media type")
    return body.decode("utf-8")


def promtool(*args, stdin=None):
    p = subprocess.run(["promtool"] + list(args), input=stdin, capture_output=True, timeout=60)
    return p.returncode, (p.stdout + p.stderr).decode("utf-8", "replace")


def today(samples, name, service):
    return {c: int(value(samples, name, service=service, category=c)) for c in CATEGORIES}


def nonzero(d):
    return {k: v for k, v in d.items() if v}


def _day(d):
    """Issue 3 A and 1 B; serve one, no-show one, call one, cancel the B; pause counter 5."""
    a1, a2, a3 = d.issue("A"), d.issue("A", category="elderly"), d.issue("A")
    b1 = d.issue("B")
    served = d.call(3)
    check_eq(d.action(3, "start")[0], 200, "start at counter 3")
    check_eq(d.action(3, "finish")[0], 200, "finish at counter 3")
    gone = d.call(4)
    check_eq(d.action(4, "no-show")[0], 200, "no-show at counter 4")
    check_eq(d.post("/api/v1/tickets/%d/cancel" % b1["id"])[0], 200, "cancel B001")
    check_eq(d.action(5, "pause")[0], 200, "pause counter 5")
    called = d.call(3)
    check(called is not None and served is not None and gone is not None, "three A calls")
    cat = {t["id"]: t["category"] for t in (a1, a2, a3)}
    return cat[served["id"]], cat[gone["id"]], cat[called["id"]]


def _check_day(samples, served_cat, gone_cat, called_cat):
    check_eq(nonzero(today(samples, "branchq_tickets_issued_today", "A")),
             {"normal": 2, "elderly": 1}, "A issued today by category")
    check_eq(nonzero(today(samples, "branchq_tickets_issued_today", "B")), {"normal": 1},
             "B issued today")
    called = {}
    for c in (served_cat, gone_cat, called_cat):
        called[c] = called.get(c, 0) + 1
    check_eq(nonzero(today(samples, "branchq_tickets_called_today", "A")), called,
             "A called today (served, no-show and at the counter)")
    check_eq(nonzero(today(samples, "branchq_tickets_served_today", "A")), {served_cat: 1},
             "A served today")
    check_eq(nonzero(today(samples, "branchq_tickets_no_show_today", "A")), {gone_cat: 1},
             "A no-show today")
    check_eq(nonzero(today(samples, "branchq_tickets_cancelled_today", "B")), {"normal": 1},
             "B cancelled today")
    for name in ("branchq_tickets_called_today", "branchq_tickets_served_today",
                 "branchq_tickets_no_show_today", "branchq_tickets_cancelled_today"):
        for s in ("B", "V") if name != "branchq_tickets_cancelled_today" else ("A", "V"):
            check_eq(nonzero(today(samples, name, s)), {}, "%s of %s" % (name, s))
    for s in ("A", "B", "V"):
        check_eq(value(samples, "branchq_tickets_waiting", service=s), 0, "nobody waits in " + s)
        check_eq(value(samples, "branchq_longest_wait_seconds", service=s), 0, "no wait in " + s)
        check_eq(value(samples, "branchq_overtime_share", service=s), 0, "no overtime in " + s)
        check_eq(value(samples, "branchq_overtime_target", service=s), 0.05, "target of " + s)
    check_eq({st: value(samples, "branchq_counters", state=st) for st in
              ("open", "serving", "paused")}, {"open": 3, "serving": 1, "paused": 1},
             "counters 1, 2, 4 open, 3 serving, 5 paused")


def test_metrics_show_the_known_tickets_exactly(env):
    d = env.daemon()
    cats = _day(d)
    staff, display = d.sse(), d.sse(path="/api/v1/display/events", auth=False)
    staff.wait_hello()
    display.wait_hello()
    for _ in range(7):
        check_eq(d.get("/api/v1/services")[0], 200, "GET /api/v1/services")
    text = scrape(d)
    samples, types = parse(text)
    _check_day(samples, *cats)
    check_eq({k: value(samples, "branchq_streams_open", kind=k) for k in
              ("staff", "display", "phone")}, {"staff": 1, "display": 1, "phone": 0},
             "the two streams open")

    # The request histogram: by route pattern, cumulative, +Inf and _count the requests made.
    check_eq(types.get("branchq_http_request_duration_seconds"), "histogram", "histogram type")
    for (method, route, n) in (("GET", "/api/v1/services", 7), ("POST", "/api/v1/tickets", 4),
                               ("POST", "/api/v1/tickets/{id}/cancel", 1),
                               ("POST", "/api/v1/counters/{n}/{action}", 7)):
        lab = {"method": method, "route": route}
        buckets = sorted(((float(dict(k[1])["le"]), v) for k, v in samples.items()
                          if k[0] == "branchq_http_request_duration_seconds_bucket" and
                          {x: y for x, y in k[1] if x != "le"} == lab))
        check(len(buckets) >= 10, "%s %s has its buckets" % (method, route))
        counts = [v for _, v in buckets]
        check(counts == sorted(counts), "buckets are cumulative: %r" % counts)
        check_eq(buckets[-1], (float("inf"), n), "%s %s: +Inf bucket" % (method, route))
        check_eq(value(samples, "branchq_http_request_duration_seconds_count", **lab), n,
                 "%s %s: _count == requests made" % (method, route))
        check(value(samples, "branchq_http_request_duration_seconds_sum", **lab) > 0,
              "%s %s: _sum" % (method, route))
    raw_paths = [k for k in samples if "route" in dict(k[1]) and
                 re.search(r"/\d", dict(k[1])["route"])]
    check_eq(raw_paths, [], "no raw path (a ticket id, a counter number) becomes a label")

    # Commits: every change committed; batches of at least one change each.
    commits = value(samples, "branchq_commits_total")
    check(commits >= 1, "commits counted (%r)" % commits)
    check_eq(value(samples, "branchq_commit_batch_size_count"), commits, "a batch size per commit")
    check_eq(value(samples, "branchq_commit_duration_seconds_count"), commits,
             "a duration per commit")
    check(value(samples, "branchq_commit_batch_size_sum") >= 11, "the 11 changes (and their "
          "audit rows) are in the batches")
    check_eq(value(samples, "branchq_commit_failures_total"), 0, "no commit failed")
    check_eq(value(samples, "branchq_storage_errors_total", kind="full"), 0, "no storage error")
    check_eq(value(samples, "branchq_printer_state", state="none"), 1, "no printer configured")
    check_eq(value(samples, "branchq_database_bytes", file="main"), os.path.getsize(d.db),
             "the database file's size")
    check_eq(value(samples, "branchq_database_bytes", file="wal"), os.path.getsize(d.db + "-wal"),
             "the WAL's size")
    st = os.statvfs(env.dir)
    check(abs(value(samples, "branchq_disk_size_bytes") - st.f_blocks * st.f_frsize) < 1,
          "the file system's size")

    rc, out = promtool("check", "metrics", stdin=text.encode("utf-8"))
    check_eq((rc, out.strip()), (0, ""), "promtool check metrics accepts the output")
    staff.close()
    display.close()


def test_metrics_after_a_restart_and_as_the_daily_report_says(env):
    d = env.daemon()
    cats = _day(d)
    d.restart()
    samples, _ = parse(scrape(d))
    _check_day(samples, *cats)
    st, _, rep = d.get("/api/v1/reports/daily")
    check_eq(st, 200, "today's report")
    by = {s["service"]: s for s in rep["by_service"]} if "by_service" in rep else None
    check(by is not None, "the report has by_service: %r" % sorted(rep))
    for sid in ("A", "B"):
        for fig in ("issued", "called", "served", "no_show", "cancelled"):
            check_eq(sum(today(samples, "branchq_tickets_%s_today" % fig, sid).values()),
                     by[sid][fig], "%s %s: /metrics and the daily report agree" % (sid, fig))


def test_metrics_overtime_share_against_target(env):
    # A 1 s threshold: a ticket called 2 s after issue is overtime; the other waits, over it too.
    conf = make_config(services={"A": {"overtime": "1s", "target": "10%"}})
    d = env.daemon(conf)
    d.issue("A")
    d.issue("A")
    deadline = time.monotonic() + 20
    while value(parse(scrape(d))[0], "branchq_longest_wait_seconds", service="A") < 2:
        check(time.monotonic() < deadline, "the longest wait reaches 2 s")
        time.sleep(0.1)
    d.call(3)
    d.issue("A")                          # a fresh one: waiting, not yet overtime
    samples, _ = parse(scrape(d))
    check_eq(value(samples, "branchq_overtime_tickets_today", service="A"), 2,
             "the called one and the one still waiting past 1 s")
    check_eq(value(samples, "branchq_overtime_share", service="A"), 1.0,
             "2 overtime / (1 called + 1 overtime waiting)")
    check_eq(value(samples, "branchq_overtime_target", service="A"), 0.1, "A's target")
    check_eq(value(samples, "branchq_tickets_waiting", service="A"), 2, "two wait")
    check(value(samples, "branchq_longest_wait_seconds", service="A") >= 2, "the longest wait")


def test_metrics_access_token_admin_or_allowed_address(env):
    d = env.daemon()
    check_error(d.get("/metrics", auth=False), 401, "unauthorized", "anonymous /metrics")
    r = d.cli("token", "add", "--role", "metrics", "--name", "prometheus")
    check_eq(r.returncode, 0, "token add --role metrics: %s" % r.stderr)
    tok = {"Authorization": "Bearer " + r.stdout.split()[-1]}
    scrape(d, headers=tok, auth=False)
    for path in ("/api/v1/queue", "/api/v1/reports/daily", "/api/v1/audit", "/api/v1/session"):
        check_error(d.get(path, headers=tok, auth=False), 403, "forbidden",
                    "a metrics token on %s" % path)
    check_error(d.post("/api/v1/tickets", {"service": "A"}, headers=tok, auth=False), 403,
                "forbidden", "a metrics token issuing")
    check_eq(d.get("/healthz", headers=tok, auth=False)[0], 200, "public stays public")
    r = d.cli("token", "add", "--role", "kiosk")
    kiosk = {"Authorization": "Bearer " + r.stdout.split()[-1]}
    check_error(d.get("/metrics", headers=kiosk, auth=False), 403, "forbidden", "a kiosk")
    scrape(d)                              # the harness's admin token
    r = d.cli("user", "add", "prom", "--role", "metrics", stdin="correct horse 1\n")
    check(r.returncode != 0, "metrics is a device role: no account has it")

    # An address in metrics_allow scrapes with no token; one outside it does not.
    d.stop()
    d.write_config(make_config() + "\n[monitoring]\nmetrics_allow = 10.0.0.0/8, 127.0.0.1\n")
    d.start()
    scrape(d, auth=False)
    check_error(d.get("/api/v1/queue", auth=False), 401, "unauthorized",
                "the address may scrape, nothing more")
    d.write_config(make_config() + "\n[monitoring]\nmetrics_allow = 10.0.0.0/8 192.168.1.7\n")
    d.signal(1)                            # SIGHUP: a reload applies the new list
    d.wait_log("configuration reloaded")
    check_error(d.get("/metrics", auth=False), 401, "unauthorized", "127.0.0.1 no longer listed")


def test_monitoring_config_is_checked(env):
    bad = make_config() + ("\n[monitoring]\nmetrics_allow = 10.0.0.0/33, example.org\n"
                           "min_free_disk = 12X\n")
    d = env.daemon(bad, start=False)
    rc, out = env.run(["-n", "-f", d.conf])
    check_eq(rc, 1, "branchqd -n on a bad [monitoring]")
    check("the bits after / are 0..32" in out, "the CIDR's bits are checked: %s" % out)
    check("min_free_disk" in out and "is not a size" in out, "the size is checked: %s" % out)
    good = make_config() + "\n[monitoring]\nmetrics_allow = 127.0.0.1\nmin_free_disk = 2G\n"
    d.write_config(good)
    rc, out = env.run(["-n", "-f", d.conf])
    check_eq(rc, 0, "a good [monitoring]: %s" % out)


def test_alert_rules_pass_promtool(env):
    rc, out = promtool("check", "rules", RULES)
    check_eq(rc, 0, "promtool check rules %s: %s" % (RULES, out))
    check("SUCCESS" in out, "promtool found the rules: %s" % out)
    # The rules' own unit test: each alert fires on the series that should fire it, no other.
    rc, out = promtool("test", "rules", RULES_TEST)
    check_eq(rc, 0, "promtool test rules: %s" % out)
