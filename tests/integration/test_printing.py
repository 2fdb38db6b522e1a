"""
Paper tickets through a real CUPS: a private cupsd with a raw queue whose
device is the project's ESC/POS printer emulator (cups.py). What the
emulator receives is read back (escpos.py): the number, the service, the
people-ahead line in GB18030, the green mark, a cut, and the QR code,
rasterised from its GS v 0 bits and decoded with zbarimg, must be the
ticket's phone page. The PNG preview must decode to the same link.

Faults: the printer switched off, the queue missing, the queue stopped. The
ticket is always issued; its print state says failed with a reason (in the
API and as a ticket.print event), and it prints once the fault is gone.
An outage with many tickets fails them all within one timeout and prints,
on recovery, only those still waiting, once each, oldest first; the paper
is the ticket's across a transfer; a ticket already on its way to the
printer is not sent again by a reprint.
"""
import time

import cups
import escpos
from harness import check, check_eq, check_error, make_config

TIMEOUT = "3s"     # the daemon's job deadline; the emulator answers in milliseconds


def printing_env(env, queue="tk", add_queue=True, footer="投诉热线 95588 Complaint hotline",
                 timeout=TIMEOUT):
    """A private cupsd, the emulator, the raw queue and a daemon printing to it."""
    cupsd = cups.Cupsd(env.dir)
    cupsd.start()
    env.procs.append(cupsd.proc)
    printer = cups.Printer().start()
    if add_queue:
        cupsd.add_raw_queue(queue, printer.port)
    conf = make_config() + ("\n[printer]\nqueue = %s\nserver = %s\npaper = 80mm\ntimeout = %s\n"
                            "footer = %s\n" % (queue, cupsd.server, timeout, footer))
    return cupsd, printer, env.daemon(conf)


def wait_print(d, tid, state, timeout=15):
    """Poll the ticket until its print state is state; return its print object."""
    deadline = time.monotonic() + timeout
    while True:
        p = d.ticket(tid)["print"]
        if p["state"] == state:
            return p
        check(time.monotonic() < deadline, "ticket %d: print state %r, expected %r within %d s"
              % (tid, p, state, timeout))
        time.sleep(0.05)


def print_events(stream, tid, until, timeout=15):
    """ticket.print events of ticket tid, up to the first whose state is until."""
    seen = []
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        check(left > 0, "no ticket.print %s for ticket %d; saw %r" % (until, tid, seen))
        ev = stream.take(1, timeout=left)[0]["data"]
        if ev["type"] == "ticket.print" and ev["ticket"]["id"] == tid:
            seen.append((ev["ticket"]["print"]["state"], ev["ticket"]["print"]["error"]))
            if seen[-1][0] == until:
                return seen


def decode_qr(ticket, name):
    check_eq(len(ticket.images), 1, "raster images on the ticket")
    path = escpos.save_artifact(name + ".pbm", escpos.pbm(ticket.images[0]))
    png_path = escpos.save_artifact(name + ".png", escpos.png(ticket.images[0]))
    check_eq(escpos.zbar(png_path), escpos.zbar(path), "the QR code reads the same as PNG and PBM")
    return escpos.zbar(path)


def test_ticket_prints_through_cups(env):
    cupsd, printer, d = printing_env(env)
    stream = d.sse()
    stream.wait_hello()
    began = time.monotonic()
    t = d.issue("A", category="elderly")
    answered = time.monotonic() - began
    # The answer came before the paper: the ticket is still queued for the printer when issued.
    check_eq(t["print"], {"state": "queued", "error": None}, "print state when issued")
    jobs = printer.wait_jobs(1, timeout=10)
    printed_in = time.monotonic() - began
    check_eq(print_events(stream, t["id"], "printed"), [("printing", None), ("printed", None)],
             "ticket.print events")
    check_eq(wait_print(d, t["id"], "printed")["error"], None, "no error once printed")

    escpos.save_artifact("ticket-80mm.escpos", jobs[0])
    tk = escpos.parse(jobs[0])
    check(tk.init and tk.chinese_mode, "ESC @ then FS & come first")
    check(jobs[0].startswith(b"\x1b@"), "the job starts by initialising the printer")
    check(tk.cut and jobs[0].endswith(b"\x1dV\x42\x00"), "the paper is cut at the end")
    num = tk.line("A001")
    check_eq(num["size"], 0x77, "the number at 8 times (GS ! 0x77)")
    check(num["bold"], "the number is bold")
    check(tk.index("测试支行") < tk.index("Test Branch") < tk.index("A001"),
          "the branch heads the ticket")
    check(tk.index("个人业务") < tk.index("Personal banking") < tk.index("A001"),
          "service in Chinese, then English, above the number")
    mark = tk.line("绿色通道 Green Channel")
    check(mark["inverse"], "the green mark is white on black")
    tk.line("老年人 Senior")
    check(tk.index("前面还有 0 位") < tk.index("0 people ahead of you"), "people ahead, Chinese first")
    check(any(s.startswith("取号时间 Issued 20") for s in tk.texts()), "time of issue: %r" % tk.texts())
    tk.line("投诉热线 95588 Complaint hotline")
    url = decode_qr(tk, "ticket-80mm-qr")
    token = t["token"]
    check_eq(url, "http://127.0.0.1:8080/t/%s" % token, "the QR code is the phone page")
    print("printing: answered in %.0f ms, printed in %.2f s" % (answered * 1000, printed_in))

    # An English ticket: English first. A second service ticket waits behind nobody.
    t2 = d.issue("A", lang="en")
    tk2 = escpos.parse(printer.wait_jobs(2)[1])
    check(tk2.index("Test Branch") < tk2.index("测试支行"), "English branch name first")
    check(tk2.index("Personal banking") < tk2.index("个人业务"), "English service first")
    check(tk2.index("1 person ahead of you") < tk2.index("前面还有 1 位"), "English place first")
    check("绿色通道 Green Channel" not in tk2.texts(), "a normal ticket has no green mark")
    wait_print(d, t2["id"], "printed")
    st, _, h = d.get("/healthz")
    check_eq((st, h["status"]), (200, "ok"), "healthz")
    check_eq((h["printer"]["configured"], h["printer"]["queue"], h["printer"]["state"],
              h["printer"]["error"]), (True, "tk", "ok", None), "healthz printer")
    printer.stop()
    cupsd.stop()


def test_ticket_png_preview_without_printer(env):
    d = env.daemon()      # the demo has no [printer]: tickets are issued without paper
    t = d.issue("B", category="disabled")
    check_eq(t["print"], {"state": "none", "error": None}, "print state without a printer")
    st, hdrs, png = d.fetch("GET", "/api/v1/tickets/%d/ticket.png" % t["id"])
    check_eq(st, 200, "ticket.png status")
    check_eq(hdrs.get("content-type"), "image/png", "ticket.png content type")
    check(png.startswith(b"\x89PNG\r\n\x1a\n"), "a PNG file")
    check_eq(int.from_bytes(png[16:20], "big"), 576, "as wide as 80 mm paper at 203 dpi")
    path = escpos.save_artifact("ticket-preview.png", png)
    check_eq(escpos.zbar(path), "http://127.0.0.1:8080/t/%s" % t["token"], "the QR code in the PNG")
    check_error(d.post("/api/v1/tickets/%d/reprint" % t["id"]), 409, "no_printer",
                "reprint without a printer")
    check_error(d.get("/api/v1/tickets/999/ticket.png"), 404, "unknown_ticket", "PNG of no ticket")
    check_error(d.post("/api/v1/tickets/%d/ticket.png" % t["id"]), 405, "method_not_allowed",
                "POST to a PNG")
    h = d.get("/healthz")[2]["printer"]
    check_eq((h["configured"], h["state"]), (False, "none"), "healthz without a printer")


def test_printer_off_then_back_then_reprint(env):
    cupsd, printer, d = printing_env(env)
    printer.stop()                          # switched off
    stream = d.sse()
    stream.wait_hello()
    t = d.issue("A")
    check_eq(t["number"], "A001", "the ticket is issued with the printer off")
    seen = print_events(stream, t["id"], "failed")
    check_eq(seen[0], ("printing", None), "it was tried")
    p = wait_print(d, t["id"], "failed")
    check("not printed within 3 s" in p["error"], "the reason says what happened: %r" % p["error"])
    check_eq(seen[-1], ("failed", p["error"]), "the ticket.print event carries the reason")
    h = d.get("/healthz")[2]["printer"]
    check_eq((h["state"], h["error"]), ("failing", p["error"]), "healthz says the printer fails")
    t2 = d.issue("A")
    wait_print(d, t2["id"], "failed")
    check_eq(d.queue()["services"][0]["waiting"], 2, "the tickets wait in line all the same")

    printer.start()                         # switched on again: the retries print the backlog
    jobs = printer.wait_jobs(2, timeout=20)
    check_eq(print_events(stream, t["id"], "printed")[-1], ("printed", None), "printed event")
    wait_print(d, t["id"], "printed")
    wait_print(d, t2["id"], "printed")
    check_eq([escpos.parse(j).number() for j in jobs], ["A001", "A002"],
             "the backlog printed oldest first")
    check_eq(d.get("/healthz")[2]["printer"]["state"], "ok", "healthz after the printer came back")

    st, _, j = d.post("/api/v1/tickets/%d/reprint" % t["id"])
    check_eq(st, 202, "reprint status (%r)" % (j,))
    check_eq(j["ticket"]["print"]["state"], "queued", "reprint queues the ticket")
    jobs = printer.wait_jobs(3)
    check_eq(escpos.parse(jobs[2]).texts(), escpos.parse(jobs[0]).texts(), "the reprint is the same ticket")
    wait_print(d, t["id"], "printed")
    time.sleep(0.5)      # the subject: no fourth job arrives, and only time can show that
    check_eq(len(printer.jobs), 3, "each print reached the printer once")
    printer.stop()
    cupsd.stop()


def test_queue_missing_or_stopped_then_recovers(env):
    cupsd, printer, d = printing_env(env, queue="kiosk", add_queue=False)
    t = d.issue("A")
    p = wait_print(d, t["id"], "failed")
    check_eq(p["error"], 'no CUPS queue "kiosk" (add it with lpadmin)', "missing queue reason")
    cupsd.add_raw_queue("kiosk", printer.port)
    printer.wait_jobs(1, timeout=20)
    wait_print(d, t["id"], "printed")

    cupsd.run("cupsdisable", "-r", "paper jam", "kiosk")
    t2 = d.issue("A")
    p = wait_print(d, t2["id"], "failed")
    check(p["error"].startswith('CUPS queue "kiosk" is stopped (paper jam)'),
          "stopped queue reason: %r" % p["error"])
    check_eq(len(printer.jobs), 1, "nothing printed while stopped")
    cupsd.run("cupsenable", "kiosk")
    printer.wait_jobs(2, timeout=20)
    wait_print(d, t2["id"], "printed")
    check_eq(escpos.parse(printer.jobs[1]).line("A002")["size"], 0x77, "the second ticket printed")
    printer.stop()
    cupsd.stop()


def test_cups_unreachable_then_started(env):
    port = cups.free_port()
    conf = make_config() + "\n[printer]\nqueue = tk\nserver = 127.0.0.1:%d\ntimeout = %s\n" % (port, TIMEOUT)
    d = env.daemon(conf)
    t = d.issue("V")
    p = wait_print(d, t["id"], "failed")
    check(p["error"].startswith("cannot reach the CUPS server 127.0.0.1:%d" % port),
          "unreachable server reason: %r" % p["error"])
    check_eq(d.get("/healthz")[2]["printer"]["state"], "failing", "healthz while CUPS is down")
    cupsd = cups.Cupsd(env.dir, port=port)
    cupsd.start()
    env.procs.append(cupsd.proc)
    printer = cups.Printer().start()
    cupsd.add_raw_queue("tk", printer.port)
    check(escpos.parse(printer.wait_jobs(1, timeout=20)[0]).line("V001"), "printed once CUPS is up")
    wait_print(d, t["id"], "printed")
    printer.stop()
    cupsd.stop()


def test_outage_fails_every_ticket_at_once_then_prints_the_waiting_once(env):
    cupsd, printer, d = printing_env(env, timeout="2s")
    printer.stop()                          # switched off before the first ticket
    stream = d.sse()
    stream.wait_hello()
    began = time.monotonic()
    ts = [d.issue("A") for _ in range(10)]
    # While the first job waits out its timeout, the others queue behind it: the loop answers.
    check_eq(d.queue()["services"][0]["waiting"], 10, "the hall answers while the printer fails")
    for t in ts:
        p = wait_print(d, t["id"], "failed", timeout=10)
        check(p["error"] is not None and p["error"].startswith("not printed within 2 s"),
              "%s failed with the reason: %r" % (t["number"], p))
    took = time.monotonic() - began
    # One after another they would take ten timeouts (20 s); together, about one.
    check(took < 10, "ten tickets failed together, not one timeout after another "
          "(took %.1f s)" % took)
    for t in ts:
        check_eq(print_events(stream, t["id"], "failed")[-1][0], "failed",
                 "%s: a ticket.print failed event" % t["number"])

    # During the outage the first is called and the third cancelled: they need no paper.
    called = d.call(3)
    check_eq(called["number"], "A001", "counter 3 calls the first ticket")
    st, _, _ = d.post("/api/v1/tickets/%d/cancel" % ts[2]["id"])
    check_eq(st, 200, "cancel A003")
    # A retry or two fail quietly meanwhile, each a single probe, not the whole backlog.
    most, until = 0, time.monotonic() + 3
    while time.monotonic() < until:
        most = max(most, d.get("/healthz")[2]["printer"]["jobs"])
        time.sleep(0.02)
    check(most <= 1, "a retry during the outage sends one ticket, not %d" % most)
    check_eq(len(printer.jobs), 0, "nothing printed while the printer was off")
    printer.start()
    want = [t["number"] for t in ts if t["number"] not in ("A001", "A003")]
    printer.wait_jobs(len(want), timeout=40)
    for t in ts:
        if t["number"] not in ("A001", "A003"):
            wait_print(d, t["id"], "printed", timeout=10)
    time.sleep(1.5)      # the subject: no job arrives beyond those, and only time can show that
    check_eq([escpos.parse(j).number() for j in printer.jobs], want,
             "the waiting tickets printed once each, oldest first, and no others")
    check_eq(d.ticket(ts[0]["id"])["print"]["state"], "failed", "the called ticket was not retried")
    check_eq(d.ticket(ts[2]["id"])["print"]["state"], "failed", "the cancelled one was not retried")
    check_eq(d.get("/healthz")[2]["printer"]["jobs"], 0, "the worker holds nothing")
    printer.stop()
    cupsd.stop()


def test_transferred_ticket_keeps_its_paper_state_and_reprints(env):
    cupsd, printer, d = printing_env(env, timeout="2s")
    printer.stop()
    t = d.issue("A")
    check_eq(d.call(1)["id"], t["id"], "counter 1 calls A001 while it is being printed")
    st, _, j = d.action(1, "transfer", {"service": "B"})
    check_eq(st, 200, "transfer to B (%r)" % (j,))
    leg = j["ticket"]
    check_eq(leg["number"], "A001", "the leg keeps the number")
    p = wait_print(d, leg["id"], "failed", timeout=10)
    check(p["error"] is not None and p["error"].startswith("not printed within 2 s"),
          "the leg shows the paper's failure and why: %r" % p)
    check_eq(d.ticket(t["id"])["print"], p, "both legs show the same paper")

    # The leg waits in B: the retries print it once the printer is back.
    printer.start()
    job = escpos.parse(printer.wait_jobs(1, timeout=30)[0])
    check(job.line("A001") and "对公业务" in job.texts(), "the paper shows the ticket in its new service")
    wait_print(d, leg["id"], "printed")
    check_eq(d.ticket(t["id"])["print"]["state"], "printed", "the first leg shows it printed")

    # A reprint of a transferred ticket, by either leg's id, really prints.
    for n, tid in ((2, leg["id"]), (3, t["id"])):
        st, _, j = d.post("/api/v1/tickets/%d/reprint" % tid)
        check_eq((st, j["ticket"]["id"], j["ticket"]["print"]["state"]), (202, leg["id"], "queued"),
                 "reprint of ticket %d" % tid)
        check(escpos.parse(printer.wait_jobs(n, timeout=10)[n - 1]).line("A001"), "reprinted")
        wait_print(d, leg["id"], "printed")
    printer.stop()
    cupsd.stop()


def test_reprint_of_a_ticket_in_flight_sends_nothing_more(env):
    cupsd, printer, d = printing_env(env, timeout="6s")
    t = d.issue("A")
    printer.wait_jobs(1)
    wait_print(d, t["id"], "printed")
    r1, r2 = d.post("/api/v1/tickets/%d/reprint" % t["id"]), d.post("/api/v1/tickets/%d/reprint" % t["id"])
    check_eq((r1[0], r2[0]), (202, 202), "two quick reprints are accepted")
    check(r2[2]["ticket"]["print"]["state"] in ("queued", "printing", "printed"),
          "the second shows the state of the first: %r" % (r2[2]["ticket"]["print"],))
    printer.wait_jobs(2)
    wait_print(d, t["id"], "printed")
    time.sleep(1)        # the subject: no third job arrives, and only time can show that
    check_eq(len(printer.jobs), 2, "two quick reprints print once")

    # A quiet retry in flight: the printer was off, the ticket failed, the retry is waiting in CUPS.
    printer.stop()
    st, _, _ = d.post("/api/v1/tickets/%d/reprint" % t["id"])
    wait_print(d, t["id"], "failed", timeout=15)
    deadline = time.monotonic() + 10
    while d.get("/healthz")[2]["printer"]["jobs"] == 0:
        check(time.monotonic() < deadline, "no retry was sent")
        time.sleep(0.05)
    st, _, j = d.post("/api/v1/tickets/%d/reprint" % t["id"])
    check_eq((st, j["ticket"]["print"]["state"]), (202, "failed"),
             "a reprint during the retry answers with the current state")
    printer.start()
    wait_print(d, t["id"], "printed", timeout=30)
    time.sleep(2)        # the subject: no fourth job arrives, and only time can show that
    check_eq(len(printer.jobs), 3, "the retry printed it; the reprint sent nothing more")
    printer.stop()
    cupsd.stop()
