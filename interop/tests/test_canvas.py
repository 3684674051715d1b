"""Canvas across languages: Python builds the workflow, Swift (and Python) workers run it."""
import pytest
from celery import chain, chord, group
from celery.exceptions import ChordError

QUEUE = "celery"


def sig(app, name, *args, **options):
    return app.signature(name, args=args, options=options)


def frozen(app, name, *args):
    signature = sig(app, name, *args)
    signature.freeze()
    return signature


def test_link_callback(celery_client, swift_worker):
    callback = frozen(celery_client, "tasks.add", 10)
    parent = celery_client.send_task("tasks.add", args=[2, 2], queue=QUEUE, link=callback)
    assert parent.get(timeout=10) == 4
    assert celery_client.AsyncResult(callback.id).get(timeout=10) == 14
    assert [child.id for child in parent.children] == [callback.id]


def test_link_error_gets_the_failed_task_id(celery_client, swift_worker):
    errback = frozen(celery_client, "tasks.echo")
    failed = celery_client.send_task("tasks.fail", args=["boom"], queue=QUEUE, link_error=errback)
    with pytest.raises(ValueError):
        failed.get(timeout=10)
    assert celery_client.AsyncResult(errback.id).get(timeout=10) == failed.id


def test_chain_of_three(celery_client, swift_worker):
    workflow = chain(sig(celery_client, "tasks.add", 1, 2), sig(celery_client, "tasks.add", 3), sig(celery_client, "tasks.add", 4))
    result = workflow.apply_async()
    assert result.get(timeout=15) == 10
    assert result.parent.get(timeout=1) == 6
    assert result.parent.parent.get(timeout=1) == 3


def test_chain_with_immutable_step(celery_client, swift_worker):
    workflow = chain(sig(celery_client, "tasks.add", 1, 2), celery_client.signature("tasks.add", args=(100, 1), immutable=True))
    assert workflow.apply_async().get(timeout=15) == 101


def test_group_of_100(celery_client, swift_worker):
    result = group(sig(celery_client, "tasks.add", i, i) for i in range(100)).apply_async()
    assert result.get(timeout=30) == [2 * i for i in range(100)]
    assert result.completed_count() == 100


def test_chord_of_50(celery_client, swift_worker):
    result = chord(sig(celery_client, "tasks.add", i, i) for i in range(50))(sig(celery_client, "tasks.tsum"))
    assert result.get(timeout=30) == sum(2 * i for i in range(50))


def test_chord_header_failure_fails_the_body_with_chord_error(celery_client, swift_worker):
    body_errback = frozen(celery_client, "tasks.echo")
    body = sig(celery_client, "tasks.tsum").set(link_error=body_errback)
    result = chord([sig(celery_client, "tasks.add", 1, 1), sig(celery_client, "tasks.fail", "header broke")])(body)
    # The chord's own result re-raises the header error first (its parent), as with Python workers;
    # the body's stored result is the ChordError naming it.
    with pytest.raises(ValueError):
        result.get(timeout=15)
    with pytest.raises(ChordError) as excinfo:
        celery_client.AsyncResult(result.id).get(timeout=15)
    assert "header broke" in str(excinfo.value)
    assert celery_client.AsyncResult(body_errback.id).get(timeout=10) == result.id


def test_chain_over_swift_and_python_workers(celery_client, swift_worker, python_worker):
    python_worker("pyq")
    workflow = chain(
        sig(celery_client, "tasks.add", 1, 1, queue=QUEUE),
        sig(celery_client, "tasks.add", 2, queue="pyq"),
        sig(celery_client, "tasks.add", 3, queue=QUEUE),
        sig(celery_client, "tasks.add", 4, queue="pyq"),
    )
    assert workflow.apply_async().get(timeout=20) == 11


def test_chord_header_on_swift_body_on_python(celery_client, swift_worker, python_worker):
    python_worker("pyq")
    header = [sig(celery_client, "tasks.add", i, i, queue=QUEUE) for i in range(50)]
    result = chord(header)(sig(celery_client, "tasks.tsum", queue="pyq"))
    assert result.get(timeout=30) == sum(2 * i for i in range(50))


def test_chord_header_on_python_body_on_swift(celery_client, swift_worker, python_worker):
    python_worker("pyq")
    header = [sig(celery_client, "tasks.add", i, i, queue="pyq") for i in range(20)]
    result = chord(header)(sig(celery_client, "tasks.tsum", queue=QUEUE))
    assert result.get(timeout=30) == sum(2 * i for i in range(20))


def test_chord_header_mixed_workers(celery_client, swift_worker, python_worker):
    python_worker("pyq")
    header = [sig(celery_client, "tasks.add", i, i, queue=QUEUE if i % 2 else "pyq") for i in range(30)]
    result = chord(header)(sig(celery_client, "tasks.tsum", queue=QUEUE))
    assert result.get(timeout=30) == sum(2 * i for i in range(30))


def test_link_error_old_and_new_style_errbacks(celery_client, swift_worker):
    """Celery calls an errback taking (request, exc, traceback) in the failing worker's process, and
    publishes one taking the task id. Both kinds on one failing task, run by the Swift worker."""
    import uuid
    report_id = str(uuid.uuid4())
    new_style = sig(celery_client, "semantics.on_error_new", report_id)
    old_style = frozen(celery_client, "tasks.echo")
    failed = celery_client.send_task("tasks.fail", args=["two kinds"], queue=QUEUE, link_error=[new_style, old_style])
    with pytest.raises(ValueError):
        failed.get(timeout=10)
    assert celery_client.AsyncResult(old_style.id).get(timeout=10) == failed.id
    report = celery_client.AsyncResult(report_id).get(timeout=10)
    assert report == {"failed_id": failed.id, "failed_task": "tasks.fail", "exc_type": "ValueError",
                      "exc_message": ["two kinds"], "has_traceback": True}


def test_failed_chain_step_fails_the_rest(celery_client, swift_worker):
    """Celery's backend fails every step after a failed one (_fail_chain), so a client waiting on
    the chain's last result gets the exception instead of waiting forever."""
    workflow = chain(sig(celery_client, "tasks.add", 1, 1), sig(celery_client, "tasks.fail"),
                     sig(celery_client, "tasks.add", 10), sig(celery_client, "tasks.add", 100))
    result = workflow.apply_async()
    with pytest.raises(ValueError):
        result.get(timeout=10)
    # Celery stores the steps' failures last step first, as this worker does: poll the others.
    import time
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and result.parent.state != "FAILURE":
        time.sleep(0.02)
    assert result.state == "FAILURE" and result.parent.state == "FAILURE"
    assert result.parent.parent.state == "FAILURE" and result.parent.parent.parent.get(timeout=1) == 2
