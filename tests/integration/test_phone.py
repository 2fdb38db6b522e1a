"""
The phone page's API, GET /api/v1/t/{token}: the customer's own ticket and
nothing of anyone else's; tokens that are malformed or unknown are 404
alike. And events reach a stream at once when the change came on a
kept-alive connection (as a browser's requests do).
"""
import http.client
import json
import time

from harness import check, check_eq, check_error


def test_phone_token_lookup(env):
    d = env.daemon()
    other = d.issue("A")
    mine = d.issue("A", category="normal")
    st, _, body = d.fetch("GET", "/api/v1/t/%s" % mine["token"])
    check_eq(st, 200, "GET own ticket")
    j = json.loads(body)
    check_eq(sorted(j), ["branch", "ticket"], "only the ticket and the branch")
    t = j["ticket"]
    check_eq((t["number"], t["status"], t["ahead"]), (mine["number"], "waiting", 1), "own ticket, one ahead")
    check("token" not in t, "the token is not echoed")
    text = body.decode()
    check(other["number"] not in text and other["token"] not in text,
          "nothing of the other ticket: %s" % text)
    check_eq((t["id"], t["origin_id"]), (mine["id"], mine["id"]), "the ids are the ticket's own")
    # Called: the counter shows.
    d.call(3)
    d.call(4)
    st, _, j = d.get("/api/v1/t/%s" % mine["token"])
    check_eq((j["ticket"]["status"], j["ticket"]["counter"]), ("called", 4), "called to counter 4")
    # Transferred: the token follows the ticket to its newest leg.
    st, _, _ = d.action(4, "transfer", {"service": "B"})
    check_eq(st, 200, "transfer")
    st, _, j = d.get("/api/v1/t/%s" % mine["token"])
    check_eq((j["ticket"]["service"], j["ticket"]["status"]), ("B", "waiting"), "the newest leg")


def test_phone_bad_tokens(env):
    d = env.daemon()
    tok = d.issue("A")["token"]
    for bad in (tok[:-1], tok + "0", tok.upper(), "g" * 32, "0" * 32, tok[:-1] + "%00",
                tok[:16] + "-" + tok[17:], "x"):
        check_error(d.get("/api/v1/t/%s" % bad), 404, "unknown_ticket", "token %r" % bad)
    check_error(d.get("/api/v1/t/%s/x" % tok), 404, "not_found", "a longer path")
    check_error(d.post("/api/v1/t/%s" % tok), 405, "method_not_allowed", "POST")


def test_events_on_a_kept_alive_connection_arrive_at_once(env):
    d = env.daemon()
    s = d.sse()
    s.wait_hello()
    conn = http.client.HTTPConnection("127.0.0.1", d.port, timeout=5)
    try:
        for n in range(2):
            a = time.monotonic()
            conn.request("POST", "/api/v1/tickets", body=json.dumps({"service": "A"}),
                         headers={"Content-Type": "application/json"})
            r = conn.getresponse()
            r.read()
            check_eq(r.status, 201, "issue on a kept-alive connection")
            ev = s.take(1, timeout=1.0)
            check_eq(len(ev), 1, "the event arrives within a second")
            print("event %d after %.1f ms" % (n + 1, (time.monotonic() - a) * 1000))
    finally:
        conn.close()
