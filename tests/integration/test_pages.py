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
    check_error(d.get("/counter/99"), 404, "unknown_counter", "a page for a counter that is not configured")
    check_error(d.get("/counter/x"), 404, "unknown_counter", "a page for a counter that is no number")
    check_error(d.get("/assets/nothing.js"), 404, "not_found", "an asset that does not exist")
    for path in ("/assets/..%2Fconfig%2Fbranchq.conf", "/assets/../index.html", "/assets/.hidden.js",
                 "/assets/%2Fetc%2Fpasswd"):
        check_eq(d.get(path)[0], 404, "GET %s" % path)
    check_error(d.post("/display"), 405, "method_not_allowed", "POST to a page")
