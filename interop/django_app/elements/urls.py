from django.urls import path

from . import views

urlpatterns = [
    path("run-task/<str:name>", views.run_task, name="run-task"),
    path("status/<str:task_id>", views.task_status, name="status"),
]
