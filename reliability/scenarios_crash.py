"""Scenario family 1: crash recovery. A worker holding ``acks_late`` messages is SIGKILLed (1a
a Swift worker, 1b a Python one) and a new Swift worker with a short visibility timeout
restores them from ``unacked``: every task gets its result.
"""
from __future__ import annotations


import harness as H
from harness import Context, ScenarioError, ScenarioResult, account, check_drained, ids_of, stop_worker_checked

SIZES = {
    "quick": dict(crash_tasks=1000, crash_py_tasks=200),
    "full": dict(crash_tasks=1000, crash_py_tasks=1000),
}


def s1a_crash_swift(ctx: Context, procs: H.Procs, r: ScenarioResult):
    c = H.redis_client(ctx.redis_url)
    q = "rel-crash"
    tasks = H.make_tasks(SIZES[ctx.size]["crash_tasks"], task="tasks.sleep", prefix="c1", queue=q,
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
    tasks = H.make_tasks(SIZES[ctx.size]["crash_py_tasks"], task="tasks.sleep", prefix="c1py", queue=q,
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
