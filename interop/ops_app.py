"""Tiny Celery app for driving the real ``celery`` CLI and Flower against a worker.

    celery --workdir interop -A ops_app inspect ping
    celery --workdir interop -A ops_app flower --port=5555 --address=127.0.0.1

Broker and backend come from CELERY_BROKER_URL / CELERY_RESULT_BACKEND.  The
task bodies are client-side signatures only (the worker under test runs them).
"""
import os

from celery import Celery

BROKER_URL = os.environ.get("CELERY_BROKER_URL", "redis://localhost:6379/0")
RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", BROKER_URL)

app = Celery("ops_app", broker=BROKER_URL, backend=RESULT_BACKEND)
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


@app.task(name="tasks.sleep")
def sleep(seconds):
    return seconds
