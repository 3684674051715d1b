"""Canvas published by the Swift client (`swift-celery apply`, CanvasPublisher) and run by
Python and Swift workers; nested canvas published by Python and run by Swift."""
import json

import pytest
from celery import chain, chord, group
from celery.result import GroupResult

from conftest import get_stored

QUEUE = "celery"


def sig(app, name, *args, **options):
    return app.signature(name, args=args, options=options)


def apply(swift_cli, signature, *extra):
    cp = swift_cli("apply", json.dumps(signature), *extra)
    assert cp.returncode == 0, cp.stderr
    return cp.stdout.split()


def test_swift_client_chain_of_three_on_python_worker(celery_client, swift_cli, python_worker):
    python_worker("pyq")
    workflow = chain(sig(celery_client, "tasks.add", 1, 2, queue="pyq"), sig(celery_client, "tasks.add", 3, queue="pyq"),
                     sig(celery_client, "tasks.add", 4, queue="pyq"))
    (last_id,) = apply(swift_cli, workflow)
    last = celery_client.AsyncResult(last_id)
    assert last.get(timeout=20) == 10
    # Python's worker recorded the chain's links: each step's parent is the previous one.
    meta = celery_client.backend.get_task_meta(last_id)
    assert meta["status"] == "SUCCESS"


def test_swift_client_chain_over_mixed_workers(celery_client, swift_cli, swift_worker, python_worker):
    python_worker("pyq")
    workflow = chain(sig(celery_client, "tasks.add", 1, 1, queue=QUEUE), sig(celery_client, "tasks.add", 2, queue="pyq"),
                     sig(celery_client, "tasks.add", 3, queue=QUEUE), sig(celery_client, "tasks.add", 4, queue="pyq"))
    (last_id,) = apply(swift_cli, workflow)
    assert celery_client.AsyncResult(last_id).get(timeout=20) == 11


def test_swift_client_group_of_100_read_by_python_group_result(celery_client, swift_cli, python_worker):
    python_worker("pyq")
    ids = apply(swift_cli, group(sig(celery_client, "tasks.add", i, i, queue="pyq") for i in range(100)), "--save")
    group_id, members = ids[0], ids[1:]
    assert len(members) == 100
    restored = GroupResult.restore(group_id, app=celery_client)
    assert restored is not None and [r.id for r in restored.results] == members
    assert restored.get(timeout=30) == [2 * i for i in range(100)]
    assert restored.completed_count() == 100
    # Each member carries the group id and its index, as Python's group publishes them.
    metas = [celery_client.backend.get_task_meta(m) for m in members[:3]]
    assert all(m["status"] == "SUCCESS" for m in metas)


@pytest.mark.parametrize("header_queue,body_queue", [("pyq", QUEUE), (QUEUE, "pyq")])
def test_swift_client_chord_of_50_across_workers(celery_client, swift_cli, swift_worker, python_worker,
                                                 header_queue, body_queue):
    python_worker("pyq")
    workflow = chord([sig(celery_client, "tasks.add", i, i, queue=header_queue) for i in range(50)],
                     sig(celery_client, "tasks.tsum", queue=body_queue))
    (body_id,) = apply(swift_cli, workflow)
    assert celery_client.AsyncResult(body_id).get(timeout=30) == sum(2 * i for i in range(50))


def test_swift_client_chord_header_failure_reaches_python(celery_client, swift_cli, swift_worker):
    errback = sig(celery_client, "tasks.echo")
    errback.freeze()
    body = sig(celery_client, "tasks.tsum").set(link_error=errback)
    workflow = chord([sig(celery_client, "tasks.add", 1, 1), sig(celery_client, "tasks.fail", "header broke")], body)
    (body_id,) = apply(swift_cli, workflow)
    from celery.exceptions import ChordError
    with pytest.raises(ChordError) as excinfo:
        celery_client.AsyncResult(body_id).get(timeout=15)
    assert "header broke" in str(excinfo.value)
    assert celery_client.AsyncResult(errback.id).get(timeout=10) == body_id


def test_nested_chain_in_group_in_chord_python_client_swift_worker(celery_client, swift_worker):
    # chord(group(chain(add(i, i), add(1)) for i in 0..4), tsum) -> sum(2i + 1)
    header = group(chain(sig(celery_client, "tasks.add", i, i), sig(celery_client, "tasks.add", 1)) for i in range(5))
    result = chord(header)(sig(celery_client, "tasks.tsum"))
    assert get_stored(result, timeout=30) == sum(2 * i + 1 for i in range(5))


def test_nested_chain_in_group_in_chord_swift_client_mixed_workers(celery_client, swift_cli, swift_worker, python_worker):
    python_worker("pyq")
    header = [chain(sig(celery_client, "tasks.add", i, i, queue="pyq" if i % 2 else QUEUE),
                    sig(celery_client, "tasks.add", 1, queue=QUEUE if i % 2 else "pyq")) for i in range(6)]
    workflow = chord(header, sig(celery_client, "tasks.tsum", queue="pyq"))
    (body_id,) = apply(swift_cli, workflow)
    assert celery_client.AsyncResult(body_id).get(timeout=30) == sum(2 * i + 1 for i in range(6))


def test_chain_then_group_then_task_upgrades_to_chord(celery_client, swift_cli, swift_worker):
    # add(1, 1) | group(add(10), add(20)) | tsum  ->  tsum([12, 22]) == 34
    workflow = chain(sig(celery_client, "tasks.add", 1, 1),
                     group(sig(celery_client, "tasks.add", 10), sig(celery_client, "tasks.add", 20)),
                     sig(celery_client, "tasks.tsum"))
    assert workflow.apply_async().get(timeout=20) == 34          # Python client, Swift worker
    (last_id,) = apply(swift_cli, workflow)                        # Swift client, Swift worker
    assert celery_client.AsyncResult(last_id).get(timeout=20) == 34
