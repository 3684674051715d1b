#!/usr/bin/env python3
"""Soak run of issue 7: one Swift worker serves millions of mixed tasks while its RSS and
open file descriptors are sampled; every task must end with the right result, nothing may
stay in `unacked`, and RSS and fds must stay flat. A script, not part of CI.

    .venv/bin/python reliability/soak.py                      # 2,000,000 tasks (release worker)
    .venv/bin/python reliability/soak.py --tasks 200000       # a shorter run
    .venv/bin/python reliability/soak.py --minutes 30 --rate 2000   # 30 minutes at a steady 2,000 tasks/s

The producer keeps the queue between --low-water and --high-water messages (so the worker
always has work and Redis memory stays bounded) with this mix, by task index i:
  85 % tasks.add(i, i)            -> SUCCESS, result 2i
  10 % tasks.echo(<1 KiB string>) -> SUCCESS, the same string
   4 % tasks.fail("soak <i>")     -> FAILURE, ValueError
   1 % tasks.sleep(0.001)         -> SUCCESS, 0.001
Every 5 s it samples the worker's VmRSS and fd count. Every result is read back (MGET) and
checked as the run goes, then deleted (Redis memory stays bounded). Flat means:
after the warm-up (the first third of the run, at least 100,000 tasks: glibc's malloc arenas
grow to their working size over the first million or so) every RSS sample is within +-10 % of the first one, and the fd count
varies by at most 2.

Redis: --redis-url (its db is flushed), else a private loopback redis-server. Worker binary:
SWIFT_CELERY_BIN, else .build/release if it holds interop-worker, else .build/debug.
Prints one table and writes samples.csv and summary.json under reliability/.work/soak-<time>/.
Exit status 0 when no task was lost or wrong, nothing crashed, and RSS and fds stayed flat.
"""
import argparse
import base64
import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
if "SWIFT_CELERY_BIN" not in os.environ and (HERE.parent / ".build/release/interop-worker").is_file():
    os.environ["SWIFT_CELERY_BIN"] = str(HERE.parent / ".build/release")
sys.path.insert(0, str(HERE))

import harness as H  # noqa: E402

QUEUE = "soak"
ECHO_PAYLOAD = "s" * 1024


def task_for(i):
    """(task name, args, expected state, expected result) of task number ``i``."""
    k = i % 100
    if k < 85:
        return "tasks.add", [i, i], "SUCCESS", 2 * i
    if k < 95:
        return "tasks.echo", [ECHO_PAYLOAD], "SUCCESS", ECHO_PAYLOAD
    if k < 99:
        return "tasks.fail", [f"soak {i}"], "FAILURE", None
    return "tasks.sleep", [0.001], "SUCCESS", 0.001


def task_id(i):
    return f"soak-{i}"


class Producer:
    """Pushes messages built as ``harness.envelope`` builds them (task ids ``soak-<i>``), in
    pipelines of 2,000."""

    def __init__(self, client):
        self.client = client
        self.next = 0

    def entry(self, i):
        name, args, _, _ = task_for(i)
        tid = task_id(i)
        body = base64.b64encode(json.dumps([args, {}, H.EMBED]).encode()).decode("ascii")
        env = {
            "body": body, "content-encoding": "utf-8", "content-type": "application/json",
            "headers": H.headers_for(name, tid, args),
            "properties": H.properties_for(tid, QUEUE, delivery_tag=tid),
        }
        return json.dumps(env)

    def push(self, count):
        pipe = self.client.pipeline(transaction=False)
        for i in range(self.next, self.next + count):
            pipe.lpush(QUEUE, self.entry(i))
            if (i - self.next) % 2000 == 1999:
                pipe.execute()
        pipe.execute()
        self.next += count


class Checker:
    """Reads results back in chunks of 10,000 as they become final, checks each against
    ``task_for`` and deletes it, so a long soak keeps Redis's memory bounded. A task without a
    result yet is looked at again at the end."""

    CHUNK = 10_000

    def __init__(self, client):
        self.client = client
        self.checked = 0          # every index below this was read (or is in ``later``)
        self.later = []
        self.missing = self.wrong = 0
        self.states = {}
        self.examples = []

    def check_through(self, done, margin=5_000):
        """Checks whole chunks of results up to ``done - margin`` (tasks past the early ack may
        still be running)."""
        while self.checked + self.CHUNK <= done - margin:
            self._check(range(self.checked, self.checked + self.CHUNK), final=False)
            self.checked += self.CHUNK

    def finish(self, total):
        self._check(range(self.checked, total), final=True)
        self.checked = total
        later, self.later = self.later, []
        for start in range(0, len(later), self.CHUNK):
            self._check(later[start:start + self.CHUNK], final=True)

    def _check(self, indexes, final):
        keys = [f"celery-task-meta-{task_id(i)}" for i in indexes]
        if not keys:
            return
        for i, raw in zip(indexes, self.client.mget(keys)):
            if raw is None:
                if not final:
                    self.later.append(i)
                    continue
                self.missing += 1
                self._example(f"{task_id(i)}: no result")
                continue
            meta = json.loads(raw)
            status = meta.get("status")
            self.states[status] = self.states.get(status, 0) + 1
            name, _, want_state, want = task_for(i)
            ok = status == want_state
            if ok and want_state == "SUCCESS":
                ok = meta.get("result") == want
            if ok and want_state == "FAILURE":
                ok = (meta.get("result") or {}).get("exc_type") == "ValueError"
            if not ok:
                self.wrong += 1
                self._example(f"{task_id(i)} ({name}): {status} {str(meta.get('result'))[:80]}")
        self.client.delete(*keys)

    def _example(self, text):
        if len(self.examples) < 5:
            self.examples.append(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tasks", type=int, default=2_000_000, help="tasks to send (default 2,000,000)")
    ap.add_argument("--minutes", type=float, default=None, help="produce for this long instead of --tasks")
    ap.add_argument("--concurrency", "-c", type=int, default=16)
    ap.add_argument("--low-water", type=int, default=20_000)
    ap.add_argument("--high-water", type=int, default=60_000)
    ap.add_argument("--rate", type=float, default=None,
                    help="produce at most this many tasks/s (a long soak at a steady load)")
    ap.add_argument("--sample-every", type=float, default=5.0)
    ap.add_argument("--redis-url", default=None)
    args = ap.parse_args()

    work = HERE / ".work" / f"soak-{time.strftime('%Y%m%d-%H%M%S')}"
    work.mkdir(parents=True, exist_ok=True)
    procs = H.Procs(work)
    try:
        url = args.redis_url or H.RedisServer(procs, "soak-redis").start().url
        client = H.redis_client(url)
        client.flushdb()
        worker = H.start_swift_worker(procs, "soak-worker", url, queue=QUEUE, concurrency=args.concurrency,
                                      extra=["--loglevel", "WARNING"], ready=False)
        # WARNING keeps 2M tasks' lines out of the log, and with them the "ready." line: a probe
        # task answered tells that the worker is up.
        (probe_id, probe), = H.make_tasks(1, task="tasks.add", prefix="probe", queue=QUEUE, args_for=lambda i: [1, 1])
        H.push(client, QUEUE, [probe])
        if not H.wait_results(client, [probe_id], 30, watch=[worker]):
            raise SystemExit(f"the worker did not answer a probe within 30 s\n{worker.tail()}")
        print(f"soak: worker {H.WORKER_BIN} -c {args.concurrency} (pid {worker.pid}), redis {url}, "
              f"logs in {work}", flush=True)
        producer = Producer(client)
        checker = Checker(client)
        started = time.monotonic()
        produce_until = started + args.minutes * 60 if args.minutes else None
        samples = []  # (elapsed s, tasks done, rss KiB, fds)
        next_sample = started
        last_print = started

        def done_count():
            state = H.broker_state(client, [QUEUE])
            return producer.next - state["queued"] - state["unacked"], state

        while worker.alive():
            now = time.monotonic()
            producing = (now < produce_until) if produce_until else (producer.next < args.tasks)
            done, state = done_count()
            if producing and state["queued"] < args.low_water:
                room = args.high_water - state["queued"]
                if not produce_until:
                    room = min(room, args.tasks - producer.next)
                if args.rate:
                    room = min(room, int(args.rate * (now - started)) - producer.next)
                if room > 0:
                    producer.push(min(room, 20_000))
            checker.check_through(done)
            if now >= next_sample:
                samples.append((now - started, max(done, 0), worker.rss_kib(), worker.fd_count()))
                next_sample += args.sample_every
                if now - last_print >= 60:
                    last_print = now
                    e, d, rss, fds = samples[-1]
                    print(f"  {e:7.0f}s  {d:>10,} done  RSS {rss / 1024:6.1f} MiB  fds {fds}", flush=True)
            if not producing and state["queued"] == 0 and state["unacked"] == 0:
                break
            time.sleep(0.05)
        elapsed = time.monotonic() - started
        total = producer.next
        alive = worker.alive()
        samples.append((elapsed, total, worker.rss_kib() if alive else 0, worker.fd_count() if alive else 0))
        final_state = H.broker_state(client, [QUEUE])
        checker.finish(total)
        missing, wrong, states, examples = checker.missing, checker.wrong, checker.states, checker.examples
        exit_code = worker.stop(timeout=30)[0] if alive else worker.returncode
        crashes = [] if alive and not H.crash_lines(worker.log_text()) else [worker.label]
    finally:
        procs.stop_all()

    warm_tasks = max(100_000, total // 3)
    warm = [s for s in samples if s[1] >= warm_tasks] or samples[-1:]
    rss0 = warm[0][2]
    rss_values = [s[2] for s in warm]
    fd_values = [s[3] for s in samples if s[3]]
    rss_flat = all(abs(v - rss0) <= 0.10 * rss0 for v in rss_values)
    fds_flat = max(fd_values) - min(fd_values) <= 2 if fd_values else False

    # Least-squares slope of RSS over tasks after the warm-up: a leak shows as a steady climb.
    xs, ys = [s[1] / 1e6 for s in warm], [s[2] / 1024 for s in warm]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx if sxx else 0.0

    def rss_at(n):
        after = [s for s in samples if s[1] >= n]
        return f"{after[0][2] / 1024:.1f}" if after else "-"

    with open(work / "samples.csv", "w") as fh:
        fh.write("elapsed_s,tasks_done,rss_kib,fds\n")
        for s in samples:
            fh.write(f"{s[0]:.1f},{s[1]},{s[2]},{s[3]}\n")
    summary = dict(
        tasks=total, seconds=round(elapsed, 1), tasks_per_s=round(total / elapsed), missing=missing, wrong=wrong,
        states=states, unacked_left=final_state["unacked"], queued_left=final_state["queued"],
        crashes=len(crashes), worker_exit=exit_code,
        rss_mib=dict(warm=round(rss0 / 1024, 1), min=round(min(rss_values) / 1024, 1),
                     max=round(max(rss_values) / 1024, 1), at_100k=rss_at(100_000), at_1m=rss_at(1_000_000),
                     end=round(samples[-1][2] / 1024, 1)),
        fds=dict(min=min(fd_values, default=0), max=max(fd_values, default=0)),
        rss_slope_mib_per_million_tasks=round(slope, 3), rss_flat=rss_flat, fds_flat=fds_flat, samples=len(samples), examples=examples,
    )
    (work / "summary.json").write_text(json.dumps(summary, indent=2))
    ok = (missing == 0 and wrong == 0 and not crashes and exit_code == 0 and rss_flat and fds_flat
          and final_state["unacked"] == 0)
    print()
    print(f"soak: {'PASS' if ok else 'FAIL'}; samples and summary in {work}")
    print("| tasks | wall | tasks/s | lost | wrong | unacked left | crashes | RSS MiB warm / min / max / end "
          "| RSS at 100k / 1M | fds min / max |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    r = summary["rss_mib"]
    print(f"| {total:,} | {elapsed / 60:.1f} min | {summary['tasks_per_s']:,} | {missing} | {wrong} | "
          f"{final_state['unacked']} | {len(crashes)} | {r['warm']} / {r['min']} / {r['max']} / {r['end']} | "
          f"{r['at_100k']} / {r['at_1m']} | {summary['fds']['min']} / {summary['fds']['max']} |")
    print(f"states: {states}; worker exit {exit_code}; RSS slope after warm-up {slope:+.3f} MiB per million tasks")
    for line in examples:
        print(f"  problem: {line}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
