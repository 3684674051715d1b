"""Python stand-in for ``swift-celery call`` (used to validate test_swift_cli_to_python.py).

    python standin_cli.py call tasks.add --args '[2, 3]' --kwargs '{}' \
        --queue pyq --wait --timeout 20 --broker URL --backend URL

Prints the JSON-encoded result on stdout; on task failure prints
``<ExcType>: <message>`` on stderr and exits 1.
"""
import argparse
import json
import sys

from celery import Celery
from celery.exceptions import TimeoutError as CeleryTimeout


def main(argv=None):
    parser = argparse.ArgumentParser(prog="standin-cli")
    sub = parser.add_subparsers(dest="cmd", required=True)
    call = sub.add_parser("call")
    call.add_argument("task")
    call.add_argument("--args", default="[]")
    call.add_argument("--kwargs", default="{}")
    call.add_argument("--queue", default="celery")
    call.add_argument("--wait", action="store_true")
    call.add_argument("--timeout", type=float, default=30.0)
    call.add_argument("--broker", required=True)
    call.add_argument("--backend", required=True)
    ns = parser.parse_args(argv)

    app = Celery("standin_cli", broker=ns.broker, backend=ns.backend)
    app.conf.update(task_serializer="json", accept_content=["json"],
                    result_accept_content=["json"])
    res = app.send_task(ns.task, args=json.loads(ns.args),
                        kwargs=json.loads(ns.kwargs), queue=ns.queue)
    if not ns.wait:
        print(res.id)
        return 0
    try:
        value = res.get(timeout=ns.timeout)
    except CeleryTimeout:
        print(f"timed out waiting for {res.id}", file=sys.stderr)
        return 2
    except Exception as exc:  # the task's own exception, rebuilt by Celery
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(value))
    return 0


if __name__ == "__main__":
    sys.exit(main())
