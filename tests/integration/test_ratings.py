"""
The rating keypad (服务评价器) at a counter, the phone page's rating, and the
lobby's alerts, as their clients see them on the wire:

 - finishing a ticket opens the counter's prompt on the display view (number,
   language, keys; nothing personal); the keypad says it showed it, and one
   press records one rating with the ticket, counter and teller;
 - a second press, a press for another ticket and a press after the window
   change nothing (409), and only the counter's own keypad may press;
 - 不满意 raises an alert the lobby sees and acknowledges once; a kiosk's help
   call is an alert too;
 - the phone page offers the rating once the ticket is served, unless the
   counter's keypad got it first;
 - call-next on a recalled ticket never started asks whether the customer came.
"""
import time

from harness import check, check_eq, check_error, make_config


def _device(d, role, counter=None, name="dev"):
    args = ["token", "add", "--role", role, "--name", name]
    if counter is not None:
        args += ["--counter", str(counter)]
    r = d.cli(*args)
    check(r.returncode == 0, "token add %s: %s" % (role, r.stderr[-300:]))
    return {"Authorization": "Bearer " + r.stdout.split()[-1]}


def _phone_rate(d, token, key):
    """The phone page's POST: same origin, as a browser sends it."""
    h = {"Origin": "http://127.0.0.1:%d" % d.port}
    return d.request("POST", "/api/v1/t/%s/rating" % token, {"key": key}, headers=h, auth=False)


def _display_counter(d, n):
    st, _, v = d.get("/api/v1/display", auth=False)
    check_eq(st, 200, "GET /api/v1/display")
    return [c for c in v["counters"] if c["number"] == n][0], v


def _serve(d, counter):
    t = d.issue("A")
    called = d.call(counter)
    check_eq(called["id"], t["id"], "the counter calls the ticket just issued")
    st, _, j = d.action(counter, "finish")
    check_eq(st, 200, "finish (body %r)" % (j,))
    return t


def test_keypad_rates_once_within_its_window(env):
    d = env.daemon(make_config(branch={"recalls": "2"}) + "\n[rating]\nwindow = 5s\n")
    pad = _device(d, "keypad", 3, "keypad 3")
    other = _device(d, "keypad", 4, "keypad 4")
    staff = d.sse()
    staff.wait_hello()
    t = _serve(d, 3)

    c, view = _display_counter(d, 3)
    check_eq([k["key"] for k in view["rating_keys"]], ["very_satisfied", "satisfied", "dissatisfied"],
             "the default keys, in order")
    check_eq(view["rating_keys"][2]["zh"], "不满意", "with their Chinese labels")
    p = c["rating"]
    check(p is not None, "the finished ticket's prompt is on the display view: %r" % (c,))
    check_eq((p["ticket_id"], p["number"], p["lang"]), (t["id"], t["number"], "zh"), "its ticket")
    check_eq(sorted(p.keys()), ["keys", "lang", "number", "ticket_id", "until"], "nothing personal")
    check_eq(c["name_zh"], "3 号窗口", "the counter's default name")

    st, _, _ = d.request("POST", "/api/v1/counters/3/rating/shown", {"ticket_id": t["id"]},
                         headers=pad, auth=False)
    check_eq(st, 204, "the keypad shows the keys")
    check_error(d.request("POST", "/api/v1/counters/3/rating", {"ticket_id": t["id"],
                "key": "satisfied"}, headers=other, auth=False), 403, "forbidden",
                "another counter's keypad")
    check_error(d.request("POST", "/api/v1/counters/3/rating", {"ticket_id": t["id"],
                "key": "great"}, headers=pad, auth=False), 400, "invalid_field", "an unknown key")
    check_error(d.request("POST", "/api/v1/counters/3/rating", {"ticket_id": t["id"] + 99,
                "key": "satisfied"}, headers=pad, auth=False), 409, "rating_closed",
                "a press for another ticket")
    st, _, j = d.request("POST", "/api/v1/counters/3/rating", {"ticket_id": t["id"],
                         "key": "satisfied"}, headers=pad, auth=False)
    check_eq(st, 200, "the press (body %r)" % (j,))
    check_eq((j["rating"]["key"], j["rating"]["source"], j["rating"]["counter"]),
             ("satisfied", "counter", 3), "recorded with its counter")
    check_eq(j["rating"]["teller"], "tests", "and the account that finished it")
    check(_display_counter(d, 3)[0]["rating"] is None, "the keypad goes idle")
    check_error(d.request("POST", "/api/v1/counters/3/rating", {"ticket_id": t["id"],
                "key": "dissatisfied"}, headers=pad, auth=False), 409, "rating_closed",
                "a second press")
    types = [e["data"]["type"] for e in staff.take(5)]
    check_eq(types, ["ticket.issued", "ticket.called", "ticket.served", "rating.prompted",
                     "ticket.rated"], "the staff stream's events")
    check_eq(d.get("/api/v1/alerts")[2]["alerts"], [], "a satisfied customer raises no alert")

    # 请评价 asks again only for an unrated ticket; a late press changes nothing.
    check_error(d.post("/api/v1/counters/3/rate", {}), 409, "nothing_to_rate",
                "the last served is rated already")
    t2 = _serve(d, 3)
    deadline = time.monotonic() + 15
    while _display_counter(d, 3)[0]["rating"] is not None:
        check(time.monotonic() < deadline, "the prompt closes when its window passes")
        time.sleep(0.2)
    check_error(d.request("POST", "/api/v1/counters/3/rating", {"ticket_id": t2["id"],
                "key": "satisfied"}, headers=pad, auth=False), 409, "rating_closed", "a late press")
    st, _, j = d.post("/api/v1/counters/3/rate", {})
    check_eq((st, j["rating"]["ticket_id"]), (200, t2["id"]), "请评价 opens it again")
    check_eq(_display_counter(d, 3)[0]["rating"]["ticket_id"], t2["id"], "the keypad asks again")
    st, _, audit = d.get("/api/v1/audit")
    check(any(r["action"] == "rating" and r["who"] == "keypad 3" for r in audit["rows"]),
          "the audit trail names the keypad")


def test_dissatisfied_alerts_the_lobby_until_acknowledged(env):
    d = env.daemon()
    pad = _device(d, "keypad", 2, "keypad 2")
    kiosk = _device(d, "kiosk", None, "door kiosk")
    t = _serve(d, 2)
    st, _, _ = d.request("POST", "/api/v1/counters/2/rating", {"ticket_id": t["id"],
                         "key": "dissatisfied"}, headers=pad, auth=False)
    check_eq(st, 200, "不满意 pressed")
    st, _, _ = d.request("POST", "/api/v1/help", {}, headers=kiosk, auth=False)
    check_eq(st, 202, "a help call")
    alerts = d.get("/api/v1/alerts")[2]["alerts"]
    check_eq([(a["kind"], a["counter"], a["number"], a["from"]) for a in alerts],
             [("dissatisfied", 2, t["number"], None), ("help", None, None, "door kiosk")],
             "both alerts, oldest first")
    check_eq(alerts[0]["teller"], "tests", "the alert names the teller")
    staff = d.sse(last_event_id=None)
    staff.wait_hello()
    st, _, j = d.post("/api/v1/alerts/%d/ack" % alerts[0]["id"], {})
    check_eq(st, 200, "acknowledged (body %r)" % (j,))
    check(j["alert"]["acknowledged_at"] is not None, "with its time")
    ev = staff.take(1)[0]["data"]
    check_eq((ev["type"], ev["of"], ev["kind"]), ("alert.acknowledged", alerts[0]["id"],
             "dissatisfied"), "the staff stream hears it")
    check(ev["after_s"] >= 0, "how long it waited")
    check_error(d.post("/api/v1/alerts/%d/ack" % alerts[0]["id"], {}), 409,
                "already_acknowledged", "a second acknowledgement")
    check_error(d.post("/api/v1/alerts/999999/ack", {}), 404, "unknown_alert", "no such alert")
    check_eq([a["kind"] for a in d.get("/api/v1/alerts")[2]["alerts"]], ["help"], "one left open")
    d.restart()
    check_eq([a["kind"] for a in d.get("/api/v1/alerts")[2]["alerts"]], ["help"],
             "a restart keeps what was answered and what was not")


def test_phone_rates_once_unless_the_keypad_did(env):
    d = env.daemon()
    pad = _device(d, "keypad", 1, "keypad 1")
    t = d.issue("A")
    st, _, j = d.get("/api/v1/t/%s" % t["token"], auth=False)
    check_eq((st, j["rating"]["open"]), (200, False), "no rating while waiting")
    check_error(_phone_rate(d, t["token"], "satisfied"), 409, "rating_closed", "a rating before the service")
    d.call(1)
    d.action(1, "finish")
    j = d.get("/api/v1/t/%s" % t["token"], auth=False)[2]
    check_eq((j["rating"]["open"], j["rating"]["key"]), (True, None), "open once served")
    check_eq(len(j["rating"]["keys"]), 3, "with the keypad's keys")
    st, _, r = _phone_rate(d, t["token"], "very_satisfied")
    check_eq((st, r["rating"]["source"]), (200, "phone"), "rated from the phone")
    j = d.get("/api/v1/t/%s" % t["token"], auth=False)[2]
    check_eq((j["rating"]["open"], j["rating"]["key"]), (False, "very_satisfied"), "shown rated")
    check_error(_phone_rate(d, t["token"], "satisfied"), 409, "already_rated", "a second rating")
    check_error(d.request("POST", "/api/v1/counters/1/rating", {"ticket_id": t["id"],
                "key": "satisfied"}, headers=pad, auth=False), 409, "rating_closed",
                "the keypad stopped asking")
    # Rated at the counter first: the phone offers nothing.
    t2 = _serve(d, 1)
    d.request("POST", "/api/v1/counters/1/rating", {"ticket_id": t2["id"], "key": "satisfied"},
              headers=pad, auth=False)
    j = d.get("/api/v1/t/%s" % t2["token"], auth=False)[2]
    check_eq((j["rating"]["open"], j["rating"]["key"]), (False, "satisfied"), "rated at the counter")
    check_error(_phone_rate(d, t2["token"], "dissatisfied"), 409, "already_rated", "the phone after the keypad")


def test_call_next_asks_whether_a_recalled_customer_came(env):
    d = env.daemon()
    a = d.issue("A")
    b = d.issue("A")
    c = d.issue("A")
    d.call(3)
    st, _, _ = d.action(3, "recall")
    check_eq(st, 200, "recall")
    check_error(d.action(3, "call"), 409, "outcome_needed", "call next on a recalled ticket")
    check_eq(d.counter(3)["ticket"]["id"], a["id"], "nothing changed: still at the counter")
    check_error(d.action(3, "call", {"outcome": "maybe"}), 400, "invalid_field", "a bad outcome")
    st, _, j = d.action(3, "call", {"outcome": "no_show"})
    check_eq((st, j["ticket"]["id"]), (200, b["id"]), "the next is called")
    check_eq(d.ticket(a["id"])["status"], "no_show", "the recalled customer did not come")
    d.action(3, "recall")
    st, _, j = d.action(3, "call", {"outcome": "served"})
    check_eq((st, j["ticket"]["id"]), (200, c["id"]), "the next again")
    check_eq(d.ticket(b["id"])["status"], "served", "this one came")
    # Called once and not recalled: served, as before.
    d.issue("A")
    st, _, _ = d.action(3, "call")
    check_eq(st, 200, "call next after a first call asks nothing")
    check_eq(d.ticket(c["id"])["status"], "served", "counted served")
