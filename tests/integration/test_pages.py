"""
The pages' static files as a browser fetches them: each page at its URL with
its content type, the shared files under /assets/, and nothing outside the
pages directory, however the path is spelled.
"""
from harness import check, check_eq, check_error


def test_pages_served_from_memory(env):
    d = env.daemon()
    st, hdrs, body = d.fetch("GET", "/")
    check_eq(st, 200, "GET /")
    check_eq(hdrs.get("content-type"), "text/html; charset=utf-8", "content type of /")
    check("branchq" in body.decode(), "the index page names branchq")
    check_eq(hdrs.get("x-content-type-options"), "nosniff", "nosniff on pages")
    # Every page at its URL, and the files they load, with the type a browser needs.
    pages = {"/display": "display.js", "/lobby": "lobby.js", "/kiosk": "kiosk.js",
             "/reports": "reports.js", "/counter/3": "counter.js",
             "/t/" + d.issue("A")["token"]: "phone.js"}    # a token nobody has is 404 (test_phone_cancel.py)
    for path, script in pages.items():
        st, hdrs, body = d.fetch("GET", path)
        check_eq((st, hdrs.get("content-type")), (200, "text/html; charset=utf-8"), "GET " + path)
        check("/assets/" + script in body.decode(), "%s loads /assets/%s" % (path, script))
    for name, ctype in (("common.js", "text/javascript; charset=utf-8"),
                        ("branchq.css", "text/css; charset=utf-8"),
                        ("reports.css", "text/css; charset=utf-8")):
        st, hdrs, body = d.fetch("GET", "/assets/" + name)
        check_eq((st, hdrs.get("content-type")), (200, ctype), "GET /assets/" + name)
        check(len(body) > 100, "/assets/%s has content" % name)
    st, hdrs, body = d.fetch("GET", "/counter/99")
    check_eq((st, hdrs.get("content-type")), (404, "text/html; charset=utf-8"),
             "a page for a counter that is not configured is a page")
    st, hdrs, body = d.fetch("GET", "/counter/x")
    check_eq((st, hdrs.get("content-type")), (404, "text/html; charset=utf-8"),
             "a page for a counter that is no number is a page too")
    check_error(d.get("/assets/nothing.js"), 404, "not_found", "an asset that does not exist")
    for path in ("/assets/..%2Fconfig%2Fbranchq.conf", "/assets/../index.html", "/assets/.hidden.js",
                 "/assets/%2Fetc%2Fpasswd"):
        check_eq(d.get(path)[0], 404, "GET %s" % path)
    check_error(d.post("/display"), 405, "method_not_allowed", "POST to a page")


def test_unknown_counter_page_is_a_page_and_the_favicon_is_there(env):
    d = env.daemon()
    st, hdrs, body = d.fetch("GET", "/counter/99")
    check_eq((st, hdrs.get("content-type")), (404, "text/html; charset=utf-8"),
             "an unknown counter's page")
    check("找不到此页面" in body.decode() and "Page not found" in body.decode(),
          "it says so in Chinese and English")
    st, _, j = d.request("GET", "/api/v1/counters/99")
    check_eq((st, j["error"]["code"]), (404, "unknown_counter"), "the API still answers JSON")
    st, hdrs, body = d.fetch("GET", "/favicon.ico", auth=False)
    check_eq((st, hdrs.get("content-type")), (200, "image/svg+xml"), "the favicon")
    check(body.startswith(b"<svg"), "an SVG")
