"""Scenario family 4: hostile input. A stream of generated hostile entries mixed with good
tasks (4a) and each hostile value of ``fuzz.PROBES`` alone followed by a good task (4b): the
worker survives, answers every good task and answers or rejects every hostile entry. The
entries come from ``fuzz.py``.
"""
from __future__ import annotations

import base64
import collections
import json
import re
import time

import harness as H
from harness import check_drained, stop_worker_checked, unacked_sample

SIZES = {
    "quick": dict(fuzz_bad=10_000, fuzz_good=2_000, fuzz_large_size=10 * 1024 * 1024, fuzz_large_count=3),
    "full": dict(fuzz_bad=100_000, fuzz_good=20_000, fuzz_large_size=100 * 1024 * 1024, fuzz_large_count=3),
}


REJECT_RE = re.compile(r"Rejected message (.*?) from queue (\S+): (.*)")
# (a tag or reason with a line break in it is still counted by occurrence, see s4_fuzz)
ANSWER_RE = re.compile(r"Task \S+?\[([^\]\n]*)\] (?:succeeded|raised|retry|ignored|rejected|\(expired\))"
                       r"|Discarding revoked task: \S+?\[([^\]\n]*)\]")
RECEIVED_RE = re.compile(r"Task (\S+?)\[([^\]]+)\] received")


def s4_fuzz(ctx, procs, r):
    import fuzz
    c = H.redis_client(ctx.redis_url)
    q = fuzz.QUEUE
    S = SIZES[ctx.size]
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
