"""Celery's built-in canvas tasks (celery.map, starmap, chunks, accumulate, group) and
Task.replace, sent by a Python client and run by the Swift worker."""
import json

import pytest
from celery import chain, group
from celery.canvas import chunks, xmap, xstarmap
from celery.result import GroupResult, result_from_tuple

QUEUE = "celery"


def sig(app, name, *args, **options):
    return app.signature(name, args=args, options=options)


def test_map_and_starmap(celery_client, swift_worker):
    assert xmap(sig(celery_client, "tasks.echo"), [1, "two", [3]], app=celery_client).apply_async().get(timeout=10) == [1, "two", [3]]
    assert xstarmap(sig(celery_client, "tasks.add"), [(1, 2), (3, 4), (5, 6)], app=celery_client).apply_async().get(timeout=10) == [3, 7, 11]


def test_map_of_a_failing_task_fails_with_its_exception(celery_client, swift_worker):
    with pytest.raises(ValueError, match="mapped"):
        xmap(sig(celery_client, "tasks.fail"), ["mapped"], app=celery_client).apply_async().get(timeout=10)


def test_chunks_sent_by_the_client_as_a_group_of_starmaps(celery_client, swift_worker):
    result = chunks(sig(celery_client, "tasks.add"), list(zip(range(10), range(10))), 3, app=celery_client).apply_async()
    assert result.get(timeout=15) == [[0, 2, 4], [6, 8, 10], [12, 14, 16], [18]]


def test_chunks_builtin_task_applies_the_group(celery_client, swift_worker):
    task = sig(celery_client, "tasks.add")
    res = celery_client.send_task("celery.chunks", kwargs={"task": task, "it": [[1, 1], [2, 2], [3, 3]], "n": 2})
    group_result = result_from_tuple(res.get(timeout=10), app=celery_client)
    assert isinstance(group_result, GroupResult) and len(group_result.results) == 2
    assert group_result.get(timeout=10) == [[2, 4], [6]]


def test_accumulate(celery_client, swift_worker):
    assert celery_client.send_task("celery.accumulate", args=[1, 2, 3], kwargs={"index": 1}).get(timeout=10) == 2
    assert celery_client.send_task("celery.accumulate", args=[1, 2, 3]).get(timeout=10) == [1, 2, 3]


def test_group_builtin(celery_client, swift_worker):
    members = [sig(celery_client, "tasks.add", i) for i in range(3)]
    for m in members:
        m.freeze()
    gid = "6b4c7ad5-5b6c-4d2e-9a57-0d8a3c1f0e11"
    celery_client.send_task("celery.group", args=[members, None, gid, [100]]).get(timeout=10)
    assert [celery_client.AsyncResult(m.id).get(timeout=10) for m in members] == [100, 101, 102]


def test_replace_with_a_chain_keeps_the_task_id(celery_client, swift_worker):
    replacement = chain(sig(celery_client, "tasks.add", 1, 2), sig(celery_client, "tasks.add", 3))
    res = celery_client.send_task("semantics.replace_with", args=[replacement])
    assert res.get(timeout=15) == 6


def test_replace_with_a_group_returns_the_list(celery_client, swift_worker):
    replacement = group(sig(celery_client, "tasks.add", i, i) for i in range(4))
    res = celery_client.send_task("semantics.replace_with", args=[replacement])
    assert res.get(timeout=15) == [0, 2, 4, 6]


def test_replace_inside_a_chain_continues_the_chain_and_counts_nesting(celery_client, swift_worker):
    workflow = chain(sig(celery_client, "semantics.replace_with", sig(celery_client, "tasks.add", 1, 1)),
                     sig(celery_client, "tasks.add", 10))
    assert workflow.apply_async().get(timeout=15) == 12
    nested = celery_client.send_task("semantics.replace_with", args=[sig(celery_client, "semantics.nesting")])
    assert nested.get(timeout=15) == 1
    twice = celery_client.send_task("semantics.replace_with",
                                    args=[sig(celery_client, "semantics.replace_with", sig(celery_client, "semantics.nesting"))])
    assert twice.get(timeout=15) == 2


def test_replace_keeps_callbacks(celery_client, swift_worker):
    callback = sig(celery_client, "tasks.add", 1000)
    callback.freeze()
    res = celery_client.send_task("semantics.replace_with", args=[sig(celery_client, "tasks.add", 2, 3)], link=callback)
    assert res.get(timeout=15) == 5
    assert celery_client.AsyncResult(callback.id).get(timeout=10) == 1005


def test_replace_in_a_chord_header(celery_client, swift_worker):
    from celery import chord
    header = [sig(celery_client, "semantics.replace_with", sig(celery_client, "tasks.add", i, i)) for i in range(5)]
    assert chord(header)(sig(celery_client, "tasks.tsum")).get(timeout=20) == sum(2 * i for i in range(5))


def test_task_publishes_a_canvas_with_itself_as_parent(celery_client, swift_worker):
    child = sig(celery_client, "semantics.context")
    parent = celery_client.send_task("semantics.spawn", args=[child])
    child_id = parent.get(timeout=10)
    context = celery_client.AsyncResult(child_id).get(timeout=10)
    assert context["parent_id"] == parent.id and context["root_id"] == parent.id
