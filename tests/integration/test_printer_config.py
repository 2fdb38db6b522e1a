"""
Paper that can no longer print says so. Tickets left queued or printing
when the daemon stopped, restarted on a config without [printer] queue,
fail with that reason instead of staying `queued` for ever.
"""
import time

from harness import check, check_eq, make_config
import test_printing


def test_start_without_printer_fails_the_paper_left_unprinted(env):
    cupsd, printer, d = test_printing.printing_env(env, timeout="20s")
    printer.stop()                          # switched off: the job waits for CUPS's connection
    t = d.issue("A")
    deadline = time.monotonic() + 15
    while d.ticket(t["id"])["print"]["state"] not in ("queued", "printing"):
        check(time.monotonic() < deadline, "the ticket waits for paper")
        time.sleep(0.05)
    d.kill9()                               # gone before its job ended
    d.write_config(make_config())           # and back without a printer
    mark = d.log_mark()
    d.start()
    p = d.ticket(t["id"])["print"]
    check_eq(p["state"], "failed", "its print state after a start without a printer")
    check("no printer in the configuration" in (p["error"] or ""), "the reason: %r" % p)
    check(any("will not be printed" in l for l in d.log().split("\n")[mark:]),
          "the log says how many will not be printed")
    check_eq(d.ticket(t["id"])["status"], "waiting", "the customer still waits, paper or not")
