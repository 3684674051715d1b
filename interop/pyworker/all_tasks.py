"""Python stand-in for the Swift ``interop-worker``.

Hosts every task name the interop suite sends to "the Swift worker", so the
suite can be validated before the Swift worker exists:

    INTEROP_WORKER_CMD=python-standin pytest            (see interop/README.md)

* ``tasks.tag`` returns ``[i, "swift"]`` here (override with env STANDIN_TAG),
  because this process plays the Swift worker in the shared-queue test.
* Stock Celery/kombu crash or loop on several kinds of malformed broker entries
  (non-JSON, JSON that is not an object, missing body, body that is not
  base64, wrong body shape, missing ``id`` header, ...).  The interop suite
  requires a worker that survives them and logs a line containing "rejected"
  for each one, so this stand-in validates each raw entry strictly before
  kombu sees it (see ``_validate``) and drops bad ones with a log line.
  STANDIN_STRICT=0 turns that off (stock kombu behaviour: the suite's
  malformed-message test must then fail).
"""
import base64
import binascii
import json
import logging
import os
import sys
import time
from pathlib import Path

from kombu.transport import redis as kombu_redis
from kombu.utils.encoding import bytes_to_str

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools" / "py"))
from celery_testkit.celery_apps import add_basic_tasks, make_app  # noqa: E402

STANDIN_TAG = os.environ.get("STANDIN_TAG", "swift")

# tasks.add/fail/echo/tag/sleep (tools/py/celery_testkit/celery_apps.py)
app = add_basic_tasks(make_app("all_tasks"), tag=STANDIN_TAG)

logger = logging.getLogger("interop.standin")


# --- the three web apps' slow_task ----------------------------------------

def _slow(name):
    time.sleep(0.2)
    return f"Task completed for {name}!"


@app.task(name="mycelery.slow_task")
def fastapi_slow_task(name):
    return _slow(name)


@app.task(name="my_app.tasks.slow_task")
def flask_slow_task(name):
    return _slow(name)


@app.task(name="elements.tasks.slow_task")
def django_slow_task(name):
    return _slow(name)


# --- strict validation of raw broker entries -------------------------------

def _validate(item):
    """Return (envelope, None) if ``item`` is a well-formed Celery protocol-2
    JSON message, else (None, (delivery_tag_or_None, reason))."""
    try:
        text = item.decode("utf-8") if isinstance(item, bytes) else item
    except UnicodeDecodeError:
        return None, (None, "invalid UTF-8")
    try:
        env = json.loads(text)
    except ValueError:
        return None, (None, "not JSON")
    if not isinstance(env, dict):
        return None, (None, "envelope is not a JSON object")
    props = env.get("properties")
    tag = props.get("delivery_tag") if isinstance(props, dict) else None
    if not isinstance(tag, str) or not tag:
        return None, (None, "properties.delivery_tag missing")
    body = env.get("body")
    if not isinstance(body, str):
        return None, (tag, "body missing")
    ctype = env.get("content-type")
    if ctype != "application/json":
        return None, (tag, f"unsupported content-type {ctype!r}")
    if props.get("body_encoding") == "base64":
        try:
            body = base64.b64decode(body, validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            return None, (tag, "body is not base64")
    try:
        decoded = json.loads(body)
    except ValueError:
        return None, (tag, "body is not JSON")
    if not (isinstance(decoded, list) and len(decoded) == 3
            and isinstance(decoded[0], list) and isinstance(decoded[1], dict)
            and isinstance(decoded[2], dict)):
        return None, (tag, "body is not [args, kwargs, embed]")
    headers = env.get("headers")
    if not isinstance(headers, dict):
        return None, (tag, "headers missing")
    for key in ("task", "id"):
        if not isinstance(headers.get(key), str) or not headers[key]:
            return None, (tag, f"header {key!r} missing")
    return env, None


def _brpop_read(self, **options):
    # Same as kombu.transport.redis.Channel._brpop_read, plus _validate().
    try:
        try:
            dest__item = self.client.parse_response(
                self.client.connection, "BRPOP", **options)
        except self.connection_errors:
            self.client.connection.disconnect()
            raise
        if dest__item:
            dest, item = dest__item
            dest = bytes_to_str(dest).rsplit(self.sep, 1)[0]
            self._queue_cycle.rotate(dest)
            message, problem = _validate(item)
            if message is None:
                tag, reason = problem
                logger.error("Rejected malformed message from queue %r "
                             "(delivery_tag=%s): %s", dest, tag, reason)
                return True
            self.connection._deliver(message, dest)
            return True
        raise kombu_redis.Empty()
    finally:
        self._in_poll = None
        flush = getattr(self, "_flush_brpop_reauth", None)
        if flush is not None:
            flush()


if os.environ.get("STANDIN_STRICT", "1") != "0":
    kombu_redis.Channel._brpop_read = _brpop_read
