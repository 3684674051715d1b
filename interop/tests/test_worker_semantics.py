"""Worker semantics: what a Python client observes of each task option, served by Swift."""
import json
import signal
import time
from datetime import datetime, timedelta, timezone

import pytest
from celery.exceptions import MaxRetriesExceededError, TaskRevokedError, TimeLimitExceeded

QUEUE = "celery"


def send(app, name, *args, **options):
    return app.send_task(name, args=list(args), queue=options.pop("queue", QUEUE), **options)


def test_countdown_is_held_without_blocking_other_work(celery_client, swift_worker):
    started = time.monotonic()
    delayed = send(celery_client, "tasks.add", 1, 1, countdown=2)
    quick = [send(celery_client, "tasks.add", i, i) for i in range(8)]
    assert [r.get(timeout=10) for r in quick] == [2 * i for i in range(8)]
    assert time.monotonic() - started < 1.5, "quick tasks waited behind the countdown task"
    assert delayed.get(timeout=10) == 2
    assert time.monotonic() - started >= 1.9


def test_eta_naive_and_aware(celery_client, swift_worker):
    aware = datetime.now(timezone.utc) + timedelta(seconds=1)
    naive = datetime.now(timezone.utc).replace(tzinfo=None) + timedelta(seconds=1)
    started = time.monotonic()
    results = [send(celery_client, "tasks.add", 2, 2, eta=aware), send(celery_client, "tasks.add", 3, 3, eta=naive)]
    assert [r.get(timeout=10) for r in results] == [4, 6]
    assert time.monotonic() - started >= 0.9


def test_eta_message_stays_unacked_until_it_runs(celery_client, swift_worker, redis_client):
    res = send(celery_client, "tasks.add", 5, 5, countdown=2)
    time.sleep(0.7)
    records = [json.loads(v) for v in redis_client.hvals("unacked")]
    held = [r for r in records if r[0]["headers"]["id"] == res.id]
    assert held, "the ETA message is not in kombu's unacked hash while held"
    assert res.get(timeout=10) == 10
    deadline = time.time() + 5
    while time.time() < deadline and any(json.loads(v)[0]["headers"]["id"] == res.id for v in redis_client.hvals("unacked")):
        time.sleep(0.05)
    assert not any(json.loads(v)[0]["headers"]["id"] == res.id for v in redis_client.hvals("unacked"))


def test_expired_task_is_revoked_not_run(celery_client, swift_worker, worker_log):
    res = send(celery_client, "tasks.add", 1, 2, expires=datetime.now(timezone.utc) - timedelta(seconds=5))
    with pytest.raises(TaskRevokedError):
        res.get(timeout=10)
    assert res.status == "REVOKED"
    assert res.result.args == ("expired",) if hasattr(res.result, "args") else True
    assert f"[{res.id}] (expired)" in worker_log()


def test_retry_once_republishes_same_id(celery_client, swift_worker):
    res = send(celery_client, "semantics.retry_once", 0.5)
    seen_retry = False
    deadline = time.time() + 10
    while time.time() < deadline and not res.ready():
        seen_retry = seen_retry or res.state == "RETRY"
        time.sleep(0.05)
    assert res.get(timeout=10) == 1
    assert seen_retry, "RETRY was never stored"


def test_retry_with_exception_fails_with_it_after_max_retries(celery_client, swift_worker):
    res = send(celery_client, "semantics.retry_with_exc", 2)
    with pytest.raises(ValueError) as excinfo:
        res.get(timeout=15)
    assert excinfo.value.args == ("still failing",)


def test_retry_past_max_retries_raises_max_retries_exceeded(celery_client, swift_worker):
    res = send(celery_client, "semantics.retry_forever", 1)
    with pytest.raises(MaxRetriesExceededError) as excinfo:
        res.get(timeout=15)
    assert "Can't retry semantics.retry_forever" in str(excinfo.value)


def test_retry_with_new_args(celery_client, swift_worker):
    assert send(celery_client, "semantics.count_up", 0).get(timeout=15) == 3


def test_autoretry_with_backoff(celery_client, swift_worker):
    assert send(celery_client, "semantics.autoretry").get(timeout=15) == 2


def test_soft_time_limit_cancels_and_fails_with_soft_time_limit_exceeded(celery_client, swift_worker):
    res = send(celery_client, "semantics.sleep", 5, soft_time_limit=0.5)
    with pytest.raises(Exception) as excinfo:
        res.get(timeout=10)
    assert type(excinfo.value).__name__ == "SoftTimeLimitExceeded"


def test_soft_time_limit_can_be_caught(celery_client, swift_worker):
    res = send(celery_client, "semantics.catch_soft_limit", soft_time_limit=0.3)
    assert res.get(timeout=10) == "cleaned up after the soft limit"


def test_hard_time_limit_frees_the_slot_of_a_task_ignoring_cancellation(celery_client, extra_worker):
    worker = extra_worker("hardlimit", "swift-hard@%h", "swift-hard-worker", extra=["-c", "1"])
    res = send(celery_client, "semantics.block", 3, time_limit=0.5, queue="hardlimit")
    with pytest.raises(TimeLimitExceeded):
        res.get(timeout=10)
    started = time.monotonic()
    assert send(celery_client, "tasks.add", 1, 1, queue="hardlimit").get(timeout=10) == 2
    assert time.monotonic() - started < 2.5, "the next task waited for the blocked one"


def test_reject_with_requeue_redelivers(celery_client, swift_worker):
    assert send(celery_client, "semantics.reject_then_succeed").get(timeout=10) == "redelivered"


def test_ignore_stores_nothing(celery_client, swift_worker, redis_client):
    res = send(celery_client, "semantics.ignore")
    marker = send(celery_client, "tasks.add", 0, 0)
    marker.get(timeout=10)
    time.sleep(0.3)
    assert redis_client.get(f"celery-task-meta-{res.id}") is None


def test_request_context(celery_client, swift_worker):
    res = send(celery_client, "semantics.context", priority=3, headers={"x-custom": "yes"},
               expires=datetime.now(timezone.utc) + timedelta(minutes=5))
    context = res.get(timeout=10)
    assert context["id"] == res.id
    assert context["root_id"] == res.id
    assert context["parent_id"] is None
    assert context["retries"] == 0
    assert context["queue"] == "celery"
    assert context["priority"] == 3
    assert context["x_custom"] == "yes"
    assert context["expires"]
    assert context["hostname"].startswith("swift@")


def test_priorities_lower_first(celery_client, extra_worker, redis_client):
    queue = "prio"
    # Published before any worker consumes the queue: all wait, then one worker with -c 1 takes them.
    results = [send(celery_client, "tasks.tag", p, queue=queue, priority=p) for p in (9, 6, 3, 0)]
    assert redis_client.llen(queue) == 1 and redis_client.llen(f"{queue}\x06\x169") == 1
    extra_worker(queue, "swift-prio@%h", "swift-prio-worker", extra=["-c", "1", "--prefetch-multiplier", "1"])
    done = {}
    deadline = time.time() + 15
    while time.time() < deadline and len(done) < 4:
        for r in results:
            if r.id not in done and r.ready():
                done[r.id] = r.date_done
        time.sleep(0.02)
    order = [r.get(timeout=1)[0] for r in sorted(results, key=lambda r: done[r.id])]
    assert order == [0, 3, 6, 9]


def test_several_queues_are_all_served(celery_client, extra_worker):
    extra_worker("qa,qb", "swift-multi@%h", "swift-multi-worker")
    results = [send(celery_client, "tasks.tag", i, queue="qa" if i % 2 else "qb") for i in range(20)]
    assert sorted(r.get(timeout=10)[0] for r in results) == list(range(20))


def test_track_started_and_result_extended(celery_client, extra_worker, redis_client):
    extra_worker("extended", "swift-ext@%h", "swift-ext-worker", extra=["--track-started", "--result-extended"])
    res = send(celery_client, "semantics.sleep", 1, queue="extended")
    deadline = time.time() + 5
    started = None
    while time.time() < deadline and started is None:
        raw = redis_client.get(f"celery-task-meta-{res.id}")
        if raw and json.loads(raw)["status"] == "STARTED":
            started = json.loads(raw)
        time.sleep(0.02)
    assert started is not None, "STARTED was never stored"
    assert started["result"]["hostname"].startswith("swift-ext@")
    assert isinstance(started["result"]["pid"], int)
    assert res.get(timeout=10) == 1
    meta = json.loads(redis_client.get(f"celery-task-meta-{res.id}"))
    assert meta["name"] == "semantics.sleep"
    assert meta["args"] == [1] and meta["kwargs"] == {}
    assert meta["queue"] == "extended" and meta["retries"] == 0
    assert meta["worker"].startswith("swift-ext@")
    assert list(meta)[-1] == "task_id"


def test_acks_late_message_stays_unacked_while_running(celery_client, extra_worker, redis_client):
    extra_worker("late", "swift-late@%h", "swift-late-worker", extra=["--acks-late"])
    res = send(celery_client, "semantics.sleep", 1, queue="late")
    time.sleep(0.5)
    ids = [json.loads(v)[0]["headers"]["id"] for v in redis_client.hvals("unacked")]
    assert res.id in ids, "an acks_late message must stay in unacked while it runs"
    assert res.get(timeout=10) == 1
    time.sleep(0.2)
    ids = [json.loads(v)[0]["headers"]["id"] for v in redis_client.hvals("unacked")]
    assert res.id not in ids


def test_update_state_progress_is_readable_from_python(celery_client, swift_worker):
    res = send(celery_client, "semantics.progress", 3)
    seen = []
    deadline = time.time() + 10
    while time.time() < deadline and not res.ready():
        if res.state == "PROGRESS" and res.info not in seen:
            seen.append(res.info)
        time.sleep(0.05)
    assert res.get(timeout=10) == "done"
    assert {"current": 1, "total": 3} in seen or {"current": 2, "total": 3} in seen, seen


def _unacked_ids(redis_client):
    return [json.loads(v)[0]["headers"]["id"] for v in redis_client.hvals("unacked")]


def test_warm_shutdown_finishes_running_and_returns_held_messages(celery_client, extra_worker, redis_client):
    queue = "warm"
    worker = extra_worker(queue, "swift-warm@%h", "swift-warm-worker", extra=["-c", "2"])
    running = [send(celery_client, "semantics.sleep", 1.5, queue=queue) for _ in range(2)]
    waiting = [send(celery_client, "tasks.add", i, i, queue=queue) for i in range(3)]
    held_eta = send(celery_client, "tasks.add", 7, 7, queue=queue, countdown=60)
    time.sleep(0.5)
    assert held_eta.id in _unacked_ids(redis_client)
    started = time.monotonic()
    rc, in_time = worker.proc.stop(timeout=15)
    assert in_time and rc == 0, worker.proc.tail()
    assert time.monotonic() - started >= 0.5, "running tasks were not waited for"
    assert [r.get(timeout=1) for r in running] == [1.5, 1.5]
    # Everything not finished is back in the queue, marked redelivered, and nothing is left unacked.
    assert held_eta.id not in _unacked_ids(redis_client)
    queued = [json.loads(raw) for raw in redis_client.lrange(queue, 0, -1)]
    queued_ids = {m["headers"]["id"] for m in queued}
    assert held_eta.id in queued_ids
    for message in queued:
        if message["headers"]["id"] == held_eta.id:
            assert message["headers"].get("redelivered") is True
            assert message["properties"]["delivery_info"].get("redelivered") is True
    for r in waiting:
        assert r.id in queued_ids or r.ready()
    # A Python-compatible worker picks the returned messages up.
    extra_worker(queue, "swift-warm2@%h", "swift-warm2-worker")
    assert [r.get(timeout=10) for r in waiting] == [0, 2, 4]


def test_cold_shutdown_leaves_acks_late_tasks_recoverable(celery_client, extra_worker, redis_client):
    queue = "cold"
    worker = extra_worker(queue, "swift-cold@%h", "swift-cold-worker", extra=["-c", "1", "--acks-late"])
    res = send(celery_client, "semantics.sleep", 5, queue=queue)
    time.sleep(0.5)
    assert res.id in _unacked_ids(redis_client)
    worker.proc.popen.send_signal(signal.SIGTERM)
    time.sleep(0.2)
    rc, in_time = worker.proc.stop(timeout=5, sig=signal.SIGINT)
    assert in_time, "a second signal must stop the worker at once"
    assert not res.ready()
    assert res.id in _unacked_ids(redis_client), "the unfinished acks_late task must stay recoverable"
    # A worker with a short visibility timeout restores and runs it.
    extra_worker(queue, "swift-cold2@%h", "swift-cold2-worker",
                 extra=["--visibility-timeout", "1", "--restore-interval", "0.5"])
    assert res.get(timeout=20) == 5
