"""Sign-in, roles, tokens, CSRF, Host, lockout and the audit trail, against the real daemon.

The authorization matrix is generated from the daemon's own route table
(`branchqd routes`): every route x anonymous and every role, so a route
added without a rule, or with the wrong one, fails here.
"""
import http.client
import json
import sqlite3
import time

from harness import Failure, check, check_eq, check_error, id_number, make_config

PASSWORD = "correct horse 1"


def _routes(env):
    out = env.run(["routes"])
    check_eq(out[0], 0, "branchqd routes exit status")
    return [json.loads(line) for line in out[1].splitlines() if line.startswith("{")]


def _user(d, name, role):
    r = d.cli("user", "add", name, "--role", role, stdin=PASSWORD + "\n")
    check(r.returncode == 0, "user add %s: %s" % (name, r.stderr[-300:]))


def _device(d, role, counter=None, label=None):
    args = ["token", "add", "--role", role] + (["--counter", str(counter)] if counter else []) + \
        (["--name", label] if label else [])
    r = d.cli(*args)
    check(r.returncode == 0, "token add: %s" % r.stderr[-300:])
    return r.stdout.split()[-1]


class Session:
    """A browser-like client: the session cookie, its CSRF token, a same-origin Origin."""

    def __init__(self, d, name, counter=None, password=PASSWORD):
        self.d = d
        body = {"name": name, "password": password}
        if counter is not None:
            body["counter"] = counter
        self.status, self.headers, self.body = d.request(
            "POST", "/api/v1/session", body, headers={"Origin": self.origin()}, auth=False)
        self.cookie = None
        if self.status == 201:
            self.cookie = self.headers["set-cookie"].split(";")[0]
            self.csrf = self.body["csrf"]

    def origin(self):
        return "http://127.0.0.1:%d" % self.d.port

    def headers_for(self, method):
        h = {"Cookie": self.cookie}
        if method not in ("GET", "HEAD"):
            h.update({"X-CSRF-Token": self.csrf, "Origin": self.origin(),
                      "Content-Type": "application/json"})
        return h

    def request(self, method, path, body=None):
        if body is None and method not in ("GET", "HEAD"):
            body = "{}"
        return self.d.request(method, path, body, headers=self.headers_for(method), auth=False)


def _status(d, method, path, headers):
    """The status of one request, without reading an event stream's body."""
    conn = http.client.HTTPConnection("127.0.0.1", d.port, timeout=10)
    try:
        body = "{}" if method not in ("GET", "HEAD") else None
        conn.request(method, path, body=body, headers=headers)
        r = conn.getresponse()
        st = r.status
        if not r.getheader("content-type", "").startswith("text/event-stream"):
            r.read()
        return st, r.getheader("location")
    finally:
        conn.close()


# The issue's roles table, written out by hand: who may use each capability of the route
# table. The matrix below checks the daemon against its own table; this checks the table.
STAFF = {"lobby", "teller", "head", "admin"}
EXPECTED_ROLES = {
    "public": STAFF | {"none", "kiosk", "display", "metrics", "keypad"},
    "signed_in": STAFF | {"kiosk", "display", "keypad"},
    "issue": {"lobby", "head", "admin", "kiosk"},
    "tickets": {"lobby", "head", "admin"},
    "preview": {"lobby", "head", "admin"},
    "queue": STAFF,
    "counter": {"teller", "head", "admin"},
    "release": {"head", "admin"},
    "figures": {"lobby", "head", "admin"},
    "reports": {"head", "admin"},
    "audit": {"head", "admin"},
    "admin": {"admin"},
    # /metrics: a Prometheus server's token, or an admin (or an address of metrics_allow).
    "metrics": {"admin", "metrics"},
    # The customer's rating: the counter's keypad only, never staff (admin, for tests).
    "rate": {"admin", "keypad"},
}


def test_route_table_grants_what_the_roles_table_says(env):
    routes = _routes(env)
    for rt in routes:
        check(rt["capability"] in EXPECTED_ROLES, "%s %s needs a known capability, not %r"
              % (rt["method"], rt["path"], rt["capability"]))
        check_eq(set(rt["roles"]), EXPECTED_ROLES[rt["capability"]], "who may %s %s (%s)"
                 % (rt["method"], rt["path"], rt["capability"]))
    staff_only = {"/api/v1/events", "/api/v1/queue", "/api/v1/tickets/{id}",
                  "/api/v1/tickets/{id}/ticket.png", "/api/v1/reports/daily",
                  "/api/v1/reports/range", "/api/v1/audit", "/api/v1/counters/{n}/next",
                  "/api/v1/advice"}
    # A kiosk's call for the lobby manager: whoever may issue may call; the phone
    # page's QR code: public, as the phone page is (the token is the key).
    caps = {(rt["method"], rt["path"]): rt["capability"] for rt in routes}
    check_eq(caps.get(("POST", "/api/v1/help")), "issue", "POST /api/v1/help")
    check_eq(caps.get(("GET", "/api/v1/t/{token}/qr.svg")), "public", "GET /api/v1/t/{token}/qr.svg")
    for rt in routes:
        if rt["path"] in staff_only:
            check("none" not in rt["roles"] and "kiosk" not in rt["roles"] and
                  "display" not in rt["roles"], "%s is staff-only" % rt["path"])


def test_authorization_matrix_from_the_route_table(env):
    d = env.daemon()
    routes = _routes(env)
    check(len(routes) >= 30, "the route table has its routes (%d)" % len(routes))
    for name, role in (("m-lobby", "lobby"), ("m-teller", "teller"), ("m-head", "head"),
                       ("m-admin", "admin")):
        _user(d, name, role)
    t = d.issue("A")
    token = d.get("/api/v1/tickets/%d" % t["id"])[2]["ticket"].get("token") or t.get("token")
    check(token, "the staff view of a ticket gives its phone token")
    principals = {
        # As a browser sends it: JSON and its own Origin, no credentials.
        "anonymous": ("none", lambda m: {} if m in ("GET", "HEAD") else {
            "Content-Type": "application/json", "Origin": "http://127.0.0.1:%d" % d.port}),
        "kiosk": ("kiosk", None), "display": ("display", None), "teller-device": ("teller", None),
        "metrics": ("metrics", None),
    }
    sessions = {"lobby": Session(d, "m-lobby"), "teller": Session(d, "m-teller", 1),
                "head": Session(d, "m-head"), "admin": Session(d, "m-admin")}
    for role, s in sessions.items():
        check_eq(s.status, 201, "%s signs in" % role)
        principals[role] = (role, s.headers_for)
    for label, role, counter in (("kiosk", "kiosk", None), ("display", "display", None),
                                 ("teller-device", "teller", 1), ("metrics", "metrics", None)):
        tok = _device(d, role, counter, label)
        principals[label] = (role, lambda m, tok=tok: {"Authorization": "Bearer " + tok})
    pair_token = _device(d, "display", label="pairing")
    checked = 0
    for rt in routes:
        for who, (role, headers_of) in principals.items():
            method, pattern = rt["method"], rt["path"]
            if pattern == "/api/v1/session" and method == "DELETE" and who in sessions:
                # Signing out would end the session the rest of the matrix uses: a second one.
                headers_of = Session(d, "m-" + who, 1 if who == "teller" else None).headers_for
            # Counter 3 for a release: nobody of the matrix holds it.
            path = (pattern.replace("{n}", "3" if pattern.endswith("/release") else "1")
                    .replace("{id}", str(t["id"])).replace("{token}", token)
                    .replace("{number}", t["number"]).replace("{action}", "resume"))
            path = path.replace("/assets/{file}", "/assets/branchq.css").replace("{file}", "1.txt")
            if pattern == "/pair":
                path = "/pair?token=" + pair_token
            if pattern == "/api/v1/t/{token}/cancel":
                # The customer's own change: a waiting ticket of each principal's, so each
                # really leaves the queue (the matrix's ticket waits on for the other routes).
                path = pattern.replace("{token}", d.issue("A")["token"])
            hdrs = headers_of(method)
            if pattern == "/api/v1/t/{token}/cancel":
                hdrs = dict(hdrs, **{"Content-Type": "application/json"})
            st, loc = _status(d, method, path, hdrs)
            allowed = role in rt["roles"]
            what = "%s %s as %s" % (method, path, who)
            if pattern == "/api/v1/t/{token}/cancel":
                check_eq(st, 200, "%s: anyone with the token" % what)
            elif allowed:
                check(st not in (401, 403, 421), "%s: allowed, got %d" % (what, st))
            elif who == "anonymous":
                # /metrics is for machines: a 401, never the sign-in page.
                if method == "GET" and not path.startswith("/api/") and path != "/metrics":
                    check_eq((st, (loc or "").split("?")[0]), (303, "/signin"),
                             "%s: to the sign-in page" % what)
                else:
                    check_eq(st, 401, what)
            else:
                check_eq(st, 403, what)
            checked += 1
    print("  %d routes x %d principals: %d checks" % (len(routes), len(principals), checked))
    # A teller, and a counter's device, operate their own counter only.
    teller = sessions["teller"]
    check_error(teller.request("POST", "/api/v1/counters/2/call"), 403, "forbidden",
                "a teller at another counter")
    st, _, _ = teller.request("POST", "/api/v1/counters/1/pause")
    check_eq(st, 200, "a teller at their own counter")
    # Who comes next is the counter's own view too: a teller reads their counter's only.
    check_error(teller.request("GET", "/api/v1/counters/2/next"), 403, "forbidden",
                "a teller reading another counter's next")
    check_eq(teller.request("GET", "/api/v1/counters/1/next")[0], 200,
             "a teller reading their own counter's next")


def test_sign_in_session_and_sign_out(env):
    d = env.daemon()
    _user(d, "alice", "head")
    bad = Session(d, "alice", password="wrong password")
    check_error((bad.status, bad.headers, bad.body), 401, "sign_in_failed", "wrong password")
    nobody = Session(d, "nobody-here", password="wrong password")
    check_eq(nobody.body, bad.body, "an unknown name gets the very same answer")
    # A cookie the client brought (session fixation) is not the one it gets.
    planted = "branchq_session=" + "a" * 32
    st, h, body = d.request("POST", "/api/v1/session", {"name": "alice", "password": PASSWORD},
                            headers={"Cookie": planted, "Origin": "http://127.0.0.1:%d" % d.port},
                            auth=False)
    check_eq(st, 201, "sign-in")
    cookie = h["set-cookie"]
    for flag in ("HttpOnly", "SameSite=Strict", "Path=/"):
        check(flag in cookie, "the session cookie has %s: %s" % (flag, cookie))
    check(cookie.split(";")[0] != planted, "a new session id at sign-in")
    s1, s2 = Session(d, "alice"), Session(d, "alice")
    check(s1.cookie != s2.cookie, "every sign-in makes a new id")
    st, _, me = s1.request("GET", "/api/v1/session")
    check_eq((st, me["name"], me["role"]), (200, "alice", "head"), "who am I")
    check_eq(s1.request("POST", "/api/v1/tickets", {"service": "A"})[0], 201, "issue with CSRF")
    check_eq(s1.request("DELETE", "/api/v1/session")[0], 204, "sign out")
    check_error(s1.request("GET", "/api/v1/queue"), 401, "unauthorized", "the old cookie after sign-out")
    check_eq(s2.request("GET", "/api/v1/queue")[0], 200, "another session lives on")
    conn = sqlite3.connect(d.db)
    try:
        hashes = [r[0] for r in conn.execute("SELECT hash FROM sessions")]
    finally:
        conn.close()
    check(all(s2.cookie.split("=")[1] not in h for h in hashes), "no session id is stored as is")


def test_csrf_and_host_are_checked(env):
    d = env.daemon()
    _user(d, "bob", "lobby")
    s = Session(d, "bob")
    base = s.headers_for("POST")
    cases = {
        "no CSRF token": dict(base, **{"X-CSRF-Token": None}),
        "a wrong CSRF token": dict(base, **{"X-CSRF-Token": "0" * 32}),
        "a foreign Origin": dict(base, **{"Origin": "http://evil.example"}),
        "no Origin": dict(base, **{"Origin": None}),
        "text/plain": dict(base, **{"Content-Type": "text/plain"}),
    }
    for what, headers in cases.items():
        headers = {k: v for k, v in headers.items() if v is not None}
        check_error(d.request("POST", "/api/v1/tickets", "", headers=headers, auth=False), 403,
                    "csrf", "a change with %s" % what)
    check_eq(d.waiting_numbers("A"), [], "no refused change issued a ticket")
    check_error(d.request("GET", "/healthz", headers={"Host": "evil.example:%d" % d.port}, auth=False),
                421, "misdirected", "a foreign Host (DNS rebinding)")
    check_eq(d.request("GET", "/healthz", headers={"Host": "localhost:%d" % d.port})[0], 200,
             "localhost is the branch's own name")
    # Anonymous harvest of phone tokens and replay of the staff stream are refused.
    t = d.issue("A")
    check_error(d.request("GET", "/api/v1/tickets/%d/ticket.png" % t["id"], auth=False), 401,
                "unauthorized", "a preview without sign-in")
    check_error(d.request("GET", "/api/v1/events?last_event_id=0", auth=False), 401,
                "unauthorized", "the staff stream without sign-in")
    check_error(d.request("GET", "/api/v1/tickets/%d" % t["id"], auth=False), 401,
                "unauthorized", "a ticket without sign-in")


def test_lockout_and_its_message(env):
    d = env.daemon()
    _user(d, "carol", "lobby")
    for i in range(5):
        s = Session(d, "carol", password="nope nope %d" % i)
        check_eq(s.status, 401 if i < 4 else 429, "failed sign-in %d" % (i + 1))
    s = Session(d, "carol")
    check_error((s.status, s.headers, s.body), 429, "locked", "the right password while locked")
    check("15 minutes" in s.body["error"]["message"] and "锁定" in s.body["error"]["message"],
          "the lock says so in English and Chinese: %s" % s.body["error"]["message"])
    for i in range(5):
        Session(d, "ghost", password="nope nope %d" % i)
    g = Session(d, "ghost")
    check_eq(g.body["error"]["code"], "locked", "an unknown name locks the same way")


def test_short_sessions_expire(env):
    d = env.daemon(make_config(branch={"session_idle": "1s", "session_max": "4s"}))
    _user(d, "dave", "head")
    # From before the sign-in: the daemon counts whole seconds from when it made the session,
    # so the end comes at least 3 s after this, however long the password check took.
    t0 = time.monotonic()
    s = Session(d, "dave")
    check_eq(s.request("GET", "/api/v1/queue")[0], 200, "a fresh session")
    while s.request("GET", "/api/v1/queue")[0] == 200:
        if time.monotonic() - t0 > 15:
            raise Failure("a session used every moment never met its absolute expiry")
        time.sleep(0.2)
    waited = time.monotonic() - t0
    check(3 <= waited <= 10, "the 4 s absolute expiry ended it after %.1f s" % waited)
    s = Session(d, "dave")
    check_eq(s.request("GET", "/api/v1/queue")[0], 200, "a fresh session")
    time.sleep(2.5)   # idle: the one thing this waits for is time passing
    check_error(s.request("GET", "/api/v1/queue"), 401, "unauthorized", "idle for 2.5 s of 1 s")


def test_revoked_token_and_disabled_user_stop_at_once(env):
    d = env.daemon()
    tok = _device(d, "kiosk", label="door")
    hdr = {"Authorization": "Bearer " + tok}
    check_eq(d.request("POST", "/api/v1/tickets", {"service": "A"}, headers=hdr, auth=False)[0], 201,
             "a kiosk issues")
    check_error(d.request("GET", "/api/v1/queue", headers=hdr, auth=False), 403, "forbidden",
                "a kiosk may not read the queue")
    tid = [l for l in d.cli("token", "list").stdout.splitlines() if "door" in l][0].split()[0]
    check("keep it" not in d.cli("token", "list").stdout and tok not in d.cli("token", "list").stdout,
          "token list never prints a token")
    check_eq(d.cli("token", "revoke", tid).returncode, 0, "token revoke")
    check_error(d.request("POST", "/api/v1/tickets", {"service": "A"}, headers=hdr, auth=False), 401,
                "unauthorized", "the revoked token, at once")
    _user(d, "erin", "lobby")
    s = Session(d, "erin")
    check_eq(s.request("GET", "/api/v1/queue")[0], 200, "erin's session")
    check_eq(d.cli("user", "disable", "erin").returncode, 0, "user disable")
    check_error(s.request("GET", "/api/v1/queue"), 401, "unauthorized", "a disabled account's session")
    check_eq(Session(d, "erin").status, 401, "a disabled account cannot sign in")
    # Pairing: the token goes into a cookie and the browser goes on to its page.
    ktok = _device(d, "kiosk", label="hall kiosk")
    st, h, _ = d.request("GET", "/pair?token=" + ktok, auth=False)
    check_eq((st, h.get("location")), (303, "/kiosk"), "pairing sends the kiosk to its page")
    check("branchq_device=" in h["set-cookie"] and "HttpOnly" in h["set-cookie"], "device cookie")
    cookie = h["set-cookie"].split(";")[0]
    st, _, me = d.request("GET", "/api/v1/session", headers={"Cookie": cookie}, auth=False)
    check_eq((st, me["role"], me["device"]), (200, "kiosk", True), "a paired kiosk")
    check_eq(d.request("POST", "/api/v1/tickets", {"service": "A"}, headers={
        "Cookie": cookie, "Origin": "http://127.0.0.1:%d" % d.port, "X-CSRF-Token": me["csrf"]},
        auth=False)[0], 201, "a paired kiosk issues with its CSRF token")


def test_tellers_hold_one_counter_each(env):
    d = env.daemon()
    _user(d, "tina", "teller")
    _user(d, "tom", "teller")
    s = Session(d, "tina")
    check_error((s.status, s.headers, s.body), 400, "invalid_field", "a teller without a counter")
    tina = Session(d, "tina", 1)
    check_eq(tina.status, 201, "tina at counter 1")
    tom = Session(d, "tom", 1)
    check_error((tom.status, tom.headers, tom.body), 409, "counter_taken", "tom at tina's counter")
    check("tina" in tom.body["error"]["message"], "the refusal names who holds it")
    check_eq(Session(d, "tom", 2).status, 201, "tom at counter 2")
    st, _, body = d.post("/api/v1/counters/1/release")
    check_eq((st, body["released"]), (200, 1), "a head releases counter 1")
    check_error(tina.request("GET", "/api/v1/queue"), 401, "unauthorized", "tina after the release")
    check_eq(Session(d, "tom", 1).status, 201, "tom at counter 1 once released")


def test_audit_trail_records_staff_actions(env):
    d = env.daemon()
    _user(d, "fay", "head")
    Session(d, "fay", password="not it at all")
    s = Session(d, "fay")
    s.request("POST", "/api/v1/tickets", {"service": "A"})
    s.request("POST", "/api/v1/counters/3/call")
    st, _, audit = d.get("/api/v1/audit")
    check_eq(st, 200, "the audit trail")
    rows = [(r["who"], r["action"], r["result"]) for r in audit["rows"]]
    for want in (("fay", "sign-in", "failed"), ("fay", "sign-in", "ok"), ("fay", "issue", "ok"),
                 ("fay", "call", "ok")):
        check(want in rows, "audit has %r: %r" % (want, rows))
    check(any(r["address"] == "127.0.0.1" for r in audit["rows"]), "rows carry the client address")
    st, h, _ = d.fetch("GET", "/api/v1/audit?format=csv")
    check_eq((st, h["content-type"].split(";")[0]), (200, "text/csv"), "audit CSV")
    conn = sqlite3.connect(d.db)
    try:
        for sql in ("UPDATE audit SET who = 'x'", "DELETE FROM audit"):
            try:
                conn.execute(sql)
                conn.commit()
                raise Failure("%s was allowed" % sql)
            except sqlite3.DatabaseError as e:
                check("append-only" in str(e), "refused: %s" % e)
        by = [json.loads(r[0]).get("by") for r in conn.execute(
            "SELECT data FROM events WHERE type = 'ticket.called'")]
    finally:
        conn.close()
    check_eq(by, ["fay"], "the call's event names who called")


def test_no_id_number_in_the_audit_or_anywhere(env):
    d = env.daemon()
    _user(d, "gus", "lobby")
    s = Session(d, "gus")
    idn = id_number("110101", "19400101", "321")
    check_eq(s.request("POST", "/api/v1/tickets", {"service": "A", "id_number": idn})[0], 201,
             "issue with an ID number")
    d.stop()
    blob = b""
    for suffix in ("", "-wal"):
        try:
            with open(d.db + suffix, "rb") as f:
                blob += f.read()
        except FileNotFoundError:
            pass
    blob += d.log().encode()
    check(idn.encode() not in blob and idn[:17].encode() not in blob,
          "the ID number is nowhere in the database, WAL, audit or log")
    check(PASSWORD.encode() not in blob, "nor is a password")


def test_bad_sign_in_input_gets_a_clear_error_and_changes_nothing(env):
    d = env.daemon()
    _user(d, "hana", "teller")
    origin = {"Origin": "http://127.0.0.1:%d" % d.port}
    cases = [
        (b"{not json", 400, "malformed_json"),
        ({"name": "hana"}, 400, "invalid_field"),
        ({"name": "hana", "password": 5}, 400, "invalid_field"),
        ({"name": "hana", "password": PASSWORD, "extra": 1}, 400, "invalid_field"),
        ({"name": "hana", "password": "x" * 300}, 400, "invalid_field"),
        ({"name": "hana", "password": PASSWORD, "counter": 99}, 404, "unknown_counter"),
    ]
    for body, status, code in cases:
        headers = dict(origin, **{"Content-Type": "application/json"})
        check_error(d.request("POST", "/api/v1/session", body, headers=headers, auth=False),
                    status, code, "sign-in with %r" % (body,))
    conn = sqlite3.connect(d.db)
    try:
        check_eq(conn.execute("SELECT count(*) FROM sessions").fetchone()[0], 0,
                 "no refused sign-in left a session")
    finally:
        conn.close()
    # The command line refuses names a spreadsheet would run as a formula (the audit's CSV).
    r = d.cli("user", "add", "=HYPERLINK(1)", "--role", "lobby", stdin=PASSWORD + "\n")
    check(r.returncode == 2 and "not starting with" in r.stderr, "a formula-like name: %r" % r.stderr)
    r = d.cli("token", "add", "--role", "kiosk", "--name", "@evil")
    check(r.returncode == 2, "a formula-like label is refused")
    check_eq(Session(d, "hana", 1).status, 201, "and the right sign-in still works")
