"""Scenario family 8: signals other than SIGTERM/SIGINT/SIGKILL, listed in
``scenarios.SCENARIOS``; the shared checks come from ``harness``.

8a SIGHUP: Celery's worker, when its stdout is not a terminal, logs ``Restarting celery
   worker (...)``, shuts down warm and re-executes itself in the same process (os.execv). The
   harness logs to a file, so a SIGHUP must restart the worker that way, losing nothing.
8b SIGPIPE: a stray ``kill -PIPE`` and a log reader that goes away (``worker 2>&1 | head -1``)
   must not stop the worker (Python ignores SIGPIPE; for what Celery does with the pipe, which
   is to die at startup when the banner meets it, see the README).
"""
from __future__ import annotations

import re
import signal
import subprocess
import time

import harness as H
from harness import account, check_drained, ids_of, stop_worker_checked

SIZES = {
    "quick": dict(hup_tasks=600, hup_restarts=2, pipe_signal_tasks=400, pipe_tasks=1000),
    "full": dict(hup_tasks=5000, hup_restarts=3, pipe_signal_tasks=4000, pipe_tasks=20_000),
}

RESTART_LINE = r"Restarting celery worker"
READY_LINE = r" ready\."


def _n_done(c, ids):
    return len(H.fetch_results(c, ids))


def _exit(proc):
    """How ``proc`` ended: ``killed by SIGHUP``, ``exit 1``, or ``alive``."""
    rc = proc.returncode
    if rc is None:
        return "alive"
    return f"killed by {signal.Signals(-rc).name}" if rc < 0 else f"exit {rc}"


# ---------------------------------------------------------------------------
# 8a. SIGHUP: warm restart in place
# ---------------------------------------------------------------------------

def s8a_sighup(ctx, procs, r):
    S = SIZES[ctx.size]
    c = H.redis_client(ctx.redis_url)
    q = "rel-hup"
    n, restarts = S["hup_tasks"], S["hup_restarts"]
    tasks = H.make_tasks(n, task="tasks.sleep", prefix="hup", queue=q, args_for=lambda i: [0.05])
    ids = ids_of(tasks)
    # Early ack (the default): a task dropped mid-run is lost for good, not redelivered.
    w = H.start_swift_worker(procs, "hup", ctx.redis_url, queue=q, concurrency=8)
    pid = w.pid
    H.push(c, q, [raw for _, raw in tasks])
    hups = 0
    for k in range(restarts):
        target = n * (k + 1) // (restarts + 1)
        H.wait_until(lambda: _n_done(c, ids) >= target or not w.alive(), 30, poll=0.02)
        if not r.check(w.alive(), f"worker gone before SIGHUP {k + 1} ({_exit(w)})"):
            break
        text = w.log_text()
        offset = len(text)
        busy = (H.count_lines(text, r"tasks\.sleep\[hup-.*\] received")
                - H.count_lines(text, r"tasks\.sleep\[hup-.*\] succeeded"))
        held = H.broker_state(c, [q])
        done_at = _n_done(c, ids)
        t0 = time.monotonic()
        w.send(signal.SIGHUP)
        hups += 1

        # Restarted = the restart line, then the re-executed image's own `ready.` line, same pid.
        def restarted():
            after = w.log_text()[offset:]
            m = re.search(RESTART_LINE, after)
            return m is not None and H.count_lines(after[m.start():], READY_LINE) >= 1
        ok = H.wait_until(lambda: restarted() or not w.alive(), 20, poll=0.02) and w.alive()
        took = time.monotonic() - t0
        r.notes.append(f"SIGHUP {k + 1} with {done_at} done, ~{busy} running, {held['unacked']} in unacked, "
                       f"{held['queued']} queued: " + (f"restarted in {took:.2f}s" if ok else
                       f"worker {_exit(w)}" if not w.alive() else "no restart within 20s"))
        if not r.check(ok, f"SIGHUP {k + 1}: " + (
                f"worker died ({_exit(w)}, pid {pid} gone), its last log line after the signal: "
                f"{(w.log_text()[offset:].strip().splitlines() or ['(none)'])[-1][:160]!r}" if not w.alive() else
                "no 'Restarting celery worker' line followed by a new 'ready.' line within 20s")):
            break
    results = H.wait_results(c, ids, 60, watch=[w])
    # Still serving after the restarts: a few more tasks, sent now.
    probes = H.make_tasks(10, task="tasks.add", prefix="hup-after", queue=q, args_for=lambda i: [i, 1])
    if w.alive():
        H.push(c, q, [raw for _, raw in probes])
        ids += ids_of(probes)
        results.update(H.wait_results(c, ids_of(probes), 15, watch=[w]))
    log = w.log_text()
    account(r, results, ids, [log])
    r.check(w.alive(), f"worker pid {pid} not alive at the end ({_exit(w)})")
    # One new image per SIGHUP (its `ready.` line), no more: each SIGHUP was matched above.
    readies = H.count_lines(log, READY_LINE)
    r.check(readies == 1 + hups, f"{readies - 1} restarts (new 'ready.' lines) for {hups} SIGHUPs")
    r.notes.append(f"{H.count_lines(log, RESTART_LINE)} lines with 'Restarting celery worker' for {hups} SIGHUPs "
                   f"(Celery prints one each, on stdout)")
    r.check(r.duplicates == 0, f"{r.duplicates} tasks ran twice")
    check_drained(r, c, [q], timeout=10 if w.alive() else 2)   # stranded = left in unacked
    stop_worker_checked(r, w)   # and SIGTERM still works after exec


# ---------------------------------------------------------------------------
# 8b. SIGPIPE: the signal itself, and a log reader that exits
# ---------------------------------------------------------------------------

def s8b_sigpipe(ctx, procs, r):
    S = SIZES[ctx.size]
    c = H.redis_client(ctx.redis_url)
    ids, logs, results = [], [], {}

    # (i) kill -PIPE mid-stream: ignored, the stream completes.
    q1 = "rel-sigpipe"
    a = H.start_swift_worker(procs, "sigpipe", ctx.redis_url, queue=q1, concurrency=8)
    n1 = S["pipe_signal_tasks"]
    first = H.make_tasks(n1 // 2, task="tasks.add", prefix="sp1", queue=q1, args_for=lambda i: [i, 1])
    second = H.make_tasks(n1 - n1 // 2, task="tasks.add", prefix="sp2", queue=q1, args_for=lambda i: [i, 2])
    H.push(c, q1, [raw for _, raw in first])
    H.wait_until(lambda: _n_done(c, ids_of(first)) >= len(first) // 4 or not a.alive(), 15, poll=0.01)
    a.send(signal.SIGPIPE)
    time.sleep(0.3)
    r.check(a.alive(), f"(i) kill -PIPE: worker died ({_exit(a)})")
    H.push(c, q1, [raw for _, raw in second])
    ids += ids_of(first) + ids_of(second)
    results.update(H.wait_results(c, ids, 30, watch=[a]))
    logs.append(a.log_text())
    check_drained(r, c, [q1], timeout=10 if a.alive() else 2)
    stop_worker_checked(r, a)
    c.delete("unacked", "unacked_index")   # what (i) stranded is counted; (ii) starts clean

    # (ii) `interop-worker worker ... 2>&1 | head -1`: once head has its line and exits, every
    # log line meets a pipe without a reader (EPIPE, and SIGPIPE unless ignored).
    q2 = "rel-headpipe"
    argv = H.swift_worker_argv(ctx.redis_url, queue=q2, concurrency=8, name="headpipe@%h")
    b = procs.start("headpipe", argv, stdout=subprocess.PIPE)   # its log file has only the command
    b.is_worker = True
    head = procs.start("head", ["head", "-1"], stdin=b.popen.stdout)
    b.popen.stdout.close()   # head is the only reader
    head.expected_exit = True
    rc = head.wait(15)
    r.check(rc == 0, f"(ii) head -1 did not get its line (exit {rc})")
    r.notes.append(f"(ii) head -1 read {head.log_text().splitlines()[1:][:1]!r} and exited; "
                   f"worker {_exit(b)}")
    n2 = S["pipe_tasks"]
    tasks = H.make_tasks(n2, task="tasks.add", prefix="hp", queue=q2, args_for=lambda i: [i, i])
    H.push(c, q2, [raw for _, raw in tasks])
    ids += ids_of(tasks)
    results.update(H.wait_results(c, ids_of(tasks), 30, watch=[b]))
    r.check(b.alive(), f"(ii) worker died with its log reader gone ({_exit(b)})")
    wrong = [t for i, (t, _) in enumerate(tasks)
             if results.get(t, {}).get("status") == "SUCCESS" and results[t].get("result") != 2 * i]
    r.check(not wrong, f"(ii) {len(wrong)} wrong results, e.g. {wrong[:2]}")
    # Accounting from results: (ii)'s log lines went to the closed pipe (dup counted for (i) only).
    account(r, results, ids, logs)
    check_drained(r, c, [q2], timeout=10 if b.alive() else 2)
    stop_worker_checked(r, b)   # the warm shutdown's own log lines hit the closed pipe too
