"""Generators for malformed broker entries (raw bytes LPUSHed into a queue list).

Each entry is a Celery/kombu Redis envelope broken in exactly one way.
Entries that still carry a task id use the ``bad-`` prefix so the tests can
check that none of them ever produced a SUCCESS result.
"""
import base64
import json
import pickle
import uuid

from celery_testkit.envelopes import EMBED, envelope_obj


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _envelope(task_id, *, body=None, content_type="application/json"):
    """A well-formed envelope (tasks.add(1, 1)) unless overridden."""
    return envelope_obj("tasks.add", [1, 1], task_id=task_id, body=body, content_type=content_type,
                        origin="interop-tests")


def _dump(obj) -> bytes:
    return json.dumps(obj).encode("utf-8")


def _not_json(n, tid):
    return [b"this is not json {", b"{\"body\": ", b"", b"\x00\x01\x02", b"{'single': 'quotes'}"][n % 5]


def _json_not_object(n, tid):
    return [b"[1, 2, 3]", b"\"just a string\"", b"42", b"null", b"true"][n % 5]


def _missing_body(n, tid):
    env = _envelope(tid)
    del env["body"]
    return _dump(env)


def _body_not_base64(n, tid):
    return _dump(_envelope(tid, body="!!! this is *not* base64 ~~~"))


def _base64_not_json(n, tid):
    return _dump(_envelope(tid, body=_b64(b"definitely { not json")))


def _body_wrong_shape(n, tid):
    shapes = [{"args": [1, 1]}, [1, 1], "a string", [[1, 1]], [[1, 1], {}, EMBED, "extra"], [{}, [], {}]]
    return _dump(_envelope(tid, body=_b64(json.dumps(shapes[n % len(shapes)]).encode())))


def _headers_missing_task_or_id(n, tid):
    env = _envelope(tid)
    headers = env["headers"]
    if n % 3 == 0:
        del headers["task"]
    elif n % 3 == 1:
        del headers["id"]
    else:
        del headers["task"], headers["id"]
    return _dump(env)


def _pickle_content_type(n, tid):
    # A harmless pickle of the task body; it must never be unpickled anyway.
    body = _b64(pickle.dumps(((1, 1), {}, EMBED), protocol=2))
    return _dump(_envelope(tid, body=body, content_type="application/x-python-serialize"))


def _unknown_content_type(n, tid):
    return _dump(_envelope(tid, content_type="application/x-made-up"))


def _properties_without_delivery_tag(n, tid):
    env = _envelope(tid)
    del env["properties"]["delivery_tag"]
    return _dump(env)


def _invalid_utf8(n, tid):
    raw = _dump(_envelope(tid))
    # Corrupt a header value with bytes that are not valid UTF-8.
    return raw.replace(b'"tasks.add"', b'"tasks.add\xff\xfe\xc3"', 1)


KINDS = [
    ("not_json", _not_json),
    ("json_not_object", _json_not_object),
    ("missing_body", _missing_body),
    ("body_not_base64", _body_not_base64),
    ("base64_not_json", _base64_not_json),
    ("body_wrong_shape", _body_wrong_shape),
    ("headers_missing_task_or_id", _headers_missing_task_or_id),
    ("pickle_content_type", _pickle_content_type),
    ("unknown_content_type", _unknown_content_type),
    ("properties_without_delivery_tag", _properties_without_delivery_tag),
    ("invalid_utf8", _invalid_utf8),
]


def make_bad_entries(count):
    """Return ``count`` (kind, raw_bytes, task_id) tuples cycling over KINDS."""
    out = []
    for i in range(count):
        kind, fn = KINDS[i % len(KINDS)]
        tid = f"bad-{kind}-{i}-{uuid.uuid4()}"
        out.append((kind, fn(i // len(KINDS), tid), tid))
    return out
