"""Benchmark branchqd over real HTTP on loopback.

Issues TICKETS tickets spread over the services, then calls them all from
the counters in turn, with one keep-alive connection per client, and reports
per-request latency (p50, p99, max) for issue, queue view and call, plus the
daemon's peak resident memory (VmHWM) at the end. Before the calls, four
clients fetch ticket previews (PNG) one after another while another reads
the queue: the queue view's latency then shows whether drawing them holds
up the loop.
"""
import argparse
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time


def percentile(values, p):
    values = sorted(values)
    k = max(0, min(len(values) - 1, int(round(p / 100.0 * (len(values) - 1)))))
    return values[k]


def report(name, samples):
    ms = [s * 1000 for s in samples]
    print(f"{name:<14} n={len(ms):<6} p50={percentile(ms, 50):7.3f} ms  "
          f"p99={percentile(ms, 99):7.3f} ms  max={max(ms):7.3f} ms")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--daemon", default="build/release/branchqd")
    ap.add_argument("--tickets", type=int, default=2000)
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="branchq-bench-")
    log = open(os.path.join(tmp, "log"), "w+")
    db = os.path.join(tmp, "q.db")
    made = subprocess.run([args.daemon, "token", "add", "--role", "admin", "--name", "bench", "-f",
                           "config/branchq.conf", "--db", db], capture_output=True, text=True)
    if made.returncode != 0:
        sys.exit("token add failed: " + made.stderr)
    auth = {"Authorization": "Bearer " + made.stdout.split()[-1]}
    proc = subprocess.Popen([args.daemon, "-d", "-f", "config/branchq.conf", "--listen",
                             "127.0.0.1:0", "--db", os.path.join(tmp, "q.db")],
                            stderr=log, stdout=log)
    try:
        port = None
        for _ in range(200):
            log.seek(0)
            m = re.search(r"ready.*http://127\.0\.0\.1:(\d+)", log.read())
            if m:
                port = int(m.group(1))
                break
            time.sleep(0.05)
        if port is None:
            sys.exit("branchqd did not start")
        conn = http.client.HTTPConnection("127.0.0.1", port)

        def req(method, path, body=None):
            t0 = time.perf_counter()
            headers = dict(auth, **({"Content-Type": "application/json"} if body is not None else {}))
            conn.request(method, path, body=json.dumps(body) if body is not None else None,
                         headers=headers)
            r = conn.getresponse()
            data = r.read()
            return time.perf_counter() - t0, r.status, data

        services = ["A", "A", "A", "B", "V"]
        issue, call, view, ids = [], [], [], []
        for i in range(args.tickets):
            body = {"service": services[i % len(services)]}
            if i % 7 == 0:
                body["category"] = "elderly"
            dt, st, data = req("POST", "/api/v1/tickets", body)
            assert st == 201, st
            issue.append(dt)
            ids.append(json.loads(data)["ticket"]["id"])
            if i % 50 == 0:
                view.append(req("GET", "/api/v1/queue")[0])
        preview, view_busy = [], []
        stop = threading.Event()

        def previews(k):
            c = http.client.HTTPConnection("127.0.0.1", port)
            for i in range(k, len(ids), 4):
                if stop.is_set():
                    break
                t0 = time.perf_counter()
                c.request("GET", f"/api/v1/tickets/{ids[i]}/ticket.png", headers=auth)
                r = c.getresponse()
                r.read()
                if r.status == 200:
                    preview.append(time.perf_counter() - t0)
            c.close()
        clients = [threading.Thread(target=previews, args=(k,)) for k in range(4)]
        for t in clients:
            t.start()
        time.sleep(0.05)
        for _ in range(200):
            view_busy.append(req("GET", "/api/v1/queue")[0])
        stop.set()
        for t in clients:
            t.join()
        counters = [1, 2, 3, 4, 5]
        done = set()
        while len(done) < len(counters):
            for c in counters:
                if c in done:
                    continue
                dt, st, _ = req("POST", f"/api/v1/counters/{c}/call")
                call.append(dt)
                if st == 204:
                    done.add(c)
        with open(f"/proc/{proc.pid}/status") as f:
            hwm = re.search(r"VmHWM:\s+(\d+) kB", f.read()).group(1)
        print(f"branchqd bench: {args.tickets} tickets, SQLite synchronous=FULL on "
              f"{os.statvfs(tmp).f_bsize} B blocks")
        report("issue", issue)
        report("queue view", view)
        report("call", call)
        report("preview", preview)
        report("view+previews", view_busy)
        print(f"peak memory    VmHWM={int(hwm) / 1024:.1f} MiB")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
