from celery.result import AsyncResult
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from .tasks import slow_task


@csrf_exempt
@require_http_methods(["GET", "POST"])
def run_task(request, name):
    result = slow_task.delay(name)
    return JsonResponse({"task_id": result.id})


@require_GET
def task_status(request, task_id):
    res = AsyncResult(task_id)
    status = res.status
    result = None
    if res.ready():
        result = repr(res.result) if status == "FAILURE" else res.result
    return JsonResponse(
        {"task_id": task_id, "status": status, "result": result},
        json_dumps_params={"ensure_ascii": False},
    )
