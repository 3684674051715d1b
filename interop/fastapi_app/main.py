"""FastAPI front end. Run: ``uvicorn main:app --host 127.0.0.1 --port 8000``
from this directory."""
from fastapi import FastAPI

from mycelery import celery_app, slow_task

app = FastAPI(title="swift-celery interop (FastAPI)")


def _status(task_id):
    res = celery_app.AsyncResult(task_id)
    status = res.status
    result = None
    if res.ready():
        result = repr(res.result) if status == "FAILURE" else res.result
    return {"task_id": task_id, "status": status, "result": result}


@app.get("/run-task/{name}")
@app.post("/run-task/{name}")
def run_task(name: str):
    task = slow_task.delay(name)
    return {"task_id": task.id}


@app.get("/status/{task_id}")
def task_status(task_id: str):
    return _status(task_id)
