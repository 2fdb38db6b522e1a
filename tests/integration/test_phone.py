"""
The phone page's API, GET /api/v1/t/{token}: the customer's own ticket and
nothing of anyone else's; tokens that are malformed or unknown are 404
alike.
"""
import json

from harness import check, check_eq, check_error


def test_phone_token_lookup(env):
    d = env.daemon()
    other = d.issue("A")
    mine = d.issue("A", category="normal")
    st, _, body = d.fetch("GET", "/api/v1/t/%s" % mine["token"])
    check_eq(st, 200, "GET own ticket")
    j = json.loads(body)
    check_eq(sorted(j), ["branch", "rating", "ticket"], "only the ticket, the branch and its rating")
    check_eq((j["rating"]["open"], j["rating"]["key"]), (False, None), "no rating while waiting")
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
