"""Configuration the Celery way: one celeryconfig.py read by Python's Celery
(config_from_object) and by the Swift worker and CLI (--config), CELERY_* variables on top."""
import importlib.util
import socket

from conftest import start_worker
from test_operations import inspect_json

CONFIG = """\
# Shared by Python and Swift.
import os

task_routes = {
    'tasks.tag': {'queue': 'cfg-routed'},
    'semantics.*': {'queue': 'cfg-semantics'},
}
task_acks_late = True
worker_prefetch_multiplier = 1
broker_transport_options = {
    'visibility_timeout': 600,   # seconds
}
result_expires = 120
task_serializer = 'json'
accept_content = ['json']
some_python_only_setting = ('kept', 'but', 'unused')
"""


def test_one_config_file_for_python_and_swift(tmp_path, procs, redis_url, subprocess_env, celery_client,
                                              redis_client, swift_cli):
    path = tmp_path / "celeryconfig.py"
    path.write_text(CONFIG)
    # Python's Celery reads it as a module.
    spec = importlib.util.spec_from_file_location("celeryconfig_shared", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    from celery import Celery
    app = Celery("cfg", broker=redis_url, backend=redis_url)
    app.config_from_object(module)

    env = dict(subprocess_env, CELERY_WORKER_PREFETCH_MULTIPLIER="2")     # the environment wins over the file
    worker = start_worker(procs, redis_url, env, celery_client, "cfg-routed,cfg-semantics", "swift-cfg@%h",
                          "swift-cfg-worker", ["--config", str(path), "-c", "1"])
    try:
        # Python routes tasks.tag to cfg-routed by the file's task_routes; the Swift worker serves it.
        result = app.send_task("tasks.tag", args=[8])
        assert result.get(timeout=10)[0] == 8
        assert 60 < redis_client.ttl(f"celery-task-meta-{result.id}") <= 120       # result_expires from the file
        # The Swift CLI routes by the same file: semantics.* to cfg-semantics.
        cp = swift_cli("call", "semantics.add_late", "--args", "[1, 2]", "--config", str(path), "--wait")
        assert cp.returncode == 0 and cp.stdout.strip() == "3", cp.stderr
        conf = inspect_json(subprocess_env, "swift-cfg@" + socket.gethostname(), "conf")
        assert conf["task_acks_late"] is True
        assert conf["worker_prefetch_multiplier"] == 2
        assert conf["broker_transport_options"] == {"visibility_timeout": 600}
        assert conf["result_expires"] == 120
    finally:
        worker.proc.stop(timeout=10)
    assert "Settings swift-celery does not use: some_python_only_setting" in worker.log_text()


def test_bad_settings_are_refused_with_the_reason(tmp_path, swift_cli):
    cases = {
        "task_serializer = 'pickle'\n": "task_serializer = 'pickle': swift-celery speaks JSON only (pickle is refused)",
        "task_acks_late = 'yes'\n": "setting task_acks_late must be True or False, not 'yes'",
        "broker_url = get_url()\n": "celeryconfig.py:1: 'get_url' is not a literal",
        "task_routes = {'a': {}}\n": "task_routes['a'] must name a queue",
    }
    for text, message in cases.items():
        path = tmp_path / "celeryconfig.py"
        path.write_text(text)
        cp = swift_cli("call", "tasks.add", "--config", str(path))
        assert cp.returncode != 0
        assert message in cp.stderr, (text, cp.stderr)
