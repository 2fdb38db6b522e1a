"""Benchmark the simulator (docs/advisor.md): a simulated branch day of
about 2,000 tickets (24 counters, three services, green customers, no-shows
and transfers), 1,000 replications of it through `branchqd simulate
--scenario` (each day played twice, the second for the green channel's
pushed count, and counted by the daily report's core), and the same
arrivals through the one-service M/M/c form, which plays each day once and
counts it with the simulator's own figures: the baseline in the same run,
as a ratio. Then one `branchqd advise --scenario`. The issue's requirement:
one simulated day well under 50 ms. Prints numbers, not pass/fail.
"""
import argparse
import json
import os
import subprocess
import tempfile
import time

SCENARIO = """[day]
open = 09:00
hours = 8
no_show_time = 60s

[service A]
overtime = 20m
target = 5%
service_time = lognormal 4m 2m
arrivals = 150,200,220,160,130,170,220,150
elderly = 20,25,25,15,10,15,25,15
disabled = 2,2,2,2,2,2,2,2
no_show = 3%
transfer = 2% B

[service B]
overtime = 20m
target = 5%
service_time = exponential 6m
arrivals = 20,30,30,20,20,30,30,20

[service V]
overtime = 20m
target = 5%
service_time = lognormal 12m 5m
arrivals = 3,4,4,3,3,4,4,3
"""
COUNTERS = {1: ("A B", "green = yes"), 2: ("A B", "english = yes")}
for n in range(3, 12):
    COUNTERS[n] = ("A", "")
COUNTERS[12] = ("B V", "")
COUNTERS[13] = ("A B", "")
COUNTERS[14] = ("A", "")
COUNTERS[15] = ("A", "")
COUNTERS[16] = ("A B", "")
for n in range(17, 25):
    COUNTERS[n] = ("A", "")


def timed(argv):
    t0 = time.perf_counter()
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    return time.perf_counter() - t0, p


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--daemon", default="build/release/branchqd")
    ap.add_argument("--replications", type=int, default=1000)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="branchq-bench-sim-")
    path = os.path.join(tmp, "day.ini")
    with open(path, "w") as f:
        f.write(SCENARIO)
        for n, (svcs, extra) in COUNTERS.items():
            f.write("\n[counter %d]\nservices = %s\n%s\n" % (n, svcs, extra))
    r = str(args.replications)
    t_day, p = timed([args.daemon, "simulate", "--scenario", path, "--replications", r,
                      "--seed", "1"])
    if p.returncode != 0:
        raise SystemExit("simulate failed: " + p.stderr.decode())
    issued = json.loads(p.stdout)["totals"]["issued"]
    rate = sum([150, 200, 220, 160, 130, 170, 220, 150]) / 8 + 27 + 32
    t_base, p = timed([args.daemon, "simulate", "--mm-c", "--arrivals-per-hour",
                       ",".join(["%d" % round(rate + 25)] * 8), "--mean-service-min", "4.3",
                       "--counters", "24", "--hours", "8", "--threshold-min", "20",
                       "--replications", r, "--seed", "1"])
    if p.returncode != 0:
        raise SystemExit("simulate --mm-c failed: " + p.stderr.decode())
    base_n = json.loads(p.stdout)["customers"]
    per_day = t_day / args.replications * 1000
    per_base = t_base / args.replications * 1000
    print("simulator      a day of %.0f tickets: %.2f ms (R=%d in %.2f s, report figures and "
          "the pushed count); M/M/c baseline, %.0f tickets a day: %.2f ms; ratio %.2f"
          % (issued, per_day, args.replications, t_day, base_n, per_base, per_day / per_base))
    t_adv, p = timed([args.daemon, "advise", "--scenario", path, "--replications", "200"])
    if p.returncode not in (0, 3):
        raise SystemExit("advise failed: " + p.stderr.decode())
    j = json.loads(p.stdout)
    print("advisor        24 counters in %d groups, 8 hours, R=200: %.2f s, %d simulations of "
          "the branch; plan %s" % (len(j["groups"]), t_adv, j["rounds"], j["counters_per_hour"]))


if __name__ == "__main__":
    main()
