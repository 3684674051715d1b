"""Scenario family 6: graceful shutdown. SIGTERM with every slot busy and messages
prefetched (6a: warm, the running tasks finish and the prefetched go back to the queue) and
SIGTERM twice (6b: cold, at once, the running tasks left in ``unacked`` for a recovery worker).
"""
from __future__ import annotations

import signal
import time

import harness as H
from harness import RECOVER, ScenarioError, account, check_drained, ids_of, stop_worker_checked

SIZES = {
    "quick": dict(shutdown_running=64),
    "full": dict(shutdown_running=64),
}


def s6a_warm_shutdown(ctx, procs, r):
    c = H.redis_client(ctx.redis_url)
    q = "rel-warm"
    n = SIZES[ctx.size]["shutdown_running"]
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
    n = SIZES[ctx.size]["shutdown_running"]
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
