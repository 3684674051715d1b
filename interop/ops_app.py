"""Tiny Celery app for driving the real ``celery`` CLI and Flower against a worker.

    celery --workdir interop -A ops_app inspect ping
    celery --workdir interop -A ops_app flower --port=5555 --address=127.0.0.1

Broker and backend come from CELERY_BROKER_URL / CELERY_RESULT_BACKEND.  The
task bodies are client-side signatures only (the worker under test runs them).
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools" / "py"))
from celery_testkit.celery_apps import add_basic_tasks, make_app  # noqa: E402

app = add_basic_tasks(make_app("ops_app"))
