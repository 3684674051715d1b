"""Python Celery worker app for the reverse direction (Swift client -> Python worker).

Run from this directory:
    celery -A tasks worker -P solo -c 1 -Q pyq --loglevel INFO
"""
import os
import time

from celery import Celery

BROKER_URL = os.environ.get("CELERY_BROKER_URL", "redis://localhost:6379/0")
RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", "redis://localhost:6379/0")

app = Celery("tasks", broker=BROKER_URL, backend=RESULT_BACKEND)
app.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    result_accept_content=["json"],
    broker_connection_retry_on_startup=True,
)


@app.task(name="tasks.add")
def add(x, y):
    return x + y


@app.task(name="tasks.fail")
def fail(message):
    raise ValueError(message)


@app.task(name="tasks.echo")
def echo(value):
    return value


@app.task(name="tasks.tag")
def tag(i):
    return [i, "python"]


@app.task(name="tasks.sleep")
def sleep(seconds):
    time.sleep(seconds)
    return seconds


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
