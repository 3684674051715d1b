"""Web apps (FastAPI, Flask, Django) -> Redis -> Swift worker -> result
read back through each app's /status endpoint."""
import time
import uuid
from urllib.parse import quote

import httpx
import pytest

NAMES = ["Alice", "Zoë 😀 名前"]


def _poll_status(http, base, task_id, worker, timeout=30.0):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        worker.proc.check_alive()
        resp = http.get(f"{base}/status/{task_id}")
        assert resp.status_code == 200, resp.text
        last = resp.json()
        assert last["task_id"] == task_id
        if last["status"] in ("SUCCESS", "FAILURE", "REVOKED"):
            return last
        time.sleep(0.1)
    pytest.fail(f"task {task_id} not finished within {timeout}s; last status: {last}")


@pytest.mark.parametrize("app", ["fastapi", "flask", "django"])
def test_web_app_round_trip(app, web_app, swift_worker):
    base = web_app(app)
    with httpx.Client(timeout=10.0) as http:
        # Unknown ids are PENDING with no result.
        unknown = str(uuid.uuid4())
        resp = http.get(f"{base}/status/{unknown}")
        assert resp.status_code == 200, resp.text
        assert resp.json() == {"task_id": unknown, "status": "PENDING", "result": None}

        submitted = []
        for method in ("POST", "GET"):
            for name in NAMES:
                resp = http.request(method, f"{base}/run-task/{quote(name, safe='')}")
                assert resp.status_code == 200, f"{method} {resp.status_code}: {resp.text}"
                task_id = resp.json()["task_id"]
                assert isinstance(task_id, str) and task_id
                submitted.append((method, name, task_id))

        assert len({t for _, _, t in submitted}) == len(submitted)
        for method, name, task_id in submitted:
            status = _poll_status(http, base, task_id, swift_worker)
            assert status["status"] == "SUCCESS", f"{app} {method} {name!r}: {status}"
            assert status["result"] == f"Task completed for {name}!", status
