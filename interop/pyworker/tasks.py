"""Python Celery worker app for the reverse direction (Swift client -> Python worker).

Run from this directory:
    celery -A tasks worker -P solo -c 1 -Q pyq --loglevel INFO

tasks.add/fail/echo/tag/sleep come from tools/py/celery_testkit/celery_apps.py (``tag``
returns ``[i, "python"]``); the tasks below are this worker's own.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools" / "py"))
from celery_testkit.celery_apps import add_basic_tasks, make_app  # noqa: E402

app = add_basic_tasks(make_app("tasks"), tag="python")


@app.task(name="tasks.tsum")
def tsum(numbers):
    return sum(numbers)


@app.task(name="semantics.retry_once", bind=True, max_retries=1)
def retry_once(self, countdown=1):
    """Retries once after `countdown` seconds, then returns how many retries it took."""
    if self.request.retries == 0:
        raise self.retry(countdown=countdown)
    return self.request.retries


@app.task(name="semantics.add_late", acks_late=True)
def add_late(x, y):
    return x + y
