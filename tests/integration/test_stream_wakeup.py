"""
Events reach an open stream at once when the change came on a kept-alive
connection, as every browser's requests do: the stream is resumed inside
libmicrohttpd's run, and the daemon's loop must not sleep on it.
"""
import http.client
import json
import time

from harness import check_eq


def test_events_on_a_kept_alive_connection_arrive_at_once(env):
    d = env.daemon()
    s = d.sse()
    s.wait_hello()
    conn = http.client.HTTPConnection("127.0.0.1", d.port, timeout=5)
    try:
        for n in range(2):
            a = time.monotonic()
            conn.request("POST", "/api/v1/tickets", body=json.dumps({"service": "A"}),
                         headers=dict(d.auth_header(), **{"Content-Type": "application/json"}))
            r = conn.getresponse()
            r.read()
            check_eq(r.status, 201, "issue on a kept-alive connection")
            ev = s.take(1, timeout=1.0)
            check_eq(len(ev), 1, "the event arrives within a second")
            print("event %d after %.1f ms" % (n + 1, (time.monotonic() - a) * 1000))
    finally:
        conn.close()
