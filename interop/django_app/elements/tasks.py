"""``slow_task`` is registered as ``elements.tasks.slow_task``."""
import time

from celery import shared_task


@shared_task
def slow_task(name):
    time.sleep(0.2)
    return f"Task completed for {name}!"
