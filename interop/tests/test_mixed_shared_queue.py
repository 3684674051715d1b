"""A Python and a Swift worker share one queue under a mix of task options, 10,000 tasks:
every task runs as often as Celery promises (once; retried ones once per retry), every result
is readable from Python, and nothing stays in `unacked`."""
import collections
import random
import re
import time
from datetime import datetime, timedelta, timezone

QUEUE = "mixed"
TOTAL = 10_000
SUCCEEDED = re.compile(r"Task (\S+)\[([^\]]+)\] succeeded")
RETRIED = re.compile(r"Task (\S+)\[([^\]]+)\] retry")


def test_ten_thousand_mixed_tasks_on_a_shared_queue(celery_client, extra_worker, python_worker, redis_client):
    rng = random.Random(7)
    swift = extra_worker(QUEUE, "swift-mixed@%h", "swift-mixed-worker", extra=["-c", "8"])
    python = python_worker(QUEUE)
    plan = []  # (result, kind, expected)
    with celery_client.producer_or_acquire() as producer:
        for i in range(TOTAL):
            kind = rng.choice(["plain", "plain", "plain", "countdown", "expires", "priority", "ignore", "late", "retry"])
            options = {"queue": QUEUE, "producer": producer}
            name, args, expected = "tasks.add", [i, 1], i + 1
            if kind == "countdown":
                options["countdown"] = rng.uniform(0.1, 1.0)
            elif kind == "expires":
                options["expires"] = datetime.now(timezone.utc) + timedelta(minutes=5)
            elif kind == "priority":
                options["priority"] = rng.randint(0, 9)
            elif kind == "ignore":
                options["ignore_result"] = True
            elif kind == "late":
                name = "semantics.add_late"
            elif kind == "retry":
                name, args, expected = "semantics.retry_once", [0.05], 1
            plan.append((celery_client.send_task(name, args=args, **options), kind, expected))

    deadline = time.time() + 240
    pending = [(r, kind, expected) for r, kind, expected in plan if kind != "ignore"]
    while pending and time.time() < deadline:
        pending = [(r, kind, expected) for r, kind, expected in pending if not r.ready()]
        time.sleep(0.5)
    assert not pending, f"{len(pending)} tasks not ready after 240 s, e.g. {[(r.id, k) for r, k, _ in pending[:3]]}"
    wrong = [(r.id, kind, r.result, expected) for r, kind, expected in plan if kind != "ignore" and r.result != expected]
    assert not wrong, f"{len(wrong)} wrong results, e.g. {wrong[:3]}"

    # Executions, counted from both workers' Celery-shaped log lines.
    deadline = time.time() + 30
    while time.time() < deadline:
        logs = swift.log_text() + python.log_text()
        successes = collections.Counter(task_id for _, task_id in SUCCEEDED.findall(logs))
        if all(successes[r.id] >= 1 for r, _, _ in plan):
            break
        time.sleep(0.5)
    retries = collections.Counter(task_id for _, task_id in RETRIED.findall(logs))
    missing = [r.id for r, _, _ in plan if successes[r.id] == 0]
    doubled = [r.id for r, _, _ in plan if successes[r.id] > 1]
    assert not missing, f"{len(missing)} tasks never ran, e.g. {missing[:3]}"
    assert not doubled, f"{len(doubled)} tasks ran more than once, e.g. {doubled[:3]}"
    for r, kind, _ in plan:
        assert retries[r.id] == (1 if kind == "retry" else 0), (r.id, kind, retries[r.id])
    ran_on_python = len(SUCCEEDED.findall(python.log_text()))
    ran_on_swift = len(SUCCEEDED.findall(swift.log_text()))
    assert ran_on_python > 0 and ran_on_swift > 0, (ran_on_python, ran_on_swift)

    deadline = time.time() + 10
    while time.time() < deadline and redis_client.hlen("unacked"):
        time.sleep(0.2)
    assert redis_client.hlen("unacked") == 0
    assert redis_client.llen(QUEUE) == 0
