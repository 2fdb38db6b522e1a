"""
Server-Sent Events as a hall display sees them: one event per change, in
order, with strictly increasing ids, never carrying a ticket's token; and
resuming after a disconnect with Last-Event-ID or ?last_event_id=N delivers
exactly the missed events.
"""
import time
import json

from harness import check, check_eq, check_error, check_event_ids


def _no_token(ev, tokens):
    check("token" not in ev["text"], "event %s carries a \"token\" field: %s" % (ev["id"], ev["text"]))
    for tok in tokens:
        check(tok not in ev["text"], "event %s carries a ticket's token" % ev["id"])


def test_events_one_per_change_and_resume(env):
    d = env.daemon()
    s1 = d.sse()  # no Last-Event-ID: the stream starts with the next change
    s1.wait_hello()
    check(s1.headers.get("content-type", "").startswith("text/event-stream"),
          "content type %r" % s1.headers.get("content-type"))

    tokens = []
    expected = []  # (type, ticket number or None, counter or None)

    def issue(svc="A", **kw):
        t = d.issue(svc, **kw)
        tokens.append(t["token"])
        expected.append(("ticket.issued", t["number"], None))
        return t

    def ok(resp, what):
        check_eq(resp[0], 200, what + ": status (%r)" % (resp[2],))
        return resp[2]

    t1, t2, t3 = issue(), issue(), issue()
    ok(d.post("/api/v1/tickets/%d/green" % t3["id"], {"category": "disabled"}), "green")
    expected.append(("ticket.green", t3["number"], None))
    ok(d.post("/api/v1/tickets/%d/cancel" % t2["id"]), "cancel")
    expected.append(("ticket.cancelled", t2["number"], None))
    check_eq(d.call(3)["id"], t3["id"], "call: the disabled ticket")
    expected.append(("ticket.called", t3["number"], 3))
    ok(d.action(3, "recall"), "recall")
    expected.append(("ticket.recalled", t3["number"], 3))
    ok(d.action(3, "no-show"), "no-show")
    expected.append(("ticket.no_show", t3["number"], 3))
    check_eq(d.call(3)["id"], t1["id"], "call t1")
    expected.append(("ticket.called", t1["number"], 3))
    ok(d.action(3, "start"), "start")
    expected.append(("ticket.serving", t1["number"], 3))
    ok(d.action(3, "finish"), "finish")
    expected.append(("ticket.served", t1["number"], 3))
    t4, t5 = issue(), issue()
    check_eq(d.call(3)["id"], t4["id"], "call t4")
    expected.append(("ticket.called", t4["number"], 3))
    # A call with a customer at the counter is two changes: served, then called.
    check_eq(d.call(3)["id"], t5["id"], "call t5")
    expected.append(("ticket.served", t4["number"], 3))
    expected.append(("ticket.called", t5["number"], 3))
    leg = ok(d.action(3, "transfer", {"service": "B"}), "transfer")["ticket"]
    expected.append(("ticket.transferred", t5["number"], 3))
    ok(d.action(4, "pause"), "pause")
    expected.append(("counter.paused", None, 4))
    ok(d.action(4, "resume"), "resume")
    expected.append(("counter.resumed", None, 4))
    # Refused requests change nothing and say nothing.
    check_error(d.action(4, "resume"), 409, "counter_not_paused", "resume twice")
    check_error(d.action(3, "finish"), 409, "no_current_ticket", "finish at idle counter")

    events = s1.take(len(expected))
    s1.expect_quiet(1.0)
    ids = check_event_ids(events)
    got = [(e["data"]["type"], (e["data"].get("ticket") or {}).get("number"), e["data"].get("counter"))
           for e in events]
    check_eq(got, expected, "events (type, number, counter)")
    for e in events:
        _no_token(e, tokens)
        check(e["data"].get("at"), "event %d has a time" % e["id"])
    tr = events[[x[0] for x in expected].index("ticket.transferred")]["data"]
    check_eq(tr["from"], {"id": t5["id"], "service": "A"}, "transferred: from")
    check_eq((tr["ticket"]["id"], tr["ticket"]["service"]), (leg["id"], "B"), "transferred: new leg")
    check("ticket" not in events[-1]["data"], "counter events carry no ticket")
    check_eq(d.queue()["last_event_id"], ids[-1], "/queue last_event_id is the newest event")
    for tok in tokens:
        check(tok.encode() not in bytes(s1.raw), "a token went out on the stream")

    # Disconnect, change things, come back with Last-Event-ID.
    s1.close()
    last = ids[-1]
    t6 = issue()
    check_eq(d.call(4)["id"], t6["id"], "call t6 while nobody listens")
    ok(d.action(5, "pause"), "pause 5 while nobody listens")
    missed = [("ticket.issued", t6["number"]), ("ticket.called", t6["number"]), ("counter.paused", None)]
    s2 = d.sse(last_event_id=last)
    got2 = s2.take(3)
    ids2 = check_event_ids(got2, after=last)
    check_eq([(e["data"]["type"], (e["data"].get("ticket") or {}).get("number")) for e in got2],
             missed, "missed events after Last-Event-ID")
    s2.expect_quiet(1.0)
    # The resumed stream then carries new changes live.
    ok(d.action(5, "resume"), "resume 5")
    live = s2.take(1)
    check_eq(live[0]["data"]["type"], "counter.resumed", "live event after resuming")
    check(live[0]["id"] > ids2[-1], "live event id increases")
    s2.expect_quiet(1.0)
    all_ids = ids + ids2 + [live[0]["id"]]

    # ?last_event_id=N resumes the same way (for an EventSource given a URL).
    k = ids[4]
    s3 = d.sse(query="last_event_id=%d" % k)
    got3 = s3.take(len([i for i in all_ids if i > k]))
    check_eq([e["id"] for e in got3], [i for i in all_ids if i > k], "events after ?last_event_id")
    s3.expect_quiet(1.0)

    # Last-Event-ID: 0 replays the whole log.
    s4 = d.sse(last_event_id=0)
    got4 = s4.take(len(all_ids))
    check_eq([e["id"] for e in got4], all_ids, "events after Last-Event-ID: 0")
    for a, b in zip(got4, events + got2 + live):
        check_eq(json.loads(a["text"]), b["data"], "replayed event %d equals the live one" % a["id"])
    s4.expect_quiet(1.0)

    for bad in ("abc", "-1", "1x"):
        st, _, body = d.get("/api/v1/events", headers={"Last-Event-ID": bad})
        check_error((st, None, body), 400, "invalid_query", "Last-Event-ID %r" % bad)


def test_keepalive_comment_every_15_seconds(env):
    """An idle stream gets a comment within 15 s (and events still flow after it)."""
    d = env.daemon()
    s = d.sse()
    s.wait_hello()
    began = time.monotonic()
    while b": keepalive" not in bytes(s.raw):
        check(time.monotonic() - began < 17.5, "no keep-alive comment within 17.5 s")
        check(not s.ended.is_set(), "stream ended while idle: %r" % s.error)
        time.sleep(0.2)
    t = d.issue("A")
    ev = s.take(1)[0]
    check_eq((ev["data"]["type"], ev["data"]["ticket"]["number"]), ("ticket.issued", t["number"]),
             "event after the keep-alive")
