"""
test_install.py: `make install` and `make uninstall` into a DESTDIR.

The files land where docs/operator.md says, the daemon installed there
serves the installed pages when started on the installed example config
(its pages path moved under the DESTDIR, its database and port the test's),
and uninstall removes every file it put there.
"""
import os
import re
import subprocess

from harness import check, check_eq

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PAGES = sorted(f for f in os.listdir(os.path.join(ROOT, "display")) if f != "README.md")
PAGES_DIR = "/usr/local/share/branchq/display"
# What make install puts under DESTDIR with the default PREFIX (/usr/local).
DOCUMENTED = [
    "usr/local/sbin/branchqd",
    "usr/local/share/man/man8/branchqd.8",
    "usr/local/share/man/man5/branchq.conf.5",
    "usr/local/share/doc/branchq/examples/branchq.conf",
    "usr/local/lib/systemd/system/branchqd.service",
    "usr/local/lib/systemd/system/branchqd-backup.service",
    "usr/local/lib/systemd/system/branchqd-backup.timer",
] + [PAGES_DIR.lstrip("/") + "/" + p for p in PAGES]


def make(target, dest, daemon_path):
    out = subprocess.run(["make", "-s", "-C", ROOT, target, "DESTDIR=" + dest,
                          "INSTALL_BIN=" + daemon_path], capture_output=True, text=True,
                         timeout=120)
    check_eq(out.returncode, 0, "make %s: %s" % (target, out.stderr[-2000:]))


def files_under(top):
    return sorted(os.path.relpath(os.path.join(d, f), top)
                  for d, _, fs in os.walk(top) for f in fs)


def test_install_serves_installed_pages_and_uninstall_removes_all(env):
    dest = os.path.join(env.dir, "dest")
    make("install", dest, env.daemon_path)
    check_eq(files_under(dest), sorted(DOCUMENTED), "the files make install puts in DESTDIR")
    check(os.access(os.path.join(dest, "usr/local/sbin/branchqd"), os.X_OK),
          "the installed daemon is executable")

    with open(os.path.join(dest, "usr/local/lib/systemd/system/branchqd.service"),
              encoding="utf-8") as f:
        unit = f.read()
    check("ExecStart=/usr/local/sbin/branchqd -d -f /etc/branchq/branchq.conf" in unit,
          "the unit runs the installed daemon on /etc/branchq/branchq.conf")

    with open(os.path.join(dest, "usr/local/share/doc/branchq/examples/branchq.conf"),
              encoding="utf-8") as f:
        example = f.read()
    pages = re.search(r"^pages *= *(\S+)", example, re.M)
    db = re.search(r"^database *= *(\S+)", example, re.M)
    check_eq(pages and pages.group(1), PAGES_DIR, "the example config's pages")
    check_eq(db and db.group(1), "/var/lib/branchq/branchq.db",
             "the example config's database is in the unit's state directory")

    # The installed daemon on the installed config, moved into DESTDIR.
    conf = re.sub(r"^pages *=.*$", "pages = " + dest + PAGES_DIR, example, flags=re.M)
    d = env.daemon(conf, name="installed", start=False)
    installed = os.path.join(dest, "usr/local/sbin/branchqd")
    d.argv = lambda: [installed, "-d", "-f", d.conf, "--listen", "127.0.0.1:0", "--db", d.db]
    rc, text = env.run(["-n", "-f", d.conf])
    check_eq(rc, 0, "branchqd -n on the installed example config: %s" % text)
    d.start()
    st, hdrs, body = d.fetch("GET", "/display", auth=False)
    check_eq(st, 200, "GET /display from the installed pages")
    with open(os.path.join(dest, PAGES_DIR.lstrip("/"), "display.html"), "rb") as f:
        check_eq(body, f.read(), "GET /display is the installed display.html")
    d.stop()

    make("uninstall", dest, env.daemon_path)
    check_eq(files_under(dest), [], "files left in DESTDIR after make uninstall")
    for gone in ("usr/local/share/branchq", "usr/local/share/doc/branchq"):
        check(not os.path.exists(os.path.join(dest, gone)), "make uninstall removes %s" % gone)
