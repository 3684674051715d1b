"""Shared machinery of the reliability suite: processes, private redis-servers, kombu
envelopes written directly to Redis, result and log accounting, the scenario result row.

Nothing here talks to a Redis that it was not given: every scenario either uses the
suite's Redis (``Context.redis_url``, FLUSHDB'd before each scenario) or starts its own
private loopback redis-server on a free port.
"""
from __future__ import annotations

import base64
import collections
import dataclasses
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import redis

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
PY = sys.executable
PYWORKER_DIR = REPO / "interop" / "pyworker"

_bin_env = os.environ.get("SWIFT_CELERY_BIN")
BIN = Path(_bin_env) if _bin_env else REPO / ".build" / "debug"
if not BIN.is_absolute():
    BIN = (REPO / BIN).resolve()
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
# processes
# ---------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Proc:
    """A subprocess in its own session; stdout+stderr go to a log file (or, with ``stdout``
    given, e.g. ``subprocess.PIPE``, there; the log file then only has the command line)."""

    def __init__(self, label, argv, log_path, cwd=REPO, env=None, stdin=subprocess.DEVNULL, stdout=None):
        self.label = label
        self.argv = [str(a) for a in argv]
        self.log_path = Path(log_path)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = open(self.log_path, "ab")
        # The command line is logged with URL passwords masked (scenario 5 greps the logs).
        shown = re.sub(r"(://[^:@/\s]*:)[^@\s]*@", r"\1<masked-by-harness>@", shlex.join(self.argv))
        self._fh.write(("$ " + shown + "\n").encode())
        self._fh.flush()
        self.popen = subprocess.Popen(
            self.argv, cwd=str(cwd), env=env if env is not None else dict(os.environ),
            stdin=stdin, stdout=self._fh if stdout is None else stdout, stderr=subprocess.STDOUT,
            start_new_session=True)
        self.pid = self.popen.pid
        self.started = time.monotonic()
        self.expected_exit = False   # set when the suite itself stops or kills it
        self.is_worker = False

    def alive(self) -> bool:
        return self.popen.poll() is None

    @property
    def returncode(self):
        return self.popen.poll()

    def send(self, sig):
        if self.alive():
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass

    def wait(self, timeout):
        """Returns the exit code, or None if still running after ``timeout``."""
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill9(self):
        self.expected_exit = True
        self.send(signal.SIGKILL)
        self.popen.wait(10)
        self._close()

    def stop(self, timeout=15.0, sig=signal.SIGTERM):
        """``sig``, wait up to ``timeout``, then SIGKILL the process group regardless.
        Returns (returncode, exited_in_time)."""
        in_time = True
        self.expected_exit = True
        if self.alive():
            self.send(sig)
            if self.wait(timeout) is None:
                in_time = False
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.wait(5)
        self._close()
        return self.popen.returncode, in_time

    def _close(self):
        if not self._fh.closed:
            self._fh.close()

    def log_text(self) -> str:
        try:
            return self.log_path.read_bytes().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def log_bytes(self) -> bytes:
        try:
            return self.log_path.read_bytes()
        except FileNotFoundError:
            return b""

    def tail(self, lines=30) -> str:
        text = self.log_text().splitlines()[-lines:]
        return f"--- last {len(text)} lines of {self.log_path} ---\n" + "\n".join(text)

    def fd_count(self) -> int:
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def rss_kib(self) -> int:
        with open(f"/proc/{self.pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0


class Procs:
    """Every process a scenario starts; ``stop_all`` is the safety net."""

    def __init__(self, work: Path):
        self.work = Path(work)
        self.items: list[Proc] = []

    def start(self, label, argv, log_name=None, **kwargs) -> Proc:
        proc = Proc(label, argv, self.work / (log_name or f"{label}.log"), **kwargs)
        self.items.append(proc)
        return proc

    def stop_all(self):
        for proc in reversed(self.items):
            if proc.alive():
                proc.stop(timeout=5)
            else:
                proc._close()


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
        self.proc._close()

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

EMBED = {"callbacks": None, "errbacks": None, "chain": None, "chord": None}


def _py_repr_args(args):
    return "(" + ", ".join(repr(a) for a in args) + ("," if len(args) == 1 else "") + ")"


def headers_for(task, task_id, args, kwargs=None):
    return {
        "lang": "py", "task": task, "id": task_id, "shadow": None, "eta": None, "expires": None,
        "group": None, "group_index": None, "retries": 0, "timelimit": [None, None],
        "root_id": task_id, "parent_id": None, "argsrepr": _py_repr_args(args),
        "kwargsrepr": repr(kwargs or {}), "origin": "gen0@reliability", "ignore_result": False,
        "replaced_task_nesting": 0, "stamped_headers": None, "stamps": {},
    }


def properties_for(task_id, queue, delivery_tag=None, priority=0):
    return {
        "correlation_id": task_id, "reply_to": "00000000-0000-0000-0000-000000000000",
        "delivery_mode": 2, "delivery_info": {"exchange": "", "routing_key": queue},
        "priority": priority, "body_encoding": "base64",
        "delivery_tag": delivery_tag or str(uuid.uuid4()),
    }


def envelope_obj(task, args, kwargs=None, task_id=None, queue="celery", delivery_tag=None):
    task_id = task_id or str(uuid.uuid4())
    body = json.dumps([list(args), kwargs or {}, EMBED]).encode()
    return {
        "body": base64.b64encode(body).decode("ascii"),
        "content-encoding": "utf-8", "content-type": "application/json",
        "headers": headers_for(task, task_id, args, kwargs),
        "properties": properties_for(task_id, queue, delivery_tag),
    }


def envelope(task, args, kwargs=None, task_id=None, queue="celery", delivery_tag=None) -> bytes:
    return json.dumps(envelope_obj(task, args, kwargs, task_id, queue, delivery_tag)).encode()


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


def fetch_results(client: redis.Redis, ids, chunk=1000) -> dict:
    """{task_id: decoded result document} for those that have one."""
    ids = list(ids)
    out = {}
    for start in range(0, len(ids), chunk):
        part = ids[start:start + chunk]
        for tid, raw in zip(part, client.mget([f"celery-task-meta-{t}" for t in part])):
            if raw is not None:
                out[tid] = json.loads(raw)
    return out


REJECTION_EXCEPTIONS = {("kombu.exceptions", "LimitExceeded"), ("kombu.exceptions", "ContentDisallowed"),
                        ("kombu.exceptions", "DecodeError"), ("celery.exceptions", "InvalidTaskError")}


def is_rejection_failure(meta) -> bool:
    """Whether a result document is the FAILURE the worker stores for a message it rejected."""
    result = meta.get("result")
    return (meta.get("status") == "FAILURE" and isinstance(result, dict)
            and (result.get("exc_module"), result.get("exc_type")) in REJECTION_EXCEPTIONS)


def wait_results(client, ids, timeout, watch=(), done_states=("SUCCESS", "FAILURE", "REVOKED"),
                 poll=0.25, on_tick=None):
    """Polls until every id has a final result or ``timeout``; returns the results
    dict (possibly incomplete). Stops early when a watched process died."""
    ids = list(ids)
    done = {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pending = [t for t in ids if t not in done]
        for tid, meta in fetch_results(client, pending).items():
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
               if m.get("status") in ("SUCCESS", "FAILURE", "REVOKED")}
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


def wait_ready(proc: Proc, timeout=30.0, pattern=r" ready\.", offset=0):
    """Waits for the worker's `<name> ready.` line."""
    rx = re.compile(pattern)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if rx.search(proc.log_text()[offset:]):
            return
        if not proc.alive():
            raise ScenarioError(f"{proc.label} exited with {proc.returncode} before ready\n{proc.tail()}")
        time.sleep(0.05)
    raise ScenarioError(f"{proc.label} not ready within {timeout}s\n{proc.tail()}")


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
