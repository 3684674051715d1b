"""Malformed broker entries interleaved with good ones on `celery`."""
import re
import time

from conftest import wait_results
from malformed import KINDS, make_bad_entries

N_GOOD = 1000
N_BAD = 1000
MIN_REJECTED_LINES = 900


def test_malformed_messages_are_rejected(celery_client, swift_worker, redis_client):
    add = celery_client.tasks["tasks.add"]
    pid = swift_worker.pid
    log_offset = len(swift_worker.log_text())
    bad = make_bad_entries(N_BAD)
    assert {kind for kind, _, _ in bad} == {kind for kind, _ in KINDS}

    # Strictly interleaved: bad, good, bad, good, ...  Good ones are real
    # Celery messages published by apply_async (kombu LPUSHes them).
    good = []
    for i in range(N_GOOD):
        redis_client.lpush("celery", bad[i][1])
        good.append(add.apply_async((i, i), queue="celery"))

    metas = wait_results(celery_client, good, timeout=90, watch=[swift_worker.proc])
    wrong = [(i, metas[r.id]) for i, r in enumerate(good)
             if metas[r.id]["status"] != "SUCCESS" or metas[r.id]["result"] != 2 * i]
    assert not wrong, f"{len(wrong)} good tasks with wrong outcome, e.g. {wrong[:3]}"

    # Queue drained and nothing left unacknowledged.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if (redis_client.llen("celery") == 0 and redis_client.hlen("unacked") == 0
                and redis_client.zcard("unacked_index") == 0):
            break
        time.sleep(0.1)
    assert redis_client.llen("celery") == 0, f"{redis_client.llen('celery')} entries left in `celery`"
    assert redis_client.hlen("unacked") == 0, (
        f"{redis_client.hlen('unacked')} entries left in `unacked`, e.g. "
        f"{redis_client.hmget('unacked', list(redis_client.hkeys('unacked'))[:2])}")
    assert redis_client.zcard("unacked_index") == 0, (
        f"{redis_client.zcard('unacked_index')} entries left in `unacked_index`")

    # No malformed message was executed successfully.
    backend = celery_client.backend
    keys = [backend.get_key_for_task(tid) for _, _, tid in bad]
    executed = [(bad[j][0], backend.decode_result(v)) for j, v in
                enumerate(redis_client.mget(keys)) if v is not None]
    executed_ok = [(k, m) for k, m in executed if m.get("status") == "SUCCESS"]
    assert not executed_ok, f"{len(executed_ok)} malformed messages ran, e.g. {executed_ok[:3]}"

    # Same worker process, still alive and still working.
    assert swift_worker.proc.alive(), swift_worker.proc.tail()
    assert swift_worker.pid == pid
    assert add.apply_async((20, 22), queue="celery").get(timeout=30) == 42

    # One log line per rejected entry (case-insensitive "rejected").
    deadline = time.monotonic() + 10
    while True:
        new_log = swift_worker.log_text()[log_offset:]
        rejected = sum(1 for line in new_log.splitlines() if re.search("rejected", line, re.I))
        if rejected >= MIN_REJECTED_LINES or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert rejected >= MIN_REJECTED_LINES, (
        f"only {rejected} log lines contain 'rejected' for {N_BAD} malformed entries\n"
        f"{swift_worker.proc.tail(20)}")
