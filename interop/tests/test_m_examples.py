"""(m) The Examples package, built as another package depending on swift-celery by path
(scripts/test builds it; EXAMPLES_BIN names its build folder): the README's quick starts run
against real Python, and the Hummingbird demo is served over HTTP like the FastAPI app."""
import json
import os
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from conftest import free_port, wait_for_port

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
    python_worker("celery")
    cp = subprocess.run([str(EXAMPLES_BIN / "QuickStartClient")], env=subprocess_env, capture_output=True, text=True,
                        timeout=60)
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
