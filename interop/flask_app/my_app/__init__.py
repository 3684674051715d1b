"""Flask example in the shape of Flask's "Background Tasks with Celery" docs.

Run from ``interop/flask_app``: ``flask --app my_app run --port 5000``.
"""
import os

from celery import Celery, Task
from flask import Flask, jsonify


def celery_init_app(app: Flask) -> Celery:
    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            with app.app_context():
                return self.run(*args, **kwargs)

    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.config_from_object(app.config["CELERY"])
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    return celery_app


def create_app() -> Flask:
    app = Flask(__name__)
    app.config.from_mapping(
        CELERY=dict(
            broker_url=os.environ.get("CELERY_BROKER_URL", "redis://localhost:6379/0"),
            result_backend=os.environ.get("CELERY_RESULT_BACKEND", "redis://localhost:6379/0"),
            task_serializer="json",
            result_serializer="json",
            accept_content=["json"],
            result_accept_content=["json"],
            broker_connection_retry_on_startup=True,
        ),
    )
    app.json.ensure_ascii = False
    celery_app = celery_init_app(app)

    from . import tasks

    @app.route("/run-task/<name>", methods=["GET", "POST"])
    def run_task(name):
        result = tasks.slow_task.delay(name)
        return jsonify({"task_id": result.id})

    @app.get("/status/<task_id>")
    def task_status(task_id):
        res = celery_app.AsyncResult(task_id)
        status = res.status
        result = None
        if res.ready():
            result = repr(res.result) if status == "FAILURE" else res.result
        return jsonify({"task_id": task_id, "status": status, "result": result})

    return app
