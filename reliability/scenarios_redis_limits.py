"""Family 11 of the reliability scenarios: a Redis that refuses writes (``maxmemory`` with
``noeviction``) and messages near the size limits. Listed in ``scenarios.SCENARIOS``; the
shared checks come from ``harness``.
"""
from __future__ import annotations

import time

import harness as H
from harness import ScenarioError, account, check_drained, ids_of, stop_worker_checked

SIZES = {
    "quick": dict(oom_tasks=36, oom_hold=4.0),
    "full": dict(oom_tasks=360, oom_hold=30.0),
}


def _oom(ctx, procs, r, acks_late):
    """Redis reaches ``maxmemory`` (``noeviction``) while tasks run: every result Redis refuses
    is kept and retried until the limit is lifted, acknowledgements still go through, and the
    log names Redis's own error rather than EXECABORT."""
    S = SIZES[ctx.size]
    rs = H.RedisServer(procs, "oom-redis", extra=["--maxmemory-policy", "noeviction"]).start()
    c = H.redis_client(rs.url)
    q = "rel-oom"
    tasks = H.make_tasks(S["oom_tasks"], task="tasks.sleep", prefix="oom", queue=q, args_for=lambda i: [0.5])
    w = H.start_swift_worker(procs, "oom", rs.url, queue=q, concurrency=4, extra=["--acks-late"] if acks_late else [])
    H.push(c, q, [raw for _, raw in tasks])
    if not H.wait_until(lambda: H.count_lines(w.log_text(), r"tasks\.sleep\[oom-.*\] received") >= 4, 15):
        raise ScenarioError(f"the tasks did not start\n{w.tail()}")
    c.config_set("maxmemory", 1)  # every write is refused from now on: OOM command not allowed
    time.sleep(S["oom_hold"])
    stored_while_full = len(H.fetch_results(c, ids_of(tasks)))
    ran_while_full = H.count_lines(w.log_text(), r"tasks\.sleep\[oom-.*\] succeeded")
    c.config_set("maxmemory", 0)
    log = w.log_text()
    r.notes.append(f"Redis full for {S['oom_hold']:.0f}s: {ran_while_full} succeeded lines (logged once stored), {stored_while_full} results stored meanwhile")
    r.check("OOM command not allowed" in log, "the log never names Redis's OOM error")
    r.check("EXECABORT" not in log, "the log says EXECABORT instead of Redis's own error")
    r.check(w.alive(), "the worker died while Redis was full")
    results = H.wait_results(c, ids_of(tasks), 60, watch=[w])
    account(r, results, ids_of(tasks), [w.log_text()], task="tasks.sleep")
    check_drained(r, c, [q])
    stop_worker_checked(r, w)


def s11a_oom_early_ack(ctx, procs, r):
    _oom(ctx, procs, r, acks_late=False)


def s11b_oom_acks_late(ctx, procs, r):
    _oom(ctx, procs, r, acks_late=True)


def _peak_rss_mib(pid) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def s11c_message_size(ctx, procs, r):
    """A 100 MiB argument from a real Celery client round-trips through the Swift worker (the
    old fixed 64 MiB limit refused it and stored nothing); a message over a configured
    ``worker_max_message_size`` ends as a FAILURE (LimitExceeded) that Python's get() raises."""
    import os
    from celery import Celery
    from celery.exceptions import TimeoutError as CeleryTimeout

    c = H.redis_client(ctx.redis_url)
    q = "rel-size"
    app = Celery("rel_size", broker=ctx.redis_url, backend=ctx.redis_url)
    app.conf.update(task_serializer="json", result_serializer="json", accept_content=["json"])
    w = H.start_swift_worker(procs, "size", ctx.redis_url, queue=q, concurrency=2)
    size = 100 * 1024 * 1024
    payload = "x" * size
    t0 = time.monotonic()
    big = app.send_task("tasks.echo", args=[payload], queue=q)
    try:
        value = big.get(timeout=120)
    except CeleryTimeout:
        value = None
    took = time.monotonic() - t0
    peak = _peak_rss_mib(w.pid) if w.alive() else 0.0
    r.notes.append(f"100 MiB argument (message {size * 4 // 3 / 2**20:.0f} MiB base64): round trip {took:.1f}s, "
                   f"worker peak RSS {peak:.0f} MiB")
    r.check(value is not None and len(value) == size, "the 100 MiB argument did not come back")
    del payload, value
    # A worker with a 1 MB limit: the 2 MB message is rejected and answered.
    env = dict(os.environ, CELERY_WORKER_MAX_MESSAGE_SIZE="1000000")
    small = H.start_swift_worker(procs, "size-limit", ctx.redis_url, queue=q + "-limit", concurrency=1, env=env)
    over = app.send_task("tasks.echo", args=["y" * 2_000_000], queue=q + "-limit")
    raised = None
    try:
        over.get(timeout=20)
    except CeleryTimeout:
        raised = "timeout"
    except Exception as exc:  # noqa: BLE001 - the exception Celery rebuilt from the FAILURE
        raised = f"{type(exc).__module__}.{type(exc).__name__}: {exc}"
    r.notes.append(f"2 MB message over a 1 MB limit: get() raised {raised}")
    r.check(raised is not None and "LimitExceeded" in raised, f"get() on the over-limit message: {raised}")
    r.check("Rejected message" in small.log_text(), "no rejection line for the over-limit message")
    ok = app.send_task("tasks.add", args=[2, 3], queue=q + "-limit").get(timeout=20)
    r.check(ok == 5, "the limited worker does not run a small task after the rejection")
    r.sent, r.executed = 3, sum([True, ok == 5, raised is not None])
    check_drained(r, c, [q, q + "-limit"])
    stop_worker_checked(r, w)
    stop_worker_checked(r, small)
