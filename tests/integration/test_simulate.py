"""
test_simulate.py: `branchqd simulate` as a planner runs it, checked against
queueing theory, for repeatability, for its formats and for its errors.

The Erlang C figures here are computed in this file, independently of
daemon/erlang.c, so a wrong formula there cannot hide a wrong simulator.
No daemon is started: simulate is a command that prints and exits.
"""
import csv
import html.parser
import io
import json
import math
import os
import subprocess

from harness import check, check_eq

SIM_TIMEOUT_S = 120


def run(env, *args):
    """branchqd ARGS: (exit code, stdout, stderr)."""
    p = subprocess.run([env.daemon_path] + list(args), capture_output=True,
                       timeout=SIM_TIMEOUT_S, env=env.child_env())
    return p.returncode, p.stdout, p.stderr.decode("utf-8", "replace")


def simulate(env, *args):
    rc, out, err = run(env, "simulate", *args)
    check_eq(rc, 0, "simulate %s exit code (stderr: %s)" % (" ".join(args), err))
    return out


def erlang_c(c, a):
    """Probability that an arrival waits in M/M/c with offered load a = lambda/mu (a < c)."""
    term, total = 1.0, 1.0
    for k in range(1, c):
        term *= a / k
        total += term
    top = term * a / c * c / (c - a)  # a^c/c! * c/(c-a)
    return top / (total + top)


def theory(lam_h, mean_min, c, t_min):
    lam = lam_h / 3600.0
    mu = 1.0 / (mean_min * 60.0)
    pw = erlang_c(c, lam / mu)
    return {"p_wait": pw, "mean_wait_s": pw / (c * mu - lam),
            "overtime_share": pw * math.exp(-(c * mu - lam) * t_min * 60.0)}


# (arrivals an hour, mean service in minutes, counters, threshold in minutes):
# 3 to 10 counters, utilisation 0.6 to 0.9.
THEORY_CASES = [
    (36, 3, 3, 2),      # rho 0.60
    (60, 4, 5, 3),      # rho 0.80
    (90, 4, 7, 4),      # rho 0.857
    (135, 4, 10, 3),    # rho 0.90
]
THEORY_REPS = 40
THEORY_HOURS = 24


def test_simulate_matches_erlang_c(env):
    # Each figure's interval is a 95% interval over replications. With 4 cases x 3 figures
    # (12 checks, correlated within a case) a 1-half-width rule would fail a correct
    # simulator about a third of the time; at 3 half-widths a check fails by chance with
    # probability ~0.3% (t-tail with 39 degrees of freedom), well under 5% for all twelve,
    # while a wrong formula or a biased sampler still misses by many half-widths.
    # The simulator drops its first quarter of the day as warm-up (warmup_s).
    rows = []
    bad = []
    for lam, mean, c, t in THEORY_CASES:
        out = json.loads(simulate(env, "--mm-c", "--arrivals-per-hour", str(lam),
                                  "--mean-service-min", str(mean), "--counters", str(c),
                                  "--hours", str(THEORY_HOURS), "--threshold-min", str(t),
                                  "--replications", str(THEORY_REPS), "--seed", "7"))
        check(out["warmup_s"] > 0, "the steady form drops a warm-up: %r" % out["warmup_s"])
        want = theory(lam, mean, c, t)
        rho = lam * mean / 60.0 / c
        for fig in ("mean_wait_s", "p_wait", "overtime_share"):
            lo, hi = out[fig + "_ci"]
            half = (hi - lo) / 2
            sim = out[fig]
            ok = abs(sim - want[fig]) <= 3 * half
            rows.append("c=%-2d rho=%.2f %-15s sim %9.4f +- %8.4f  theory %9.4f  %s" %
                        (c, rho, fig, sim, half, want[fig], "ok" if ok else "MISS"))
            if not ok:
                bad.append(rows[-1])
    print("  sim vs Erlang C (%d replications of %d h, 3 half-widths of the 95%% CI):"
          % (THEORY_REPS, THEORY_HOURS))
    for r in rows:
        print("    " + r)
    check(not bad, "simulation disagrees with Erlang C: %s" % "; ".join(bad))


def test_simulate_hourly_shares(env):
    out = json.loads(simulate(env, "--mm-c", "--arrivals-per-hour", "40,40,110,40",
                              "--mean-service-min", "4", "--counters-per-hour", "6,6,6,6",
                              "--threshold-min", "5", "--replications", "40", "--seed", "3"))
    share = out["overtime_share_per_hour"]
    check_eq(len(share), 4, "one share an hour")
    check_eq(len(out["overtime_share_per_hour_ci"]), 4, "one interval an hour")
    check_eq([h["hour"] for h in out["by_hour"]], ["09:00", "10:00", "11:00", "12:00"],
             "hours labelled from the opening")
    # 110 an hour at 4 min on 6 counters is rho 1.22: the queue grows all hour.
    check(share[2] > share[1] + 0.2, "the heavy hour has a larger share: %r" % share)
    check(share[1] < 0.05, "a light hour at rho 0.44 hardly waits: %r" % share)


MMC_ARGS = ["--mm-c", "--arrivals-per-hour", "60,120,80", "--mean-service-min", "4",
            "--counters-per-hour", "5,8,6", "--threshold-min", "5", "--replications", "10"]


def test_simulate_is_deterministic(env):
    for fmt in ("json", "csv", "html"):
        a = simulate(env, *MMC_ARGS, "--seed", "11", "--format", fmt)
        b = simulate(env, *MMC_ARGS, "--seed", "11", "--format", fmt)
        c = simulate(env, *MMC_ARGS, "--seed", "12", "--format", fmt)
        check(a == b, "%s: the same seed gives the same bytes" % fmt)
        check(a != c, "%s: another seed gives other figures" % fmt)
    a = simulate(env, "--scenario", scenario_demo(), "--replications", "5", "--seed", "4")
    b = simulate(env, "--scenario", scenario_demo(), "--replications", "5", "--seed", "4")
    check(a == b, "a scenario run repeats byte for byte")


def scenario_demo():
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "config",
                        "scenario-demo.ini")


class Cells(html.parser.HTMLParser):
    """The th/td text of every table row."""
    def __init__(self):
        super().__init__()
        self.rows, self.cell = [], None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        elif tag in ("th", "td"):
            self.cell = ""

    def handle_endtag(self, tag):
        if tag in ("th", "td") and self.cell is not None:
            self.rows[-1].append(self.cell)
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data


def test_simulate_formats_agree(env):
    j = json.loads(simulate(env, *MMC_ARGS, "--seed", "5", "--format", "json"))
    text = simulate(env, *MMC_ARGS, "--seed", "5", "--format", "csv").decode()
    rows = list(csv.reader(io.StringIO(text)))
    check_eq(rows[0], ["figure", "value"], "csv header")
    fig = dict(r for r in rows[1:])
    page = Cells()
    page.feed(simulate(env, *MMC_ARGS, "--seed", "5", "--format", "html").decode())
    cells = {r[0]: r[1] for r in page.rows if len(r) == 2}
    check("overtime_share" in cells, "the html table has overtime_share: %r" % list(cells)[:8])
    for name, value in (("overtime_share", j["overtime_share"]),
                        ("mean_wait_s", j["mean_wait_s"]), ("p_wait", j["p_wait"]),
                        ("customers", j["customers"]),
                        ("overtime_share_per_hour[1]", j["overtime_share_per_hour"][1]),
                        ("overtime_share_ci[0]", j["overtime_share_ci"][0])):
        check(abs(float(fig[name]) - value) <= 1e-5 * max(1, abs(value)),
              "csv %s %s = json %r" % (name, fig[name], value))
        check(abs(float(cells[name]) - value) <= 1e-5 * max(1, abs(value)),
              "html %s %s = json %r" % (name, cells[name], value))
    check_eq(fig["counters_per_hour[2]"], "6", "csv plan")


def bad_scenario(env, name, text):
    path = os.path.join(env.dir, name)
    with open(path, "w") as f:
        f.write(text)
    return path


SCEN_OK = """[day]
open = 09:00
hours = 2
[service A]
overtime = 10m
service_time = exponential 5m
arrivals = 10,10
[counter 1]
services = A
"""


def test_simulate_rejects_bad_input(env):
    base = ["--mm-c", "--arrivals-per-hour", "60", "--mean-service-min", "4",
            "--counters", "5", "--hours", "4", "--threshold-min", "5"]
    cases = [
        (base + ["--no-such-option"], "see docs/advisor.md for the options"),
        (["--mm-c", "--arrivals-per-hour", "60,-5", "--mean-service-min", "4",
          "--counters-per-hour", "5,5", "--threshold-min", "5"],
         "--arrivals-per-hour must not be negative"),
        (["--mm-c", "--arrivals-per-hour", "60,90,60", "--mean-service-min", "4",
          "--counters-per-hour", "5,5", "--threshold-min", "5"],
         "--counters-per-hour has 2 entries, --arrivals-per-hour 3"),
        (base[:6] + ["0"] + base[7:], "--counters must be 1 to 64"),
        (base[:-1] + ["five"], "--threshold-min must be a number of minutes"),
        (["--scenario", bad_scenario(env, "svc.ini", SCEN_OK + "[counter 2]\nservices = A Q\n")],
         "svc.ini:11: unknown service"),
        (["--scenario", bad_scenario(env, "neg.ini", SCEN_OK.replace("10,10", "10,-3"))],
         "neg.ini:7: an arrival rate is negative: 10,-3"),
        (["--scenario", os.path.join(env.dir, "missing.ini")],
         "missing.ini: No such file or directory"),
    ]
    # The plain scenario loads, so each failure above is the one line changed.
    rc, _, err = run(env, "simulate", "--scenario", bad_scenario(env, "ok.ini", SCEN_OK),
                     "--replications", "2")
    check_eq(rc, 0, "the good scenario runs (%s)" % err)
    for args, said in cases:
        rc, out, err = run(env, "simulate", *args)
        check(rc != 0, "%s: non-zero exit" % " ".join(args))
        check(said in err, "%s: stderr says %r, got %r" % (" ".join(args), said, err))
        check_eq(out, b"", "%s: nothing on stdout" % " ".join(args))
