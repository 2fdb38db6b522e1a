"""
Floods cannot starve anyone of a shared resource. While an anonymous
client floods the voice worker with calls nobody made, it is refused with
429 past its share, another anonymous client is still served, and the
hall's own call (the one a counter makes now, fetched by the public
display) is served first. While a signed-in client floods the preview
worker, another lobby client's preview is drawn. A kiosk that issues
faster than kiosk_rate is refused with 429 and a Retry-After while another
kiosk, the lobby and API tokens keep issuing. A flood of refusals is
logged once, not once a request (tests/unit/test_log.c checks the count
that the next line gives).
"""
import http.client
import json
import threading

from harness import HTTP_TIMEOUT_S, check, check_eq, check_error, make_config

VOICE_SHARE = 4          # daemon/voice.h
PREVIEW_SHARE = 4        # printer/printer.h


def _get_from(d, source, path, headers=None):
    """GET path from the loopback address source (127.0.0.x): another client as the daemon sees it."""
    conn = http.client.HTTPConnection("127.0.0.1", d.port, timeout=HTTP_TIMEOUT_S,
                                      source_address=(source, 0))
    try:
        conn.request("GET", path, headers=headers or {})
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def _flood(n, fn):
    """Run fn(i) for i in range(n) all at once; returns their results in order."""
    out = [None] * n
    start = threading.Event()

    def run(i):
        start.wait()
        out[i] = fn(i)
    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    start.set()
    for t in threads:
        t.join(120)
    return out


def _token(d, role, name):
    out = d.cli("token", "add", "--role", role, "--name", name)
    check(out.returncode == 0, "token add %s: %s" % (role, out.stderr))
    return {"Authorization": "Bearer " + out.stdout.split()[-1]}


def _code(data):
    try:
        return json.loads(data)["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None


def test_voice_flood_is_limited_and_the_hall_call_is_served(env):
    d = env.daemon()
    t = d.issue("A")
    check_eq(d.call(1)["id"], t["id"], "counter 1 calls the ticket")
    real = "/api/v1/voice/%s/1.wav" % t["number"]
    results = {}

    def flood(i):
        st, hdrs, data = _get_from(d, "127.0.0.66", "/api/v1/voice/B%03d/2.wav" % (i + 1))
        if st == 429 and "hall" not in results:
            # The flood holds its share now: the display (anonymous, from the same address even)
            # asks for the call the counter makes, and another anonymous client for a clip.
            results["hall"] = _get_from(d, "127.0.0.66", real)
            results["other"] = _get_from(d, "127.0.0.7", "/api/v1/voice/C001/3.wav")
        return st, hdrs, data
    flooded = _flood(24, flood)
    refused = [r for r in flooded if r[0] == 429]
    served = [r for r in flooded if r[0] == 200]
    check(len(refused) >= 24 - 2 * VOICE_SHARE,
          "the flood was refused past its share: %d of 24 refused" % len(refused))
    check(all(_code(r[2]) == "too_many_requests" and r[1].get("retry-after") for r in refused),
          "each refusal is too_many_requests with a Retry-After")
    check(all(r[2][:4] == b"RIFF" for r in served), "what the flood got served is WAVs")
    check("hall" in results, "the flood was refused at least once")
    st, hdrs, data = results["hall"]
    check_eq((st, hdrs.get("content-type"), data[:4]), (200, "audio/wav", b"RIFF"),
             "the hall's call during the flood")
    st, hdrs, data = results["other"]
    check_eq((st, hdrs.get("content-type"), data[:4]), (200, "audio/wav", b"RIFF"),
             "another anonymous client's clip during the flood")
    # The log says it once, with the count coming on the next line of its kind, not 20 lines.
    lines = [l for l in d.log().splitlines() if "holds %d jobs not yet done" % VOICE_SHARE in l]
    check_eq(len(lines), 1, "the refusals logged once: %r" % lines)


def test_preview_flood_by_one_client_leaves_the_lobby_served(env):
    d = env.daemon()
    tickets = [d.issue("A") for _ in range(12)]
    flooder = _token(d, "lobby", "flooder")
    lobby = _token(d, "lobby", "lobby")
    results = {}

    def flood(i):
        st, hdrs, data = d.fetch("GET", "/api/v1/tickets/%d/ticket.png" % tickets[i]["id"],
                                 headers=flooder, auth=False)
        if st == 429 and "lobby" not in results:
            results["lobby"] = d.fetch("GET", "/api/v1/tickets/%d/ticket.png" % tickets[0]["id"],
                                       headers=lobby, auth=False)
        return st, hdrs, data
    flooded = _flood(12, flood)
    refused = [r for r in flooded if r[0] == 429]
    check(len(refused) >= 12 - 2 * PREVIEW_SHARE,
          "the flooding client was refused past its share: %d of 12" % len(refused))
    check(all(_code(r[2]) == "too_many_requests" for r in refused), "refused as too_many_requests")
    check("lobby" in results, "the flood was refused at least once")
    st, hdrs, png = results["lobby"]
    check_eq((st, hdrs.get("content-type"), png[:8]), (200, "image/png", b"\x89PNG\r\n\x1a\n"),
             "the other lobby client's preview during the flood")


def test_kiosk_issuing_is_paced_and_others_are_not(env):
    # One ticket a minute after a burst of 10: the test cannot outrun it, however slow.
    d = env.daemon(make_config(branch={"kiosk_rate": "1"}))
    kiosk_a = _token(d, "kiosk", "kiosk A")
    kiosk_b = _token(d, "kiosk", "kiosk B")
    lobby = _token(d, "lobby", "lobby")
    mark = d.log_mark()
    for i in range(10):
        st, _, body = d.post("/api/v1/tickets", {"service": "A"}, headers=kiosk_a, auth=False)
        check_eq(st, 201, "kiosk A's ticket %d of its burst" % (i + 1))
    for _ in range(30):
        resp = d.post("/api/v1/tickets", {"service": "A"}, headers=kiosk_a, auth=False)
        check_error(resp, 429, "too_many_requests", "kiosk A past its pace")
    retry = int(resp[1].get("retry-after", "0"))
    check(50 <= retry <= 60, "Retry-After says when its next ticket is due: %d s" % retry)
    check("1 a minute" in resp[2]["error"]["message"], "the message names the rate")
    st, _, _ = d.post("/api/v1/tickets", {"service": "A"}, headers=kiosk_b, auth=False)
    check_eq(st, 201, "kiosk B issues while kiosk A is refused")
    for i in range(15):
        st, _, _ = d.post("/api/v1/tickets", {"service": "A"}, headers=lobby, auth=False)
        check_eq(st, 201, "the lobby is not paced (ticket %d)" % (i + 1))
    for i in range(15):
        st, _, _ = d.post("/api/v1/tickets", {"service": "A"})
        check_eq(st, 201, "an admin API token is not paced (ticket %d)" % (i + 1))
    # Nothing refused was issued: 10 + 1 + 15 + 15 tickets.
    check_eq(len(d.waiting_numbers("A")), 41, "tickets waiting")
    log = d.log().splitlines()[mark:]
    refusals = [l for l in log if "refused POST /api/v1/tickets 429" in l]
    check_eq(len(refusals), 1, "30 refusals logged once: %r" % refusals)
