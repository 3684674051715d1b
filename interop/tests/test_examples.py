"""The Examples package, built as another package depending on swift-celery by path
(scripts/test builds it; EXAMPLES_BIN names its build folder): the README's quick starts run
against real Python, and the Hummingbird demo is served over HTTP like the FastAPI app."""
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from celery_testkit.procs import free_port, wait_for_port
from conftest import WORKER_STOP_TIMEOUT

REPO = Path(__file__).resolve().parents[2]
EXAMPLES_BIN = Path(os.environ.get("EXAMPLES_BIN", REPO / "Examples" / ".build" / "debug"))

pytestmark = pytest.mark.skipif(
    not (EXAMPLES_BIN / "HummingbirdDemo").is_file() and not os.environ.get("CI"),
    reason="Examples not built (scripts/test builds them; CI always does)")


def test_readme_worker_quick_start_serves_python(procs, subprocess_env, celery_client):
    env = dict(subprocess_env, CELERY_TASK_QUEUES="['quickstart']")
    procs.start("quickstart-worker", [str(EXAMPLES_BIN / "QuickStartWorker")], cwd=REPO, env=env,
                log_path=Path(os.environ.get("INTEROP_WORK_DIR", REPO / "interop" / ".work")) / "quickstart-worker.log")
    add = celery_client.send_task("tasks.add", args=[2, 3], queue="quickstart")
    assert add.get(timeout=20) == 5
    assert celery_client.send_task("tasks.add", kwargs={"x": 2, "y": 40}, queue="quickstart").get(timeout=10) == 42
    slow = celery_client.send_task("mycelery.slow_task", args=["World"], queue="quickstart")
    assert slow.get(timeout=10) == "Task completed for World!"
    with pytest.raises(ValueError, match="boom"):
        celery_client.send_task("tasks.fail", args=["boom"], queue="quickstart").get(timeout=10)


def test_readme_client_quick_start_calls_python(python_worker, subprocess_env):
    # The default queue: a chain's later steps go where the worker that runs each step sends
    # them, which (as in Celery) is its own default queue when the signature names none.
    worker = python_worker("celery")
    try:
        cp = subprocess.run([str(EXAMPLES_BIN / "QuickStartClient")], env=subprocess_env, capture_output=True,
                            text=True, timeout=60)
    finally:
        # Off the default queue again: the tests after this one send Swift-only tasks
        # (semantics.*, Task.replace, ...) to `celery` for the session Swift worker, which a
        # Python worker left there would take and answer NotRegistered.
        worker.stop(timeout=WORKER_STOP_TIMEOUT)
    assert cp.returncode == 0, cp.stderr
    assert cp.stdout.split("\n")[:5] == ["5", "42", "6", "[11, 12, 13]", "ValueError('boom')"], cp.stdout


def test_hummingbird_demo_over_http(procs, subprocess_env):
    port = free_port()
    queue = f"hummingbird-{port}"
    env = dict(subprocess_env, PORT=str(port), DEMO_QUEUE=queue)
    app = procs.start("hummingbird-demo", [str(EXAMPLES_BIN / "HummingbirdDemo")], cwd=REPO, env=env,
                      log_path=Path(os.environ.get("INTEROP_WORK_DIR", REPO / "interop" / ".work")) / "hummingbird-demo.log")
    wait_for_port(port, app, timeout=30)
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
        created = http.post("/run-task/Hummingbird")
        assert created.status_code == 200, created.text
        task_id = created.json()["task_id"]
        deadline = time.monotonic() + 15
        status = {}
        while time.monotonic() < deadline:
            status = http.get(f"/status/{task_id}").json()
            if status["status"] == "SUCCESS":
                break
            time.sleep(0.1)
        assert status == {"task_id": task_id, "status": "SUCCESS", "result": "Task completed for Hummingbird!",
                          "worker": "hummingbird@demo"}, status
        assert http.get("/status/not-a-task").json()["status"] == "PENDING"


def _wait_log(proc, text, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in proc.log_text():
            return
        proc.check_alive()
        time.sleep(0.05)
    pytest.fail(f"{proc.label}: no {text!r} in the log after {timeout}s\n{proc.tail()}")


def _start_my_worker(procs, subprocess_env, label, queues, extra=()):
    argv = [str(EXAMPLES_BIN / "my-worker"), "worker", "-c", "4", "-Q", queues, "--loglevel", "INFO",
            "-n", f"{label}@%h", *extra]
    proc = procs.start(label, argv, cwd=REPO, env=subprocess_env,
                       log_path=Path(os.environ.get("INTEROP_WORK_DIR", REPO / "interop" / ".work")) / f"{label}.log")
    _wait_log(proc, "ready.")
    return proc


def test_embedded_worker_command_serves_its_queues_restarts_on_sighup_and_stops_warm(procs, subprocess_env, celery_client):
    # A user's executable embedding CeleryCommand: `my-worker worker -c 4 -Q a,b --loglevel INFO`.
    queues = [f"embedded-a-{free_port()}", f"embedded-b-{free_port()}"]
    worker = _start_my_worker(procs, subprocess_env, "my-worker-warm", ",".join(queues))
    assert [celery_client.send_task("tasks.add", args=[i, 1], queue=q).get(timeout=20) for i, q in enumerate(queues)] == [1, 2]

    # SIGHUP with a task running: it finishes, then the same process runs the command again.
    running = celery_client.send_task("tasks.sleep", args=[1.0], queue=queues[0])
    _wait_log(worker, f"[{running.id}] received")
    worker.popen.send_signal(signal.SIGHUP)
    _wait_log(worker, "Restarting celery worker")
    assert running.get(timeout=20) == 1.0
    deadline = time.monotonic() + 20
    while worker.log_text().count("ready.") < 2 and time.monotonic() < deadline:
        worker.check_alive()
        time.sleep(0.05)
    assert worker.log_text().count("ready.") == 2, worker.tail()
    assert celery_client.send_task("tasks.add", args=[40, 2], queue=queues[1]).get(timeout=20) == 42
    assert worker.alive()

    # First SIGTERM: warm; the running task finishes and stores its result, exit 0.
    slow = celery_client.send_task("tasks.sleep", args=[1.5], queue=queues[1])
    _wait_log(worker, f"[{slow.id}] received")
    started = time.monotonic()
    worker.popen.send_signal(signal.SIGTERM)
    assert worker.popen.wait(15) == 0, worker.tail()
    assert time.monotonic() - started >= 1.0, "the warm shutdown did not wait for the running task"
    assert slow.get(timeout=5) == 1.5


def test_embedded_worker_command_second_sigterm_is_cold(procs, subprocess_env, celery_client, redis_client):
    queue = f"embedded-cold-{free_port()}"
    worker = _start_my_worker(procs, subprocess_env, "my-worker-cold", queue, extra=["--acks-late"])
    long = celery_client.send_task("tasks.sleep", args=[60], queue=queue)
    _wait_log(worker, f"[{long.id}] received")
    started = time.monotonic()
    worker.popen.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    assert worker.alive(), "the first SIGTERM must be warm"
    worker.popen.send_signal(signal.SIGTERM)
    worker.popen.wait(10)
    took = time.monotonic() - started
    assert took < 5, f"cold shutdown took {took:.1f}s\n{worker.tail()}"
    assert "Cold shutdown" in worker.log_text()
    assert long.state == "PENDING"
    # With acks_late the interrupted message stays in unacked, for the visibility restore.
    held = [json.loads(raw)[0]["headers"]["id"] for raw in redis_client.hvals("unacked")]
    assert long.id in held
    for tag, raw in redis_client.hgetall("unacked").items():
        if json.loads(raw)[0]["headers"]["id"] == long.id:
            redis_client.hdel("unacked", tag)
            redis_client.zrem("unacked_index", tag)
