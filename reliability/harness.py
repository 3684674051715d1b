"""Shared machinery of the reliability suite: processes, private redis-servers, kombu
envelopes written directly to Redis, result and log accounting, the scenario result row.
Processes, envelopes and result reading come from tools/py/celery_testkit (shared with the
interop suite and fixtures/capture.py) and are re-exported here for the scenarios.

Nothing here talks to a Redis that it was not given: every scenario either uses the
suite's Redis (``Context.redis_url``, FLUSHDB'd before each scenario) or starts its own
private loopback redis-server on a free port.
"""
from __future__ import annotations

import collections
import dataclasses
import json
import os
import re
import shutil
import socket
import sys
import time
import uuid
from pathlib import Path

import redis

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "tools" / "py"))
# Re-exported for the scenarios (H.Procs, H.envelope, H.wait_results, ...).
from celery_testkit.envelopes import EMBED, envelope, envelope_obj, headers_for, properties_for  # noqa: E402,F401
from celery_testkit.procs import PY, Proc, ProcError, Procs, free_port, swift_bin, wait_ready  # noqa: E402,F401
from celery_testkit.results import FINAL_STATES, fetch_results, wait_results  # noqa: E402,F401

PYWORKER_DIR = REPO / "interop" / "pyworker"
BIN = swift_bin()
WORKER_BIN = BIN / "interop-worker"
CLI_BIN = BIN / "swift-celery"
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def prune_runs(keep=5):
    """Keeps the newest ``keep`` run directories under reliability/.work (soak runs, named
    ``soak-<time>``, are left alone)."""
    root = HERE / ".work"
    if root.is_dir():
        runs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("soak-"))
        for old in runs[:-keep]:
            shutil.rmtree(old, ignore_errors=True)


class ScenarioError(AssertionError):
    """A scenario could not even run to its checks (a worker never became ready, ...)."""


# ---------------------------------------------------------------------------
# Redis
# ---------------------------------------------------------------------------

class RedisServer:
    """A private loopback redis-server that can be shut down and restarted on its port."""

    def __init__(self, procs: Procs, name: str, *, persistent=False, password=None,
                 extra=(), port=None):
        self.procs = procs
        self.name = name
        self.port = port or free_port()
        self.persistent = persistent
        self.password = password
        self.extra = list(extra)
        self.dir = procs.work / f"{name}-data"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.proc: Proc | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def argv(self):
        argv = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1",
                "--dir", str(self.dir), "--save", ""]
        if self.persistent:
            argv += ["--appendonly", "yes", "--appendfsync", "always"]
        else:
            argv += ["--appendonly", "no"]
        if self.password:
            argv += ["--requirepass", self.password]
        return argv + self.extra

    def start(self, timeout=15.0):
        self.starts += 1
        self.proc = self.procs.start(f"{self.name}", self.argv(), log_name=f"{self.name}.log")
        client = self.client()
        deadline = time.monotonic() + timeout
        while True:
            try:
                client.ping()
                break
            except redis.exceptions.BusyLoadingError:
                pass
            except redis.exceptions.ConnectionError:
                if not self.proc.alive():
                    raise ScenarioError(f"redis-server {self.name} exited\n{self.proc.tail()}")
            if time.monotonic() > deadline:
                raise ScenarioError(f"redis-server {self.name} not answering after {timeout}s")
            time.sleep(0.05)
        client.close()
        return self

    def client(self, **kwargs) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, password=self.password, **kwargs)

    def shutdown(self):
        """SHUTDOWN NOSAVE over a raw socket (redis-py would retry it); with appendonly the
        AOF (appendfsync always) still has every acknowledged write."""
        if self.proc is None or not self.proc.alive():
            return
        self.proc.expected_exit = True
        cmds = b""
        if self.password:
            cmds += _resp("AUTH", self.password)
        cmds += _resp("SHUTDOWN", "NOSAVE")
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=5) as sock:
                sock.sendall(cmds)
                try:
                    while sock.recv(4096):
                        pass
                except OSError:
                    pass
        except OSError:
            pass
        if self.proc.wait(10) is None:
            self.proc.stop(timeout=1)
        self.proc.close()

    def stop(self):
        if self.proc is not None:
            self.shutdown()
            self.proc.stop(timeout=5)


def _resp(*parts) -> bytes:
    out = [b"*%d\r\n" % len(parts)]
    for p in parts:
        b = p.encode() if isinstance(p, str) else p
        out.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(out)


def redis_client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url)


# ---------------------------------------------------------------------------
# Celery messages written directly (kombu's exact envelope, LPUSHed as kombu does)
# ---------------------------------------------------------------------------

def push(client: redis.Redis, queue: str, entries, chunk=2000):
    """LPUSH raw entries in order (the first pushed is the first consumed)."""
    entries = list(entries)
    for start in range(0, len(entries), chunk):
        pipe = client.pipeline(transaction=False)
        for raw in entries[start:start + chunk]:
            pipe.lpush(queue, raw)
        pipe.execute()


def make_tasks(n, task="tasks.tag", prefix="t", queue="celery", args_for=None):
    """``n`` (task_id, raw) pairs; task ids are ``<prefix>-<i>-<uuid>``."""
    out = []
    for i in range(n):
        tid = f"{prefix}-{i}-{uuid.uuid4()}"
        args = args_for(i) if args_for else [i]
        out.append((tid, envelope(task, args, task_id=tid, queue=queue)))
    return out


REJECTION_EXCEPTIONS = {("kombu.exceptions", "LimitExceeded"), ("kombu.exceptions", "ContentDisallowed"),
                        ("kombu.exceptions", "DecodeError"), ("celery.exceptions", "InvalidTaskError")}


def is_rejection_failure(meta) -> bool:
    """Whether a result document is the FAILURE the worker stores for a message it rejected."""
    result = meta.get("result")
    return (meta.get("status") == "FAILURE" and isinstance(result, dict)
            and (result.get("exc_module"), result.get("exc_type")) in REJECTION_EXCEPTIONS)


def wait_results_settled(client, ids, timeout, queues, watch=(), quiet=4.0):
    """Like ``wait_results`` but gives up early once the broker holds nothing for the
    queues (queue and ``unacked`` empty) and no new result arrived for ``quiet`` seconds:
    whatever is missing then will never come."""
    ids = list(ids)
    done = {}
    deadline = time.monotonic() + timeout
    last_progress = time.monotonic()
    while time.monotonic() < deadline:
        pending = [t for t in ids if t not in done]
        new = {t: m for t, m in fetch_results(client, pending).items()
               if m.get("status") in FINAL_STATES}
        if new:
            done.update(new)
            last_progress = time.monotonic()
        if len(done) == len(ids) or any(not p.alive() for p in watch):
            break
        if time.monotonic() - last_progress > quiet and not any(broker_state(client, queues).values()):
            break
        time.sleep(0.25)
    return done


def wait_until(predicate, timeout, poll=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(poll)
    return predicate()


def broker_state(client: redis.Redis, queues=("celery",)):
    """Lengths of the queue lists (all priority steps), unacked and unacked_index, read in one
    MULTI so the snapshot is consistent: read one by one, a visibility restore (unacked ->
    queue) between two reads made a busy broker look empty."""
    pipe = client.pipeline(transaction=True)
    for q in queues:
        for key in [q] + [f"{q}\x06\x16{p}" for p in (3, 6, 9)]:
            pipe.llen(key)
    pipe.hlen("unacked")
    pipe.zcard("unacked_index")
    *lengths, unacked, unacked_index = pipe.execute()
    return {"queued": sum(lengths), "unacked": unacked, "unacked_index": unacked_index}


# ---------------------------------------------------------------------------
# logs
# ---------------------------------------------------------------------------

SUCCEEDED_RE = re.compile(r"Task (\S+?)\[([^\]]+)\] succeeded in ")


def succeeded_counts(texts, task=None) -> collections.Counter:
    """How many `... succeeded in` lines each task id has across all logs."""
    counts = collections.Counter()
    for text in texts:
        for m in SUCCEEDED_RE.finditer(text):
            if task is None or m.group(1) == task:
                counts[m.group(2)] += 1
    return counts


def count_lines(text: str, pattern: str, flags=0) -> int:
    rx = re.compile(pattern, flags)
    return sum(1 for line in text.splitlines() if rx.search(line))


CRASH_MARKERS = ("Fatal error", "fatal error", "Segmentation fault", "SIGSEGV", "SIGABRT",
                 "💣", "Program crashed", "Illegal instruction", "Trace/breakpoint", "*** Signal")


def crash_lines(text: str):
    return [line for line in text.splitlines() if any(m in line for m in CRASH_MARKERS)]


# ---------------------------------------------------------------------------
# workers
# ---------------------------------------------------------------------------

def swift_worker_argv(broker, backend=None, queue="celery", concurrency=4, name="swift-rel@%h",
                      extra=()):
    if not WORKER_BIN.is_file():
        raise ScenarioError(f"Swift worker binary not found: {WORKER_BIN} (build it or set SWIFT_CELERY_BIN)")
    return [str(WORKER_BIN), "worker", "--broker", broker, "--backend", backend or broker,
            "-Q", queue, "-c", str(concurrency), "-n", name, "--loglevel", "INFO", *extra]


def start_swift_worker(procs: Procs, label, broker, backend=None, queue="celery", concurrency=4,
                       extra=(), ready=True, env=None):
    argv = swift_worker_argv(broker, backend, queue, concurrency, f"{label}@%h", extra)
    proc = procs.start(label, argv, env=env)
    proc.is_worker = True
    if ready:
        wait_ready(proc)
    return proc


PY_WORKER_APP = '''\
"""Python Celery worker app for the reliability suite: interop/pyworker/tasks.py's tasks
with task_acks_late and a short visibility timeout (generated by reliability/harness.py)."""
import os, sys
sys.path.insert(0, os.environ["PYWORKER_DIR"])
from tasks import app  # noqa: E402  (tasks.add/echo/sleep/tag, tag -> [i, "python"])
app.conf.update(
    task_acks_late=True,
    worker_prefetch_multiplier=int(os.environ.get("REL_PREFETCH", "4")),
    broker_transport_options={"visibility_timeout": int(os.environ.get("REL_VISIBILITY", "3600"))},
)
'''


def start_python_worker(procs: Procs, label, broker, queue="celery", visibility=3600, prefetch=4):
    app_dir = procs.work / "pyapp"
    app_dir.mkdir(parents=True, exist_ok=True)
    (app_dir / "relapp.py").write_text(PY_WORKER_APP)
    env = dict(os.environ, CELERY_BROKER_URL=broker, CELERY_RESULT_BACKEND=broker,
               PYWORKER_DIR=str(PYWORKER_DIR), REL_VISIBILITY=str(visibility),
               REL_PREFETCH=str(prefetch), PYTHONUNBUFFERED="1", PYTHONDONTWRITEBYTECODE="1")
    argv = [PY, "-m", "celery", "-A", "relapp", "worker", "-P", "solo", "-c", "1", "-Q", queue,
            "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"{label}@%h",
            "--loglevel", "INFO"]
    proc = procs.start(label, argv, cwd=app_dir, env=env)
    proc.is_worker = True
    wait_ready(proc, timeout=60, pattern=r"@\S+ ready\.")
    return proc


# ---------------------------------------------------------------------------
# the table row
# ---------------------------------------------------------------------------

@dataclasses.dataclass
class ScenarioResult:
    scenario: str
    sent: int = 0
    executed: int = 0
    lost: int = 0
    duplicates: int = 0
    crashes: int = 0
    rejected: str = "-"          # "n/m (reasons)" for the fuzz scenario
    wall: float = 0.0
    failures: list = dataclasses.field(default_factory=list)
    notes: list = dataclasses.field(default_factory=list)
    xfail: str | None = None     # set when a failure is a known Swift-side bug

    def check(self, condition, message):
        if not condition:
            self.failures.append(message)
        return condition

    @property
    def ok(self):
        return not self.failures and self.lost == 0 and self.crashes == 0

    def status(self):
        if self.ok:
            return "PASS"
        return "XFAIL" if self.xfail else "FAIL"


def render_table(rows):
    headers = ["scenario", "sent", "executed", "lost", "dup", "crashes", "rejected (reason)", "wall s", "status"]
    data = [[r.scenario, str(r.sent), str(r.executed), str(r.lost), str(r.duplicates), str(r.crashes),
             r.rejected, f"{r.wall:.1f}", r.status()] for r in rows]
    widths = [max(len(h), *(len(d[i]) for d in data)) if data else len(h) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.ljust(w) for c, w in zip(d, widths)) for d in data]
    for r in rows:
        for f in r.failures:
            out.append(f"  [{r.scenario}] FAIL: {f}")
        for n in r.notes:
            out.append(f"  [{r.scenario}] note: {n}")
    return "\n".join(out)


# ---------------------------------------------------------------------------
# the scenario context and the checks the scenario families share
# ---------------------------------------------------------------------------

@dataclasses.dataclass
class Context:
    """What a scenario function is given besides its ``Procs`` and its row: the size (``quick``
    or ``full``; each family module reads its numbers from its own ``SIZES[ctx.size]``), the
    suite's Redis (FLUSHDB'd before the scenario) and the scenario's log directory."""
    size: str
    redis_url: str
    work: Path


# A recovery worker's flags: acks_late, and a short visibility timeout so that what a killed
# worker left in `unacked` comes back within seconds.
RECOVER = ["--acks-late", "--visibility-timeout", "2", "--restore-interval", "1"]


def ids_of(tasks):
    return [t for t, _ in tasks]


def account(r: ScenarioResult, results: dict, ids, logs, task=None):
    """Fills sent/executed/lost/duplicates from result documents and `succeeded` lines."""
    ids = list(ids)
    r.sent = len(ids)
    ok = [t for t in ids if results.get(t, {}).get("status") == "SUCCESS"]
    r.executed = len(ok)
    r.lost = len(ids) - len(ok)
    counts = succeeded_counts(logs, task)
    idset = set(ids)
    r.duplicates = sum(c - 1 for t, c in counts.items() if t in idset and c > 1)
    if r.lost:
        missing = [t for t in ids if t not in results or results[t].get("status") != "SUCCESS"]
        r.failures.append(f"{r.lost} of {len(ids)} tasks have no SUCCESS result, e.g. {missing[:3]}")


def settle(client, queues, timeout=10.0):
    """Waits until the queues and `unacked` are empty and stay so for half a second (a message
    between a pop and its record, which kombu's way of taking large messages allows, is in
    neither for a moment); returns the final broker state."""
    def empty():
        return all(v == 0 for v in broker_state(client, queues).values())
    deadline = time.monotonic() + timeout
    while wait_until(empty, max(0.0, deadline - time.monotonic())):
        time.sleep(0.5)
        if empty() or time.monotonic() >= deadline:
            break
    return broker_state(client, queues)


def unacked_sample(client, k=3):
    """A few `unacked` entries: the task id, or the raw tag when the record is not JSON."""
    out = []
    for tag, raw in list(client.hgetall("unacked").items())[:k]:
        try:
            out.append(json.loads(raw)[0]["headers"].get("id"))
        except Exception:
            out.append(f"tag {tag!r} (record not JSON)")
    return out


def check_drained(r, client, queues, timeout=10.0):
    state = settle(client, queues, timeout)
    if state["unacked"]:
        r.notes.append(f"still in unacked: {unacked_sample(client)}")
    if state["queued"]:
        left = []
        for queue in queues:
            for key in [queue] + [f"{queue}\x06\x16{step}" for step in (3, 6, 9)]:
                for raw in client.lrange(key, 0, 2):
                    left.append(f"{key!r}: {len(raw)} bytes, {raw[:80]!r}...{raw[-160:]!r}")
        r.notes.append(f"left in the queue: {left}")
    r.check(state["queued"] == 0, f"{state['queued']} messages left in the queue")
    r.check(state["unacked"] == 0 and state["unacked_index"] == 0,
            f"left in unacked: {state['unacked']} (unacked_index {state['unacked_index']})")


def stop_worker_checked(r, proc, timeout=15.0):
    if not proc.alive():
        return
    rc, in_time = proc.stop(timeout=timeout)
    r.check(in_time, f"{proc.label} did not exit within {timeout}s of SIGTERM")
    r.check(rc == 0, f"{proc.label} exited with {rc} after SIGTERM")
