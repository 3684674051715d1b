#!/usr/bin/env python3
"""Profiles the Swift worker draining a backlog, for the top costs quoted in the README.

    .venv/bin/python bench/profile_drain.py [--pool threads|solo] [--tasks 200000]
    perf report -i /tmp/perf-drain-<pool>.data --no-children --sort symbol -g none

Fills queue `celery` with `bench.noop` messages (results stored), starts the release worker
(-c 16) under `perf record -g` and stops both once the queue and `unacked` are empty. Needs
perf, the release worker (`bench/run` or `scripts/lib.sh`'s build_release_worker builds it) and
a Redis on --redis-url (db flushed).
"""
import argparse
import signal
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "reliability"))
sys.path.insert(0, str(HERE))

import harness as H  # noqa: E402
from scaling import fill  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pool", default="threads", choices=["threads", "solo"])
    ap.add_argument("--tasks", type=int, default=200_000)
    ap.add_argument("--redis-url", default="redis://127.0.0.1:6391/0")
    ap.add_argument("--worker", default=str(HERE.parent / ".build/release/interop-worker"))
    args = ap.parse_args()
    client = H.redis_client(args.redis_url)
    fill(client, [("bench.noop", [])] * args.tasks)
    output = f"/tmp/perf-drain-{args.pool}.data"
    worker = subprocess.Popen(
        [args.worker, "worker", "--broker", args.redis_url, "-c", "16", "-P", args.pool, "--loglevel", "WARNING",
         "--without-heartbeat"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    perf = subprocess.Popen(["perf", "record", "-g", "-F", "2000", "-o", output, "-p", str(worker.pid)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    started = time.time()
    try:
        while client.llen("celery") > 0 or client.hlen("unacked") > 0:
            time.sleep(0.05)
        elapsed = time.time() - started
    finally:
        perf.send_signal(signal.SIGINT)
        perf.wait()
        worker.send_signal(signal.SIGTERM)
        worker.wait()
    print(f"-P {args.pool}: drained {args.tasks:,} in {elapsed:.2f} s = {args.tasks / elapsed:,.0f}/s under perf; profile in {output}")
    client.flushdb()


if __name__ == "__main__":
    main()
