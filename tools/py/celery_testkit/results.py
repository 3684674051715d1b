"""Result documents (``celery-task-meta-<id>``) read in bulk straight from Redis."""
import json
import time

FINAL_STATES = ("SUCCESS", "FAILURE", "REVOKED")


def result_key(task_id) -> str:
    return f"celery-task-meta-{task_id}"


def fetch_results(client, ids, chunk=1000, *, key=result_key, decode=json.loads) -> dict:
    """{task_id: decoded result document} for those that have one (MGET, ``chunk`` at a
    time). A Celery backend's ``get_key_for_task`` and ``decode_result`` can replace ``key``
    and ``decode``; the latter turns a FAILURE's result into the exception."""
    ids = list(ids)
    out = {}
    for start in range(0, len(ids), chunk):
        part = ids[start:start + chunk]
        for tid, raw in zip(part, client.mget([key(t) for t in part])):
            if raw is not None:
                out[tid] = decode(raw)
    return out


def wait_results(client, ids, timeout, watch=(), done_states=FINAL_STATES, poll=0.25, on_tick=None,
                 **fetch):
    """Polls until every id has a final result or ``timeout``; returns the results
    dict (possibly incomplete). Stops early when a watched process died. ``fetch``
    goes to ``fetch_results`` (``key``, ``decode``)."""
    ids = list(ids)
    done = {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pending = [t for t in ids if t not in done]
        for tid, meta in fetch_results(client, pending, **fetch).items():
            if meta.get("status") in done_states:
                done[tid] = meta
        if len(done) == len(ids):
            break
        if any(not p.alive() for p in watch):
            break
        if on_tick:
            on_tick()
        time.sleep(poll)
    return done
