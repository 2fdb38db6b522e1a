#!/usr/bin/env python3
"""
Integration tests of branchqd: each test starts the real daemon (by default
the AddressSanitizer + UBSan build) on a free loopback port with its own
config and database, drives it over HTTP, and checks what a client sees.

    python3 tests/integration/run.py [--daemon PATH] [-k SUBSTRING] [--keep]

Prints "ok   NAME" or "FAIL NAME" (with the failed check and the daemon's
log) per test, or "skip NAME: why" where the machine cannot run it (a skip
that does not say why is a failure), and ends
with "integration: N passed, N failed[, N skipped]"; exits 1 when any test
failed. tests/run counts that last line.
"""
import argparse
import glob
import importlib
import inspect
import os
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # leave no __pycache__ in the source tree

import harness  # noqa: E402


def collect():
    """Every test_* function of every test_*.py here, in file order."""
    tests = []
    for path in sorted(glob.glob(os.path.join(HERE, "test_*.py"))):
        mod = importlib.import_module(os.path.splitext(os.path.basename(path))[0])
        fns = [f for n, f in inspect.getmembers(mod, inspect.isfunction)
               if n.startswith("test_") and f.__module__ == mod.__name__]
        fns.sort(key=lambda f: f.__code__.co_firstlineno)
        tests += fns
    names = [f.__name__ for f in tests]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        sys.exit("run.py: test names must be unique: %s" % ", ".join(sorted(dup)))
    return tests


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--daemon", default=os.path.join(ROOT, "build/san/branchqd"),
                    help="branchqd to test (default: build/san/branchqd)")
    ap.add_argument("-k", dest="select", default=None, help="run only tests whose name contains this")
    ap.add_argument("--keep", action="store_true", help="keep each test's directory")
    args = ap.parse_args()

    daemon = os.path.abspath(args.daemon)
    if not os.access(daemon, os.X_OK):
        print("run.py: %s is not an executable; build it with: make build/san/branchqd" % daemon)
        print("integration: 0 passed, 1 failed")
        return 1
    tests = [t for t in collect() if args.select is None or args.select in t.__name__]
    if not tests:
        print("run.py: no test name contains %r" % args.select)
        print("integration: 0 passed, 1 failed")
        return 1

    passed = failed = skipped = 0
    began = time.monotonic()
    for fn in tests:
        name = fn.__name__
        env = harness.Env(daemon, name)
        error = None
        try:
            fn(env)
            env.finish()
        except harness.Skip as e:
            if str(e).strip():
                skipped += 1
                print("skip %s: %s" % (name, e), flush=True)
                env.finish()
                env.cleanup(keep=args.keep)
                continue
            error = "skipped without saying why: a Skip must name the reason"
        except harness.Failure as e:
            error = "%s\n%s" % (e, "".join(traceback.format_tb(e.__traceback__)[-3:]))
        except Exception:  # a broken test or an unexpected answer: still a failure, with context
            error = traceback.format_exc()
        if error is None:
            passed += 1
            print("ok   %s" % name, flush=True)
        else:
            failed += 1
            try:
                env.finish()
            except harness.Failure as e:
                error += "\nwhile stopping: %s" % e
            print("FAIL %s" % name)
            print("  " + error.rstrip().replace("\n", "\n  "))
            print(env.logs())
            print(flush=True)
        env.cleanup(keep=args.keep)
    print("time: %.1f s" % (time.monotonic() - began))
    print("integration: %d passed, %d failed%s" % (passed, failed,
          ", %d skipped" % skipped if skipped else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
