#!/usr/bin/env python3
"""Scaling and payload benchmarks that the shared harness does not run (issue 6).

    .venv/bin/python bench/scaling.py --worker .build/release/interop-worker   # everything
    .venv/bin/python bench/scaling.py --worker W --only concurrency            # one part

Parts (each a pre-filled queue drained by a worker started afterwards; the rate is the number
of tasks over the span of their results' `date_done`, so worker start-up is not counted):
  concurrency  Swift worker at -c 1, 2, 4, 16, 64 on an I/O-bound backlog (bench.sleep(0.01),
               100 tasks per slot) and a CPU-bound one (bench.cpu(10^6): 10^6 LCG rounds, about
               0.25 ms; 2,000 tasks), with the default pool and with -P solo
  processes    1, 2 and 4 Swift worker processes (-c 16 each, default pool and -P solo) on one
               Redis draining 100,000 bench.noop with results
  payload      a backlog of 2,000 bench.echo(100 KB) with results, Swift -c 16 (both pools) and
               the Python prefork -c 2 worker of bench/run, same run (the shared harness's
               payload scenario is bounded by its Python producer, this one by the worker)

Needs a Redis on --redis-url (default redis://127.0.0.1:6391/0, as bench/run starts; db 0 is
flushed) and, for `payload`, the .venv with Celery. Prints Markdown tables; --repeats N takes the
median of N runs of each row.
"""
import argparse
import datetime
import json
import os
import shlex
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "reliability"))

import harness as H  # noqa: E402

PYTHON_WORKER = ("celery -A tasks worker --pool=prefork -c 2 --loglevel=warning "
                 "--without-gossip --without-mingle --without-heartbeat")


def fill(client, tasks, queue="celery"):
    """Flushes the db and pushes (task, args) pairs in order; returns the task ids."""
    client.flushdb()
    ids = []
    chunk = 20_000
    for start in range(0, len(tasks), chunk):
        part = tasks[start:start + chunk]
        pairs = [(f"s{start + i}-{name}", H.envelope(name, args, task_id=f"s{start + i}-{name}", queue=queue))
                 for i, (name, args) in enumerate(part)]
        H.push(client, queue, [raw for _, raw in pairs])
        ids += [tid for tid, _ in pairs]
    return ids


def parse_done(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def drain(client, ids, commands, cwd, env, timeout=600):
    """Starts every command (one worker process each), waits for every result, stops them.
    Returns tasks/s over the span of the results' date_done."""
    procs = [subprocess.Popen(cmd, shell=True, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True) for cmd in commands]
    try:
        deadline = time.monotonic() + timeout
        results = {}
        keys = [f"celery-task-meta-{t}" for t in ids]
        while time.monotonic() < deadline:
            # Count stored results with EXISTS (no payload read while the worker runs, so large
            # results do not load the machine being measured), then read them once at the end.
            stored = sum(client.exists(*keys[i:i + 5000]) for i in range(0, len(keys), 5000))
            if stored == len(ids):
                pending = [t for t in ids if t not in results]
                results.update({t: m for t, m in H.fetch_results(client, pending, chunk=500).items()
                                if m.get("status") in ("SUCCESS", "FAILURE")})
                if len(results) == len(ids):
                    break
            if any(p.poll() is not None for p in procs):
                raise SystemExit(f"a worker exited early: {commands}")
            time.sleep(0.2)
        if len(results) != len(ids):
            raise SystemExit(f"only {len(results)} of {len(ids)} results within {timeout}s: {commands}")
        bad = [t for t, m in results.items() if m["status"] != "SUCCESS"]
        if bad:
            raise SystemExit(f"{len(bad)} tasks failed, e.g. {results[bad[0]]}")
        done = sorted(parse_done(m["date_done"]) for m in results.values())
        return len(ids) / max(done[-1] - done[0], 1e-6)
    finally:
        for p in procs:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for p in procs:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)


def median_of(repeats, run):
    values = [run() for _ in range(repeats)]
    return statistics.median(values), min(values), max(values)


def cell(stats):
    med, lo, hi = stats
    return f"{med:,.0f} ({lo:,.0f}–{hi:,.0f})" if lo != hi else f"{med:,.0f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--worker", default=str(REPO / ".build/release/interop-worker"))
    ap.add_argument("--redis-url", default="redis://127.0.0.1:6391/0")
    ap.add_argument("--only", action="append", choices=["concurrency", "processes", "payload"])
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--python", default=str(REPO / ".venv/bin/python"))
    args = ap.parse_args()
    parts = args.only or ["concurrency", "processes", "payload"]
    client = H.redis_client(args.redis_url)
    env = dict(os.environ, CELERY_BROKER_URL=args.redis_url, CELERY_RESULT_BACKEND=args.redis_url,
               PATH=f"{Path(args.python).parent}:{os.environ['PATH']}",
               PYTHONPATH=str(HERE / "harness"))
    swift = f"{shlex.quote(args.worker)} worker --broker {args.redis_url} --loglevel WARNING --without-heartbeat"
    print(f"worker: {args.worker}; redis {args.redis_url}; {os.cpu_count()} cores; median of {args.repeats}\n")

    if "concurrency" in parts:
        print("| -c | I/O-bound: bench.sleep(0.01), tasks/s (-P solo) | ideal (c / 10 ms) | CPU-bound: bench.cpu(10^6), about 0.25 ms each, tasks/s (-P solo) |")
        print("| --- | --- | --- | --- |")
        for c in (1, 2, 4, 16, 64):
            io, cpu = [], []
            for pool in ("", " -P solo"):
                io.append(median_of(args.repeats, lambda: drain(
                    client, fill(client, [("bench.sleep", [0.01])] * (100 * c)), [f"{swift}{pool} -c {c}"], REPO, env)))
                cpu.append(median_of(args.repeats, lambda: drain(
                    client, fill(client, [("bench.cpu", [1_000_000])] * 2000), [f"{swift}{pool} -c {c}"], REPO, env)))
            print(f"| {c} | {cell(io[0])} ({cell(io[1])}) | {c * 100:,} | {cell(cpu[0])} ({cell(cpu[1])}) |", flush=True)
        print()

    if "processes" in parts:
        print("| worker processes (-c 16 each) | bench.noop with results, tasks/s | the same with -P solo |")
        print("| --- | --- | --- |")
        for n in (1, 2, 4):
            rates = [median_of(args.repeats, lambda: drain(
                client, fill(client, [("bench.noop", [])] * 100_000),
                [f"{swift}{pool} -c 16 -n swift{k}@%h" for k in range(n)], REPO, env)) for pool in ("", " -P solo")]
            print(f"| {n} | {cell(rates[0])} | {cell(rates[1])} |", flush=True)
        print()

    if "payload" in parts:
        payload = "x" * (100 * 1024)
        rows = {}
        for label, command, cwd, n in (("Python prefork -c 2", PYTHON_WORKER, HERE / "harness", 2000),
                                       ("Swift -c 16", f"{swift} -c 16", REPO, 2000),
                                       ("Swift -P solo -c 16", f"{swift} -P solo -c 16", REPO, 2000)):
            rows[label] = median_of(args.repeats, lambda: drain(
                client, fill(client, [("bench.echo", [payload])] * n), [command], cwd, env))
        print("| 100 KB echo backlog, results stored | tasks/s |")
        print("| --- | --- |")
        for label, stats in rows.items():
            print(f"| {label} | {cell(stats)} |")
        base = rows["Python prefork -c 2"][0]
        print(f"| Swift/Python | {rows['Swift -c 16'][0] / base:.1f}× (-P solo: {rows['Swift -P solo -c 16'][0] / base:.1f}×) |")
    client.flushdb()


if __name__ == "__main__":
    main()
