"""
The configuration as an operator meets it: `branchqd -n` lists every error
as file:line and fails, and passes the demo config; SIGHUP with a broken
file keeps the running config, and with a good one applies it.
"""
import os
import signal
import socket

from harness import DEFAULT_COUNTERS, ROOT_CONFIG, check, check_eq, make_config

BROKEN = """\
[branch]
name_zh = 测试支行
name_en = Test Branch
timezone = Asia/Atlantis
colour = blue
recalls = 11

[service A]
name_zh = 个人业务
name_en = Personal banking
overtime = 10x

[counter 1]
services = A Z
green = maybe
"""
# line: what is wrong
BROKEN_LINES = {4: "timezone", 5: "colour", 6: "recalls", 11: "overtime", 14: "Z", 15: "green"}


def test_check_config_reports_every_error(env):
    path = os.path.join(env.dir, "broken.conf")
    with open(path, "w", encoding="utf-8") as f:
        f.write(BROKEN)
    rc, out = env.run(["-n", "-f", path])
    check(rc != 0, "-n on a broken config exits non-zero, got %d" % rc)
    lines = out.splitlines()
    for line_no, word in BROKEN_LINES.items():
        prefix = "%s:%d: " % (path, line_no)
        hits = [l for l in lines if l.startswith(prefix)]
        check(hits, "no error reported as %s... in:\n%s" % (prefix, out))
        check(any(word in l for l in hits), "error at line %d does not mention %r: %r" % (line_no, word, hits))
    reported = [l for l in lines if l.startswith(path + ":") and l[len(path) + 1:].split(":")[0].isdigit()]
    check_eq(len(reported), len(BROKEN_LINES), "number of file:line errors (%s)" % out)
    check(("%s: %d errors" % (path, len(BROKEN_LINES))) in out, "summary line in: %s" % out)
    for m in ("AddressSanitizer", "LeakSanitizer", "runtime error"):
        check(m not in out, "-n output has %r" % m)

    rc, out = env.run(["-n", "-f", ROOT_CONFIG])
    check_eq(rc, 0, "-n on config/branchq.conf exit status (%s)" % out)
    check("configuration OK" in out, "-n says OK: %r" % out)

    rc, out = env.run(["-n", "-f", os.path.join(env.dir, "missing.conf")])
    check(rc != 0, "-n on a missing file exits non-zero")
    check("cannot open" in out, "-n names the problem: %r" % out)


def test_sighup_keeps_old_config_on_error_and_applies_a_good_one(env):
    d = env.daemon()
    t1 = d.issue("A")
    check_eq([c["number"] for c in d.get("/api/v1/counters")[2]["counters"]], [1, 2, 3, 4, 5],
             "counters at start")

    d.write_config(BROKEN)
    mark = d.log_mark()
    d.signal(signal.SIGHUP)
    d.wait_log("keeping the running configuration", start=mark)
    log = d.log().split("\n")[mark:]
    check(any("%s:4:" % d.conf in l for l in log), "the reload logged the errors as file:line")
    check(d.running(), "daemon still running after a bad reload")
    st, _, body = d.get("/healthz")
    check_eq((st, body.get("status")), (200, "ok"), "healthz after a bad reload")
    check_eq([c["number"] for c in d.get("/api/v1/counters")[2]["counters"]], [1, 2, 3, 4, 5],
             "counters unchanged after a bad reload")
    check_eq([s["id"] for s in d.get("/api/v1/services")[2]["services"]], ["A", "B", "V"],
             "services unchanged after a bad reload")
    check_eq(d.issue("B")["number"], "B001", "still issues after a bad reload")

    d.write_config(make_config(counters={6: {"services": "A", "english": "yes"}},
                               branch={"name_en": "Reloaded Branch"}))
    mark = d.log_mark()
    d.signal(signal.SIGHUP)
    d.wait_log("configuration reloaded", start=mark)
    st, _, body = d.get("/api/v1/counters")
    check_eq(st, 200, "counters after reload")
    check_eq([c["number"] for c in body["counters"]], [1, 2, 3, 4, 5, 6], "counter 6 appears")
    c6 = body["counters"][5]
    check_eq((c6["services"], c6["english"], c6["paused"], c6["state"]), (["A"], True, False, "idle"),
             "counter 6 as configured")
    check_eq(d.call(6)["id"], t1["id"], "counter 6 calls")
    check_eq(d.counter(6)["ticket"]["id"], t1["id"], "counter 6 current ticket")
    # The new counter's state is in the database: it survives a restart.
    d.restart()
    check_eq(d.counter(6)["ticket"]["id"], t1["id"], "counter 6 after restart")


def test_reload_that_would_strand_waiting_tickets_is_refused(env):
    d = env.daemon()
    b = [d.issue("B") for _ in range(2)]
    no_b = {"B": None}
    only_a = {n: {"services": " ".join(x for x in c["services"].split() if x != "B")}
              for n, c in DEFAULT_COUNTERS.items()}
    # Service B removed while two wait for it.
    d.write_config(make_config(services=no_b, counters=only_a))
    mark = d.log_mark()
    d.signal(signal.SIGHUP)
    d.wait_log("keeping the running configuration", start=mark)
    line = [l for l in d.log().split("\n")[mark:] if "reload refused" in l]
    check_eq(len(line), 1, "one line says why")
    check("service B is removed, and 2 waiting for it could never be called: %s %s" % (
        b[0]["number"], b[1]["number"]) in line[0], "the line names them: %r" % line[0])
    check_eq([s["id"] for s in d.get("/api/v1/services")[2]["services"]], ["A", "B", "V"],
             "services unchanged")
    check_eq(d.call(1)["id"], b[0]["id"], "B is still called")
    # Once nobody waits for B, its removal goes through.
    d.action(1, "finish")
    check_eq(d.post("/api/v1/tickets/%d/cancel" % b[1]["id"])[0], 200, "cancel the other")
    d.write_config(make_config(services=no_b, counters=only_a))
    mark = d.log_mark()
    d.signal(signal.SIGHUP)
    d.wait_log("configuration reloaded", start=mark)
    check_eq([s["id"] for s in d.get("/api/v1/services")[2]["services"]], ["A", "V"],
             "B removed once nobody waits for it")


def test_check_prints_what_the_daemon_will_use_and_warns_of_a_loopback_public_url(env):
    # make run prints its URLs from this: the config, with --listen and --db over it.
    d = env.daemon(make_config(branch={"public_url": "http://127.0.0.1:8080"}), start=False)
    rc, out = env.run(["-n", "-f", d.conf, "--listen", "0.0.0.0:18080", "--db", "/tmp/elsewhere.db"])
    check_eq(rc, 0, "-n with overrides: %s" % out)
    got = dict(l.split(" ", 1) for l in out.splitlines()[1:] if " " in l)
    check_eq((got.get("listen"), got.get("url"), got.get("database"), got.get("counters")),
             ("0.0.0.0:18080", "http://127.0.0.1:18080", "/tmp/elsewhere.db", "1 2 3 4 5"),
             "what -n says the daemon will use")
    check_eq(got.get("public_url_reachable"), "no", "a loopback public_url on the LAN")
    # Without public_url in the file it is the file's listen, whatever --listen says.
    plain = env.daemon(make_config(), name="plain", start=False)
    rc, out = env.run(["-n", "-f", plain.conf, "--listen", "127.0.0.1:18081"])
    check("public_url http://127.0.0.1:8080" in out, "public_url from the file's listen: %r" % out)
    # Listening on every address with the loopback public_url: the daemon says so at start.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    d.argv = lambda: [env.daemon_path, "-d", "-f", d.conf, "--listen", "0.0.0.0:%d" % port,
                      "--db", d.db]
    proc = d.spawn()
    try:
        said = False
        for raw in proc.stdout:
            line = raw.decode("utf-8", "replace")
            if "no phone that scans a ticket's QR code can open it" in line:
                said = True
                break
            if "branchqd ready" in line:
                break
        check(said, "the daemon warns at start that phones cannot open the QR codes")
    finally:
        proc.kill()
        proc.wait(10)
