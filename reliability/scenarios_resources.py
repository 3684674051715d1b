"""Scenario family 7: resource bounds. File descriptors over broker restarts and dropped
connections (7a), RSS facing a large backlog (7b), and a flood of slow tasks: only the
prefetch held in ``unacked``, RSS flat, everything back in the queue at a warm shutdown (7c).
"""
from __future__ import annotations

import signal
import time

import redis

import harness as H
from harness import account, check_drained, ids_of, stop_worker_checked

SIZES = {
    "quick": dict(reconnects=20, restart_every=2, rss_backlog=20_000, flood_tasks=20_000, flood_seconds=15),
    "full": dict(reconnects=1000, restart_every=4, rss_backlog=1_000_000, flood_tasks=200_000, flood_seconds=60),
}


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
    for i in range(SIZES[ctx.size]["reconnects"]):
        if i % SIZES[ctx.size]["restart_every"] == 0:
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
    n = SIZES[ctx.size]["rss_backlog"]
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
    n = SIZES[ctx.size]["flood_tasks"]
    ids = push_generated(c, q, n, task="tasks.sleep", prefix="flood", args_for=lambda i: [0.05])
    peak_rss, peak_held = baseline, 0
    deadline = time.monotonic() + SIZES[ctx.size]["flood_seconds"]
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
    r.notes.append(f"{n:,} tasks.sleep(0.05) on -c {concurrency}: {len(results):,} ran in {SIZES[ctx.size]['flood_seconds']} s; "
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
