"""
The three kinds of event stream, as their clients see them on the wire:

 - the hall display's (GET /api/v1/display/events, and the state it starts
   from, GET /api/v1/display): numbers, services, counters, the green mark,
   waiting counts and paused counters; never a category, a token, a print
   state or a ticket id;
 - a phone's (GET /api/v1/t/{token}/events): its own ticket's status, place
   and estimate, and nothing of anyone else;
 - the staff's (GET /api/v1/events): every event in full.

Each resumes with Last-Event-ID (or ?last_event_id=N) without loss or
duplicates; after a restart a display is told to reload and the staff
stream replays the log.
"""
from harness import check, check_eq, check_error, check_event_ids

DISPLAY = "/api/v1/display/events"

# What the wall screen may be told; anything else is a leak.
DISPLAY_EVENT_KEYS = {"type", "at", "ticket", "counter", "waiting", "counters"}
HALL_TICKET_KEYS = {"number", "service", "green", "lang", "status", "called_at"}
# rating: the keypad's open prompt (a number, a language, the keys), else null;
# teller (工号) only with [display] show_staff_number.
HALL_COUNTER_KEYS = {"number", "name_zh", "name_en", "paused", "state", "ticket", "rating"}
PHONE_TICKET_KEYS = {"number", "service", "service_name_zh", "service_name_en", "green", "status",
                     "counter", "ahead", "estimated_wait_s"}
NEVER_ON_THE_WALL = ("category", "token", "print", "id", "origin_id", "transferred_to",
                     "business_day", "issued_at")


def _keys(v, out=None):
    """Every object key anywhere in a JSON value."""
    out = set() if out is None else out
    if isinstance(v, dict):
        for k, x in v.items():
            out.add(k)
            _keys(x, out)
    elif isinstance(v, list):
        for x in v:
            _keys(x, out)
    return out


def _check_hall_ticket(t, what):
    check(t is None or set(t) == HALL_TICKET_KEYS, "%s: ticket fields %r" % (what, t))
    if t is not None:
        check(isinstance(t["green"], bool), "%s: green is yes or no" % what)


def _check_display_event(ev, tokens):
    d = ev["data"]
    what = "display event %s (%s)" % (ev["id"], d.get("type"))
    check_eq(set(d), DISPLAY_EVENT_KEYS, what + ": fields")
    bad = _keys(d) & set(NEVER_ON_THE_WALL)
    check(not bad, "%s carries %r: %s" % (what, sorted(bad), ev["text"]))
    _check_hall_ticket(d["ticket"], what)
    for c in d["counters"]:
        check_eq(set(c), HALL_COUNTER_KEYS, what + ": counter fields")
        _check_hall_ticket(c["ticket"], what + " counter %d" % c["number"])
    for tok in tokens:
        check(tok not in ev["text"], "%s carries a token" % what)


def test_display_stream_shows_only_what_the_wall_shows(env):
    d = env.daemon()
    st, _, state = d.get("/api/v1/display")
    check_eq(st, 200, "GET /api/v1/display")
    check_eq(sorted(state), ["at", "branch", "business_day", "call_repeats", "counters", "green",
                             "last_event_id", "rating_keys", "services"], "display state fields")
    check_eq(state["call_repeats"], 2, "display state: call_repeats, [branch] call_repeats' default")
    s = d.sse(path=DISPLAY)
    s.wait_hello()
    tokens = []

    def issue(svc="A", **kw):
        t = d.issue(svc, **kw)
        tokens.append(t["token"])
        return t

    a1 = issue("A", category="elderly")
    a2 = issue("A")
    b1 = issue("B", category="foreign")
    check_eq(d.post("/api/v1/tickets/%d/green" % a2["id"], {"category": "elderly"})[0], 200, "green")
    check_eq(d.call(1)["id"], a1["id"], "counter 1 calls the elderly ticket")
    check_eq(d.action(1, "recall")[0], 200, "recall")
    check_eq(d.post("/api/v1/tickets/%d/cancel" % a2["id"])[0], 200, "cancel")
    check_eq(d.call(2)["id"], b1["id"], "the English counter calls the foreign ticket")
    check_eq(d.action(2, "transfer", {"service": "V"})[0], 200, "transfer")
    check_eq(d.action(4, "pause")[0], 200, "pause")
    types = ["ticket.issued"] * 3 + ["ticket.green", "ticket.called", "ticket.recalled",
                                     "ticket.cancelled", "ticket.called", "ticket.transferred",
                                     "counter.paused"]
    events = s.take(len(types))
    s.expect_quiet(0.5)
    check_event_ids(events)
    check_eq([e["data"]["type"] for e in events], types, "display event types")
    for e in events:
        _check_display_event(e, tokens)
    called = events[4]["data"]
    check_eq((called["ticket"]["number"], called["counter"], called["ticket"]["green"]),
             (a1["number"], 1, True), "the call: number, counter, green")
    check_eq(events[7]["data"]["ticket"]["lang"], "en", "the voice's language of the foreign call")
    last = events[-1]["data"]
    check_eq(last["waiting"], {"A": 0, "B": 0, "V": 1}, "waiting counts after the last change")
    paused = [c["number"] for c in last["counters"] if c["paused"]]
    check_eq(paused, [4], "paused counters")
    c1 = [c for c in last["counters"] if c["number"] == 1][0]
    check_eq((c1["state"], c1["ticket"]["number"]), ("called", a1["number"]), "counter 1's call")
    for tok in tokens:
        check(tok.encode() not in bytes(s.raw), "a token went out on the display stream")

    # The state the page starts from tells the same, and no more.
    st, _, state = d.get("/api/v1/display")
    for x in state["services"]:
        check_eq(sorted(x), ["id", "name_en", "name_zh", "waiting"], "display state: a service")
    bad = _keys({k: v for k, v in state.items() if k != "services"}) & set(NEVER_ON_THE_WALL)
    check(not bad - {"business_day"}, "GET /api/v1/display carries %r" % sorted(bad))
    check_eq(state["last_event_id"], events[-1]["id"], "display state: last_event_id")
    check_eq({x["id"]: x["waiting"] for x in state["services"]}, last["waiting"], "display state: counts")
    check_eq(state["counters"], last["counters"], "display state: counters")

    # Away and back with Last-Event-ID: exactly what was missed, then live.
    s.close()
    mark = events[-1]["id"]
    a3 = issue("A")
    check_eq(d.call(3)["id"], a3["id"], "call while no display listens")
    check_eq(d.action(4, "resume")[0], 200, "resume while no display listens")
    s2 = d.sse(last_event_id=mark, path=DISPLAY)
    got = s2.take(3)
    check_event_ids(got, after=mark)
    check_eq([e["data"]["type"] for e in got], ["ticket.issued", "ticket.called", "counter.resumed"],
             "missed display events")
    s2.expect_quiet(0.5)
    for e in got:
        _check_display_event(e, tokens)
    issue("B")
    live = s2.take(1)[0]
    check(live["id"] > got[-1]["id"], "live after resuming")
    # ?last_event_id=N the same way, from the middle.
    s3 = d.sse(query="last_event_id=%d" % got[0]["id"], path=DISPLAY)
    check_eq([e["id"] for e in s3.take(3)], [got[1]["id"], got[2]["id"], live["id"]],
             "display events after ?last_event_id")
    s3.expect_quiet(0.5)
    check_error(d.get(DISPLAY, headers={"Last-Event-ID": "x"}), 400, "invalid_query",
                "a bad Last-Event-ID")


def test_after_a_restart_a_display_reloads_and_staff_replays_the_log(env):
    d = env.daemon()
    for svc in "AAB":
        d.issue(svc)
    d.call(3)
    st, _, state = d.get("/api/v1/display")
    last = state["last_event_id"]
    check_eq(last, 4, "four events")
    d.restart()
    # The hall as it was at each event is gone with the process: reload, then go on.
    s = d.sse(last_event_id=2, path=DISPLAY)
    ev = s.take(1)[0]
    check_eq((ev["id"], ev["data"]), (last, {"type": "reload"}), "a display behind a restart reloads")
    s.expect_quiet(0.5)
    up = d.sse(last_event_id=last, path=DISPLAY)
    up.wait_hello()
    up.expect_quiet(0.5)
    d.issue("A")
    check_eq(up.take(1)[0]["id"], last + 1, "an up-to-date display goes on without a reload")
    check_eq(s.take(1)[0]["id"], last + 1, "so does the one that reloaded")
    # The staff stream replays the log, as the log has it.
    staff = d.sse(last_event_id=0)
    got = staff.take(last + 1)
    check_eq([e["id"] for e in got], list(range(1, last + 2)), "staff replay after a restart")
    check_eq([e["data"]["type"] for e in got[:last]],
             ["ticket.issued"] * 3 + ["ticket.called"], "staff replay: types")
    staff.expect_quiet(0.5)


def test_staff_stream_gives_a_waiting_ticket_its_place(env):
    d = env.daemon()
    s = d.sse()
    s.wait_hello()
    d.issue("A")
    d.issue("A")
    g = d.issue("A", category="elderly")
    evs = s.take(3)
    check_eq([e["data"]["ticket"]["ahead"] for e in evs], [0, 1, g["ahead"]],
             "each issued ticket's place, as its own answer gave it")
    check_eq(evs[2]["data"]["ticket"]["category"], "elderly", "the staff see the category")
    check("token" not in evs[2]["data"]["ticket"], "not the token")
    d.call(3)
    ev = s.take(1)[0]
    check_eq((ev["data"]["type"], ev["data"]["ticket"]["ahead"]), ("ticket.called", None),
             "a called ticket has no place")


def _phone(d, ticket, last_event_id=None, query=None):
    return d.sse(last_event_id=last_event_id, query=query,
                 path="/api/v1/t/%s/events" % ticket["token"])


def _check_phone_event(ev, mine, others):
    t = ev["data"]["ticket"]
    what = "phone event %s (%s)" % (ev["id"], ev["data"].get("type"))
    check_eq(sorted(ev["data"]), ["at", "ticket", "type"], what + ": fields")
    check_eq(set(t), PHONE_TICKET_KEYS, what + ": ticket fields")
    check_eq(t["number"], mine["number"], what + ": its own number")
    for o in others:
        check(o["number"] not in ev["text"] and o["token"] not in ev["text"],
              "%s carries %s: %s" % (what, o["number"], ev["text"]))


def test_a_phone_hears_of_its_own_ticket_and_nothing_of_others(env):
    d = env.daemon()
    others = [d.issue("B"), d.issue("B"), d.issue("A", category="military")]
    mine = d.issue("B")
    p = _phone(d, mine)
    p.wait_hello()
    first = p.take(1)[0]
    check_eq((first["data"]["type"], first["data"]["ticket"]["ahead"]), ("ticket.state", 2),
             "a phone starts with its ticket as it is")
    # Twenty other tickets, issued, some made green, called, served, one cancelled:
    # none of it moves a ticket of service B, so the phone hears nothing.
    for i in range(20):
        others.append(d.issue("A", **({"category": "elderly"} if i % 5 == 0 else {})))
    check_eq(d.post("/api/v1/tickets/%d/green" % others[3]["id"], {"category": "disabled"})[0], 200,
             "green")
    check_eq(d.post("/api/v1/tickets/%d/cancel" % others[4]["id"])[0], 200, "cancel")
    for i in range(20):
        check(d.call(3 if i % 2 else 4) is not None, "an A ticket is called")
    check_eq(d.action(3, "finish")[0], 200, "finish")
    p.expect_quiet(0.5)
    # The two before it are called: each call moves it up, and it hears only its place.
    check_eq(d.call(5)["id"], others[0]["id"], "counter 5 calls the first B")
    check_eq(d.call(5)["id"], others[1]["id"], "then the second")
    check_eq(d.call(5)["id"], mine["id"], "then mine")
    evs = [first]
    while evs[-1]["data"]["type"] != "ticket.called":
        evs += p.take(1)
    p.expect_quiet(0.5)
    check_event_ids(evs)
    for e in evs:
        _check_phone_event(e, mine, others)
    aheads = [e["data"]["ticket"]["ahead"] for e in evs[:-1]]
    check(aheads[0] == 2 and aheads[-1] == 0 and aheads == sorted(aheads, reverse=True),
          "the place only goes down: %r" % aheads)
    check({e["data"]["type"] for e in evs[1:-1]} <= {"ticket.place"}, "only its place changed before")
    called = evs[-1]["data"]["ticket"]
    check_eq((called["status"], called["counter"], called["ahead"]), ("called", 5, None),
             "then it is called to counter 5")
    raw = bytes(p.raw).decode()
    for word in ("category", "token", "military", "elderly", "print"):
        check(word not in raw, "the phone's stream says %r" % word)


def test_a_phone_resumes_without_loss_or_duplicates(env):
    d = env.daemon()
    before = d.issue("A")
    mine = d.issue("A")
    p = _phone(d, mine)
    p.wait_hello()
    seen = p.take(1)[0]
    check_eq(seen["data"]["ticket"]["ahead"], 1, "one ahead")
    p.close()
    # Away while other services change: back with Last-Event-ID, nothing is due.
    d.issue("B")
    d.call(5)
    q = _phone(d, mine, last_event_id=seen["id"])
    q.wait_hello()
    q.expect_quiet(0.7)
    q.close()
    # Away while the one before it is called: back, its new place, once.
    check_eq(d.call(3)["id"], before["id"], "the one before is called")
    r = _phone(d, mine, last_event_id=seen["id"])
    moved = r.take(1)[0]
    check(moved["id"] > seen["id"], "a newer id")
    check_eq(moved["data"]["ticket"]["ahead"], 0, "its new place")
    r.expect_quiet(0.7)
    r.close()
    # With that id, nothing more; the query parameter works the same.
    u = _phone(d, mine, query="last_event_id=%d" % moved["id"])
    u.wait_hello()
    u.expect_quiet(0.7)
    # And it goes on live.
    check_eq(d.call(4)["id"], mine["id"], "mine is called")
    ev = u.take(1)[0]
    check_eq((ev["data"]["type"], ev["data"]["ticket"]["counter"]), ("ticket.called", 4), "live call")
    check(ev["id"] > moved["id"], "ids go on growing")
    u.expect_quiet(0.5)
    # A transfer keeps the token: the phone follows the ticket to its new service.
    check_eq(d.action(4, "transfer", {"service": "B"})[0], 200, "transfer")
    ev = u.take(1)[0]
    check_eq((ev["data"]["type"], ev["data"]["ticket"]["service"], ev["data"]["ticket"]["status"]),
             ("ticket.transferred", "B", "waiting"), "the phone follows its ticket")
    # After a restart (no phone of it open any more): nothing new, nothing sent; behind, the view now.
    u.close()
    d.issue("A")
    d.restart()
    v = _phone(d, mine, last_event_id=ev["id"])
    v.wait_hello()
    v.expect_quiet(0.7)
    w = _phone(d, mine, last_event_id=moved["id"])
    now = w.take(1)[0]
    check_eq((now["data"]["type"], now["data"]["ticket"]["service"]), ("ticket.state", "B"),
             "behind a restart: the view as it is now")
    check(now["id"] > ev["id"], "with the newest id")
    w.expect_quiet(0.5)

def test_a_phone_stream_needs_a_real_token(env):
    d = env.daemon()
    tok = d.issue("A")["token"]
    for bad in ("0" * 32, tok[:-1], tok.upper(), "g" * 32, "x"):
        check_error(d.get("/api/v1/t/%s/events" % bad), 404, "unknown_ticket", "token %r" % bad)
    check_error(d.post("/api/v1/t/%s/events" % tok), 405, "method_not_allowed", "POST")
    check_error(d.get("/api/v1/t/%s/events/x" % tok), 404, "not_found", "a longer path")
