"""Routing by exchange through kombu's binding tables, result expiry, and what happens to an
acks_late task whose worker dies (Celery's reject_on_worker_lost), Python and Swift side by side."""
import json
import signal
import time

from conftest import start_worker
from kombu import Exchange, Queue

SEP = "\x06\x16"


def _declare(celery_client, queue, exchange, routing_key):
    """What a Python worker consuming `queue` (bound to `exchange`) declares."""
    with celery_client.connection_for_write() as conn:
        Queue(queue, Exchange(exchange, type="direct"), routing_key=routing_key)(conn.default_channel).declare()


def test_swift_worker_declares_its_queue_bindings_as_kombu_does(celery_client, extra_worker, redis_client):
    extra_worker("routed-a", "swift-routed@%h", "swift-routed-worker")
    member = f"routed-a{SEP}{SEP}routed-a".encode()
    assert member in redis_client.smembers("_kombu.binding.routed-a")
    assert member in redis_client.smembers("_kombu.binding_permanent.routed-a")
    # A Python client publishing by exchange and routing key (not by queue) reaches it.
    res = celery_client.send_task("tasks.add", args=[20, 22], exchange="routed-a", routing_key="routed-a")
    assert res.get(timeout=10) == 42


def test_swift_client_routes_by_exchange_and_routing_key(celery_client, swift_cli, extra_worker, redis_client):
    _declare(celery_client, "routed-b", "tasks-x", "b.key")
    cp = swift_cli("call", "tasks.add", "--args", "[1, 2]", "--exchange", "tasks-x", "--routing-key", "b.key")
    assert cp.returncode == 0, cp.stderr
    task_id = cp.stdout.strip()
    # Where kombu puts it: the bound queue, with the exchange and routing key in delivery_info.
    (raw,) = redis_client.lrange("routed-b", 0, -1)
    message = json.loads(raw)
    assert message["headers"]["id"] == task_id
    assert message["properties"]["delivery_info"] == {"exchange": "tasks-x", "routing_key": "b.key"}
    assert not redis_client.exists("b.key") and not redis_client.exists("tasks-x")
    extra_worker("routed-b", "swift-routed-b@%h", "swift-routed-b-worker")
    assert celery_client.AsyncResult(task_id).get(timeout=10) == 3

    # No binding for the routing key: kombu drops the message silently; the Swift client
    # refuses and says why.
    cp = swift_cli("call", "tasks.add", "--args", "[1, 2]", "--exchange", "tasks-x", "--routing-key", "nobody")
    assert cp.returncode != 0
    assert "no queue is bound to exchange 'tasks-x' with routing key 'nobody'" in cp.stderr, cp.stderr


def test_restore_routes_through_the_exchange_binding(celery_client, procs, redis_url, subprocess_env,
                                                     extra_worker, redis_client):
    """A message published by exchange and routing key, left unacked by a killed worker, goes back
    to the queue it was bound to (kombu's _restore looks the binding up again), not to a list
    named after its routing key."""
    _declare(celery_client, "routed-c", "tasks-y", "c.key")
    worker = start_worker(procs, redis_url, subprocess_env, celery_client, "routed-c", "swift-routed-c@%h",
                          "swift-routed-c-worker", ["-c", "1", "--acks-late"])
    res = celery_client.send_task("semantics.sleep", args=[3], exchange="tasks-y", routing_key="c.key")
    deadline = time.time() + 5
    while time.time() < deadline and res.id not in _unacked_ids(redis_client):
        time.sleep(0.05)
    assert res.id in _unacked_ids(redis_client)
    worker.proc.stop(timeout=5, sig=signal.SIGKILL)
    extra_worker("routed-c", "swift-routed-c2@%h", "swift-routed-c2-worker",
                 extra=["--visibility-timeout", "1", "--restore-interval", "0.5"])
    assert res.get(timeout=20) == 3
    assert not redis_client.exists("c.key")
    assert res.id not in _unacked_ids(redis_client)


def test_reject_on_worker_lost_acks_late_task_comes_back_after_its_worker_dies(
        celery_client, procs, redis_url, subprocess_env, extra_worker, redis_client):
    """Celery's reject_on_worker_lost decides what a prefork worker does when the *child* running an
    acks_late task dies: requeue it, or store WorkerLostError. A Swift worker has no child processes:
    the only way to lose the task's executor is to lose the worker, and then nothing is left to
    store WorkerLostError, so the message stays in unacked and comes back (as it does when a Python
    worker's main process dies). Python's AsyncResult sees the task run to SUCCESS, never FAILURE."""
    queue = "lost"
    worker = start_worker(procs, redis_url, subprocess_env, celery_client, queue, "swift-lost@%h",
                          "swift-lost-worker", ["-c", "1", "--acks-late"])
    res = celery_client.send_task("semantics.sleep", args=[2], queue=queue)
    deadline = time.time() + 5
    while time.time() < deadline and res.id not in _unacked_ids(redis_client):
        time.sleep(0.05)
    time.sleep(0.5)     # running now
    worker.proc.stop(timeout=5, sig=signal.SIGKILL)
    assert res.state == "PENDING"
    assert res.id in _unacked_ids(redis_client)
    extra_worker(queue, "swift-lost2@%h", "swift-lost2-worker",
                 extra=["--visibility-timeout", "1", "--restore-interval", "0.5"])
    assert res.get(timeout=20) == 2
    assert res.state == "SUCCESS"


def test_result_expires_default_zero_and_none(celery_client, procs, redis_url, subprocess_env, redis_client):
    """result_expires: a day by default (SETEX 86400); 0 or None: stored without expiry."""
    ttls = {}
    for label, value in (("default", None), ("zero", "0"), ("none", "None"), ("60", "60")):
        env = dict(subprocess_env)
        if value is not None:
            env["CELERY_RESULT_EXPIRES"] = value
        queue = f"expires-{label}"
        worker = start_worker(procs, redis_url, env, celery_client, queue, f"swift-exp-{label}@%h",
                              f"swift-exp-{label}-worker")
        try:
            res = celery_client.send_task("tasks.add", args=[1, 1], queue=queue)
            assert res.get(timeout=10) == 2
            ttls[label] = redis_client.ttl(f"celery-task-meta-{res.id}")
        finally:
            worker.proc.stop(timeout=10)
    assert 86_390 <= ttls["default"] <= 86_400, ttls
    assert ttls["zero"] == -1 and ttls["none"] == -1, ttls
    assert 50 <= ttls["60"] <= 60, ttls


def _unacked_ids(redis_client):
    return [json.loads(v)[0]["headers"]["id"] for v in redis_client.hvals("unacked")]
