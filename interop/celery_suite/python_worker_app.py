"""Celery app for running the REAL Python worker as the "external worker"
(to validate the harness):

    celery -A python_worker_app worker -P prefork -c 2 --loglevel INFO

``celery -A t.integration.tasks`` alone cannot work: that module defines
shared tasks but no Celery instance for ``-A`` to find.  This module supplies
one configured like the suite's in-process worker app (conftest.celery_config
on top of celery.contrib.testing.app.DEFAULT_TEST_CONFIG), imports
t.integration.tasks and registers the class-based task the conftest's
celery_class_tasks fixture registers.

Needs TEST_BROKER / TEST_BACKEND in the environment and the extracted suite
root (the folder holding ``t/``) on sys.path; run.py sets both.
"""
import os

from celery import Celery

app = Celery(
    'interop-python-worker',
    broker=os.environ['TEST_BROKER'],
    backend=os.environ['TEST_BACKEND'],
    include=['t.integration.tasks'],
)
app.conf.update(
    # conftest.celery_config
    result_extended=True,
    task_create_missing_queues=False,
    # celery.contrib.testing.app.DEFAULT_TEST_CONFIG (the parts that matter
    # to a worker run from the command line)
    accept_content={'json'},
    enable_utc=True,
    timezone='UTC',
    broker_heartbeat=0,
    worker_log_color=False,
)

from t.integration.tasks import ClassBasedAutoRetryTask  # noqa: E402

app.register_task(ClassBasedAutoRetryTask)
