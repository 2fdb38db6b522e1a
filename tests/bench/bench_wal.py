"""Benchmark what the database writes: WAL frames per ticket, and the WAL's size.

Starts the optimised branchqd on a fresh database for each figure (the
integration harness's Daemon: a config of its own, loopback, a token) and
prints, beside what docs/performance.md ("The WAL") explains:

  frames/ticket   WAL frames (a 4 KiB page each) one issued ticket adds, with
                  1, 8 and 32 clients issuing at once: 1 is one commit per
                  ticket, more share a group commit. Read from the WAL file's
                  size, with fewer tickets than the checkpoint threshold so
                  the WAL never starts again in the middle.
  burst           wrk at 50 connections for --seconds: the WAL's largest size
                  while it runs (sampled every 5 ms) and its size after, which
                  journal_size_limit brings back to one threshold's worth
                  once the checkpointer caught up.
  backup          `branchqd backup` of the database the burst left, while the
                  daemon idles: its time and the copy's size.

Numbers, not pass/fail.
"""
import argparse
import os
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from harness import Env  # noqa: E402

FRAME = 4096 + 24
HEADER = 32
LUA = os.path.join(HERE, "post.lua")


def frames(path):
    return (os.path.getsize(path) - HEADER) // FRAME if os.path.exists(path) else 0


def frames_per_ticket(daemon, clients, tickets):
    env = Env(daemon, "bench-wal")
    try:
        d = env.daemon()
        d.issue("A")
        wal = d.db + "-wal"
        before = frames(wal)

        def issue(k):
            for i in range(tickets // clients):
                d.issue("AB"[(i + k) % 2])

        threads = [threading.Thread(target=issue, args=(k,)) for k in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        n = tickets // clients * clients
        per = (frames(wal) - before) / n
        d.stop()
        return per
    finally:
        env.cleanup()


def burst(daemon, seconds):
    env = Env(daemon, "bench-wal")
    try:
        d = env.daemon()
        token = d.token()
        wal = d.db + "-wal"
        stop = threading.Event()
        peak = [0]

        def sample():
            while not stop.is_set():
                try:
                    peak[0] = max(peak[0], os.path.getsize(wal))
                except OSError:
                    pass
                time.sleep(0.005)

        t = threading.Thread(target=sample)
        t.start()
        out = subprocess.run(["wrk", "-t2", "-c50", "-d%ds" % seconds, "--timeout", "10s", "-s",
                              LUA, "http://127.0.0.1:%d/api/v1/tickets" % d.port],
                             capture_output=True, text=True,
                             env=dict(os.environ, BENCH_AUTH=token)).stdout
        stop.set()
        t.join()
        line = [x for x in out.splitlines() if x.startswith("BENCH ")]
        if not line:
            sys.exit("wrk printed no summary:\n" + out)
        kv = dict(x.split("=", 1) for x in line[0].split()[1:])
        rate = int(kv["requests"]) / (int(kv["duration_us"]) / 1e6)
        # One more ticket after the burst: the commit that starts the WAL again cuts it.
        d.issue("A")
        after = os.path.getsize(wal)
        copy = os.path.join(env.dir, "copy.db")
        t0 = time.monotonic()
        r = d.cli("backup", "--to", copy)
        took = time.monotonic() - t0
        if r.returncode != 0:
            sys.exit("backup failed: " + r.stderr)
        size = os.path.getsize(copy)
        d.stop()
        return rate, peak[0], after, took, size
    finally:
        env.cleanup()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--daemon", default=os.path.join(ROOT, "build", "release", "branchqd"))
    ap.add_argument("--seconds", type=int, default=5, help="length of the wrk burst")
    args = ap.parse_args()
    daemon = os.path.abspath(args.daemon)
    print("wal bench (%s)" % daemon)
    for clients, tickets in ((1, 60), (8, 200), (32, 320)):
        per = frames_per_ticket(daemon, clients, tickets)
        print("frames/ticket  %2d clients: %5.2f  (%.0f KiB a ticket)" % (clients, per,
                                                                           per * FRAME / 1024))
    rate, peak, after, took, size = burst(daemon, args.seconds)
    print("burst          wrk 50 conns %d s: %.0f req/s; WAL peak %.1f MB, after %.1f MB "
          "(limit 4.1 MB)" % (args.seconds, rate, peak / 1e6, after / 1e6))
    print("backup         %.1f MB database: %.0f ms" % (size / 1e6, took * 1000))


if __name__ == "__main__":
    main()
