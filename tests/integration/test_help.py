"""
A kiosk's "呼叫大堂经理 Call the lobby manager" (POST /api/v1/help) and the
phone page's QR code for a ticket that did not print
(GET /api/v1/t/{token}/qr.svg), as their clients see them on the wire:

 - the call issues nothing, the staff's stream carries help.called with the
   kiosk's name, the hall display's stream never hears of it, and the audit
   trail names the kiosk;
 - only those who may issue may call; the body is an empty object;
 - the QR code is an SVG anyone with the token may fetch, and it reads as
   public_url + /t/TOKEN; a token nobody has, or a malformed one, is 404;
 - the estimate the kiosk shows never assumes less than half the configured
   service time per customer.
"""
import datetime
import os
import re
import time

import escpos
from harness import check, check_eq, check_error, make_config

DISPLAY = "/api/v1/display/events"


def _kiosk(d, label):
    r = d.cli("token", "add", "--role", "kiosk", "--name", label)
    check(r.returncode == 0, "token add: %s" % r.stderr[-300:])
    return {"Authorization": "Bearer " + r.stdout.split()[-1]}


def test_help_call_reaches_the_staff_stream_and_never_the_wall(env):
    d = env.daemon()
    kiosk = _kiosk(d, "north door kiosk")
    staff = d.sse()
    wall = d.sse(path=DISPLAY, auth=False)
    staff.wait_hello()
    wall.wait_hello()
    before = d.get("/api/v1/queue")[2]

    st, _, body = d.request("POST", "/api/v1/help", {}, headers=kiosk, auth=False)
    check_eq(st, 202, "the kiosk calls the lobby manager (body %r)" % body)
    check_eq(body["help"]["from"], "north door kiosk", "the answer names the kiosk")

    ev = staff.take(1)[0]
    check_eq(ev["data"]["type"], "help.called", "the staff stream's event")
    check_eq(ev["data"]["from"], "north door kiosk", "the staff stream says which kiosk")
    check_eq(ev["data"]["ticket"] if "ticket" in ev["data"] else None, None, "about no ticket")
    # The wall: the next thing it hears is the ticket issued after the call, not the call.
    t = d.issue("A")
    shown = wall.take(1)[0]
    check_eq(shown["data"]["type"], "ticket.issued", "the display's next event")
    check(shown["id"] > ev["id"], "the display skipped the call's event id")
    check("help" not in wall.raw.decode("utf-8", "replace"), "the display stream never says help")
    check_eq(staff.take(1)[0]["data"]["type"], "ticket.issued", "then the staff hear the ticket")

    after = d.get("/api/v1/queue")[2]
    count = lambda q: sum(len(s["tickets"]) for s in q["services"])
    check_eq(count(after), count(before) + 1, "the call issued no ticket (only the one issued after)")
    check_eq([x["number"] for s in after["services"] for x in s["tickets"]], [t["number"]],
             "the only waiting ticket is the one issued")

    st, _, audit = d.get("/api/v1/audit")
    check_eq(st, 200, "audit")
    rows = [r for r in audit["rows"] if r["action"] == "help"]
    check_eq(len(rows), 1, "one audit row for the call")
    check_eq((rows[0]["who"], rows[0]["result"]), ("north door kiosk", "ok"), "who called")


def test_help_call_needs_the_right_to_issue_and_an_empty_body(env):
    d = env.daemon()
    kiosk = _kiosk(d, "kiosk 1")
    r = d.cli("token", "add", "--role", "display", "--name", "wall")
    wall = {"Authorization": "Bearer " + r.stdout.split()[-1]}
    check_error(d.request("POST", "/api/v1/help", {}, auth=False), 401, "unauthorized",
                "nobody signed in")
    check_error(d.request("POST", "/api/v1/help", {}, headers=wall, auth=False), 403, "forbidden",
                "a hall display")
    st, _, body = d.request("POST", "/api/v1/help", {"where": "door"}, headers=kiosk, auth=False)
    check_eq(st, 400, "an unknown field (body %r)" % body)
    check_eq(d.request("GET", "/api/v1/help", headers=kiosk, auth=False)[0], 405, "GET")
    check_eq(d.request("POST", "/api/v1/help", headers=kiosk, auth=False)[0], 202,
             "an empty body is an empty object")


def _svg_to_pbm(svg, scale=8):
    """The SVG's modules (one path of "Mx yhNv1h-Nz" runs) as a PBM (P4) image."""
    m = re.match(r'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 (\d+) (\d+)" '
                 r'shape-rendering="crispEdges"><rect width="\d+" height="\d+" fill="#fff"/>'
                 r'<path fill="#000" d="((?:M\d+ \d+h\d+v1h-\d+z)*)"/></svg>\n$', svg)
    check(m is not None, "the SVG is one white square and one black path: %r" % svg[:200])
    side = int(m.group(1))
    check_eq(int(m.group(2)), side, "a square")
    dark = [[False] * side for _ in range(side)]
    for x, y, n, n2 in re.findall(r"M(\d+) (\d+)h(\d+)v1h-(\d+)z", m.group(3)):
        x, y, n = int(x), int(y), int(n)
        check_eq(int(n2), n, "each run closes on itself")
        for i in range(n):
            dark[y][x + i] = True
    w = side * scale
    xb = (w + 7) // 8
    rows = bytearray()
    for y in range(w):
        bits = bytearray(xb)
        for x in range(w):
            if dark[y // scale][x // scale]:
                bits[x // 8] |= 0x80 >> (x % 8)
        rows += bits
    return b"P4\n%d %d\n" % (w, w) + bytes(rows)


def test_phone_qr_code_reads_as_the_phone_page_link(env):
    d = env.daemon()
    t = d.issue("A")
    st, h, data = d.fetch("GET", "/api/v1/t/%s/qr.svg" % t["token"], auth=False)
    check_eq(st, 200, "anyone with the token")
    check_eq(h["content-type"], "image/svg+xml", "an SVG")
    path = escpos.save_artifact("kiosk-phone-qr.pbm", _svg_to_pbm(data.decode("ascii")))
    check_eq(escpos.zbar(path), "http://127.0.0.1:8080/t/%s" % t["token"],
             "the code reads as public_url + /t/TOKEN")
    os.remove(path)
    check_error(d.request("GET", "/api/v1/t/%s/qr.svg" % ("0" * 32), auth=False), 404,
                "unknown_ticket", "a token nobody has")
    check_error(d.request("GET", "/api/v1/t/%s/qr.svg" % t["token"].upper(), auth=False), 404,
                "unknown_ticket", "a malformed token")


def _until_daemon_clock_passes(d, iso, seconds):
    """Poll until the daemon's own clock is seconds past iso (its ISO time)."""
    start = datetime.datetime.fromisoformat(iso)
    while True:
        at = datetime.datetime.fromisoformat(d.get("/api/v1/display")[2]["at"])
        if (at - start).total_seconds() >= seconds:
            return
        time.sleep(0.05)


def test_estimate_never_under_half_the_service_time(env):
    """
    A customer served in two seconds (a wrong tap) does not make the next
    ones' estimates collapse: with 5 ahead over the 4 counters of A, a
    service time of 4 min still gives at least 5 x 2 min / 4, never
    "under 1 min".
    """
    d = env.daemon(make_config(services={"A": {"service_time": "4m"}}))
    d.issue("A")
    called = d.call(3)
    _until_daemon_clock_passes(d, called["called_at"], 2)
    check_eq(d.action(3, "start")[0], 200, "start")
    check_eq(d.action(3, "finish")[0], 200, "finish")
    tickets = [d.issue("A") for _ in range(6)]
    check_eq(tickets[5]["ahead"], 5, "five ahead")
    check(tickets[5]["estimated_wait_s"] >= 5 * 120 // 4,
          "five ahead, four counters, half of 4 min each: %r s" % tickets[5]["estimated_wait_s"])
    st, _, phone = d.get("/api/v1/t/%s" % tickets[5]["token"], auth=False)
    check_eq((st, phone["ticket"]["estimated_wait_s"]), (200, tickets[5]["estimated_wait_s"]),
             "the phone page says the same")


def test_help_calls_of_one_device_are_paced(env):
    """A stuck or hijacked kiosk cannot bury the lobby in banners: three calls, then 429
    with a Retry-After, while another kiosk and the lobby's own staff still call."""
    d = env.daemon()
    stuck, other = _kiosk(d, "stuck"), _kiosk(d, "other")
    for i in range(3):
        st, _, body = d.request("POST", "/api/v1/help", {}, headers=stuck, auth=False)
        check_eq(st, 202, "call %d of the burst (%r)" % (i + 1, body))
    resp = d.request("POST", "/api/v1/help", {}, headers=stuck, auth=False)
    check_error(resp, 429, "too_many_requests", "the fourth call at once")
    check(int(resp[1].get("retry-after", "0")) > 0, "it says when to call again")
    check_eq(d.request("POST", "/api/v1/help", {}, headers=other, auth=False)[0], 202,
             "another kiosk still calls")
