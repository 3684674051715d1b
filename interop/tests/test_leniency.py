"""Messages other Celery clients send with `[]` for an empty map run on the Swift worker as
on Python's; a FAILURE of any shape makes `swift-celery result/call --wait` exit 1."""
import base64
import json
import uuid

import pytest


def _envelope(task_id, headers, body, queue):
    return json.dumps({
        "body": base64.b64encode(json.dumps(body).encode()).decode(),
        "content-encoding": "utf-8", "content-type": "application/json", "headers": headers,
        "properties": {"correlation_id": task_id, "reply_to": "", "delivery_mode": 2,
                       "delivery_info": {"exchange": "", "routing_key": queue}, "priority": 0,
                       "body_encoding": "base64", "delivery_tag": str(uuid.uuid4())},
    })


def _php_style_messages(queue):
    """A v2 message with `"stamps": []` and `"timelimit": []` and an embed `[]`, and a v1
    message with `"headers": []` in the envelope and in its body, as PHP clients write them."""
    v2_id, v1_id = str(uuid.uuid4()), str(uuid.uuid4())
    v2 = _envelope(v2_id, {"lang": "php", "task": "tasks.add", "id": v2_id, "root_id": v2_id, "parent_id": None,
                           "group": None, "retries": 0, "eta": None, "expires": None, "timelimit": [],
                           "stamped_headers": [], "stamps": [], "argsrepr": "(1, 2)", "kwargsrepr": "{}"},
                   [[1, 2], {}, []], queue)
    v1 = _envelope(v1_id, [], {"task": "tasks.add", "id": v1_id, "args": [3, 4], "kwargs": {}, "retries": 0,
                               "eta": None, "expires": None, "utc": True, "callbacks": None, "errbacks": None,
                               "timelimit": [None, None], "taskset": None, "chord": None, "headers": []}, queue)
    return [(v2_id, 3, v2), (v1_id, 7, v1)]


def _check_runs(celery_client, redis_client, queue, messages):
    for _, _, raw in messages:
        redis_client.lpush(queue, raw)
    for task_id, value, _ in messages:
        assert celery_client.AsyncResult(task_id).get(timeout=30) == value


def test_empty_list_maps_run_on_the_swift_worker(celery_client, swift_worker, redis_client):
    _check_runs(celery_client, redis_client, "celery", _php_style_messages("celery"))


def test_the_same_messages_run_on_a_python_worker(celery_client, python_worker, redis_client):
    python_worker("pyq")
    _check_runs(celery_client, redis_client, "pyq", _php_style_messages("pyq"))


@pytest.mark.parametrize("result", [None, "boom"])
def test_result_wait_exits_1_on_any_failure_shape(swift_cli, redis_client, redis_url, result):
    task_id = str(uuid.uuid4())
    redis_client.set(f"celery-task-meta-{task_id}", json.dumps({
        "status": "FAILURE", "result": result, "traceback": "", "children": [],
        "date_done": "2026-01-01T00:00:00+00:00", "task_id": task_id}), ex=60)
    cp = swift_cli("result", task_id, "--wait", "--timeout", "10", "--broker", redis_url)
    assert cp.returncode == 1, (cp.returncode, cp.stdout, cp.stderr)
    assert "FAILURE" in cp.stderr
    assert cp.stdout.strip() == ""
