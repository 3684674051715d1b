"""kombu's Redis envelope of a Celery protocol-2 task message, built by hand so a test can
LPUSH it directly, or break it in exactly one way first.

The shape (keys and their order) is what Celery 5.7 publishes for ``add.delay(1, 2)``; see
``fixtures/messages/delay_simple.json``.
"""
import base64
import json
import uuid

EMBED = {"callbacks": None, "errbacks": None, "chain": None, "chord": None}
ORIGIN = "gen0@reliability"   # the reliability suite's; fuzz.py rewrites it in the bytes
NO_REPLY = "00000000-0000-0000-0000-000000000000"


def argsrepr(args) -> str:
    """``repr(tuple(args))``, as Celery's ``argsrepr`` header has it."""
    return "(" + ", ".join(repr(a) for a in args) + ("," if len(args) == 1 else "") + ")"


def body_for(args, kwargs=None) -> str:
    """The base64 body: ``[args, kwargs, embed]`` as JSON."""
    return base64.b64encode(json.dumps([list(args), kwargs or {}, EMBED]).encode()).decode("ascii")


def headers_for(task, task_id, args, kwargs=None, *, origin=ORIGIN):
    return {
        "lang": "py", "task": task, "id": task_id, "shadow": None, "eta": None, "expires": None,
        "group": None, "group_index": None, "retries": 0, "timelimit": [None, None],
        "root_id": task_id, "parent_id": None, "argsrepr": argsrepr(args),
        "kwargsrepr": repr(kwargs or {}), "origin": origin, "ignore_result": False,
        "replaced_task_nesting": 0, "stamped_headers": None, "stamps": {},
    }


def properties_for(task_id, queue, delivery_tag=None, priority=0):
    return {
        "correlation_id": task_id, "reply_to": NO_REPLY,
        "delivery_mode": 2, "delivery_info": {"exchange": "", "routing_key": queue},
        "priority": priority, "body_encoding": "base64",
        "delivery_tag": delivery_tag or str(uuid.uuid4()),
    }


def envelope_obj(task, args, kwargs=None, task_id=None, queue="celery", delivery_tag=None, *,
                 body=None, content_type="application/json", origin=ORIGIN):
    """The envelope as a dict; ``body`` (already encoded) and ``content_type`` replace the
    real ones, for messages broken on purpose."""
    task_id = task_id or str(uuid.uuid4())
    return {
        "body": body_for(args, kwargs) if body is None else body,
        "content-encoding": "utf-8", "content-type": content_type,
        "headers": headers_for(task, task_id, args, kwargs, origin=origin),
        "properties": properties_for(task_id, queue, delivery_tag),
    }


def envelope(task, args, kwargs=None, task_id=None, queue="celery", delivery_tag=None) -> bytes:
    """The bytes kombu LPUSHes for ``task(*args, **kwargs)`` sent to ``queue``."""
    return json.dumps(envelope_obj(task, args, kwargs, task_id, queue, delivery_tag)).encode()
