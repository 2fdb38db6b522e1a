"""
The ticket's PNG preview is drawn off the event loop: while many previews
are being drawn at once, the loop keeps answering other clients, and every
preview is still a correct picture of its ticket (its QR code reads the
ticket's phone page). A preview is cached for its ticket as it stands, and
drawn again when what the ticket says changes.
"""
import os
import socket
import threading
import time

import escpos
from harness import (HTTP_TIMEOUT_S, _decode_json, check, check_eq, check_error,
                     read_http_response)

PREVIEWS = 12        # under the daemon's bound of 16 waiting previews
SHARE = 4            # previews one client may have waiting (PRINTER_PREVIEW_SHARE)


def test_loop_answers_while_previews_are_drawn(env):
    d = env.daemon()     # a fresh daemon: the first drawing also loads the font
    tickets = [d.issue("A") for _ in range(PREVIEWS)]
    # Three lobby clients, each asking for as many at once as one client may.
    tokens = []
    for i in range(PREVIEWS // SHARE):
        out = d.cli("token", "add", "--role", "lobby", "--name", "lobby %d" % i)
        check(out.returncode == 0, "token add: %s" % out.stderr)
        tokens.append(out.stdout.split()[-1])
    done = {}
    start = threading.Event()

    def preview(t):
        start.wait()
        a = time.monotonic()
        who = {"Authorization": "Bearer " + tokens[t["id"] % len(tokens)]}
        st, hdrs, png = d.fetch("GET", "/api/v1/tickets/%d/ticket.png" % t["id"], headers=who,
                                auth=False)
        done[t["id"]] = (st, hdrs.get("content-type"), png, a, time.monotonic())
    threads = [threading.Thread(target=preview, args=(t,)) for t in tickets]
    for th in threads:
        th.start()
    start.set()
    time.sleep(0.02)     # a head start for the previews; the checks below hold without it
    queue_answers = []
    for _ in range(10):
        a = time.monotonic()
        st, _, _ = d.get("/api/v1/queue")
        check_eq(st, 200, "queue while previews are drawn")
        queue_answers.append((a, time.monotonic()))
    for th in threads:
        th.join(60)
    check_eq(len(done), PREVIEWS, "every preview answered")
    last_preview = max(v[4] for v in done.values())
    fastest_preview = min(v[4] - v[3] for v in done.values())
    slowest_queue = max(b - a for a, b in queue_answers)
    # Behaviour, not a speed threshold: the queue is answered in between the
    # drawings, not after them, and faster than any one drawing takes.
    check(all(b < last_preview for _, b in queue_answers),
          "every queue answer came before the last preview was done")
    check(slowest_queue < fastest_preview,
          "the slowest queue answer (%.1f ms) took less than the fastest preview (%.1f ms): "
          "the loop did not wait for a drawing" % (slowest_queue * 1000, fastest_preview * 1000))
    print("preview: %d at once, slowest /api/v1/queue %.1f ms, previews %.0f-%.0f ms" % (
        PREVIEWS, slowest_queue * 1000, fastest_preview * 1000,
        max(v[4] - v[3] for v in done.values()) * 1000))
    for t in tickets:
        st, ctype, png, _, _ = done[t["id"]]
        check_eq((st, ctype), (200, "image/png"), "preview of ticket %d" % t["id"])
        check(png.startswith(b"\x89PNG\r\n\x1a\n"), "a PNG file")
        check_eq(int.from_bytes(png[16:20], "big"), 576, "as wide as 80 mm paper at 203 dpi")
    # Each picture is of its own ticket: the QR code reads that ticket's phone page.
    for t in (tickets[0], tickets[PREVIEWS // 2], tickets[-1]):
        path = escpos.save_artifact("ticket-preview-%d.png" % t["id"], done[t["id"]][2])
        check_eq(escpos.zbar(path), "http://127.0.0.1:8080/t/%s" % t["token"],
                 "the QR code in ticket %d's preview" % t["id"])
        os.unlink(path)


def test_preview_cached_until_the_ticket_changes(env):
    d = env.daemon()
    d.issue("A")
    t = d.issue("A")     # one person ahead
    url = "/api/v1/tickets/%d/ticket.png" % t["id"]
    st, _, first = d.fetch("GET", url)
    st2, _, again = d.fetch("GET", url)
    check_eq((st, st2), (200, 200), "both previews answered")
    check(first == again, "the same ticket, unchanged, is answered from the cache")
    d.call(1)            # the one ahead is called: the ticket now says 0 ahead
    st, _, after = d.fetch("GET", url)
    check_eq(st, 200, "preview after a call")
    check(after != first, "a ticket whose place changed is drawn again")


def test_preview_busy_when_too_many_wait(env):
    """
    The previews waiting to be drawn are bounded (16): 60 asked at once,
    all sent before the first is drawn, fill the bound, and the rest are
    refused at once with 503 preview_busy and Retry-After instead of
    queueing without end. Each refused one is drawn when asked again.
    """
    d = env.daemon()
    tickets = [d.issue("A") for _ in range(60)]
    # Fifteen lobby clients, four each: within each one's share (SHARE), so the bound of 16
    # waiting in all is what refuses them, not a client's share.
    tokens = []
    for i in range(15):
        out = d.cli("token", "add", "--role", "lobby", "--name", "busy %d" % i)
        check(out.returncode == 0, "token add: %s" % out.stderr)
        tokens.append(out.stdout.split()[-1])
    socks = [socket.create_connection(("127.0.0.1", d.port), timeout=HTTP_TIMEOUT_S)
             for _ in tickets]
    reqs = [("GET /api/v1/tickets/%d/ticket.png HTTP/1.1\r\nHost: 127.0.0.1\r\n"
             "Authorization: Bearer %s\r\nConnection: close\r\n\r\n" % (
                 t["id"], tokens[i % 15])).encode() for i, t in enumerate(tickets)]
    for s, r in zip(socks, reqs):
        s.sendall(r)
    answers = []
    for s in socks:
        answers.append(read_http_response(s.makefile("rb")))
        s.close()
    busy = [t for t, (st, _, _) in zip(tickets, answers) if st == 503]
    check(busy, "60 previews at once: none was refused: %r" % sorted({a[0] for a in answers}))
    for t, (st, hdrs, body) in zip(tickets, answers):
        if st == 503:
            check_error((st, hdrs, _decode_json(body)), 503, "preview_busy",
                        "preview of ticket %d" % t["id"])
            check(hdrs.get("retry-after", "").isdigit(), "preview_busy says when to retry")
        else:
            check_eq((st, hdrs.get("content-type")), (200, "image/png"),
                     "preview of ticket %d" % t["id"])
    print("preview: %d of 60 refused with preview_busy" % len(busy))
    for t in busy[:3]:
        st, hdrs, png = d.fetch("GET", "/api/v1/tickets/%d/ticket.png" % t["id"])
        check_eq((st, hdrs.get("content-type")), (200, "image/png"), "asked again")
        check(png.startswith(b"\x89PNG\r\n\x1a\n"), "a PNG file when asked again")
