"""
Bad input gets the documented error, in the one documented shape, and
changes nothing: malformed or mistyped bodies, unknown things, wrong
methods, oversized bodies (with Content-Length and chunked), and the wrong
media type. Afterwards the queue is exactly as before and the daemon
still answers.
"""
import json

from harness import check, check_eq, check_error


def _state(d):
    q = d.queue()
    services = [(s["id"], s["waiting"], [(t["id"], t["number"], t["status"]) for t in s["tickets"]])
                for s in q["services"]]
    counters = [(c["number"], c["paused"], c["state"], (c["ticket"] or {}).get("id"))
                for c in q["counters"]]
    return services, counters, q["last_event_id"]


def _raw_post(d, path, body, content_type="application/json", chunks=None):
    """A POST written byte by byte: Content-Length, or chunked when chunks is given."""
    head = "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" % path
    if content_type:
        head += "Content-Type: %s\r\n" % content_type
    if chunks is None:
        head += "Content-Length: %d\r\n\r\n" % len(body)
        return d.raw(head.encode() + body)
    head += "Transfer-Encoding: chunked\r\n\r\n"
    data = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"
    return d.raw(head.encode() + data)


def test_bad_input_is_refused_and_changes_nothing(env):
    d = env.daemon()
    a1 = d.issue("A")
    d.issue("B")
    check_eq(d.call(1)["id"], a1["id"], "call a1")
    d.issue("A")
    before = _state(d)

    tickets = "/api/v1/tickets"
    cases = [
        ("malformed JSON", lambda: d.post(tickets, '{"service":', {"Content-Type": "application/json"}),
         400, "malformed_json"),
        ("JSON array", lambda: d.post(tickets, ["A"]), 400, "malformed_json"),
        ("JSON string", lambda: d.post(tickets, '"A"', {"Content-Type": "application/json"}),
         400, "malformed_json"),
        ("duplicate key", lambda: d.post(tickets, '{"service":"A","service":"B"}',
                                         {"Content-Type": "application/json"}), 400, "malformed_json"),
        ("unknown field", lambda: d.post(tickets, {"service": "A", "colour": "red"}), 400, "invalid_field"),
        ("missing service", lambda: d.post(tickets, {"category": "elderly"}), 400, "invalid_field"),
        ("empty body", lambda: d.post(tickets), 400, "invalid_field"),
        ("service not a string", lambda: d.post(tickets, {"service": 1}), 400, "invalid_field"),
        ("unknown service", lambda: d.post(tickets, {"service": "Z"}), 404, "unknown_service"),
        ("unknown category", lambda: d.post(tickets, {"service": "A", "category": "vip"}),
         400, "invalid_category"),
        ("unknown lang", lambda: d.post(tickets, {"service": "A", "lang": "fr"}), 400, "invalid_lang"),
        ("bad ID number", lambda: d.post(tickets, {"service": "A", "id_number": "12345"}),
         400, "invalid_id_number"),
        ("unknown counter", lambda: d.post("/api/v1/counters/99/call"), 404, "unknown_counter"),
        ("counter 0", lambda: d.post("/api/v1/counters/0/call"), 404, "unknown_counter"),
        ("unknown counter action", lambda: d.post("/api/v1/counters/1/dance"), 404, "not_found"),
        ("unknown ticket", lambda: d.get("/api/v1/tickets/9999"), 404, "unknown_ticket"),
        ("non-numeric ticket id", lambda: d.get("/api/v1/tickets/abc"), 404, "unknown_ticket"),
        ("ticket id with sign", lambda: d.get("/api/v1/tickets/+1"), 404, "unknown_ticket"),
        ("unknown path", lambda: d.get("/api/v1/nothing"), 404, "not_found"),
        ("text/plain body", lambda: d.post(tickets, '{"service":"A"}', {"Content-Type": "text/plain"}),
         415, "unsupported_media_type"),
        ("a media type that only starts like JSON",
         lambda: d.post(tickets, '{"service":"A"}', {"Content-Type": "application/jsonx"}),
         415, "unsupported_media_type"),
        ("counter number that is not UTF-8", lambda: d.get("/api/v1/counters/%FF"),
         404, "unknown_counter"),
        ("counter action that is not UTF-8", lambda: d.post("/api/v1/counters/1/%E5%BC"),
         404, "not_found"),
        ("body too large, Content-Length",
         lambda: _raw_post(d, tickets, b'{"service":"A","x":"' + b"a" * 17000 + b'"}'),
         413, "body_too_large"),
        ("body too large, chunked",
         lambda: _raw_post(d, tickets, None, chunks=[b'{"service":"A","x":"'] + [b"a" * 1000] * 17 + [b'"}']),
         413, "body_too_large"),
        ("body too large, Content-Length, no body sent",
         lambda: d.raw(b"POST /api/v1/tickets HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                       b"Content-Length: 1000000\r\n\r\n"),
         413, "body_too_large"),
    ]
    for what, fn, status, code in cases:
        check_error(fn(), status, code, what)

    # Wrong methods: 405 naming the right one in Allow.
    for method, path, allow in [("GET", "/api/v1/counters/1/call", "POST"),
                                ("DELETE", "/api/v1/tickets", "POST"),
                                ("PUT", "/api/v1/tickets/1", "GET"),
                                ("POST", "/api/v1/queue", "GET"),
                                ("POST", "/healthz", "GET")]:
        resp = d.request(method, path)
        check_error(resp, 405, "method_not_allowed", "%s %s" % (method, path))
        check_eq(resp[1].get("allow"), allow, "%s %s: Allow header" % (method, path))

    # A body exactly at the limit is read (and refused only for its content).
    pad = 16 * 1024 - len(b'{"service":"A","x":""}')
    resp = _raw_post(d, tickets, b'{"service":"A","x":"' + b"a" * pad + b'"}')
    check_error(resp, 400, "invalid_field", "16 KiB body with an unknown field")

    check_eq(_state(d), before, "queue, counters and event log unchanged by bad input")
    st, _, body = d.get("/healthz")
    check_eq((st, body.get("status")), (200, "ok"), "healthz after bad input")
    check_eq(d.issue("A")["number"], "A003", "the next ticket gets the next number")


def test_errors_never_quote_an_id_number(env):
    """A scanner's stray CR or a cut-off body: the error must not carry the number back."""
    d = env.daemon()
    idn = "11010519491231002X"
    for body in ('{"service":"A","id_number":"%s\r"}' % idn,
                 '{"service":"A","id_number":"%s}' % idn,
                 '{"service":"A","id_number":"%s",}' % idn,
                 '{"service":"A","id_number":"%s" "x"}' % idn):
        st, h, j = d.post("/api/v1/tickets", body, {"Content-Type": "application/json"})
        check_error((st, h, j), 400, "malformed_json", "malformed body with an ID number")
        check("1949" not in json.dumps(j) and idn not in json.dumps(j),
              "the error quotes the ID number: %r" % j)
    check(idn not in d.log() and "1949123" not in d.log(), "the log holds the ID number")
    check_eq(d.queue()["services"][0]["waiting"], 0, "nothing issued")


def test_request_lines_cannot_forge_log_lines(env):
    d = env.daemon()
    st, _, _ = d.raw(b"POST /api/v1/tickets%0A2026-01-01T00:00:00%20info:%20forged HTTP/1.1\r\n"
                     b"Host: 127.0.0.1\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
    check_eq(st, 404, "a path with a newline is not found")
    # The log is read by a thread of the harness: wait for the request's line, then look.
    d.wait_log("%0A2026-01-01")
    check(not any(line.startswith("2026-01-01T00:00:00 info: forged") for line in d.log().splitlines()),
          "a request wrote its own line into the log")


def test_endless_chunked_body_is_cut_off(env):
    """A client streaming an unannounced body for ever is cut off, and the daemon serves on."""
    import socket
    d = env.daemon()
    s = socket.create_connection(("127.0.0.1", d.port), timeout=10)
    s.sendall(b"POST /api/v1/tickets HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
              b"Transfer-Encoding: chunked\r\n\r\n")
    chunk = b"%x\r\n%s\r\n" % (65536, b"a" * 65536)
    sent, cut = 0, False
    try:
        while sent < 64 * 1024 * 1024:
            s.sendall(chunk)
            sent += 65536
    except OSError:
        cut = True
    if not cut:
        try:
            s.settimeout(5)
            cut = s.recv(1) == b""
        except OSError:
            cut = True
    s.close()
    # The daemon cuts at 1 MiB; the kernel's socket buffers may take some MiB more first.
    check(cut, "64 MiB of body went in without the connection being cut")
    check(sent <= 32 * 1024 * 1024, "cut off soon after 1 MiB, not after %d bytes" % sent)
    st, _, body = d.get("/healthz")
    check_eq((st, body.get("status")), (200, "ok"), "healthz after the endless body")
    check_eq(d.queue()["services"][0]["waiting"], 0, "nothing issued")


def test_small_valid_bodies(env):
    d = env.daemon()
    # A chunked body under the limit and a charset parameter are fine.
    resp = _raw_post(d, "/api/v1/tickets", None, content_type="application/json; charset=utf-8",
                     chunks=[b'{"serv', b'ice":"B"}'])
    check_eq(resp[0], 201, "chunked small body: status (%r)" % (resp[2],))
    check_eq(resp[2]["ticket"]["number"], "B001", "chunked small body: ticket")
    # Counter actions take an empty body or {}.
    d.issue("A")
    check_eq(d.post("/api/v1/counters/3/call", {})[0], 200, "call with {}")
    check_error(d.post("/api/v1/counters/3/finish", {"now": 1}), 400, "invalid_field", "finish with a field")
    check_eq(d.get("/healthz")[2]["status"], "ok", "healthz body")
