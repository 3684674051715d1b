"""Fixtures of the reliability suite.

Environment:
  REDIS_URL          use this Redis (its db is FLUSHDB'd before every scenario); unset -> a
                     private loopback redis-server on a free port, stopped at the end.
  RELIABILITY_SIZE   quick (default, the CI size) or full (the issue's numbers).
  RELIABILITY_STRICT 1: known Swift bugs fail instead of xfail.
  SWIFT_CELERY_BIN   directory holding interop-worker and swift-celery (default .build/debug).
Scenarios 3, 5 and 7a start their own private redis-servers in any case.
"""
import os
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(HERE))

import harness as H  # noqa: E402

ROWS = []


@pytest.fixture(scope="session")
def size():
    value = os.environ.get("RELIABILITY_SIZE", "quick")
    if value not in ("quick", "full"):
        pytest.fail(f"RELIABILITY_SIZE must be quick or full, not {value!r}")
    return value


@pytest.fixture(scope="session")
def work(size):
    H.prune_runs(keep=4)
    path = HERE / ".work" / f"{time.strftime('%Y%m%d-%H%M%S')}-{size}-pytest"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def redis_url(work):
    url = os.environ.get("REDIS_URL")
    if url:
        yield url
        return
    procs = H.Procs(work)
    try:
        server = H.RedisServer(procs, "suite-redis").start()
        yield server.url
    finally:
        procs.stop_all()


@pytest.fixture(scope="session")
def rows():
    return ROWS


def pytest_terminal_summary(terminalreporter):
    if ROWS:
        terminalreporter.write_sep("=", "reliability table")
        terminalreporter.write_line(H.render_table(ROWS))
