"""Reliability scenarios of issue 21 (hardening) for kombu's ``unacked`` bookkeeping: messages
that share a delivery tag (10a, 10b) and ETA tasks held longer than the visibility timeout
(10c). Same conventions as the other families (see ``scenarios.py``): each function fills
one ``ScenarioResult`` row (sent, executed, lost, dup) and notes what was left ``stranded``
(in ``unacked`` or the queue).
"""
from __future__ import annotations

import datetime
import json
import random
import time
import uuid

from kombu import Connection

import harness as H
from harness import ScenarioError, ScenarioResult

SIZES = {
    # 10a/10b: tags x copies messages of tasks.sleep(seconds), shuffled; 10c: ETA tasks.
    "quick": dict(warm_tags=100, warm_copies=20, warm_sleep=0.01,
                  kill_tags=100, kill_copies=10, kill_sleep=0.01,
                  eta_tasks=20, eta_countdown=10, eta_visibility=3),
    "full": dict(warm_tags=100, warm_copies=1000, warm_sleep=0.002,
                 kill_tags=100, kill_copies=100, kill_sleep=0.005,
                 eta_tasks=20, eta_countdown=30, eta_visibility=5),
}


def _size(ctx):
    return SIZES[ctx.size]


def shared_tag_tasks(tags, copies, prefix, queue, seconds, seed):
    """``tags * copies`` (task_id, raw) pairs of ``tasks.sleep(seconds)``: every task id is
    distinct, but each of ``tags`` delivery tags is carried by ``copies`` messages (a replay
    tool re-sending captured messages), shuffled so copies meet in one prefetch window."""
    tag_values = [str(uuid.uuid4()) for _ in range(tags)]
    out = []
    for t, tag in enumerate(tag_values):
        for k in range(copies):
            tid = f"{prefix}-{t}-{k}-{uuid.uuid4()}"
            out.append((tid, H.envelope("tasks.sleep", [seconds], task_id=tid, queue=queue, delivery_tag=tag)))
    random.Random(seed).shuffle(out)
    return out


def note_stranded(r: ScenarioResult, client, queues, when):
    """Notes what the broker still holds (``stranded``) and returns the broker state."""
    state = H.broker_state(client, queues)
    r.notes.append(f"stranded {when}: {state['unacked']} in unacked, {state['queued']} queued")
    return state


def wait_queue_below(client, queue, level, proc, timeout=60):
    """Waits until the queue (all priority lists) holds at most ``level`` messages: the worker
    is mid-stream."""
    if not H.wait_until(lambda: H.broker_state(client, [queue])["queued"] <= level or not proc.alive(),
                        timeout, poll=0.02):
        raise ScenarioError(f"{proc.label} did not take the queue below {level} within {timeout}s\n{proc.tail()}")
    if not proc.alive():
        raise ScenarioError(f"{proc.label} exited early\n{proc.tail()}")


def vanished_ids(client, queue, ids):
    """The ids among ``ids`` that neither have a result nor are in the queue or ``unacked``
    (read by task id, so a message both run and back, as acks_late allows, counts once)."""
    present = set(H.fetch_results(client, ids))
    for key in [queue] + [f"{queue}\x06\x16{step}" for step in (3, 6, 9)]:
        for raw in client.lrange(key, 0, -1):
            present.add(json.loads(raw)["headers"]["id"])
    for raw in client.hvals("unacked"):
        present.add(json.loads(raw)[0]["headers"]["id"])
    return [t for t in ids if t not in present]


def kombu_restore_visible(url, visibility, timeout):
    """kombu's own ``QoS.restore_visible`` (a Python worker's or ``celery`` tool's restore)
    run until ``unacked_index`` is empty or ``timeout``; returns how many entries it left.
    (The Swift worker scores a message with its fetch time rounded up to the second, so an
    entry becomes visible up to ``visibility + 1`` s after the fetch.)"""
    with Connection(url, transport_options={"visibility_timeout": visibility}) as conn:
        channel = conn.default_channel
        client = channel.client
        deadline = time.monotonic() + timeout
        while client.zcard(channel.unacked_index_key) and time.monotonic() < deadline:
            channel.qos.restore_visible(num=100, interval=1)
            time.sleep(0.1)
        return client.zcard(channel.unacked_index_key)


def s10a_shared_tags_warm(ctx: H.Context, procs: H.Procs, r: ScenarioResult):
    """Many messages share each delivery tag. A worker (prefetch 128) gets a warm shutdown
    mid-stream: everything it did not run must be back in the queue (a shared `unacked` record,
    deleted by the first copy's ack, made later copies vanish); another worker drains."""
    c = H.redis_client(ctx.redis_url)
    q = "rel-shared-tags"
    z = _size(ctx)
    tasks = shared_tag_tasks(z["warm_tags"], z["warm_copies"], "st", q, z["warm_sleep"], seed=10)
    ids = H.ids_of(tasks)
    n = len(ids)
    H.push(c, q, [raw for _, raw in tasks])
    a = H.start_swift_worker(procs, "tags-warm", ctx.redis_url, queue=q, concurrency=8,
                             extra=["--prefetch-multiplier", "16"])
    wait_queue_below(c, q, int(n * 0.7), a, timeout=max(60, n * z["warm_sleep"]))
    rc, in_time = a.stop(timeout=30)
    r.check(rc == 0 and in_time, f"tags-warm: warm shutdown exit {rc} (in time: {in_time})")
    state = note_stranded(r, c, [q], "after the warm shutdown")
    done = len(H.fetch_results(c, ids))
    vanished = vanished_ids(c, q, ids)
    r.notes.append(f"{z['warm_tags']} tags x {z['warm_copies']} copies; warm shutdown with {done:,} run, "
                   f"{state['queued']:,} back in the queue, {len(vanished)} vanished")
    r.check(state["unacked"] == 0, f"{state['unacked']} left in unacked after the warm shutdown")
    r.check(not vanished, f"{len(vanished)} messages vanished at the warm shutdown (neither run nor back in the "
                          f"queue), e.g. {vanished[:3]}")
    b = H.start_swift_worker(procs, "tags-drain", ctx.redis_url, queue=q, concurrency=8)
    results = H.wait_results_settled(c, ids, max(60, n * z["warm_sleep"]), [q], watch=[b])
    H.account(r, results, ids, [a.log_text(), b.log_text()])
    note_stranded(r, c, [q], "at the end")
    H.check_drained(r, c, [q])
    H.stop_worker_checked(r, b)


def s10b_shared_tags_kill(ctx: H.Context, procs: H.Procs, r: ScenarioResult):
    """Shared tags and a crash: an acks_late worker (prefetch 128) is SIGKILLed mid-stream;
    kombu's own restore_visible (as a Python worker or `celery` tool runs it) must bring back
    every message it held, from the records the Swift worker wrote; a Swift worker drains."""
    c = H.redis_client(ctx.redis_url)
    q = "rel-shared-tags-kill"
    z = _size(ctx)
    tasks = shared_tag_tasks(z["kill_tags"], z["kill_copies"], "sk", q, z["kill_sleep"], seed=11)
    ids = H.ids_of(tasks)
    n = len(ids)
    H.push(c, q, [raw for _, raw in tasks])
    a = H.start_swift_worker(procs, "tags-kill", ctx.redis_url, queue=q, concurrency=8,
                             extra=["--acks-late", "--prefetch-multiplier", "16"])
    wait_queue_below(c, q, int(n * 0.6), a, timeout=max(60, n * z["kill_sleep"]))
    a.kill9()
    held = H.broker_state(c, [q])
    done = len(H.fetch_results(c, ids))
    left = kombu_restore_visible(ctx.redis_url, visibility=2, timeout=10)
    state = H.broker_state(c, [q])
    vanished = vanished_ids(c, q, ids)
    r.notes.append(f"{z['kill_tags']} tags x {z['kill_copies']} copies; SIGKILL with {done:,} run, "
                   f"{held['unacked']} unacked; kombu restore_visible: {state['queued']:,} queued, {left} left, "
                   f"{len(vanished)} vanished")
    r.check(left == 0, f"kombu's restore_visible left {left} entries in unacked_index")
    r.check(not vanished, f"{len(vanished)} messages vanished at the SIGKILL (neither run, queued nor in "
                          f"unacked), e.g. {vanished[:3]}")
    b = H.start_swift_worker(procs, "tags-kill-drain", ctx.redis_url, queue=q, concurrency=8)
    results = H.wait_results_settled(c, ids, max(60, n * z["kill_sleep"]), [q], watch=[b])
    H.account(r, results, ids, [a.log_text(), b.log_text()])
    note_stranded(r, c, [q], "at the end")
    H.check_drained(r, c, [q])
    H.stop_worker_checked(r, b)


def eta_envelope(task_id, queue, i, eta):
    obj = H.envelope_obj("tasks.tag", [i], task_id=task_id, queue=queue)
    obj["headers"]["eta"] = eta.isoformat()
    return json.dumps(obj).encode()


def s10c_eta_beyond_visibility(ctx: H.Context, procs: H.Procs, r: ScenarioResult):
    """ETA tasks due later than the (short) visibility timeout, two workers restoring every
    second: a held ETA message must not be restored from a live worker that holds it, so each
    task runs exactly once. (If the holder dies, the visibility restore brings its ETA messages
    back after the timeout: at least once.)"""
    c = H.redis_client(ctx.redis_url)
    q = "rel-eta-visibility"
    z = _size(ctx)
    vt, countdown = z["eta_visibility"], z["eta_countdown"]
    extra = ["--visibility-timeout", str(vt), "--restore-interval", "1"]
    workers = [H.start_swift_worker(procs, f"eta-{k}", ctx.redis_url, queue=q, concurrency=4, extra=extra)
               for k in (1, 2)]
    eta = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=countdown)
    ids = [f"eta-{i}-{uuid.uuid4()}" for i in range(z["eta_tasks"])]
    H.push(c, q, [eta_envelope(tid, q, i, eta) for i, tid in enumerate(ids)])
    results = H.wait_results(c, ids, countdown + 30, watch=workers)
    time.sleep(vt + 2)  # copies restored to the other worker run at once once due: let them show
    H.account(r, results, ids, [w.log_text() for w in workers])
    restores = sum(H.count_lines(w.log_text(), r"Restored \d+ message") for w in workers)
    r.notes.append(f"{len(ids)} tasks due in {countdown} s, visibility timeout {vt} s: "
                   f"{restores} visibility restore line(s), {r.duplicates} extra run(s)")
    r.check(r.duplicates == 0, f"{r.duplicates} extra runs of ETA tasks held by a live worker")
    note_stranded(r, c, [q], "at the end")
    H.check_drained(r, c, [q])
    for w in workers:
        H.stop_worker_checked(r, w)


SCENARIOS_UNACKED = [
    ("10a shared delivery tags, warm shutdown", s10a_shared_tags_warm),
    ("10b shared delivery tags, SIGKILL + kombu restore", s10b_shared_tags_kill),
    ("10c ETA beyond the visibility timeout", s10c_eta_beyond_visibility),
]
