"""The Python Celery app of the test suites and the ``tasks.*`` every worker under test serves.

    app = make_app("tasks")               # broker/backend from CELERY_BROKER_URL / CELERY_RESULT_BACKEND
    add_basic_tasks(app, tag="python")    # tasks.add/fail/echo/tag/sleep

Used by the Python workers (``interop/pyworker``), the clients of the interop suite
(``interop/tests/conftest.py``, ``interop/ops_app.py``) and, through ``interop/pyworker/tasks.py``,
the reliability suite. The web-framework examples keep their own apps: they are what a user reads.
"""
import os
import time

from celery import Celery

DEFAULT_URL = "redis://localhost:6379/0"
JSON_ONLY = dict(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    result_accept_content=["json"],
    broker_connection_retry_on_startup=True,
)


def make_app(main, broker=None, backend=None) -> Celery:
    """A JSON-only Celery app. ``broker`` defaults to CELERY_BROKER_URL (else local Redis),
    ``backend`` to CELERY_RESULT_BACKEND (else the broker)."""
    broker = broker or os.environ.get("CELERY_BROKER_URL", DEFAULT_URL)
    backend = backend or os.environ.get("CELERY_RESULT_BACKEND", broker)
    app = Celery(main, broker=broker, backend=backend)
    app.conf.update(JSON_ONLY)
    return app


def add_basic_tasks(app, tag="python"):
    """Registers the tasks every worker under test serves, under the names the suites send:
    ``tasks.add(x, y)``, ``tasks.fail(message)`` (raises ValueError), ``tasks.echo(value)``,
    ``tasks.tag(i)`` -> ``[i, tag]`` (which worker ran it) and ``tasks.sleep(seconds)``.
    In a client the bodies never run; they only give ``app.tasks[...]`` its signatures."""

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
    def tag_task(i):
        return [i, tag]

    @app.task(name="tasks.sleep")
    def sleep(seconds):
        time.sleep(seconds)
        return seconds

    return app
