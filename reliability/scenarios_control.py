"""Scenarios 9a-9d (issue 21, "Hardening", items 5 and 6): the remote-control plane and the
worker's start-up, each counted from the outside like the scenarios of ``scenarios.py``.

* 9a ``pool_grow 1000000000`` and other out-of-range or hostile control inputs: refused with
  Celery's ``{"error": ...}`` reply naming the limit; RSS flat; ``ping`` still answered.
* 9b a revoke flood (``app.control.revoke`` in batches, and single broadcasts): every revoke
  is applied (REVOKED stored) and either remembered or reported forgotten by a log line.
* 9c start-up: ``<name> ready.`` only after ``Connected to <URL>``, once the broker answers.
* 9d start-up: a wrong password, a missing one, an unknown database, and a broker that stays
  down with ``broker_connection_max_retries`` set: a clear log line and a non-zero exit.

This module must not import ``scenarios`` (``scenarios`` imports it); shared bits come from
``harness``.
"""
from __future__ import annotations

import os
import re
import secrets
import time
from urllib.parse import quote

import harness as H
from harness import ScenarioError

SIZES = {
    "quick": dict(revokes=100_000, revoke_batch=1000, single_revokes=2000),
    "full": dict(revokes=200_000, revoke_batch=1000, single_revokes=5000),
}
MAX_CONCURRENCY = 10_000          # WorkerConfiguration.maximumConcurrency
REVOKES_MAX = 50_000              # WorkerState.revokedLimit (Celery's REVOKES_MAX)
FORGOT_RE = re.compile(r"forgot the (\d+) oldest revoked ids")


def _app(url):
    from celery import Celery
    app = Celery("reliability-control", broker=url, backend=url)
    app.conf.broker_connection_retry_on_startup = True
    return app


def _node(app, label, timeout=10.0):
    """The worker's node name as it answers ``ping`` (``<label>@<host>``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for reply in app.control.ping(timeout=1.0) or []:
            for node in reply:
                if node.startswith(label + "@"):
                    return node
    raise ScenarioError(f"{label} does not answer ping")


def _call(app, node, command, timeout=3.0, **arguments):
    """One control command to ``node``; its reply, or None when it did not answer."""
    replies = app.control.broadcast(command, arguments=arguments, destination=[node], reply=True, timeout=timeout)
    for reply in replies or []:
        if node in reply:
            return reply[node]
    return None


def _ping_seconds(app, node, timeout=5.0):
    """Seconds until ``ping`` is answered, or None."""
    t0 = time.monotonic()
    replies = app.control.ping(destination=[node], timeout=timeout)
    return time.monotonic() - t0 if any(node in rep for rep in replies or []) else None


def _run_tasks(r, c, w, q, n, prefix):
    """``n`` tasks.add on queue ``q``; adds them to the row's sent/executed/lost."""
    tasks = H.make_tasks(n, task="tasks.add", prefix=prefix, queue=q, args_for=lambda i: [i, i])
    H.push(c, q, [raw for _, raw in tasks])
    res = H.wait_results(c, [t for t, _ in tasks], 20, watch=[w])
    ok = sum(1 for t, _ in tasks if res.get(t, {}).get("status") == "SUCCESS")
    r.sent += n
    r.executed += ok
    r.lost += n - ok
    if ok < n:
        r.failures.append(f"{n - ok} of {n} tasks.add ({prefix}) without a SUCCESS result")


def _stop(r, w):
    if w.alive():
        rc, in_time = w.stop(timeout=15)
        r.check(in_time and rc == 0, f"{w.label} exit {rc} after SIGTERM (in time: {in_time})")


# ---------------------------------------------------------------------------
# 9a pool_grow 1000000000 and other hostile control inputs
# ---------------------------------------------------------------------------

def s9a_control_bounds(ctx, procs, r):
    c = H.redis_client(ctx.redis_url)
    q = "rel-ctl-bounds"
    w = H.start_swift_worker(procs, "ctl-bounds", ctx.redis_url, queue=q, concurrency=4)
    app = _app(ctx.redis_url)
    node = _node(app, "ctl-bounds")
    _run_tasks(r, c, w, q, 20, "warm")
    baseline = w.rss_kib()

    reply = _call(app, node, "pool_grow", n=1_000_000_000)
    r.notes.append(f"pool_grow 1000000000 -> {reply}")
    refused = isinstance(reply, dict) and "error" in reply
    r.check(refused, f"pool_grow 1000000000 not refused: {reply}")
    r.check(refused and (str(MAX_CONCURRENCY) in reply["error"] or f"{MAX_CONCURRENCY:,}" in reply["error"]),
            f"the refusal does not name the limit {MAX_CONCURRENCY}: {reply}")
    # RSS over the next 4 s; past 512 MiB the worker is killed (the machine is shared).
    peak = baseline
    for _ in range(20):
        if not w.alive():
            break
        peak = max(peak, w.rss_kib())
        if peak > 512 * 1024:
            w.kill9()
            r.failures.append("RSS passed 512 MiB after pool_grow 1000000000 (worker killed)")
            break
        time.sleep(0.2)
    latency = _ping_seconds(app, node, timeout=3) if w.alive() else None
    r.notes.append(f"RSS KiB {baseline} before, peak {peak} in the 4 s after; ping answered in "
                   f"{'%.3f s' % latency if latency is not None else 'never'}")
    r.check(peak - baseline < 16 * 1024, f"RSS grew by {(peak - baseline) // 1024} MiB after pool_grow 1000000000")
    r.check(latency is not None and latency < 2, "ping not answered within 2 s after pool_grow 1000000000")
    if not w.alive():
        return

    hostile = [
        ("pool_grow", dict(n=2**63 - 1)), ("pool_grow", dict(n=10**30)), ("pool_grow", dict(n=-5)),
        ("pool_grow", dict(n="many")), ("pool_grow", dict(n=2.5)), ("pool_shrink", dict(n=10**9)),
        ("pool_shrink", dict(n=-(2**63))), ("pool_shrink", dict(n=4)), ("autoscale", dict(max=10**9, min=1)),
        ("rate_limit", dict(task_name="tasks.add", rate_limit="1e-300/s")),
        ("rate_limit", dict(task_name="tasks.add", rate_limit="1e400/s")),
        ("rate_limit", dict(task_name="tasks.add", rate_limit="1/" + "h" * 1_000_000)),
    ]
    answers = []
    for command, arguments in hostile:
        reply = _call(app, node, command, **arguments)
        shown = {k: (v if len(repr(v)) < 40 else f"<{len(v)} chars>") for k, v in arguments.items()}
        answers.append(f"{command} {shown} -> {str(reply)[:160]}")
        ok = isinstance(reply, dict) and set(reply) == {"error"} and len(reply["error"]) < 400
        r.check(ok, f"{command} {shown} not refused with a short error reply: {str(reply)[:200]}")
        if not w.alive():
            r.failures.append(f"worker died on {command} {shown}")
            return
    r.notes.append("refused: " + "; ".join(answers))
    # In bounds, the pool still grows and shrinks.
    r.check(_call(app, node, "pool_grow", n=4) == {"ok": "pool will grow"}, "pool_grow 4 refused")
    stats = _call(app, node, "stats") or {}
    size = stats.get("pool", {}).get("max-concurrency")
    r.check(size == 8, f"max-concurrency {size} after pool_grow 4 (want 8)")
    r.check(_call(app, node, "pool_shrink", n=4) == {"ok": "pool will shrink"}, "pool_shrink 4 refused")
    after = w.rss_kib()
    r.notes.append(f"RSS KiB {after} after the hostile requests")
    r.check(after - baseline < 16 * 1024, f"RSS grew by {(after - baseline) // 1024} MiB over the hostile requests")
    _run_tasks(r, c, w, q, 20, "after")
    _stop(r, w)


# ---------------------------------------------------------------------------
# 9b revoke flood
# ---------------------------------------------------------------------------

def s9b_revoke_flood(ctx, procs, r):
    S = SIZES[ctx.size]
    c = H.redis_client(ctx.redis_url)
    q = "rel-ctl-revoke"
    w = H.start_swift_worker(procs, "ctl-revoke", ctx.redis_url, queue=q, concurrency=4)
    app = _app(ctx.redis_url)
    node = _node(app, "ctl-revoke")
    n, batch, singles = S["revokes"], S["revoke_batch"], S["single_revokes"]
    ids = [f"rv-{i}-{secrets.token_hex(8)}" for i in range(n + singles)]
    t0 = time.monotonic()
    with app.connection_for_write() as conn:
        for start in range(0, n, batch):
            app.control.revoke(ids[start:start + batch], connection=conn)
        for tid in ids[n:]:
            app.control.revoke(tid, connection=conn)
    sent_in = time.monotonic() - t0
    total = len(ids)
    r.sent = total

    # Applied: a REVOKED document for every id (as Celery's revoke stores one).
    def revoked_docs():
        return sum(1 for m in H.fetch_results(c, ids, chunk=5000).values() if m.get("status") == "REVOKED")
    settled = H.wait_until(lambda: revoked_docs() == total or not w.alive(), 60, poll=1.0)
    applied_in = time.monotonic() - t0
    latency = _ping_seconds(app, node, timeout=5)
    listed = _call(app, node, "revoked", timeout=10) or []
    forgotten = sum(int(m.group(1)) for m in FORGOT_RE.finditer(w.log_text()))
    docs = revoked_docs()
    r.executed = docs
    # Lost: revokes neither remembered nor reported forgotten (dropped without a word).
    r.lost = max(0, total - len(listed) - forgotten)
    r.notes.append(f"{n:,} ids in batches of {batch} + {singles:,} single broadcasts sent in {sent_in:.1f} s; "
                   f"all REVOKED stored after {applied_in:.1f} s" if settled else
                   f"{docs:,} of {total:,} REVOKED stored after {applied_in:.1f} s")
    r.notes.append(f"inspect revoked lists {len(listed):,}; log reports {forgotten:,} forgotten "
                   f"(limit {REVOKES_MAX:,}); ping after the flood in "
                   f"{'%.3f s' % latency if latency is not None else 'never'}; RSS {w.rss_kib()} KiB")
    r.check(docs == total, f"{total - docs:,} of {total:,} revoked ids have no REVOKED result")
    r.check(len(listed) == min(total, REVOKES_MAX), f"inspect revoked lists {len(listed):,} (want {min(total, REVOKES_MAX):,})")
    if r.lost:
        r.failures.append(f"{r.lost:,} revokes dropped silently (neither listed nor reported forgotten)")
    r.check(latency is not None and latency < 2, "ping not answered within 2 s once the flood was applied")
    # The newest revoked ids are remembered: their tasks are discarded, not run.
    probe = ids[-50:]
    raws = [H.envelope("tasks.add", [1, 1], task_id=tid, queue=q) for tid in probe]
    H.push(c, q, raws)
    H.wait_until(lambda: H.broker_state(c, [q])["queued"] == 0 and not c.hlen("unacked"), 15)
    time.sleep(0.5)
    ran = H.succeeded_counts([w.log_text()])
    ran_probe = [t for t in probe if ran.get(t)]
    states = {m.get("status") for m in H.fetch_results(c, probe).values()}
    r.check(not ran_probe, f"{len(ran_probe)} of 50 tasks with just-revoked ids ran, e.g. {ran_probe[:2]}")
    r.check(states == {"REVOKED"}, f"probe task states {states} (want REVOKED only)")
    _stop(r, w)


# ---------------------------------------------------------------------------
# 9c/9d start-up truth
# ---------------------------------------------------------------------------

def s9c_ready_after_broker(ctx, procs, r):
    port = H.free_port()
    url = f"redis://127.0.0.1:{port}/0"
    q = "rel-ctl-start"
    w = H.start_swift_worker(procs, "ctl-start", url, queue=q, concurrency=2, ready=False)
    time.sleep(2.5)
    text = w.log_text()
    r.check(w.alive(), f"worker exited (code {w.returncode}) while the broker was down")
    r.check(not re.search(r" ready\.", text), "'ready.' logged while the broker was unreachable")
    r.check(H.count_lines(text, r"Cannot connect to") == 1, f"{H.count_lines(text, r'Cannot connect to')} 'Cannot connect' lines (want 1)")
    rs = H.RedisServer(procs, "late-redis", port=port).start()
    t0 = time.monotonic()
    H.wait_ready(w, timeout=15)
    took = time.monotonic() - t0
    text = w.log_text()
    connected = text.find(f"Connected to redis://127.0.0.1:{port}/0")
    ready = re.search(r" ready\.", text)
    r.notes.append(f"ready {took:.2f} s after the broker started")
    r.check(connected >= 0, "no 'Connected to <broker URL>' line")
    r.check(ready is not None and 0 <= connected < ready.start(), "'ready.' logged before 'Connected to'")
    _run_tasks(r, rs.client(), w, q, 10, "late")
    _stop(r, w)
    rs.stop()


def s9d_bad_broker_exits(ctx, procs, r):
    password = "Ctl-" + secrets.token_hex(10) + "@:/"
    wrong = "Wrong-" + secrets.token_hex(10)
    rs = H.RedisServer(procs, "ctl-auth-redis", password=password).start()
    enc = quote(password, safe="")
    good = f"redis://:{enc}@127.0.0.1:{rs.port}/0"
    q = "rel-ctl-auth"
    bad = {
        "wrong password": (f"redis://:{wrong}@127.0.0.1:{rs.port}/0", r"password", None),
        "no password": (f"redis://127.0.0.1:{rs.port}/0", r"password", None),
        "database 99": (f"redis://:{enc}@127.0.0.1:{rs.port}/99", r"database", None),
        "closed port, max retries 2": (f"redis://127.0.0.1:{H.free_port()}/0", r"broker_connection_max_retries",
                                       dict(os.environ, CELERY_BROKER_CONNECTION_MAX_RETRIES="2")),
    }
    workers = {label: H.start_swift_worker(procs, "ctl-bad-" + re.sub(r"\W+", "-", label), url, queue=q,
                                           concurrency=1, ready=False, env=env)
               for label, (url, _, env) in bad.items()}
    t0 = time.monotonic()
    H.wait_until(lambda: not any(w.alive() for w in workers.values()), 12, poll=0.1)
    outputs = []
    for label, w in workers.items():
        rc = w.returncode
        w.expected_exit = True
        text = w.log_text()
        outputs.append((label, w.log_bytes()))
        why = [l for l in text.splitlines() if "CRITICAL" in l]
        r.notes.append(f"{label}: exit {rc}" + (f"; {why[0].split('] ', 1)[-1][:150]}..." if why else "; still running after 12 s"))
        r.check(rc is not None and rc != 0, f"{label}: worker did not exit non-zero within 12 s (exit {rc})")
        r.check(not re.search(r" ready\.", text), f"{label}: 'ready.' logged")
        r.check(bool(why) and re.search(bad[label][1], why[0]), f"{label}: no CRITICAL line naming the {bad[label][1]}")
        if w.alive():
            w.stop(timeout=5)
    r.notes.append(f"the four workers ended (or were stopped) {time.monotonic() - t0:.1f} s after starting")
    w = H.start_swift_worker(procs, "ctl-good", good, queue=q, concurrency=2)
    text = w.log_text()
    r.check("Connected to redis://:***@127.0.0.1" in text, "no redacted 'Connected to' line for the right password")
    _run_tasks(r, rs.client(), w, q, 10, "auth")
    _stop(r, w)
    outputs.append(("good", w.log_bytes()))
    leaks = [label for label, out in outputs for needle in (password, enc, wrong) if needle.encode() in out]
    r.check(not leaks, f"a password appears in the output of {leaks}")
    rs.stop()


SCENARIOS_CONTROL = [
    ("9a control bounds (pool_grow 1e9, hostile inputs)", s9a_control_bounds),
    ("9b revoke flood", s9b_revoke_flood),
    ("9c start-up: ready once the broker answers", s9c_ready_after_broker),
    ("9d start-up: refused password or database exits", s9d_bad_broker_exits),
]
