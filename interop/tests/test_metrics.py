"""The Swift worker's metrics (swift-metrics, served by swift-prometheus on loopback with
--metrics-port), scraped after real work published by Python."""

import httpx
import pytest

from celery_testkit.procs import free_port


def scrape(port):
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            values[name] = float(value)
    return values


def test_prometheus_endpoint_counts_what_python_sent(celery_client, extra_worker):
    port = free_port()
    extra_worker("metrics", "swift-metrics@%h", "swift-metrics-worker", extra=["--metrics-port", str(port)])
    ok = [celery_client.send_task("tasks.add", args=[i, i], queue="metrics") for i in range(5)]
    bad = celery_client.send_task("tasks.fail", args=["counted"], queue="metrics")
    retried = celery_client.send_task("semantics.retry_once", kwargs={"countdown": 0.2}, queue="metrics")
    assert [r.get(timeout=10) for r in ok] == [0, 2, 4, 6, 8]
    with pytest.raises(ValueError):
        bad.get(timeout=10)
    assert retried.get(timeout=10) == 1
    celery_client.send_task("no.such.task", queue="metrics")
    metrics = {}
    for _ in range(50):
        metrics = scrape(port)
        if metrics.get("celery_tasks_rejected_total", 0) >= 1:
            break
    # The readiness probe is one more tasks.add.
    assert metrics['celery_tasks_received_total{task="tasks.add"}'] == 6
    assert metrics['celery_tasks_succeeded_total{task="tasks.add"}'] == 6
    assert metrics['celery_tasks_failed_total{task="tasks.fail"}'] == 1
    assert metrics['celery_tasks_retried_total{task="semantics.retry_once"}'] == 1
    assert metrics['celery_tasks_succeeded_total{task="semantics.retry_once"}'] == 1
    assert metrics["celery_tasks_rejected_total"] == 1
    assert metrics['celery_task_runtime_seconds_count{task="tasks.add"}'] == 6
    assert 'celery_task_wait_seconds_count{task="tasks.add"}' in metrics
    assert "celery_worker_prefetched" in metrics and "celery_broker_reconnects_total" in metrics
    # Bounded dimensions: the unregistered name never became a label.
    assert not any("no.such.task" in name for name in metrics)
    assert httpx.get(f"http://127.0.0.1:{port}/other", timeout=5).status_code == 404
