"""The reliability scenarios of issue 7. Each takes a ``Context`` and fills a
``ScenarioResult`` (one row of the table); ``run_scenario`` adds timing, crash accounting and
process cleanup. Used by ``run.py`` and by ``tests/test_reliability.py``.
"""
from __future__ import annotations

import base64
import collections
import dataclasses
import json
import os
import random
import re
import secrets
import signal
import subprocess
import time
import traceback
from pathlib import Path

import redis

import harness as H
import scenarios_control
from harness import ScenarioError, ScenarioResult

SIZES = {
    "quick": dict(
        crash_tasks=1000, crash_py_tasks=200, kill_backlog_iterations=10, kill_backlog_tasks=8000,
        kill_trickle_iterations=20, outage_tasks=400, fuzz_bad=10_000, fuzz_good=2_000,
        fuzz_large_size=10 * 1024 * 1024, fuzz_large_count=3, shutdown_running=64,
        reconnects=20, restart_every=2, rss_backlog=20_000, flood_tasks=20_000, flood_seconds=15,
    ),
    "full": dict(
        crash_tasks=1000, crash_py_tasks=1000, kill_backlog_iterations=100, kill_backlog_tasks=30_000,
        kill_trickle_iterations=200, outage_tasks=2000, fuzz_bad=100_000, fuzz_good=20_000,
        fuzz_large_size=100 * 1024 * 1024, fuzz_large_count=3, shutdown_running=64,
        reconnects=1000, restart_every=4, rss_backlog=1_000_000, flood_tasks=200_000, flood_seconds=60,
    ),
}

# Failures that need a change in the Swift worker (see reliability/README.md). The row is
# reported as XFAIL (and the pytest test is xfail) only while it fails.
KNOWN_BUGS = {}


@dataclasses.dataclass
class Context:
    size: str
    redis_url: str
    work: Path

    @property
    def S(self):
        return SIZES[self.size]


def ids_of(tasks):
    return [t for t, _ in tasks]


def account(r: ScenarioResult, results: dict, ids, logs, task=None):
    """Fills sent/executed/lost/duplicates from result documents and `succeeded` lines."""
    ids = list(ids)
    r.sent = len(ids)
    ok = [t for t in ids if results.get(t, {}).get("status") == "SUCCESS"]
    r.executed = len(ok)
    r.lost = len(ids) - len(ok)
    counts = H.succeeded_counts(logs, task)
    idset = set(ids)
    r.duplicates = sum(c - 1 for t, c in counts.items() if t in idset and c > 1)
    if r.lost:
        missing = [t for t in ids if t not in results or results[t].get("status") != "SUCCESS"]
        r.failures.append(f"{r.lost} of {len(ids)} tasks have no SUCCESS result, e.g. {missing[:3]}")


def settle(client, queues, timeout=10.0):
    """Waits until the queues and `unacked` are empty and stay so for half a second (a message
    between a pop and its record, which kombu's way of taking large messages allows, is in
    neither for a moment); returns the final broker state."""
    def empty():
        return all(v == 0 for v in H.broker_state(client, queues).values())
    deadline = time.monotonic() + timeout
    while H.wait_until(empty, max(0.0, deadline - time.monotonic())):
        time.sleep(0.5)
        if empty() or time.monotonic() >= deadline:
            break
    return H.broker_state(client, queues)


def unacked_sample(client, k=3):
    """A few `unacked` entries: the task id, or the raw tag when the record is not JSON."""
    out = []
    for tag, raw in list(client.hgetall("unacked").items())[:k]:
        try:
            out.append(json.loads(raw)[0]["headers"].get("id"))
        except Exception:
            out.append(f"tag {tag!r} (record not JSON)")
    return out


def check_drained(r, client, queues, timeout=10.0):
    state = settle(client, queues, timeout)
    if state["unacked"]:
        r.notes.append(f"still in unacked: {unacked_sample(client)}")
    if state["queued"]:
        left = []
        for queue in queues:
            for key in [queue] + [f"{queue}\x06\x16{step}" for step in (3, 6, 9)]:
                for raw in client.lrange(key, 0, 2):
                    left.append(f"{key!r}: {len(raw)} bytes, {raw[:80]!r}...{raw[-160:]!r}")
        r.notes.append(f"left in the queue: {left}")
    r.check(state["queued"] == 0, f"{state['queued']} messages left in the queue")
    r.check(state["unacked"] == 0 and state["unacked_index"] == 0,
            f"left in unacked: {state['unacked']} (unacked_index {state['unacked_index']})")


def stop_worker_checked(r, proc, timeout=15.0):
    if not proc.alive():
        return
    rc, in_time = proc.stop(timeout=timeout)
    r.check(in_time, f"{proc.label} did not exit within {timeout}s of SIGTERM")
    r.check(rc == 0, f"{proc.label} exited with {rc} after SIGTERM")


# ---------------------------------------------------------------------------
# 1. crash recovery
# ---------------------------------------------------------------------------

def s1a_crash_swift(ctx: Context, procs: H.Procs, r: ScenarioResult):
    c = H.redis_client(ctx.redis_url)
    q = "rel-crash"
    tasks = H.make_tasks(ctx.S["crash_tasks"], task="tasks.sleep", prefix="c1", queue=q,
                         args_for=lambda i: [0.01])
    ids = ids_of(tasks)
    H.push(c, q, [raw for _, raw in tasks])
    a = H.start_swift_worker(procs, "crash-a", ctx.redis_url, queue=q, concurrency=8, extra=["--acks-late"])
    target = int(len(ids) * 0.3)
    if not H.wait_until(lambda: len(H.fetch_results(c, ids)) >= target or not a.alive(), 60, poll=0.02):
        raise ScenarioError(f"crash-a did not complete {target} tasks within 60s\n{a.tail()}")
    a.kill9()
    state = H.broker_state(c, [q])
    done_at_kill = len(H.fetch_results(c, ids))
    r.notes.append(f"SIGKILL with {done_at_kill} done, {state['unacked']} in unacked, {state['queued']} queued")
    r.check(state["unacked"] > 0, "nothing in unacked at the SIGKILL: acks_late messages not recorded")
    b = H.start_swift_worker(procs, "crash-b", ctx.redis_url, queue=q, concurrency=8,
                             extra=["--acks-late", "--visibility-timeout", "2", "--restore-interval", "1"])
    results = H.wait_results(c, ids, 60, watch=[b])
    account(r, results, ids, [a.log_text(), b.log_text()])
    check_drained(r, c, [q])
    stop_worker_checked(r, b)


def s1b_crash_python(ctx: Context, procs: H.Procs, r: ScenarioResult):
    c = H.redis_client(ctx.redis_url)
    q = "rel-crash-py"
    tasks = H.make_tasks(ctx.S["crash_py_tasks"], task="tasks.sleep", prefix="c1py", queue=q,
                         args_for=lambda i: [0.03])
    ids = ids_of(tasks)
    py = H.start_python_worker(procs, "py-crash", ctx.redis_url, queue=q, visibility=2)
    H.push(c, q, [raw for _, raw in tasks])
    target = int(len(ids) * 0.3)
    if not H.wait_until(lambda: len(H.fetch_results(c, ids)) >= target or not py.alive(), 120, poll=0.02):
        raise ScenarioError(f"Python worker did not complete {target} tasks\n{py.tail()}")
    # A solo-pool worker holds one message at a time: kill it while that one is unacked.
    H.wait_until(lambda: c.hlen("unacked") >= 1, 5, poll=0.001)
    py.kill9()
    state = H.broker_state(c, [q])
    r.notes.append(f"Python worker SIGKILLed with {len(H.fetch_results(c, ids))} done, "
                   f"{state['unacked']} in unacked")
    r.check(state["unacked"] > 0, "nothing in unacked when the acks_late Python worker was killed")
    b = H.start_swift_worker(procs, "crash-py-b", ctx.redis_url, queue=q, concurrency=8,
                             extra=["--acks-late", "--visibility-timeout", "2", "--restore-interval", "1"])
    results = H.wait_results(c, ids, 60, watch=[b])
    account(r, results, ids, [py.log_text(), b.log_text()])
    restored = H.count_lines(b.log_text(), r"Restored \d+ message")
    r.check(restored >= 1, "the Swift worker never logged restoring the Python worker's unacked messages")
    check_drained(r, c, [q])
    stop_worker_checked(r, b)


# ---------------------------------------------------------------------------
# 2. pop-then-record window
# ---------------------------------------------------------------------------

RECOVER = ["--acks-late", "--visibility-timeout", "2", "--restore-interval", "1"]


def _recover(ctx, procs, r, c, q, ids, logs, label, timeout=120, grace=True, url=None):
    b = H.start_swift_worker(procs, label, url or ctx.redis_url, queue=q, concurrency=8, extra=RECOVER)
    results = H.wait_results_settled(c, ids, timeout, [q], watch=[b])
    account(r, results, ids, logs + [b.log_text()])
    check_drained(r, c, [q])
    stop_worker_checked(r, b)
    return results


def s2a_kill_backlog(ctx: Context, procs: H.Procs, r: ScenarioResult):
    c = H.redis_client(ctx.redis_url)
    q = "rel-kill"
    rng = random.Random(2)
    tasks = H.make_tasks(ctx.S["kill_backlog_tasks"], task="tasks.sleep", prefix="k", queue=q,
                         args_for=lambda i: [0.005])
    ids = ids_of(tasks)
    H.push(c, q, [raw for _, raw in tasks])
    logs = []
    died = 0
    for i in range(ctx.S["kill_backlog_iterations"]):
        w = H.start_swift_worker(procs, f"kill-{i}", ctx.redis_url, queue=q, concurrency=8,
                                 extra=["--acks-late"], ready=False)
        time.sleep(rng.uniform(0.05, 0.8))
        if not w.alive():
            died += 1
        w.kill9()
        logs.append(w.log_text())
    state = H.broker_state(c, [q])
    r.notes.append(f"{ctx.S['kill_backlog_iterations']} SIGKILLs; then {state['queued']} queued, "
                   f"{state['unacked']} unacked, {len(H.fetch_results(c, ids))} done")
    r.check(died == 0, f"{died} workers exited on their own before the SIGKILL")
    _recover(ctx, procs, r, c, q, ids, logs, "kill-recover")


def s2b_kill_trickle(ctx: Context, procs: H.Procs, r: ScenarioResult):
    """Idle worker blocked in BRPOP; one message arrives; SIGKILL 0-3 ms later."""
    c = H.redis_client(ctx.redis_url)
    q = "rel-trickle"
    rng = random.Random(3)
    ids, logs = [], []
    for i in range(ctx.S["kill_trickle_iterations"]):
        w = H.start_swift_worker(procs, f"trickle-{i}", ctx.redis_url, queue=q, concurrency=4,
                                 extra=["--acks-late"])
        time.sleep(0.05)
        (tid, raw), = H.make_tasks(1, task="tasks.sleep", prefix=f"tr{i}", queue=q, args_for=lambda _: [0.2])
        ids.append(tid)
        c.lpush(q, raw)
        time.sleep(rng.uniform(0, 0.003))
        w.kill9()
        logs.append(w.log_text())
    _recover(ctx, procs, r, c, q, ids, logs, "trickle-recover", timeout=6, grace=False)


def _window(ctx, procs, r, c, q, sigkill, url=None):
    """The deterministic pop-then-record reproduction: LPUSH and CLIENT PAUSE WRITE in one
    MULTI, so the BRPOP blocked on the queue is served and then every write (the `record`
    EVALSHA) waits; meanwhile the worker is SIGKILLed (2c) or its connections dropped (2d)."""
    extra = ["--acks-late"] + ([] if sigkill else ["--visibility-timeout", "2", "--restore-interval", "1"])
    url = url or ctx.redis_url
    w = H.start_swift_worker(procs, "window", url, queue=q, concurrency=2, extra=extra)
    time.sleep(1.2)  # the consumer is blocked in BRPOP on the empty queue
    (tid, raw), = H.make_tasks(1, task="tasks.sleep", prefix="win", queue=q, args_for=lambda _: [0.1])
    pipe = c.pipeline(transaction=True)
    pipe.lpush(q, raw)
    pipe.execute_command("CLIENT", "PAUSE", "1000", "WRITE")
    pipe.execute()
    time.sleep(0.3)
    state = H.broker_state(c, [q])
    r.notes.append(f"during the pause: queued {state['queued']}, unacked {state['unacked']}")
    if sigkill:
        w.kill9()
        logs = [w.log_text()]
        time.sleep(1)
        _recover(ctx, procs, r, c, q, [tid], logs, "window-recover", timeout=5, grace=False, url=url)
    else:
        me = c.client_id()
        for cl in c.client_list():
            if int(cl["id"]) != me:
                c.client_kill_filter(_id=cl["id"])
        results = H.wait_results(c, [tid], 5, watch=[w])
        account(r, results, [tid], [w.log_text()])
        r.check(w.alive(), "worker died after its connections were dropped")
        check_drained(r, c, [q], timeout=2)
        stop_worker_checked(r, w)


def s2c_window_sigkill(ctx, procs, r):
    _window(ctx, procs, r, H.redis_client(ctx.redis_url), "rel-window", sigkill=True)


def s2d_window_drop(ctx, procs, r):
    _window(ctx, procs, r, H.redis_client(ctx.redis_url), "rel-window-drop", sigkill=False)


def s2e_window_fallback(ctx, procs, r):
    """2c on a Redis where BLMOVE does not exist (as before 6.2): the worker's BRPOP fallback."""
    rs = H.RedisServer(procs, "noblmove-redis", extra=["--rename-command", "BLMOVE", ""]).start()
    _window(ctx, procs, r, rs.client(), "rel-window-old", sigkill=True, url=rs.url)
    rs.stop()


# ---------------------------------------------------------------------------
# 3. broker outage
# ---------------------------------------------------------------------------

OUTAGE_LINE = r"consumer: Cannot connect"
RESTORED_LINE = r"consumer: Connection to broker restored"


def _outage_counts(r, text, outages):
    down = H.count_lines(text, OUTAGE_LINE)
    up = H.count_lines(text, RESTORED_LINE)
    per_op = {k: H.count_lines(text, k) for k in ("Cannot store the result", "Cannot acknowledge", "Cannot restore")}
    r.notes.append(f"outage log lines: {down} 'Cannot connect', {up} 'restored'; per-operation errors {per_op}")
    r.check(down >= outages, f"the outage was not logged ({down} 'Cannot connect' lines)")
    r.check(up >= outages, f"the recovery was not logged ({up} 'restored' lines)")
    r.check(down <= outages and up <= outages,
            f"{outages} outage(s) logged as {down} 'Cannot connect' / {up} 'restored' lines (want one per state change)")


def _reconnect_latency(text, since_wall):
    """Seconds from ``since_wall`` (time.time()) to the first 'restored' line after it."""
    for line in text.splitlines():
        if re.search(RESTORED_LINE, line):
            m = re.match(r"\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3})", line)
            if not m:
                continue
            t = time.mktime(time.strptime(m.group(1), "%Y-%m-%d %H:%M:%S")) - time.timezone + int(m.group(2)) / 1000
            if t >= since_wall - 0.5:
                return t - since_wall
    return None


def _outage(ctx, procs, r, persistent):
    rs = H.RedisServer(procs, "outage-redis", persistent=persistent).start()
    c = rs.client()
    q = "rel-outage"
    n = ctx.S["outage_tasks"]
    w = H.start_swift_worker(procs, "outage-worker", rs.url, queue=q, concurrency=4,
                             extra=["--visibility-timeout", "2", "--restore-interval", "1"])
    b1 = H.make_tasks(n, task="tasks.sleep", prefix="o1", queue=q, args_for=lambda i: [0.04])
    H.push(c, q, [raw for _, raw in b1])
    time.sleep(1.5)
    before = len(H.fetch_results(c, ids_of(b1)))
    rs.shutdown()
    time.sleep(3)
    r.check(w.alive(), f"worker exited during the outage (code {w.returncode})\n{w.tail(10)}")
    rs.start()
    up_at = time.time()
    c = rs.client()
    kept = len(H.fetch_results(c, ids_of(b1)))
    r.notes.append(f"{before} of {n} done before SHUTDOWN NOSAVE; {kept} results still in Redis after restart; "
                   f"queue after restart {H.broker_state(c, [q])}")
    b2 = H.make_tasks(n // 4, task="tasks.sleep", prefix="o2", queue=q, args_for=lambda i: [0.04])
    H.push(c, q, [raw for _, raw in b2])
    ids = (ids_of(b1) + ids_of(b2)) if persistent else ids_of(b2)
    results = H.wait_results_settled(c, ids, 60, [q], watch=[w])
    r.check(w.alive(), f"worker exited after the outage (code {w.returncode})")
    account(r, results, ids, [w.log_text()])
    if not persistent:
        r.notes.append(f"without persistence only the {len(b2)} tasks sent after the restart are counted")
    time.sleep(2.5)  # the consumer is back in its blocking poll: every reconnect is logged by now
    latency = _reconnect_latency(w.log_text(), up_at)
    r.notes.append("consumer resumed " + (f"{latency:.1f}s after Redis was back" if latency is not None else "(no 'restored' line)"))
    _outage_counts(r, w.log_text(), 1)
    check_drained(r, c, [q])
    stop_worker_checked(r, w)
    rs.stop()


def s3a_outage_aof(ctx, procs, r):
    _outage(ctx, procs, r, persistent=True)


def s3b_outage_plain(ctx, procs, r):
    _outage(ctx, procs, r, persistent=False)


def s3c_outage_idle(ctx, procs, r):
    """Redis restarts while the worker is idle; afterwards every task must get its result."""
    rs = H.RedisServer(procs, "idle-redis").start()
    c = rs.client()
    q = "rel-idle"
    w = H.start_swift_worker(procs, "idle-worker", rs.url, queue=q, concurrency=4)
    (tid, raw), = H.make_tasks(1, prefix="warm", queue=q)
    c.lpush(q, raw)
    if not H.wait_results(c, [tid], 10, watch=[w]):
        raise ScenarioError("warm-up task failed")
    rs.shutdown()
    time.sleep(0.5)
    rs.start()
    up_at = time.time()
    c = rs.client()
    H.wait_until(lambda: H.count_lines(w.log_text(), RESTORED_LINE) >= 1, 15)
    latency = _reconnect_latency(w.log_text(), up_at)
    r.notes.append("consumer resumed " + (f"{latency:.1f}s after Redis was back" if latency is not None else "(no 'restored' line)"))
    tasks = H.make_tasks(10, prefix="after", queue=q)
    for _, raw in tasks:
        c.lpush(q, raw)
        time.sleep(0.1)
    results = H.wait_results_settled(c, ids_of(tasks), 15, [q], watch=[w], quiet=2)
    account(r, results, ids_of(tasks), [w.log_text()])
    r.check(w.alive(), "worker exited")
    time.sleep(1.5)
    _outage_counts(r, w.log_text(), 1)
    stop_worker_checked(r, w)
    rs.stop()


def s3d_client_wait(ctx, procs, r):
    """The Swift client's get() through broker outages: a wait that spans a restart resumes
    and prints the result; a wait on a broker that stays down ends cleanly at its timeout."""
    rs = H.RedisServer(procs, "client-redis").start()
    q = "rel-client"
    w = H.start_swift_worker(procs, "client-worker", rs.url, queue=q, concurrency=2)
    # 1. resume: the task runs through a 1.5 s outage; its result is stored (the worker retries)
    #    and the waiting client, whose subscription and reads reconnect, prints it.
    t0 = time.monotonic()
    call = procs.start("cli-call", [str(H.CLI_BIN), "call", "tasks.sleep", "-a", "[3]", "-q", q, "--wait",
                                    "--timeout", "30", "--broker", rs.url])
    call.is_worker = True  # a crash of the CLI counts as a crash
    if not H.wait_until(lambda: H.count_lines(w.log_text(), r"tasks\.sleep\[.*\] received") >= 1, 10):
        raise ScenarioError(f"the task did not start\n{w.tail()}")
    rs.shutdown()
    time.sleep(1.5)
    rs.start()
    rc = call.wait(30)
    took = time.monotonic() - t0
    call.expected_exit = True
    out = call.log_text()
    resumed = rc == 0 and re.search(r"^3(\.0)?$", out, re.M) is not None
    r.notes.append(f"wait across a restart: exit {rc} after {took:.1f}s, printed {out.strip().splitlines()[-1][:80]!r}")
    r.check(resumed, f"the waiting client did not print the result after the restart (exit {rc})\n{call.tail(5)}")
    r.check(took < 15, f"the waiting client took {took:.1f}s (task 3 s, outage 1.5 s)")
    # 2. a broker that stays down: result --wait gives up at its timeout with a clear error.
    rs.shutdown()
    t0 = time.monotonic()
    wait = procs.start("cli-wait-down", [str(H.CLI_BIN), "result", "no-such-task", "--wait", "--timeout", "3",
                                         "--broker", rs.url])
    wait.is_worker = True
    rc2 = wait.wait(20)
    took2 = time.monotonic() - t0
    wait.expected_exit = True
    last = (wait.log_text().strip().splitlines() or [""])[-1]
    r.notes.append(f"wait on a broker that stays down: exit {rc2} after {took2:.1f}s: {last[:120]!r}")
    r.check(rc2 not in (None, 0), f"result --wait on a stopped broker exited {rc2} (want an error exit)")
    r.check(took2 < 10, f"result --wait --timeout 3 on a stopped broker took {took2:.1f}s")
    r.check(re.search(r"(?i)error|cannot|refused|timeout|timed out", last) is not None, f"no error named: {last!r}")
    r.sent, r.executed, r.lost = 1, int(resumed), 0 if resumed else 1
    rs.start()
    stop_worker_checked(r, w)
    rs.stop()


# ---------------------------------------------------------------------------
# 4. hostile input
# ---------------------------------------------------------------------------

REJECT_RE = re.compile(r"Rejected message (.*?) from queue (\S+): (.*)")
# (a tag or reason with a line break in it is still counted by occurrence, see s4_fuzz)
ANSWER_RE = re.compile(r"Task \S+?\[([^\]\n]*)\] (?:succeeded|raised|retry|ignored|rejected|\(expired\))"
                       r"|Discarding revoked task: \S+?\[([^\]\n]*)\]")
RECEIVED_RE = re.compile(r"Task (\S+?)\[([^\]]+)\] received")


def s4_fuzz(ctx, procs, r):
    import fuzz
    c = H.redis_client(ctx.redis_url)
    q = fuzz.QUEUE
    S = ctx.S
    gen = fuzz.Generator(seed=11, large_size=S["fuzz_large_size"], large_count=S["fuzz_large_count"])
    extra = ["--visibility-timeout", "5", "--restore-interval", "1"]
    workers = [H.start_swift_worker(procs, "fuzz-worker", ctx.redis_url, queue=q, concurrency=4, extra=extra)]
    bad: list = []
    good: list = []
    crash_suspects = collections.Counter()
    n_bad, n_good = S["fuzz_bad"], S["fuzz_good"]
    every = max(1, n_bad // n_good)
    chunk: list = []

    def restart_if_dead():
        w = workers[-1]
        if w.alive():
            return
        text = w.log_text()
        started = set(m.group(2) for m in RECEIVED_RE.finditer(text))
        finished = set(m.group(2) for m in H.SUCCEEDED_RE.finditer(text))
        finished |= set(re.findall(r"\[([^\]]+)\] (?:raised|rejected|ignored|retry)", text))
        for tid in started - finished:
            kind = tid.split("-", 2)[2] if tid.startswith("fz-") else tid.split("-")[0]
            crash_suspects[kind] += 1
        fatal = [l for l in text.splitlines() if "Fatal error" in l][-1:]
        r.notes.append(f"worker crashed (code {w.returncode}): {fatal[0] if fatal else w.tail(3)}; "
                       f"unfinished at the crash: {sorted(t for t in started - finished)[:4]}")
        workers.append(H.start_swift_worker(procs, f"fuzz-worker-{len(workers)}", ctx.redis_url, queue=q,
                                            concurrency=4, extra=extra))

    def flush():
        H.push(c, q, chunk)
        chunk.clear()
        restart_if_dead()
        # Back-pressure: keep the backlog small so a crash loses little and a hang shows.
        deadline = time.monotonic() + 60
        while c.llen(q) > 3000 and time.monotonic() < deadline:
            restart_if_dead()
            time.sleep(0.05)

    fuzz_t0 = time.monotonic()
    for i, h in enumerate(gen.generate(n_bad)):
        bad.append(h)
        chunk.append(h.raw)
        if i % every == every - 1 and len(good) < n_good:
            tid = f"good-{len(good)}"
            good.append((tid, len(good)))
            chunk.append(H.envelope("tasks.add", [len(good) - 1, len(good) - 1], task_id=tid, queue=q))
        if len(chunk) >= 1000 or len(h.raw) > 1_000_000:
            flush()
    while len(good) < n_good:
        tid = f"good-{len(good)}"
        good.append((tid, len(good)))
        chunk.append(H.envelope("tasks.add", [len(good) - 1, len(good) - 1], task_id=tid, queue=q))
    flush()

    pushed_at = time.monotonic()
    good_ids = [t for t, _ in good]
    deadline = time.monotonic() + (120 if ctx.size == "quick" else 600)
    results = {}
    while time.monotonic() < deadline:
        restart_if_dead()
        results = H.wait_results(c, good_ids, 2, watch=[workers[-1]])
        if len(results) == len(good_ids):
            break
    restart_if_dead()
    r.notes.append(f"pushed in {pushed_at - fuzz_t0:.1f}s, drained {time.monotonic() - pushed_at:.1f}s later")
    # responsiveness after the storm: a fresh probe answered within 10 s
    (ptid, praw), = H.make_tasks(1, task="tasks.add", prefix="probe", queue=q, args_for=lambda _: [20, 22])
    t0 = time.monotonic()
    c.lpush(q, praw)
    probe = H.wait_results(c, [ptid], 10, watch=[workers[-1]])
    r.check(probe.get(ptid, {}).get("result") == 42, "the worker did not answer a probe within 10 s after the fuzz")
    r.notes.append(f"probe answered in {time.monotonic() - t0:.2f}s")
    check_drained(r, c, [q], timeout=15)

    wrong = [t for t, i in good if results.get(t, {}).get("status") != "SUCCESS" or results[t].get("result") != 2 * i]
    r.sent = n_bad + n_good
    r.executed = n_good - len(wrong)
    r.lost = len(wrong)
    if wrong:
        r.failures.append(f"{len(wrong)} good tasks.add without the right result, e.g. {wrong[:3]}")

    # accounting of the hostile entries
    text = "\n".join(w.log_text() for w in workers)
    rejected_tags = collections.Counter()
    reasons = collections.Counter()
    for m in REJECT_RE.finditer(text):
        rejected_tags[m.group(1)] += 1
        reason = m.group(3)
        reasons[re.sub(r"[0-9]+", "N", reason.split(": ")[0] if ": " in reason else reason)[:48]] += 1
    bad_results = H.fetch_results(c, [h.task_id for h in bad if h.task_id])
    # A rejected entry whose id could still be read is answered with a FAILURE naming the
    # rejection (kombu's LimitExceeded/ContentDisallowed/DecodeError, Celery's InvalidTaskError):
    # an answer to its caller, not a run; its rejection line accounts for it.
    bad_results = {t: m for t, m in bad_results.items() if not H.is_rejection_failure(m)}
    # Every occurrence counts, also when a hostile tag or reason carries a line break.
    rejected_lines = text.count("Rejected message ")
    # Each entry is matched to its own rejection line (by delivery tag) or its result
    # document; the rest (no tag the transport script could read) form a pool matched by
    # count against the rejection lines no entry claimed ("(no delivery tag)", mangled tags).
    # Tasks answered according to the log (ignore_result stores nothing; a byte mutation may
    # have changed the id, so answers for ids nobody sent also match pooled entries).
    answered = collections.Counter(m.group(1) or m.group(2) for m in ANSWER_RE.finditer(text))
    known = {h.task_id for h in bad if h.task_id} | set(good_ids) | {ptid}
    unmatched_lines = rejected_lines + sum(n for t, n in answered.items() if t not in known)
    pool = collections.Counter()
    pooled = []
    should_reject_ran = collections.Counter()
    # Entries that ran are matched first: a mutated entry's rejection line can carry the tag
    # of an intact entry that ran (the transport reads the tag from the entry's text), and
    # must not be claimed by it.
    for h in bad:
        if h.task_id and (h.task_id in bad_results or h.task_id in answered):
            if h.expect == "reject":
                should_reject_ran[h.kind] += 1
            continue
        if h.tag and rejected_tags.get(h.tag):
            rejected_tags[h.tag] -= 1
            unmatched_lines -= 1
            continue
        pool[h.kind] += 1
        pooled.append(h)
    unaccounted = sum(pool.values()) - unmatched_lines
    if unaccounted > 0:
        # For a post-mortem: the pooled entries and the lines nothing claimed by tag or id.
        with open(ctx.work / "pooled-entries.jsonl", "w") as fh:
            for h in pooled:
                raw = h.raw if len(h.raw) < 1_000_000 else h.raw[:1000]
                fh.write(json.dumps({"kind": h.kind, "tag": h.tag, "task_id": h.task_id,
                                     "raw_b64": base64.b64encode(raw).decode("ascii")}) + "\n")
        with open(ctx.work / "unclaimed-lines.txt", "w") as fh:
            claimed = {h.tag for h in bad if h.tag}
            for m in REJECT_RE.finditer(text):
                if m.group(1) not in claimed:
                    fh.write(m.group(0)[:300] + "\n")
            for m in ANSWER_RE.finditer(text):
                if (m.group(1) or m.group(2)) not in known:
                    fh.write(m.group(0)[:300] + "\n")
    r.rejected = f"{rejected_lines}/{n_bad} ({len(reasons)} reasons)"
    r.notes.append("top rejection reasons: " + "; ".join(f"{k!r} x{v}" for k, v in reasons.most_common(8)))
    kinds = collections.Counter(h.kind for h in bad)
    ran = collections.Counter(h.kind for h in bad if h.task_id in bad_results)
    r.notes.append(f"hostile entries run instead of rejected (allowed for 'any' kinds): {sum(ran.values())} "
                   f"e.g. {dict(ran.most_common(6))}")
    if should_reject_ran:
        r.failures.append(f"entries that must be rejected were run: {dict(should_reject_ran)}")
    if unaccounted > 0:
        r.failures.append(f"{unaccounted} hostile entries neither rejected (log line) nor answered (result); "
                          f"candidates: {dict(pool.most_common(8))}")
    if crash_suspects:
        r.notes.append(f"kinds in flight at the crashes: {dict(crash_suspects)}")
    long_lines = [len(l) for l in text.splitlines() if len(l) > 100_000]
    if long_lines:
        r.notes.append(f"{len(long_lines)} log lines over 100 kB (longest {max(long_lines)} bytes)")
    r.notes.append(f"kinds generated: {len(kinds)}; workers started: {len(workers)}")
    stop_worker_checked(r, workers[-1])


def s4b_probes(ctx, procs, r):
    """Each hostile value alone (worker -c 1), followed by a good task: the worker must
    survive every one. Exact reproductions of what the fuzz stream finds."""
    import fuzz
    c = H.redis_client(ctx.redis_url)
    q = fuzz.QUEUE
    # No visibility restore during the probes: a message whose execution killed a worker
    # must not come back to crash the next one (that is checked once at the end).
    extra = ["--prefetch-multiplier", "1"]
    workers = [H.start_swift_worker(procs, "probe-worker", ctx.redis_url, queue=q, concurrency=1, extra=extra)]
    crashers = []
    outcomes = collections.Counter()
    for n, probe in enumerate(fuzz.PROBES):
        h = fuzz.probe_entry(n, *probe)
        follow_id = f"follow-{n}"
        w = workers[-1]
        before = len(w.log_text())
        H.push(c, q, [h.raw])
        # the probe's own answer (result or rejection line), or the worker's death
        H.wait_until(lambda: not w.alive() or h.task_id in H.fetch_results(c, [h.task_id])
                     or f"Rejected message {h.tag}" in w.log_text()[before:], 4, poll=0.05)
        if not w.alive():
            fatal = [l for l in w.log_text()[before:].splitlines() if "Fatal error" in l or "runtime failure" in l]
            crashers.append(f"{h.kind} -> {fatal[0].split('ailure: ')[-1].split('Fatal error: ')[-1] if fatal else 'exit ' + str(w.returncode)}")
            workers.append(H.start_swift_worker(procs, f"probe-worker-{len(workers)}", ctx.redis_url,
                                                queue=q, concurrency=1, extra=extra))
            w = workers[-1]
        crashed = bool(crashers) and crashers[-1].startswith(h.kind + " ->")
        c.lpush(q, H.envelope("tasks.add", [n, n], task_id=follow_id, queue=q))
        res = H.wait_results(c, [follow_id], 5, watch=[w])
        res.update(H.fetch_results(c, [h.task_id]))
        if crashed:
            r.check(res.get(follow_id, {}).get("result") == 2 * n, f"follow-up task after {h.kind!r} not answered")
            continue
        meta = res.get(h.task_id)
        text = w.log_text()[before:]
        if meta:
            outcomes[meta["status"]] += 1
        elif f"Rejected message {h.tag}" in text:
            outcomes["rejected"] += 1
        else:
            outcomes["no answer"] += 1
            r.notes.append(f"no result and no rejection for {h.kind!r}")
        r.check(res.get(follow_id, {}).get("result") == 2 * n, f"follow-up task after {h.kind!r} not answered")
    r.sent = len(fuzz.PROBES)
    r.executed = r.sent - len(crashers)
    r.notes.append(f"outcomes: {dict(outcomes)}")
    for line in crashers:
        r.notes.append(f"CRASH: {line}")
    stop_worker_checked(r, workers[-1])
    state = H.broker_state(c, [q])
    if state["unacked"]:
        # Early ack is not guaranteed to reach Redis before the task runs: the messages that
        # crashed a worker may still be in unacked. Does a restore bring them back as poison?
        r.notes.append(f"left in unacked after the crashes: {state['unacked']} {unacked_sample(c, 5)}")
        w = H.start_swift_worker(procs, "poison-check", ctx.redis_url, queue=q, concurrency=1,
                                 extra=["--visibility-timeout", "1", "--restore-interval", "1"])
        H.wait_until(lambda: not w.alive(), 5)
        if not w.alive():
            r.failures.append("a worker restoring those messages (visibility timeout) crashed on them too: "
                              "a poison message kills every worker in turn")
        else:
            stop_worker_checked(r, w)


# ---------------------------------------------------------------------------
# 5. secrets
# ---------------------------------------------------------------------------

def s5_secrets(ctx, procs, r):
    password = "Rel-" + secrets.token_hex(12) + "@:/?#%"
    user_password = "Usr-" + secrets.token_hex(12)
    wrong_password = "Wrong-" + secrets.token_hex(12)
    from urllib.parse import quote
    enc = quote(password, safe="")
    rs = H.RedisServer(procs, "secret-redis", password=password).start()
    c = rs.client()
    c.execute_command("ACL", "SETUSER", "reluser", "on", f">{user_password}", "~*", "&*", "+@all")
    port = rs.port
    closed_port = H.free_port()
    urls = {
        "default user": f"redis://:{enc}@127.0.0.1:{port}/0",
        "acl user": f"redis://reluser:{user_password}@127.0.0.1:{port}/0",
    }
    outputs = []
    sent = done = 0
    for label, url in urls.items():
        for json_logs in (False, True):
            extra = ["--loglevel", "DEBUG"] + (["--json-logs"] if json_logs else [])
            q = "rel-secret"
            w = H.start_swift_worker(procs, f"secret-{label.replace(' ', '-')}{'-json' if json_logs else ''}",
                                     url, queue=q, concurrency=2, extra=extra)
            tasks = H.make_tasks(10, prefix="sec", queue=q)
            H.push(c, q, [raw for _, raw in tasks])
            res = H.wait_results(c, ids_of(tasks), 15, watch=[w])
            sent += len(tasks)
            done += sum(1 for m in res.values() if m["status"] == "SUCCESS")
            stop_worker_checked(r, w)
            outputs.append((w.label, w.log_bytes()))
    r.sent, r.executed, r.lost = sent, done, sent - done
    if r.lost:
        r.failures.append(f"{r.lost} tasks failed with authenticated URLs")
    # failing connections: wrong password, wrong port, malformed URL
    bad_urls = {
        "wrong-password": f"redis://:{wrong_password}@127.0.0.1:{port}/0",
        "wrong-user-password": f"redis://reluser:{wrong_password}@127.0.0.1:{port}/0",
        "closed-port": f"redis://:{enc}@127.0.0.1:{closed_port}/0",
        "bad-port": f"redis://:{enc}@127.0.0.1:notaport/0",
        "bad-db": f"redis://reluser:{user_password}@127.0.0.1:{port}/zz",
        "db-out-of-range": f"redis://reluser:{user_password}@127.0.0.1:{port}/999",
        "bad-scheme": f"rediss://:{enc}@127.0.0.1:{port}/0",
    }
    for label, url in bad_urls.items():
        w = H.start_swift_worker(procs, f"secret-{label}", url, queue="rel-secret", concurrency=1,
                                 extra=["--loglevel", "DEBUG"], ready=False)
        time.sleep(1.5)
        w.stop(timeout=5)
        outputs.append((w.label, w.log_bytes()))
    # the CLI
    cli = [str(H.CLI_BIN)]
    cmds = [
        ["call", "tasks.add", "--args", "[1, 2]", "--broker", urls["default user"], "--timeout", "3"],
        ["call", "tasks.add", "--args", "[1, 2]", "--wait", "--timeout", "3", "--broker", bad_urls["closed-port"]],
        ["call", "tasks.add", "--args", "[1, 2]", "--wait", "--timeout", "3", "--broker", bad_urls["wrong-password"]],
        ["call", "tasks.add", "--args", "[1, 2]", "--broker", bad_urls["bad-port"]],
        ["result", "nope", "--broker", bad_urls["closed-port"]],
        ["result", "nope", "--broker", bad_urls["wrong-user-password"]],
        ["peek", "celery", "--broker", urls["acl user"]],
        ["peek", "celery", "--broker", bad_urls["bad-scheme"]],
        ["peek", "celery", "--broker", bad_urls["bad-db"]],
        ["peek", "celery", "--broker", bad_urls["db-out-of-range"]],
        ["result", "nope", "--broker", bad_urls["wrong-password"]],
    ]
    clean_env = {k: v for k, v in os.environ.items() if not k.startswith("CELERY_")}
    for i, args in enumerate(cmds):
        env = clean_env
        try:
            p = subprocess.run(cli + args, capture_output=True, timeout=20, env=env)
            out = p.stdout + p.stderr
        except subprocess.TimeoutExpired as exc:
            out = (exc.stdout or b"") + (exc.stderr or b"")
            r.failures.append(f"swift-celery {args[0]} ({i}) did not finish in 20 s")
        (procs.work / f"cli-{i}.log").write_bytes(out)
        if H.crash_lines(out.decode("utf-8", "replace")) or b"free(): " in out:
            r.crashes += 1
            r.failures.append(f"swift-celery {' '.join(a for a in args if '://' not in a)} crashed: "
                              f"{out.decode('utf-8', 'replace').splitlines()[0][:80]}")
        outputs.append((f"swift-celery {' '.join(args[:2])} #{i}", out))
    # also the CLI reading the URL from the environment only
    env = dict(clean_env, CELERY_BROKER_URL=bad_urls["closed-port"])
    p = subprocess.run(cli + ["result", "x"], capture_output=True, timeout=20, env=env)
    outputs.append(("swift-celery env", p.stdout + p.stderr))
    needles = {password, enc, user_password, wrong_password, quote(password), password[:16]}
    leaks = []
    for label, out in outputs:
        for needle in needles:
            if needle.encode() in out:
                leaks.append(f"{label} shows {needle[:6]}...")
    r.check(not leaks, f"secret in output: {leaks}")
    r.notes.append(f"{len(outputs)} outputs searched ({sum(len(o) for _, o in outputs)} bytes), "
                   f"including wrong password/port, malformed URLs and the CLI")
    redacted = sum(out.count(b"***") for _, out in outputs)
    r.check(redacted > 0, "no redacted URL (***) in any output: are the URLs logged at all?")
    rs.stop()


# ---------------------------------------------------------------------------
# 6. graceful shutdown
# ---------------------------------------------------------------------------

def s6a_warm_shutdown(ctx, procs, r):
    c = H.redis_client(ctx.redis_url)
    q = "rel-warm"
    n = ctx.S["shutdown_running"]
    running = H.make_tasks(n, task="tasks.sleep", prefix="run", queue=q, args_for=lambda i: [2])
    waiting = H.make_tasks(n, task="tasks.sleep", prefix="wait", queue=q, args_for=lambda i: [0.01])
    w = H.start_swift_worker(procs, "warm", ctx.redis_url, queue=q, concurrency=n, extra=["--acks-late"])
    H.push(c, q, [raw for _, raw in running])
    if not H.wait_until(lambda: H.count_lines(w.log_text(), r"tasks\.sleep\[run-.*\] received") >= n, 15):
        raise ScenarioError(f"{n} tasks not all running\n{w.tail()}")
    H.push(c, q, [raw for _, raw in waiting])  # prefetched, not started (all slots busy)
    H.wait_until(lambda: H.broker_state(c, [q])["queued"] == 0, 5)
    held = H.broker_state(c, [q])
    t0 = time.monotonic()
    w.send(signal.SIGTERM)
    rc = w.wait(30)
    took = time.monotonic() - t0
    w.expected_exit = True
    r.notes.append(f"SIGTERM with {held['unacked']} unacked ({n} running + prefetched); exit {rc} after {took:.1f}s")
    r.check(rc == 0, f"exit code {rc} (want 0 within 30 s)")
    res = H.fetch_results(c, ids_of(running))
    r.check(sum(1 for m in res.values() if m["status"] == "SUCCESS") == n,
            f"only {len(res)} of the {n} running tasks stored a result")
    state = H.broker_state(c, [q])
    r.check(state["unacked"] == 0, f"{state['unacked']} left in unacked after the warm shutdown")
    started_waiting = H.count_lines(w.log_text(), r"tasks\.sleep\[wait-.*\] received")
    r.check(started_waiting == 0, f"{started_waiting} prefetched tasks were started after SIGTERM")
    r.check(state["queued"] == len(waiting), f"{state['queued']} back in the queue (want {len(waiting)} prefetched)")
    b = H.start_swift_worker(procs, "warm-after", ctx.redis_url, queue=q, concurrency=8)
    ids = ids_of(running) + ids_of(waiting)
    results = H.wait_results(c, ids, 30, watch=[b])
    account(r, results, ids, [w.log_text(), b.log_text()])
    check_drained(r, c, [q])
    stop_worker_checked(r, b)


def s6b_cold_shutdown(ctx, procs, r):
    c = H.redis_client(ctx.redis_url)
    q = "rel-cold"
    n = ctx.S["shutdown_running"]
    running = H.make_tasks(n, task="tasks.sleep", prefix="cold", queue=q, args_for=lambda i: [5])
    w = H.start_swift_worker(procs, "cold", ctx.redis_url, queue=q, concurrency=n, extra=["--acks-late"])
    H.push(c, q, [raw for _, raw in running])
    if not H.wait_until(lambda: H.count_lines(w.log_text(), r"tasks\.sleep\[cold-.*\] received") >= n, 15):
        raise ScenarioError(f"{n} tasks not all running\n{w.tail()}")
    t0 = time.monotonic()
    w.send(signal.SIGTERM)
    time.sleep(0.3)
    w.send(signal.SIGTERM)
    rc = w.wait(10)
    took = time.monotonic() - t0
    w.expected_exit = True
    r.notes.append(f"second SIGTERM: exit {rc} after {took:.1f}s")
    r.check(rc is not None and took < 3, f"cold shutdown took {took:.1f}s (want at once)")
    res = H.fetch_results(c, ids_of(running))
    r.check(not res, f"{len(res)} results stored for interrupted tasks, e.g. {list(res.values())[:1]}")
    state = H.broker_state(c, [q])
    r.check(state["unacked"] == n, f"{state['unacked']} in unacked after the cold shutdown (want {n}, recoverable)")
    b = H.start_swift_worker(procs, "cold-recover", ctx.redis_url, queue=q, concurrency=n, extra=RECOVER)
    results = H.wait_results(c, ids_of(running), 30, watch=[b])
    account(r, results, ids_of(running), [b.log_text()])
    check_drained(r, c, [q])
    stop_worker_checked(r, b)


# ---------------------------------------------------------------------------
# 7. resource bounds
# ---------------------------------------------------------------------------

def s7a_fds(ctx, procs, r):
    rs = H.RedisServer(procs, "fd-redis").start()
    c = rs.client()
    q = "rel-fd"
    w = H.start_swift_worker(procs, "fd-worker", rs.url, queue=q, concurrency=4, extra=["--loglevel", "DEBUG"])
    sent = answered = 0
    cc = rs.client(socket_timeout=5)

    def probe_round():
        """Probes one at a time until one is answered (at most 4); a probe still without a
        result once a later one was answered is lost. Returns whether one was answered."""
        nonlocal sent, answered, cc
        ids = []
        ok = False
        for k in range(4):
            (tid, raw), = H.make_tasks(1, prefix=f"p{sent}", queue=q)
            sent += 1
            ids.append(tid)
            for attempt in range(50):
                try:
                    cc.lpush(q, raw)
                    break
                except redis.exceptions.ConnectionError:
                    cc = rs.client(socket_timeout=5)
                    time.sleep(0.1)
            if H.wait_until(lambda: bool(H.fetch_results(cc, [tid])), 1.2, poll=0.05):
                ok = True
                break
        answered += len(H.fetch_results(cc, ids))
        return ok

    probe_round()
    baseline = w.fd_count()
    counts = []
    for i in range(ctx.S["reconnects"]):
        if i % ctx.S["restart_every"] == 0:
            rs.shutdown()
            rs.start()
        else:
            me = cc.client_id()
            for cl in cc.client_list():
                if int(cl["id"]) != me:
                    cc.client_kill_filter(_id=cl["id"])
        if not probe_round() or not w.alive():
            r.failures.append(f"no probe answered after reconnect {i}")
            break
        counts.append(w.fd_count())
    lost_probes = sent - answered
    r.sent, r.executed, r.lost = sent, answered, lost_probes
    r.check(w.alive(), f"worker exited (code {w.returncode})")
    r.notes.append(f"fds: baseline {baseline}, after {len(counts)} restarts/reconnects min {min(counts, default=0)} "
                   f"max {max(counts, default=0)} last {counts[-1] if counts else '-'}; "
                   f"{lost_probes} probe tasks never answered")
    if lost_probes:
        r.failures.append(f"{lost_probes} probe tasks lost across reconnects")
    r.check(counts and max(counts) <= baseline + 2, f"fd count grew from {baseline} to {max(counts, default=0)}")
    stop_worker_checked(r, w)
    rs.stop()


def push_generated(client, queue, n, prefix, chunk=20_000, **make):
    """Makes and pushes ``n`` tasks chunk by chunk (a 1M backlog never sits in this process);
    returns their ids."""
    ids = []
    for start in range(0, n, chunk):
        part = H.make_tasks(min(chunk, n - start), **make, prefix=f"{prefix}{start}", queue=queue)
        H.push(client, queue, [raw for _, raw in part])
        ids.extend(ids_of(part))
    return ids


def s7b_rss(ctx, procs, r):
    c = H.redis_client(ctx.redis_url)
    q = "rel-rss"
    payload = "p" * 1024
    w = H.start_swift_worker(procs, "rss-worker", ctx.redis_url, queue=q, concurrency=8)
    warm = H.make_tasks(2000, task="tasks.echo", prefix="rw", queue=q, args_for=lambda i: [payload])
    H.push(c, q, [raw for _, raw in warm])
    H.wait_results(c, ids_of(warm), 60, watch=[w])
    baseline = w.rss_kib()
    n = ctx.S["rss_backlog"]
    # The backlog is pushed while the worker is stopped, so it really faces all n at once.
    w.send(signal.SIGSTOP)
    try:
        ids = push_generated(c, q, n, task="tasks.echo", prefix="rss", args_for=lambda i: [payload])
    finally:
        w.send(signal.SIGCONT)
    backlog = H.broker_state(c, [q])["queued"]
    peak = baseline
    deadline = time.monotonic() + (120 if ctx.size == "quick" else 900)
    while time.monotonic() < deadline and w.alive():
        peak = max(peak, w.rss_kib())
        if H.broker_state(c, [q])["queued"] == 0:
            break
        time.sleep(0.1)
    results = H.wait_results(c, ids, 60, watch=[w])
    after = w.rss_kib() if w.alive() else 0
    account(r, results, ids, [])
    r.notes.append(f"RSS KiB: baseline {baseline} (after 2,000 tasks), peak {peak} while draining a backlog of "
                   f"{backlog:,}, after {after}")
    r.check(peak - baseline < 64 * 1024, f"RSS grew by {(peak - baseline) // 1024} MiB with a {n}-message backlog")
    check_drained(r, c, [q])
    stop_worker_checked(r, w)


def s7c_slow_flood(ctx, procs, r):
    """A flood of slow tasks far beyond what the worker can run: it holds only its prefetch
    (concurrency x multiplier, plus acks on their way) in `unacked`, its RSS stays flat, and a warm shutdown puts
    every prefetched message back, so sent = results + still queued."""
    c = H.redis_client(ctx.redis_url)
    q = "rel-flood"
    concurrency, multiplier = 8, 4
    w = H.start_swift_worker(procs, "flood-worker", ctx.redis_url, queue=q, concurrency=concurrency,
                             extra=["--acks-late", "--prefetch-multiplier", str(multiplier)])
    baseline = w.rss_kib()
    n = ctx.S["flood_tasks"]
    ids = push_generated(c, q, n, task="tasks.sleep", prefix="flood", args_for=lambda i: [0.05])
    peak_rss, peak_held = baseline, 0
    deadline = time.monotonic() + ctx.S["flood_seconds"]
    while time.monotonic() < deadline and w.alive():
        peak_rss = max(peak_rss, w.rss_kib())
        peak_held = max(peak_held, H.broker_state(c, [q])["unacked"])
        time.sleep(0.2)
    rc, in_time = w.stop(timeout=30)
    results = H.fetch_results(c, ids)
    state = H.broker_state(c, [q])
    lost = n - len(results) - state["queued"]
    r.sent, r.executed, r.lost = n, len(results), max(lost, 0)
    bound = concurrency * multiplier
    r.notes.append(f"{n:,} tasks.sleep(0.05) on -c {concurrency}: {len(results):,} ran in {ctx.S['flood_seconds']} s; "
                   f"at most {peak_held} held in unacked (prefetch bound {bound}); RSS KiB {baseline} -> peak {peak_rss}; "
                   f"warm shutdown exit {rc}, {state['queued']:,} back in the queue")
    r.check(rc == 0 and in_time, f"warm shutdown exit {rc} (in time: {in_time})")
    # The worker gives a message's prefetch room back as it issues the ack, so `unacked` may
    # also hold the acks on their way to Redis: at most one per slot with tasks this slow.
    r.check(peak_held <= bound + concurrency,
            f"{peak_held} messages held in unacked, above the prefetch bound {bound} (+{concurrency} acks in flight)")
    r.check(peak_rss - baseline < 16 * 1024, f"RSS grew by {(peak_rss - baseline) // 1024} MiB under the flood")
    r.check(state["unacked"] == 0, f"{state['unacked']} left in unacked after the warm shutdown")
    r.check(lost == 0, f"{lost} tasks neither ran nor are back in the queue")
    r.check(all(m.get("status") == "SUCCESS" for m in results.values()), "a flood task did not succeed")


# ---------------------------------------------------------------------------
# 8. other signals: reliability/scenarios_signals.py (it imports the helpers above)
# ---------------------------------------------------------------------------

import scenarios_signals  # noqa: E402
import scenarios_redis_limits  # noqa: E402  (family 11: Redis refusing writes, size limits)
import scenarios_unacked  # noqa: E402  (family 10: shared delivery tags, ETA vs visibility timeout)

SCENARIOS = [
    ("1a crash recovery, Swift -> Swift", s1a_crash_swift),
    ("1b crash recovery, Python -> Swift", s1b_crash_python),
    ("2a kill loop, backlog (fetch path)", s2a_kill_backlog),
    ("2b kill loop, idle worker (blocking wait)", s2b_kill_trickle),
    ("2c blocking-wait window, SIGKILL", s2c_window_sigkill),
    ("2d blocking-wait window, connection drop", s2d_window_drop),
    ("2e BRPOP fallback window (no BLMOVE)", s2e_window_fallback),
    ("3a outage, AOF persistence", s3a_outage_aof),
    ("3b outage, no persistence", s3b_outage_plain),
    ("3c outage while idle", s3c_outage_idle),
    ("3d client get() through outages", s3d_client_wait),
    ("4a hostile input fuzz", s4_fuzz),
    ("4b hostile values, one at a time", s4b_probes),
    ("5 secrets", s5_secrets),
    ("6a warm shutdown under load", s6a_warm_shutdown),
    ("6b cold shutdown (second signal)", s6b_cold_shutdown),
    ("7a fds over reconnects", s7a_fds),
    ("7b RSS with a backlog", s7b_rss),
    ("7c slow task flood", s7c_slow_flood),
    ("8a SIGHUP under load (warm restart in place)", scenarios_signals.s8a_sighup),
    ("8b SIGPIPE (kill -PIPE; log piped to head -1)", scenarios_signals.s8b_sigpipe),
] + scenarios_control.SCENARIOS_CONTROL + scenarios_unacked.SCENARIOS_UNACKED + [
    ("11a Redis out of memory, early ack", scenarios_redis_limits.s11a_oom_early_ack),
    ("11b Redis out of memory, acks_late", scenarios_redis_limits.s11b_oom_acks_late),
    ("11c message size: 100 MiB round trip, over the limit answered", scenarios_redis_limits.s11c_message_size),
]


def slug(name):
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def run_scenario(name, fn, size, redis_url, work: Path) -> ScenarioResult:
    r = ScenarioResult(name)
    sdir = work / slug(name)
    sdir.mkdir(parents=True, exist_ok=True)
    procs = H.Procs(sdir)
    client = H.redis_client(redis_url)
    client.flushdb()
    ctx = Context(size=size, redis_url=redis_url, work=sdir)
    t0 = time.monotonic()
    suite_error = False
    try:
        fn(ctx, procs, r)
    except (ScenarioError, H.ProcError) as exc:   # ProcError: a process never got ready, ...
        r.failures.append(f"could not run: {exc}")
        suite_error = True
    except Exception as exc:  # a bug in the suite itself: show it, never hide it
        r.failures.append(f"suite error: {exc!r}\n{traceback.format_exc()}")
        suite_error = True
    finally:
        r.wall = time.monotonic() - t0
        crashed = []
        for p in procs.items:
            if not p.is_worker:
                continue
            if not p.expected_exit and not p.alive():
                crashed.append(p.label)
            elif H.crash_lines(p.log_text()):
                crashed.append(p.label)
        procs.stop_all()
        client.close()
    r.crashes += len(crashed)
    if crashed:
        r.failures.append(f"crashed workers: {crashed} (logs in {sdir})")
    if not r.ok and name in KNOWN_BUGS and not suite_error:
        r.xfail = KNOWN_BUGS[name]
    return r
