"""Tasks for the Flask example; ``slow_task`` is ``my_app.tasks.slow_task``."""
import time

from celery import shared_task


@shared_task(ignore_result=False)
def slow_task(name):
    time.sleep(0.2)
    return f"Task completed for {name}!"
