"""A Python worker and a Swift worker consume the same queue."""
import collections
import time

from conftest import wait_results

QUEUE = "shared"
N = 200


def test_shared_queue(celery_client, extra_worker, python_worker, redis_client):
    # Swift worker first: while it is the only consumer of `shared`, its
    # readiness probe (tasks.add on `shared`) can only be answered by it.
    swift2 = extra_worker(QUEUE, "swift2@%h", "swift-worker-shared")
    py = python_worker(QUEUE)

    results = [celery_client.send_task("tasks.tag", args=[i], queue=QUEUE) for i in range(N)]
    metas = wait_results(celery_client, results, timeout=60, watch=[swift2.proc, py])

    seen = collections.Counter()
    who = collections.Counter()
    for i, res in enumerate(results):
        meta = metas[res.id]
        assert meta["status"] == "SUCCESS", f"tasks.tag({i}): {meta}"
        value = meta["result"]
        assert isinstance(value, list) and len(value) == 2, f"tasks.tag({i}) -> {value!r}"
        assert value[0] == i, f"tasks.tag({i}) -> {value!r}"
        assert value[1] in ("swift", "python"), f"tasks.tag({i}) -> {value!r}"
        seen[value[0]] += 1
        who[value[1]] += 1
    assert sorted(seen) == list(range(N)) and set(seen.values()) == {1}
    assert who["swift"] > 0, f"the Swift worker ran none of the {N} tasks: {dict(who)}"
    assert who["python"] > 0, f"the Python worker ran none of the {N} tasks: {dict(who)}"

    deadline = time.monotonic() + 5
    while redis_client.hlen("unacked") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert redis_client.hlen("unacked") == 0, (
        f"{redis_client.hlen('unacked')} entries left in `unacked`: "
        f"{list(redis_client.hkeys('unacked'))[:5]}")

    assert py.alive()
    swift2.proc.check_alive()
    swift2.stop_and_check()
