"""Prints the node ids of a named selection of Celery's suite, for run.py --tests.

    python interop/celery_suite/selection.py ci

`ci`: every test of test_tasks.py judgeable from outside (issue 3's single-task tests, and
with remote control the revoke tests) and test_inspect.py (issue 5), except those listed in
UNSUPPORTED (not implemented in Swift) and IN_PROCESS (they assert on the test process
itself, which only an in-process worker can satisfy), each with the reason.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import catalog  # noqa: E402

INSPECT = [
    "t/integration/test_inspect.py::test_Inspect::" + name for name in (
        "test_ping", "test_clock", "test_registered", "test_active_queues", "test_active", "test_scheduled",
        "test_query_task", "test_stats", "test_report", "test_report_with_multiserver_result_backend", "test_revoked",
        "test_hello_stamps_received_revoked_ids_locally", "test_conf")
]

IN_PROCESS = {
    "t/integration/test_inspect.py::test_Inspect::test_stats":
        "asserts stats.pid == os.getpid() and max-concurrency == 1 of the in-process solo worker",
    "t/integration/test_inspect.py::test_Inspect::test_hello_stamps_received_revoked_ids_locally":
        "reads celery.worker.state.revoked of the test process",
}

UNSUPPORTED = {}


def selection(name):
    if name == "ci":
        tasks = [node for node in {**catalog.JUDGEABLE, **catalog.NEEDS_PIDBOX} if "/test_tasks.py::" in node]
        return [node for node in tasks + INSPECT if node not in UNSUPPORTED and node not in IN_PROCESS]
    raise SystemExit(f"unknown selection {name!r}")


if __name__ == "__main__":
    print(" ".join(node.split("t/integration/", 1)[1] for node in selection(sys.argv[1])))
