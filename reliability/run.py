#!/usr/bin/env python3
"""Runs the reliability scenarios of issue 7 against the Swift worker and prints one table.

    .venv/bin/python reliability/run.py --quick            # CI size, < 4 minutes
    .venv/bin/python reliability/run.py --full             # the issue's numbers, manual
    .venv/bin/python reliability/run.py --quick --only 2c --only fuzz

Redis: REDIS_URL (or --redis-url; its db is FLUSHDB'd before every scenario), else a
private loopback redis-server on a free port. Scenarios 3, 5 and 7a always start their own
private redis-servers (they stop, restart or password-protect them).
Binaries: SWIFT_CELERY_BIN (default .build/debug). Logs: reliability/.work/<run>/<scenario>/.
Exit status: 0 when every row is PASS or XFAIL (a known Swift bug, see scenarios.KNOWN_BUGS),
1 otherwise; with --strict an XFAIL also fails.
"""
import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness as H  # noqa: E402
import scenarios  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    size = ap.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_const", dest="size", const="quick")
    size.add_argument("--full", action="store_const", dest="size", const="full")
    ap.add_argument("--only", action="append", default=[],
                    help="run the scenarios whose name contains this text (repeatable)")
    ap.add_argument("--redis-url", default=os.environ.get("REDIS_URL"))
    ap.add_argument("--work", type=Path, default=None)
    ap.add_argument("--strict", action="store_true", help="XFAIL rows fail the run too")
    args = ap.parse_args()
    size = args.size or "quick"
    H.prune_runs(keep=4)
    work = args.work or (H.HERE / ".work" / f"{time.strftime('%Y%m%d-%H%M%S')}-{size}")
    work.mkdir(parents=True, exist_ok=True)

    chosen = [(n, f) for n, f in scenarios.SCENARIOS
              if not args.only or any(o.lower() in n.lower() for o in args.only)]
    if not chosen:
        sys.exit(f"no scenario matches {args.only}")

    procs = H.Procs(work)
    rows = []
    started = time.monotonic()
    try:
        url = args.redis_url
        if not url:
            url = H.RedisServer(procs, "suite-redis").start().url
        for name, fn in chosen:
            print(f"--- {name} ...", flush=True)
            row = scenarios.run_scenario(name, fn, size, url, work)
            rows.append(row)
            print(f"    {row.status()} in {row.wall:.1f}s", flush=True)
    finally:
        procs.stop_all()
    print()
    print(f"reliability --{size}: {len(rows)} scenarios in {time.monotonic() - started:.0f}s; logs in {work}")
    print(H.render_table(rows))
    bad = [r for r in rows if r.status() == "FAIL" or (args.strict and r.status() == "XFAIL")]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
