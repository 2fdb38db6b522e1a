"""
The phone page's own change and answers: POST /api/v1/t/{token}/cancel
(the customer leaves the queue; public, the token is the key, a waiting
ticket of today only, with the rules every public change follows), the page
/t/{token} answering 404 for a token nobody has, an expired ticket's answer
naming its day, and phone_alert_ahead reaching the phone.
"""
import os
import sqlite3

from harness import check, check_eq, check_error, make_config

PAST_TOKEN = "e" * 29 + "777"


def _phone_post(d, token, headers=None, body="{}"):
    h = {"Content-Type": "application/json", "Origin": "http://127.0.0.1:%d" % d.port}
    h.update(headers or {})
    return d.request("POST", "/api/v1/t/%s/cancel" % token, body, headers=h, auth=False)


def _with_past_ticket(d):
    """Stop d, put in a ticket left waiting on 2 June 2025 (token PAST_TOKEN), start again."""
    d.stop()
    conn = sqlite3.connect(d.db)
    try:
        t = 1748829600                  # 2025-06-02 10:00 in Asia/Shanghai
        conn.execute("INSERT INTO tickets(id, origin_id, bday, number, service, category, lang, "
                     "status, token, issued_at, created_at, recalls) VALUES (900, 900, "
                     "'2025-06-02', 'A001', 'A', 'normal', 'zh', 'waiting', ?, ?, ?, 0)",
                     (PAST_TOKEN, t, t))
        conn.commit()
    finally:
        conn.close()
    d.start()


def test_phone_cancel_leaves_the_queue_once(env):
    d = env.daemon()
    first = d.issue("A")
    mine = d.issue("A")
    st, _, j = _phone_post(d, mine["token"])
    check_eq(st, 200, "the customer leaves the queue: %r" % j)
    check_eq((j["ticket"]["id"], j["ticket"]["status"]), (mine["id"], "cancelled"), "cancelled")
    check("token" not in j["ticket"], "the token is not echoed")
    check_eq(d.ticket(mine["id"])["status"], "cancelled", "the staff see it cancelled")
    check_eq(d.waiting_numbers("A"), [first["number"]], "the other customer still waits")
    check_error(_phone_post(d, mine["token"]), 409, "ticket_not_waiting", "a second time")
    st, _, j = d.get("/api/v1/t/%s" % mine["token"])
    check_eq(j["ticket"]["status"], "cancelled", "the phone reads it cancelled")
    st, _, audit = d.get("/api/v1/audit")
    rows = [(r["who"], r["action"], r["result"]) for r in audit["rows"]]
    check(("phone", "phone-cancel", "ok") in rows, "the audit trail records it: %r" % rows)
    check(("phone", "phone-cancel", "ticket_not_waiting") in rows, "and the refusal: %r" % rows)


def test_phone_cancel_refuses_what_is_not_waiting_today(env):
    d = env.daemon()
    called = d.issue("A")
    check_eq(d.call(3)["id"], called["id"], "called")
    check_error(_phone_post(d, called["token"]), 409, "ticket_not_waiting", "a called ticket")
    check_eq(d.ticket(called["id"])["status"], "called", "still called")
    _with_past_ticket(d)
    st, _, body = _phone_post(d, PAST_TOKEN)
    check_error((st, None, body), 409, "previous_day", "a ticket of an earlier day")
    check("2025-06-02" in body["error"]["message"], "the day is named: %r" % body)
    for bad in ("0" * 32, PAST_TOKEN.upper(), "x", PAST_TOKEN[:-1]):
        check_error(_phone_post(d, bad), 404, "unknown_ticket", "token %r" % bad)


def test_phone_cancel_follows_the_public_change_rules(env):
    d = env.daemon()
    mine = d.issue("A")
    tok = mine["token"]
    check_error(_phone_post(d, tok, {"Origin": None}), 403, "csrf", "no Origin")
    check_error(_phone_post(d, tok, {"Origin": "http://evil.example"}), 403, "csrf", "another Origin")
    check_error(_phone_post(d, tok, {"Content-Type": "text/plain"}), 403, "csrf", "a form's type")
    check_error(_phone_post(d, tok, body='{"x":1}'), 400, "invalid_field", "an unknown field")
    check_error(_phone_post(d, tok, body="{"), 400, "malformed_json", "broken JSON")
    check_error(d.request("GET", "/api/v1/t/%s/cancel" % tok, auth=False), 405,
                "method_not_allowed", "GET")
    check_eq(d.ticket(mine["id"])["status"], "waiting", "none of those changed anything")


def test_phone_page_is_404_for_an_unknown_token(env):
    d = env.daemon()
    mine = d.issue("A")
    _with_past_ticket(d)
    st, h, page = d.fetch("GET", "/t/%s" % mine["token"], auth=False)
    check_eq((st, h["content-type"].split(";")[0]), (200, "text/html"), "a known token's page")
    check(b"phone.js" in page, "the phone page")
    st, _, _ = d.fetch("GET", "/t/%s" % PAST_TOKEN, auth=False)
    check_eq(st, 200, "an earlier day's page: the page says it expired")
    for bad in ("0" * 32, mine["token"].upper(), mine["token"][:-1], "x", "g" * 32):
        st, h, body = d.fetch("GET", "/t/%s" % bad, auth=False)
        check_eq((st, h["content-type"].split(";")[0]), (404, "text/html"), "/t/%s" % bad)
        check_eq(body, page, "the same page, which says to ask the lobby staff")
    st, _, _ = d.fetch("HEAD", "/t/%s" % ("0" * 32), auth=False)
    check_eq(st, 404, "HEAD too")


def test_phone_expired_answer_names_its_day(env):
    d = env.daemon()
    _with_past_ticket(d)
    st, _, body = d.get("/api/v1/t/%s" % PAST_TOKEN, auth=False)
    check_error((st, None, body), 410, "ticket_expired", "an earlier day's token")
    msg = body["error"]["message"]
    check("2025-06-02" in msg and "此号票是 2025-06-02 的" in msg, "the day is named: %r" % msg)


def test_phone_alert_ahead_reaches_the_phone(env):
    d = env.daemon()
    t = d.issue("A")
    check_eq(d.get("/api/v1/t/%s" % t["token"], auth=False)[2]["branch"]["alert_ahead"], 3,
             "the default")
    d.stop()
    d2 = env.daemon(make_config(branch={"phone_alert_ahead": "7"}), name="seven")
    t2 = d2.issue("A")
    check_eq(d2.get("/api/v1/t/%s" % t2["token"], auth=False)[2]["branch"]["alert_ahead"], 7,
             "configured")
    for bad in ("21", "-1", "three"):
        path = os.path.join(env.dir, "alert-%s.conf" % bad)
        with open(path, "w", encoding="utf-8") as f:
            f.write(make_config(branch={"phone_alert_ahead": bad}))
        rc, out = env.run(["-n", "-f", path])
        check(rc != 0 and "phone_alert_ahead" in out, "phone_alert_ahead = %s refused: %s" % (bad, out))
