"""Scenario family 2: the pop-then-record window. Workers SIGKILLed at random moments while
draining a backlog (2a) or just after an idle worker's blocking wait was served (2b), and the
deterministic reproduction of that window (``CLIENT PAUSE ... WRITE``): SIGKILL (2c), dropped
connections (2d), a Redis without BLMOVE (2e). Nothing may be lost.
"""
from __future__ import annotations

import random
import time

import harness as H
from harness import Context, RECOVER, ScenarioResult, account, check_drained, ids_of, stop_worker_checked

SIZES = {
    "quick": dict(kill_backlog_iterations=10, kill_backlog_tasks=8000, kill_trickle_iterations=20),
    "full": dict(kill_backlog_iterations=100, kill_backlog_tasks=30_000, kill_trickle_iterations=200),
}


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
    tasks = H.make_tasks(SIZES[ctx.size]["kill_backlog_tasks"], task="tasks.sleep", prefix="k", queue=q,
                         args_for=lambda i: [0.005])
    ids = ids_of(tasks)
    H.push(c, q, [raw for _, raw in tasks])
    logs = []
    died = 0
    for i in range(SIZES[ctx.size]["kill_backlog_iterations"]):
        w = H.start_swift_worker(procs, f"kill-{i}", ctx.redis_url, queue=q, concurrency=8,
                                 extra=["--acks-late"], ready=False)
        time.sleep(rng.uniform(0.05, 0.8))
        if not w.alive():
            died += 1
        w.kill9()
        logs.append(w.log_text())
    state = H.broker_state(c, [q])
    r.notes.append(f"{SIZES[ctx.size]['kill_backlog_iterations']} SIGKILLs; then {state['queued']} queued, "
                   f"{state['unacked']} unacked, {len(H.fetch_results(c, ids))} done")
    r.check(died == 0, f"{died} workers exited on their own before the SIGKILL")
    _recover(ctx, procs, r, c, q, ids, logs, "kill-recover")


def s2b_kill_trickle(ctx: Context, procs: H.Procs, r: ScenarioResult):
    """Idle worker blocked in BRPOP; one message arrives; SIGKILL 0-3 ms later."""
    c = H.redis_client(ctx.redis_url)
    q = "rel-trickle"
    rng = random.Random(3)
    ids, logs = [], []
    for i in range(SIZES[ctx.size]["kill_trickle_iterations"]):
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
