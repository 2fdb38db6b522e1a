"""HTTPS with [tls]: a certificate the test makes, Python's ssl verifying it against that
certificate, HSTS, Secure __Host- cookies, and a clear refusal to start with bad files.

Each test makes its own self-signed certificate with `openssl req -x509` (Debian's openssl,
in DEBS_TEST) for the name branchq.test and the address 127.0.0.1, and starts the real
daemon with a [tls] section naming it.
"""
import os
import signal
import socket
import ssl
import subprocess

from harness import HTTP_TIMEOUT_S, Failure, check, check_eq, check_error, make_config, \
    read_http_response

PASSWORD = "correct horse 1"
NAME = "branchq.test"
HSTS = "max-age=31536000"


def _cert(env, stem, name=NAME):
    """A fresh self-signed P-256 certificate and its key (mode 0600) in the test's directory."""
    cert, key = (os.path.join(env.dir, stem + ext) for ext in (".crt", ".key"))
    try:
        r = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                            "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert,
                            "-days", "2", "-subj", "/CN=" + name, "-addext",
                            "subjectAltName=DNS:%s,IP:127.0.0.1" % name],
                           capture_output=True, text=True, timeout=60)
    except FileNotFoundError:
        raise Failure("openssl is not installed (make deps-test installs it)")
    check(r.returncode == 0, "openssl req: %s" % r.stderr[-300:])
    os.chmod(key, 0o600)
    return cert, key


def _tls_config(cert, key, **branch):
    b = {"hosts": NAME}
    b.update(branch)
    return make_config(branch=b) + "\n[tls]\ncert = %s\nkey = %s\n" % (cert, key)


def _context(cafile):
    """What a careful client does: verify the chain against cafile and the name."""
    ctx = ssl.create_default_context(cafile=cafile)
    check(ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname, "the context verifies")
    return ctx


def _https_daemon(env, cert, key, **branch):
    d = env.daemon(_tls_config(cert, key, **branch), start=False)
    d.ssl = _context(cert)
    d.start()
    return d


def _raw_tls(d, ctx, data, server_hostname=NAME):
    """Send data over TLS with SNI and verification for server_hostname; one response back."""
    with socket.create_connection(("127.0.0.1", d.port), timeout=HTTP_TIMEOUT_S) as s:
        with ctx.wrap_socket(s, server_hostname=server_hostname) as t:
            t.sendall(data)
            return read_http_response(t.makefile("rb"))


def _user(d, name, role):
    r = d.cli("user", "add", name, "--role", role, stdin=PASSWORD + "\n")
    check(r.returncode == 0, "user add %s: %s" % (name, r.stderr[-300:]))


def test_tls_serves_https_with_hsts_and_never_plain_http(env):
    cert, key = _cert(env, "branch")
    d = _https_daemon(env, cert, key)
    d.wait_log("listening on https://127.0.0.1:%d" % d.port)

    # Verified against the test's own certificate, by address.
    st, h, body = d.request("GET", "/healthz", auth=False)
    check_eq((st, body["status"]), (200, "ok"), "/healthz over HTTPS")
    check_eq(h.get("strict-transport-security"), HSTS, "HSTS on /healthz")
    # ... and by the name in the certificate, which hosts lets through the Host check.
    st, h, _ = _raw_tls(d, _context(cert), b"GET /healthz HTTP/1.1\r\nHost: %s:%d\r\n"
                        b"Connection: close\r\n\r\n" % (NAME.encode(), d.port))
    check_eq(st, 200, "/healthz by the certificate's name")
    check_eq(h.get("strict-transport-security"), HSTS, "HSTS by name")
    # Errors and pages carry it too, and so does an event stream.
    st, h, _ = d.request("GET", "/api/v1/queue", auth=False)
    check_eq((st, h.get("strict-transport-security")), (401, HSTS), "HSTS on an error")
    st, h, _ = d.fetch("GET", "/display", auth=False)
    check_eq((st, h.get("strict-transport-security")), (200, HSTS), "HSTS on a page")
    with socket.create_connection(("127.0.0.1", d.port), timeout=HTTP_TIMEOUT_S) as s:
        with _context(cert).wrap_socket(s, server_hostname=NAME) as t:
            t.sendall(b"GET /api/v1/display/events HTTP/1.1\r\nHost: %s:%d\r\n"
                      b"Accept: text/event-stream\r\n\r\n" % (NAME.encode(), d.port))
            f, lines = t.makefile("rb"), []
            while not lines or lines[-1] not in (b"\r\n", b""):
                lines.append(f.readline())
    text = b"".join(lines).decode("latin-1")
    check(text.startswith("HTTP/1.1 200") and "text/event-stream" in text,
          "the display's stream over HTTPS: %r" % text)
    check("Strict-Transport-Security: %s" % HSTS in text, "HSTS on an event stream: %r" % text)

    # A client that trusts another certificate refuses this one: verification is real.
    other, _ = _cert(env, "other", name="other.test")
    try:
        _raw_tls(d, _context(other), b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        raise Failure("a client trusting another certificate got an answer")
    except ssl.SSLCertVerificationError:
        pass

    # Plain HTTP to the HTTPS port is not served as HTTP.
    with socket.create_connection(("127.0.0.1", d.port), timeout=HTTP_TIMEOUT_S) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % d.port)
        got = b""
        try:
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                got += chunk
        except (ConnectionResetError, socket.timeout):
            pass
    check(not got.startswith(b"HTTP/") and b"status" not in got,
          "plain HTTP got an HTTP answer: %r" % got[:200])
    d.wait_log("TLS handshake")

    # TLS 1.1 is refused by the daemon (Debian's GnuTLS default would take it).
    old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    old.load_verify_locations(cert)
    old.set_ciphers("DEFAULT:@SECLEVEL=0")
    old.minimum_version = ssl.TLSVersion.TLSv1
    old.maximum_version = ssl.TLSVersion.TLSv1_1
    try:
        _raw_tls(d, old, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        raise Failure("a TLS 1.1 client got an answer")
    except ssl.SSLError as e:
        # The client did offer TLS 1.1 (it did not refuse itself): the server ended it.
        check("NO_PROTOCOLS_AVAILABLE" not in str(e) and
              not isinstance(e, ssl.SSLCertVerificationError),
              "TLS 1.1 refused by the server: %r" % e)
    # So is a CBC cipher under TLS 1.2: AEAD only.
    cbc = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    cbc.load_verify_locations(cert)
    cbc.set_ciphers("ECDHE-ECDSA-AES256-SHA:@SECLEVEL=0")
    cbc.maximum_version = ssl.TLSVersion.TLSv1_2
    try:
        _raw_tls(d, cbc, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        raise Failure("a client offering only a CBC cipher got an answer")
    except ssl.SSLError as e:
        check(not isinstance(e, ssl.SSLCertVerificationError), "CBC refused by the server: %r" % e)
    # Still serving after all that.
    st, _, _ = d.request("GET", "/healthz", auth=False)
    check_eq(st, 200, "/healthz after the refusals")


def test_tls_cookies_are_secure_and_host_prefixed(env):
    cert, key = _cert(env, "branch")
    d = _https_daemon(env, cert, key)
    _user(d, "alice", "head")
    origin = "https://127.0.0.1:%d" % d.port
    st, h, body = d.request("POST", "/api/v1/session", {"name": "alice", "password": PASSWORD},
                            headers={"Origin": origin}, auth=False)
    check_eq(st, 201, "sign-in over HTTPS (body %r)" % (body,))
    set_cookie = h["set-cookie"]
    check(set_cookie.startswith("__Host-branchq_session="), "the __Host- name: %s" % set_cookie)
    flags = [f.strip() for f in set_cookie.split(";")[1:]]
    for flag in ("Secure", "HttpOnly", "SameSite=Strict", "Path=/"):
        check(flag in flags, "the session cookie has %s: %s" % (flag, set_cookie))
    check(not any(f.lower().startswith("domain") for f in flags), "no Domain: %s" % set_cookie)
    cookie, csrf = set_cookie.split(";")[0], body["csrf"]
    staff = {"Cookie": cookie, "Origin": origin, "X-CSRF-Token": csrf,
             "Content-Type": "application/json"}

    # The cookie works for staff requests, a change included (with its CSRF header).
    st, _, me = d.request("GET", "/api/v1/session", headers={"Cookie": cookie}, auth=False)
    check_eq((st, me.get("name")), (200, "alice"), "who am I, by the __Host- cookie")
    st, _, j = d.request("POST", "/api/v1/tickets", {"service": "A"}, headers=staff, auth=False)
    check_eq(st, 201, "a ticket issued by the signed-in head (body %r)" % (j,))
    # Without the CSRF header, or from an http:// page of the same name, a change is refused.
    check_error(d.request("POST", "/api/v1/tickets", {"service": "A"}, auth=False,
                          headers=dict(staff, **{"X-CSRF-Token": None})),
                403, "csrf", "no CSRF header")
    check_error(d.request("POST", "/api/v1/tickets", {"service": "A"}, auth=False,
                          headers=dict(staff, Origin="http://127.0.0.1:%d" % d.port)),
                403, "csrf", "an http:// Origin under TLS")
    # Only the mode's name is read: the same id under the plain name is nobody.
    plain = cookie.replace("__Host-", "", 1)
    check_error(d.request("GET", "/api/v1/queue", headers={"Cookie": plain}, auth=False),
                401, "unauthorized", "the plain cookie name under TLS")

    # Sign-out clears the __Host- cookie, Secure as it was set.
    st, h, _ = d.request("DELETE", "/api/v1/session", headers=staff, auth=False)
    check(st in (200, 204), "sign-out: status %d" % st)
    cleared = h["set-cookie"]
    check(cleared.startswith("__Host-branchq_session=;") and "Secure" in cleared and
          "Max-Age=0" in cleared, "sign-out clears the cookie: %s" % cleared)
    check_error(d.request("GET", "/api/v1/queue", headers={"Cookie": cookie}, auth=False),
                401, "unauthorized", "the cookie after sign-out")

    # A paired device's cookie is __Host- and Secure too, and it works.
    r = d.cli("token", "add", "--role", "kiosk", "--name", "kiosk-1")
    check(r.returncode == 0, "token add: %s" % r.stderr[-300:])
    st, h, _ = d.request("GET", "/pair?token=" + r.stdout.split()[-1], auth=False)
    dev = h.get("set-cookie", "")
    check(st in (302, 303) and dev.startswith("__Host-branchq_device=") and "Secure" in dev,
          "pairing sets the __Host- device cookie: %d %s" % (st, dev))
    st, _, me = d.request("GET", "/api/v1/session", headers={"Cookie": dev.split(";")[0]},
                          auth=False)
    check_eq((st, me.get("role")), (200, "kiosk"), "the paired device, by its cookie")


def test_tls_plain_http_keeps_plain_cookies_and_no_hsts(env):
    d = env.daemon()
    d.wait_log("listening on http://127.0.0.1:%d" % d.port)
    _user(d, "alice", "head")
    st, h, _ = d.request("GET", "/healthz", auth=False)
    check_eq(st, 200, "/healthz")
    check("strict-transport-security" not in h, "no HSTS over plain HTTP: %r" % h)
    st, h, _ = d.request("POST", "/api/v1/session", {"name": "alice", "password": PASSWORD},
                         headers={"Origin": "http://127.0.0.1:%d" % d.port}, auth=False)
    check_eq(st, 201, "sign-in")
    c = h["set-cookie"]
    check(c.startswith("branchq_session=") and "Secure" not in c,
          "plain HTTP: the plain name, no Secure: %s" % c)
    check("strict-transport-security" not in h, "no HSTS on the sign-in")


def _start_fails(env, d):
    """Run the daemon on d's config: it must exit non-zero; its output."""
    rc, out = env.run(["-d", "-f", d.conf, "--listen", "127.0.0.1:0", "--db", d.db])
    check(rc != 0, "the daemon started with a bad [tls]: %s" % out[-500:])
    check("ready" not in out, "not ready: %s" % out[-500:])
    return out


def test_tls_bad_files_are_a_clear_start_up_error(env):
    cert, key = _cert(env, "branch")
    _, other_key = _cert(env, "other", name="other.test")
    base = make_config()

    # A key that is not the certificate's: file:line, both paths, GnuTLS's words.
    d = env.daemon(_tls_config(cert, other_key), start=False)
    out = _start_fails(env, d)
    key_line = open(d.conf).read().split("\n").index("key = " + other_key) + 1
    check("%s:%d: key:" % (d.conf, key_line) in out and cert in out and other_key in out and
          "do not match" in out, "a mismatched pair names the key's line and both files: %s" % out)
    rc, check_out = env.run(["-n", "-f", d.conf])
    check(rc == 1 and "do not match" in check_out, "branchqd -n says so too: %s" % check_out)

    # Every problem in one run: a missing certificate, a key open to everyone, and a
    # mistake elsewhere in the file.
    loose = os.path.join(env.dir, "loose.key")
    with open(key, "rb") as f, open(loose, "wb") as g:
        g.write(f.read())
    os.chmod(loose, 0o644)
    missing = os.path.join(env.dir, "missing.crt")
    # The command-line tools serve no HTTPS: they work where the key cannot be read.
    d.write_config(_tls_config(missing, loose))
    r = d.cli("user", "list")
    check(r.returncode == 0, "user list with [tls] files it cannot read: %s" % r.stderr[-300:])
    d.write_config(_tls_config(missing, loose, recals="2"))
    for out in (_start_fails(env, d), env.run(["-n", "-f", d.conf])[1]):
        check("cert: cannot open %s: No such file or directory" % missing in out,
              "a missing certificate: %s" % out)
        check("key: %s is open to every user (mode 0644)" % loose in out and "chmod 600" in out,
              "a world-readable key: %s" % out)
        check("unknown key recals" in out, "the other mistake in the same run: %s" % out)
    check("3 errors" in env.run(["-n", "-f", d.conf])[1], "branchqd -n counts all three")

    # Half a pair.
    d.write_config(base + "\n[tls]\ncert = %s\n" % cert)
    out = _start_fails(env, d)
    check("[tls] has no key" in out, "a certificate without a key: %s" % out)

    # The good pair starts.
    d.write_config(_tls_config(cert, key))
    d.ssl = _context(cert)
    d.start()
    st, _, _ = d.request("GET", "/healthz", auth=False)
    check_eq(st, 200, "the matching pair serves")


def test_tls_reload_keeps_serving_the_certificate_it_started_with(env):
    cert, key = _cert(env, "branch")
    d = _https_daemon(env, cert, key)
    # A renewed certificate written over the old files: taken at the next restart only.
    first = open(cert, "rb").read()
    os.rename(cert, cert + ".old")
    _cert(env, "branch")
    check(open(cert, "rb").read() != first, "a new certificate")
    mark = d.log_mark()
    d.signal(signal.SIGHUP)
    d.wait_log("restart branchqd to serve them", start=mark)
    d.wait_log("configuration reloaded", start=mark)
    d.ssl = _context(cert + ".old")
    st, h, _ = d.request("GET", "/healthz", auth=False)
    check_eq((st, h.get("strict-transport-security")), (200, HSTS),
             "after the reload: the certificate it started with")
    d.stop()
    d.ssl = _context(cert)
    d.start()
    st, _, _ = d.request("GET", "/healthz", auth=False)
    check_eq(st, 200, "after a restart: the renewed certificate")
