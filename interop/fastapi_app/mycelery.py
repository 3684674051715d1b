"""Celery app for the FastAPI example (Celery-tutorial shape).

The task below is registered as ``mycelery.slow_task``; the Swift worker
registers the same name and returns the same string.
"""
import os
import time

from celery import Celery

BROKER_URL = os.environ.get("CELERY_BROKER_URL", "redis://localhost:6379/0")
RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", "redis://localhost:6379/0")

celery_app = Celery("mycelery", broker=BROKER_URL, backend=RESULT_BACKEND)
celery_app.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    result_accept_content=["json"],
    broker_connection_retry_on_startup=True,
)


@celery_app.task
def slow_task(name):
    time.sleep(0.2)
    return f"Task completed for {name}!"
