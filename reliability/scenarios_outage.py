"""Scenario family 3: broker outages. Redis shut down mid-stream and restarted with (3a) and
without (3b) persistence, restarted while the worker is idle (3c), and the Swift client's
``get()`` waiting through a restart or on a broker that stays down (3d). Each uses its own
private redis-server.
"""
from __future__ import annotations

import re
import time

import harness as H
from harness import ScenarioError, account, check_drained, ids_of, stop_worker_checked

SIZES = {
    "quick": dict(outage_tasks=400),
    "full": dict(outage_tasks=2000),
}


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
    n = SIZES[ctx.size]["outage_tasks"]
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
