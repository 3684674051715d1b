"""The Swift client's remote control steers Python and Swift workers alike; --statedb."""
import json
import tempfile
import time
from pathlib import Path

import pytest
from celery.exceptions import TaskRevokedError


def test_swift_inspect_ping_sees_python_and_swift_workers(swift_cli, redis_url, swift_worker, python_worker):
    python_worker("pyq")
    cp = swift_cli("inspect", "ping", "--timeout", "1.5", "--broker", redis_url)
    assert cp.returncode == 0, cp.stderr
    assert "swift@" in cp.stdout and "py-pyq@" in cp.stdout, cp.stdout
    assert '{"ok": "pong"}' in cp.stdout


def test_swift_inspect_registered_of_a_python_worker(swift_cli, redis_url, python_worker):
    python_worker("pyq")
    cp = swift_cli("inspect", "registered", "-d", f"py-pyq@{__import__('socket').gethostname()}", "--broker", redis_url)
    assert cp.returncode == 0, cp.stderr
    assert "tasks.add" in cp.stdout and "swift@" not in cp.stdout


def test_swift_control_revoke_on_a_python_worker(swift_cli, redis_url, celery_client, python_worker):
    python_worker("pyq")
    res = celery_client.send_task("tasks.add", args=[1, 1], queue="pyq", countdown=2)
    time.sleep(0.3)
    cp = swift_cli("control", "revoke", res.id, "--broker", redis_url)
    assert cp.returncode == 0 and "flagged as revoked" in cp.stdout, cp.stdout + cp.stderr
    with pytest.raises(TaskRevokedError):
        res.get(timeout=10)


def test_statedb_keeps_revoked_ids_across_restarts(swift_cli, redis_url, celery_client, extra_worker):
    statedb = Path(tempfile.mkdtemp(prefix="swift-celery-state-")) / "worker.state"
    queue = "statedb"
    first = extra_worker(queue, "swift-state@%h", "swift-state-worker", extra=["--statedb", str(statedb)])
    cp = swift_cli("control", "revoke", "revoked-before-restart", "--broker", redis_url)
    assert "flagged as revoked" in cp.stdout, cp.stdout + cp.stderr
    rc, in_time = first.proc.stop(timeout=15)
    assert in_time and rc == 0
    assert "revoked-before-restart" in json.loads(statedb.read_text())["revoked"]
    # The result was marked REVOKED at revoke time; forget it so only the restarted worker can write it.
    celery_client.AsyncResult("revoked-before-restart").forget()
    extra_worker(queue, "swift-state2@%h", "swift-state2-worker", extra=["--statedb", str(statedb)])
    res = celery_client.send_task("tasks.add", args=[1, 1], queue=queue, task_id="revoked-before-restart")
    with pytest.raises(TaskRevokedError):
        res.get(timeout=10)


def _wall_time_of_two_sleeps(celery_client, queue):
    started = time.monotonic()
    results = [celery_client.send_task("tasks.sleep", args=[1], queue=queue) for _ in range(2)]
    for r in results:
        r.get(timeout=10)
    return time.monotonic() - started


def test_pool_grow_and_shrink_change_how_many_tasks_run_at_once(swift_cli, redis_url, celery_client, extra_worker):
    queue = "pool"
    extra_worker(queue, "swift-pool@%h", "swift-pool-worker", extra=["-c", "1"])
    assert _wall_time_of_two_sleeps(celery_client, queue) >= 1.9, "-c 1 must run one task at a time"
    cp = swift_cli("control", "pool_grow", "--broker", redis_url)
    assert "pool will grow" in cp.stdout, cp.stdout + cp.stderr
    assert _wall_time_of_two_sleeps(celery_client, queue) < 1.8, "after pool_grow two tasks run at once"
    cp = swift_cli("control", "pool_shrink", "--broker", redis_url)
    assert "pool will shrink" in cp.stdout, cp.stdout + cp.stderr
    time.sleep(0.3)
    assert _wall_time_of_two_sleeps(celery_client, queue) >= 1.9, "after pool_shrink one task at a time again"
