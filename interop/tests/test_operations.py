"""Operations: remote control (the real `celery inspect` / `celery control` CLI and
`app.control`), events (`celery.events.Receiver`) and Flower, against the worker under test.

The CLI runs `<venv>/bin/celery --workdir interop -A ops_app ...` (interop/ops_app.py reads
CELERY_BROKER_URL / CELERY_RESULT_BACKEND).  Read-only inspection and revokes use the session
worker (`swift@<host>`, queue `celery`); commands that change a worker (rate limits, consumers,
pool size, events, shutdown) get a worker of their own on a queue of their own.

Python stand-in: the session fixtures start it with --without-heartbeat; workers that must send
worker events here are started without that flag (see `start_ops_worker`).
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest
import redis
from celery import Celery
from celery.exceptions import TaskRevokedError

from celery_testkit.procs import free_port, wait_for_port
from conftest import INTEROP, PY, REPO, WORK, WORKER_STOP_TIMEOUT, Worker, wait_for_task, worker_argv

HOST = socket.gethostname()
SESSION_NODE = f"swift@{HOST}"
CELERY_EXE = Path(PY).with_name("celery")


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------

def celery_cli(env, *args, timeout=40):
    """Run the real `celery` CLI with the ops_app; returns CompletedProcess."""
    base = [str(CELERY_EXE)] if CELERY_EXE.is_file() else [PY, "-m", "celery"]
    argv = base + ["--workdir", str(INTEROP), "-A", "ops_app", *[str(a) for a in args]]
    try:
        return subprocess.run(argv, cwd=str(INTEROP), env=env, capture_output=True,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"{' '.join(argv)} did not finish within {timeout}s: {exc}")


def _describe(cp):
    return (f"$ {' '.join(cp.args)}\nexit {cp.returncode}\n--- stdout ---\n{cp.stdout}"
            f"\n--- stderr ---\n{cp.stderr}")


def inspect_json(env, node, method, *args, timeout=5):
    """`celery inspect <method> <args> -d node --json` -> the node's reply value."""
    cp = celery_cli(env, "inspect", method, *args, "-d", node, "-t", timeout, "--json")
    assert cp.returncode == 0, _describe(cp)
    replies = json.loads(cp.stdout)
    assert node in replies, f"{node} did not answer inspect {method}: {replies}\n{_describe(cp)}"
    return replies[node]


def control_json(env, node, method, *args, timeout=5):
    """`celery control <method> <args> -d node --json` -> the node's reply value."""
    cp = celery_cli(env, "control", method, *args, "-d", node, "-t", timeout, "--json")
    assert cp.returncode == 0, _describe(cp)
    replies = {}
    for reply in json.loads(cp.stdout):
        replies.update(reply)
    assert node in replies, f"{node} did not answer control {method}: {replies}\n{_describe(cp)}"
    return replies[node]


def control_text(env, node, method, *args, timeout=5):
    """`celery control <method> ...` in its human format; returns CompletedProcess."""
    cp = celery_cli(env, "control", method, *args, "-d", node, "-t", timeout)
    assert cp.returncode == 0, _describe(cp)
    return cp


def poll(what, fn, timeout, interval=0.25):
    """Call fn() until it returns a truthy value; fail with the last value after timeout."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = fn()
        if last:
            return last
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not seen within {timeout}s (last: {last!r})")
        time.sleep(interval)


def start_ops_worker(procs, redis_url, env, client, queue, name, label, extra=(), heartbeat=False):
    """Like conftest.start_worker; heartbeat=True drops the stand-in's --without-heartbeat
    (a Python worker sends no worker-online/heartbeat/offline without it)."""
    argv = worker_argv(redis_url, queue, name, extra)
    if heartbeat:
        argv = [a for a in argv if a != "--without-heartbeat"]
    proc = procs.start(label, argv, cwd=REPO, env=env, log_path=WORK / f"{label}.log")
    value = wait_for_task(client, proc, "tasks.add", (1, 2), queue.split(",")[0])
    assert value == 3, f"{label}: readiness probe tasks.add(1, 2) returned {value!r}"
    return Worker(proc, queue, name)


@pytest.fixture
def ops_worker(procs, redis_url, subprocess_env, celery_client):
    """Factory for this module's dedicated workers; each is stopped at test end."""
    started = []

    def start(queue, prefix, extra=(), heartbeat=False, env=None, url=None, client=None):
        worker = start_ops_worker(procs, url or redis_url, env or subprocess_env,
                                  client or celery_client, queue, f"{prefix}@%h", prefix,
                                  extra, heartbeat)
        worker.node = f"{prefix}@{HOST}"
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.proc.stop(timeout=WORKER_STOP_TIMEOUT)


def send(app, name, *args, queue="celery", **options):
    return app.send_task(name, args=list(args), queue=queue, **options)


def ids_in(entries, key=None):
    return {(e[key] if key else e)["id"] for e in entries}


# ---------------------------------------------------------------------------
# events
# ---------------------------------------------------------------------------

class EventLog:
    """A celery.events Receiver ({'*': handler}) capturing in a thread."""

    def __init__(self, app):
        self.app = app
        self.events = []            # (monotonic arrival, event dict)
        self.cond = threading.Condition()
        self.conn = app.connection_for_read()
        self.recv = app.events.Receiver(self.conn, handlers={"*": self._on_event})
        self.error = None
        self.thread = threading.Thread(target=self._run, name="event-receiver", daemon=True)

    def _on_event(self, event):
        with self.cond:
            self.events.append((time.monotonic(), event))
            self.cond.notify_all()

    def _run(self):
        try:
            self.recv.capture(limit=None, timeout=None, wakeup=False)
        except Exception as exc:  # noqa: BLE001 - reported by wait()
            self.error = exc

    def start(self):
        """Start capturing and return once the subscription is live (a probe event
        published by this process has come back)."""
        self.thread.start()
        probe_host = f"probe-{os.getpid()}@test"
        with self.app.events.default_dispatcher(hostname=probe_host) as dispatcher:
            deadline = time.monotonic() + 15
            while not self.select(lambda e: e.get("hostname") == probe_host):
                if self.error or time.monotonic() > deadline:
                    pytest.fail(f"event receiver never saw its own probe event ({self.error!r})")
                dispatcher.send("interop-probe")
                time.sleep(0.2)
        return self

    def stop(self):
        self.recv.should_stop = True
        self.thread.join(5)
        self.conn.release()

    def select(self, pred):
        with self.cond:
            return [(t, e) for t, e in self.events if pred(e)]

    def wait(self, what, pred, count=1, timeout=10.0):
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                found = [(t, e) for t, e in self.events if pred(e)]
                if len(found) >= count:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.error:
                    seen = [(e.get("type"), e.get("hostname"), e.get("uuid")) for _, e in self.events]
                    pytest.fail(f"events: {what}: {len(found)}/{count} within {timeout}s "
                                f"(receiver error {self.error!r}); seen: {seen[-40:]}")
                self.cond.wait(min(remaining, 0.5))


@pytest.fixture
def event_log(celery_client):
    log = EventLog(celery_client).start()
    yield log
    log.stop()


def of(node, type_=None, uuid=None):
    def pred(e):
        return (e.get("hostname") == node and (type_ is None or e.get("type") == type_)
                and (uuid is None or e.get("uuid") == uuid))
    return pred


# ---------------------------------------------------------------------------
# inspect (session worker swift@<host>, queue celery)
# ---------------------------------------------------------------------------

def test_inspect_ping_lists_the_worker(swift_worker, subprocess_env):
    # Broadcast (destination null): every node answers, the Swift one among them.
    cp = celery_cli(subprocess_env, "inspect", "ping", "-t", 3)
    assert cp.returncode == 0, _describe(cp)
    assert re.search(rf"->\s+{re.escape(SESSION_NODE)}: OK\s+pong", cp.stdout), _describe(cp)
    assert re.search(r"\d+ nodes? online\.", cp.stdout), _describe(cp)
    # Addressed to the node: exactly one reply, {"ok": "pong"}.
    cp = celery_cli(subprocess_env, "inspect", "ping", "-d", SESSION_NODE, "-t", 3)
    assert cp.returncode == 0, _describe(cp)
    assert re.search(rf"->\s+{re.escape(SESSION_NODE)}: OK\s+pong", cp.stdout), _describe(cp)
    assert "1 node online." in cp.stdout, _describe(cp)
    assert inspect_json(subprocess_env, SESSION_NODE, "ping") == {"ok": "pong"}
    # `celery status` is ping too.
    cp = celery_cli(subprocess_env, "status", "-d", SESSION_NODE, "-t", 3)
    assert cp.returncode == 0 and SESSION_NODE in cp.stdout, _describe(cp)


def test_inspect_ping_to_another_node_is_not_answered(swift_worker, subprocess_env):
    cp = celery_cli(subprocess_env, "inspect", "ping", "-d", f"nobody@{HOST}", "-t", 2)
    assert cp.returncode != 0 and SESSION_NODE not in cp.stdout, _describe(cp)


def test_inspect_stats(swift_worker, subprocess_env):
    stats = inspect_json(subprocess_env, SESSION_NODE, "stats")
    assert stats["pid"] == swift_worker.pid, stats
    assert isinstance(stats["total"], dict) and stats["total"].get("tasks.add", 0) >= 1, stats["total"]
    pool = stats["pool"]
    assert pool["max-concurrency"] == 4, pool
    assert stats["prefetch_count"] == 16, stats      # -c 4 x worker_prefetch_multiplier 4
    broker = stats["broker"]
    assert broker["hostname"] == "127.0.0.1" and broker["transport"] == "redis", broker
    assert isinstance(broker["port"], int), broker
    assert isinstance(stats["uptime"], (int, float)) and stats["uptime"] >= 0, stats
    assert "clock" in stats, stats


def test_inspect_registered_and_active_queues(swift_worker, subprocess_env):
    registered = inspect_json(subprocess_env, SESSION_NODE, "registered")
    assert isinstance(registered, list), registered
    for name in ("tasks.add", "tasks.sleep", "tasks.fail"):
        assert name in registered, registered
    queues = inspect_json(subprocess_env, SESSION_NODE, "active_queues")
    by_name = {q["name"]: q for q in queues}
    assert "celery" in by_name, queues
    assert by_name["celery"]["routing_key"] == "celery", by_name["celery"]
    assert by_name["celery"]["exchange"]["name"] == "celery", by_name["celery"]
    # the human format too
    cp = celery_cli(subprocess_env, "inspect", "registered", "-d", SESSION_NODE, "-t", 5)
    assert cp.returncode == 0 and "tasks.add" in cp.stdout, _describe(cp)


def test_inspect_conf_report_clock(swift_worker, subprocess_env):
    conf = inspect_json(subprocess_env, SESSION_NODE, "conf")
    assert isinstance(conf, dict) and conf, conf
    report = inspect_json(subprocess_env, SESSION_NODE, "report")
    assert isinstance(report, dict) and isinstance(report.get("ok"), str) and report["ok"], report
    clock = inspect_json(subprocess_env, SESSION_NODE, "clock")
    assert isinstance(clock.get("clock"), int) and clock["clock"] >= 0, clock
    later = inspect_json(subprocess_env, SESSION_NODE, "clock")["clock"]
    assert later >= clock["clock"], (clock, later)


def test_inspect_active_reserved_and_query_task(swift_worker, subprocess_env, celery_client):
    before = inspect_json(subprocess_env, SESSION_NODE, "stats")["total"].get("tasks.sleep", 0)
    # 6 s naps: the checks below take a few inspect round trips (about 3 s on a loaded 2-core
    # machine), and query_task must still find the first ones running.
    sleeps = [send(celery_client, "tasks.sleep", 6) for _ in range(5)]
    ours = {r.id for r in sleeps}

    def snapshot():
        active = [e for e in inspect_json(subprocess_env, SESSION_NODE, "active") if e["id"] in ours]
        reserved = [e for e in inspect_json(subprocess_env, SESSION_NODE, "reserved") if e["id"] in ours]
        if active and reserved and len(active) + len(reserved) == 5:
            return active, reserved
        return None

    active, reserved = poll("4 active + 1 reserved tasks.sleep(6) (-c 4)", snapshot, timeout=10)
    entry = active[0]
    assert entry["name"] == "tasks.sleep" and entry["args"] == [6] and entry["kwargs"] == {}, entry
    assert entry["hostname"] == SESSION_NODE, entry
    assert entry["acknowledged"] is True, entry
    assert isinstance(entry["time_start"], (int, float)), entry
    assert isinstance(entry["worker_pid"], int), entry
    assert entry["delivery_info"]["routing_key"] == "celery", entry
    for key in ("type", "delivery_info"):
        assert key in entry, entry
    # stats.total counts a task when it starts (worker_state.task_accepted), as Flower shows it
    during = inspect_json(subprocess_env, SESSION_NODE, "stats")["total"].get("tasks.sleep", 0)
    assert during - before >= len(active), f"stats total tasks.sleep {before} -> {during} with {len(active)} running"
    res = reserved[0]
    assert res["name"] == "tasks.sleep" and res["args"] == [6], res
    assert res["time_start"] is None, res
    # safe=True (what Flower asks for) gives the argsrepr strings instead
    safe = celery_client.control.inspect(destination=[SESSION_NODE], timeout=5).active(safe=True)
    safe_entries = [e for e in safe[SESSION_NODE] if e["id"] in ours]
    assert safe_entries and safe_entries[0]["args"] == "[6]" and safe_entries[0]["kwargs"] == "{}", safe_entries
    # query_task
    query = inspect_json(subprocess_env, SESSION_NODE, "query_task", active[0]["id"], reserved[0]["id"],
                         "00000000-0000-0000-0000-000000000000")
    assert query[active[0]["id"]][0] == "active", query
    assert query[active[0]["id"]][1]["name"] == "tasks.sleep", query
    assert query[reserved[0]["id"]][0] == "reserved", query
    assert "00000000-0000-0000-0000-000000000000" not in query, query
    assert [r.get(timeout=30) for r in sleeps] == [6] * 5


def test_inspect_scheduled_countdown_task(swift_worker, subprocess_env, celery_client):
    res = send(celery_client, "tasks.add", 4, 4, countdown=3)
    entries = poll("countdown task in inspect scheduled",
                   lambda: [e for e in inspect_json(subprocess_env, SESSION_NODE, "scheduled")
                            if e["request"]["id"] == res.id], timeout=5)
    entry = entries[0]
    assert isinstance(entry["eta"], str) and entry["eta"][:4].isdigit(), entry
    assert isinstance(entry["priority"], int), entry
    assert entry["request"]["name"] == "tasks.add" and entry["request"]["args"] == [4, 4], entry
    query = inspect_json(subprocess_env, SESSION_NODE, "query_task", res.id)
    assert query[res.id][0] == "scheduled", query
    assert res.get(timeout=10) == 8


# ---------------------------------------------------------------------------
# revoke (session worker)
# ---------------------------------------------------------------------------

def test_control_revoke_queued_task_never_runs(swift_worker, subprocess_env, celery_client, redis_client):
    res = send(celery_client, "tasks.add", 5, 5, countdown=3)
    poll("countdown task held by the worker",
         lambda: res.id in {e["request"]["id"] for e in inspect_json(subprocess_env, SESSION_NODE, "scheduled")},
         timeout=5)
    cp = control_text(subprocess_env, SESSION_NODE, "revoke", res.id)
    assert re.search(rf"->\s+{re.escape(SESSION_NODE)}: OK\s+tasks \{{'{res.id}'\}} flagged as revoked",
                     cp.stdout), _describe(cp)
    assert res.id in inspect_json(subprocess_env, SESSION_NODE, "revoked")
    time.sleep(4)                                   # past the countdown
    poll("REVOKED state", lambda: res.state == "REVOKED", timeout=5)
    with pytest.raises(TaskRevokedError):
        res.get(timeout=2)
    # the held message was acknowledged, not left behind
    unacked = [json.loads(v)[0]["headers"]["id"] for v in redis_client.hvals("unacked")]
    assert res.id not in unacked
    assert send(celery_client, "tasks.add", 5, 5).get(timeout=10) == 10


def test_control_terminate_running_task(swift_worker, subprocess_env, celery_client):
    # `celery control revoke` has no --terminate flag in Celery 5.7; `terminate <signal> <id>`
    # is the CLI's way (method "terminate" on the wire).
    res = send(celery_client, "tasks.sleep", 10)
    poll("tasks.sleep(10) active",
         lambda: res.id in ids_in(inspect_json(subprocess_env, SESSION_NODE, "active")), timeout=10)
    started = time.monotonic()
    cp = control_text(subprocess_env, SESSION_NODE, "terminate", "SIGTERM", res.id)
    assert re.search(rf"->\s+{re.escape(SESSION_NODE)}: OK\s+terminate: {res.id}", cp.stdout), _describe(cp)
    poll("REVOKED after terminate", lambda: res.state == "REVOKED", timeout=5, interval=0.1)
    assert time.monotonic() - started < 5
    with pytest.raises(TaskRevokedError):
        res.get(timeout=2)
    assert res.id not in ids_in(inspect_json(subprocess_env, SESSION_NODE, "active"))
    assert send(celery_client, "tasks.add", 6, 6).get(timeout=10) == 12


def test_api_revoke_terminate_running_task(swift_worker, celery_client):
    # app.control.revoke(id, terminate=True): method "revoke" with terminate=true on the wire.
    res = send(celery_client, "tasks.sleep", 10)
    poll("tasks.sleep(10) active",
         lambda: res.id in ids_in((celery_client.control.inspect(destination=[SESSION_NODE], timeout=3)
                                   .active() or {}).get(SESSION_NODE, [])), timeout=10)
    replies = celery_client.control.revoke(res.id, terminate=True, signal="SIGTERM", reply=True,
                                           destination=[SESSION_NODE], timeout=5)
    assert replies == [{SESSION_NODE: {"ok": f"terminate: {res.id}"}}], replies
    poll("REVOKED after revoke(terminate=True)", lambda: res.state == "REVOKED", timeout=5, interval=0.1)
    assert send(celery_client, "tasks.add", 7, 7).get(timeout=10) == 14


# ---------------------------------------------------------------------------
# control commands that change a worker (dedicated workers)
# ---------------------------------------------------------------------------

def test_control_rate_limit(ops_worker, subprocess_env, celery_client):
    worker = ops_worker("ops-rate", "swift-rate")
    started = time.monotonic()
    assert [r.get(timeout=20) for r in [send(celery_client, "tasks.add", i, 1, queue="ops-rate")
                                        for i in range(30)]] == [i + 1 for i in range(30)]
    baseline = time.monotonic() - started
    assert baseline < 2.0, f"30 tasks.add took {baseline:.2f}s without a rate limit"
    cp = control_text(subprocess_env, worker.node, "rate_limit", "tasks.add", "10/s")
    assert re.search(rf"->\s+{re.escape(worker.node)}: OK\s+new rate limit set successfully",
                     cp.stdout), _describe(cp)
    started = time.monotonic()
    results = [send(celery_client, "tasks.add", i, 2, queue="ops-rate") for i in range(30)]
    assert [r.get(timeout=30) for r in results] == [i + 2 for i in range(30)]
    elapsed = time.monotonic() - started
    assert elapsed >= 2.5, f"30 tasks.add at 10/s took only {elapsed:.2f}s"
    assert elapsed < 10, f"30 tasks.add at 10/s took {elapsed:.2f}s"
    # an unknown task name is an error reply, not a crash
    reply = control_json(subprocess_env, worker.node, "rate_limit", "no.such.task", "1/s")
    assert "error" in reply, reply
    assert reply["error"] == "unknown task", reply
    # "0" (a string from the CLI, truthy in Python) lifts the limit again
    assert control_json(subprocess_env, worker.node, "rate_limit", "tasks.add", "0") == \
        {"ok": "new rate limit set successfully"}
    started = time.monotonic()
    assert [r.get(timeout=20) for r in [send(celery_client, "tasks.add", i, 3, queue="ops-rate")
                                        for i in range(30)]] == [i + 3 for i in range(30)]
    assert time.monotonic() - started < 2.0, "the rate limit was not lifted by rate_limit tasks.add 0"
    worker.stop_and_check()


def test_control_add_and_cancel_consumer(ops_worker, subprocess_env, celery_client, redis_client):
    worker = ops_worker("ops-main", "swift-ops")
    extra = "ops-extra"
    redis_client.delete(extra)
    assert control_json(subprocess_env, worker.node, "add_consumer", extra) == {"ok": f"add consumer {extra}"}
    poll(f"{extra} in active_queues",
         lambda: extra in {q["name"] for q in inspect_json(subprocess_env, worker.node, "active_queues")},
         timeout=5)
    assert send(celery_client, "tasks.add", 10, 1, queue=extra).get(timeout=10) == 11
    assert control_json(subprocess_env, worker.node, "cancel_consumer", extra) == \
        {"ok": f"no longer consuming from {extra}"}
    poll(f"{extra} gone from active_queues",
         lambda: extra not in {q["name"] for q in inspect_json(subprocess_env, worker.node, "active_queues")},
         timeout=5)
    left = send(celery_client, "tasks.add", 10, 2, queue=extra)
    time.sleep(3)
    assert left.state == "PENDING", "a task on a cancelled queue was consumed"
    assert redis_client.llen(extra) == 1
    # the original queue is still served
    assert send(celery_client, "tasks.add", 10, 3, queue="ops-main").get(timeout=10) == 13
    redis_client.delete(extra)
    worker.stop_and_check()


def test_control_pool_grow_and_shrink(ops_worker, subprocess_env, celery_client):
    worker = ops_worker("ops-pool", "swift-pool")
    assert control_json(subprocess_env, worker.node, "pool_grow", 1) == {"ok": "pool will grow"}
    assert control_json(subprocess_env, worker.node, "pool_shrink", 1) == {"ok": "pool will shrink"}
    assert send(celery_client, "tasks.add", 20, 1, queue="ops-pool").get(timeout=10) == 21
    assert inspect_json(subprocess_env, worker.node, "ping") == {"ok": "pong"}
    worker.stop_and_check()


def test_control_shutdown_exits_zero(ops_worker, subprocess_env):
    worker = ops_worker("ops-shutdown", "swift-shutdown")
    # Python's worker does not reply to shutdown; a reply is allowed, so the CLI's exit
    # status is not checked here.
    celery_cli(subprocess_env, "control", "shutdown", "-d", worker.node, "-t", 2)
    try:
        rc = worker.proc.popen.wait(WORKER_STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{worker.proc.label} still running {WORKER_STOP_TIMEOUT}s after "
                    f"`celery control shutdown`\n{worker.proc.tail()}")
    assert rc == 0, f"exit {rc} after control shutdown\n{worker.proc.tail()}"


def test_conf_stats_report_hide_the_broker_password(ops_worker, procs, subprocess_env):
    secret = "s3cret-interop-pw"
    exe = shutil.which("redis-server") or "/usr/bin/redis-server"
    port = free_port()
    server = procs.start("redis-pw", [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no", "--requirepass", secret, "--dir", str(WORK)],
                         cwd=WORK, env=dict(os.environ), log_path=WORK / "redis-pw.log")
    url = f"redis://:{secret}@127.0.0.1:{port}/0"
    probe = redis.Redis.from_url(url)
    poll("password redis up", lambda: _pings(probe), timeout=10)
    probe.close()
    env = dict(subprocess_env, CELERY_BROKER_URL=url, CELERY_RESULT_BACKEND=url)
    client = Celery("pw_client", broker=url, backend=url)
    client.conf.update(accept_content=["json"], result_accept_content=["json"])
    try:
        worker = ops_worker("ops-pw", "swift-pw", env=env, url=url, client=client)
        for method in ("conf", "stats", "report"):
            cp = celery_cli(env, "inspect", method, "-d", worker.node, "-t", 5, "--json")
            assert cp.returncode == 0 and worker.node in cp.stdout, _describe(cp)
            assert secret not in cp.stdout, f"inspect {method} leaks the broker password:\n{cp.stdout}"
        worker.stop_and_check()
    finally:
        client.close()
        server.stop(timeout=5)


def _pings(client):
    try:
        return client.ping()
    except redis.exceptions.ConnectionError:
        return False


# ---------------------------------------------------------------------------
# events
# ---------------------------------------------------------------------------

def test_events_worker_and_task_lifecycle(ops_worker, event_log, celery_client):
    worker = ops_worker("ops-ev", "swift-ev", extra=["-E"], heartbeat=True)
    node = worker.node
    _, online = event_log.wait("worker-online", of(node, "worker-online"), timeout=10)[0]
    for key in ("hostname", "utcoffset", "pid", "clock", "freq", "active", "processed", "loadavg",
                "sw_ident", "sw_ver", "sw_sys", "timestamp", "type"):
        assert key in online, (key, online)
    assert online["pid"] == worker.pid, online
    assert online["freq"] == 2.0, online
    assert isinstance(online["clock"], int) and isinstance(online["timestamp"], float), online
    assert len(online["loadavg"]) == 3, online

    beats = event_log.wait("3 worker-heartbeats", of(node, "worker-heartbeat"), count=3, timeout=10)
    arrivals = [t for t, _ in beats]
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:])]
    assert all(1.0 <= g <= 3.5 for g in gaps), f"heartbeat gaps {gaps}"
    stamps = [e["timestamp"] for _, e in beats]
    assert all(1.0 <= b - a <= 3.5 for a, b in zip(stamps, stamps[1:])), f"heartbeat timestamps {stamps}"
    for _, beat in beats:
        assert beat["freq"] == 2.0 and beat["pid"] == worker.pid, beat
        assert isinstance(beat["active"], int) and isinstance(beat["processed"], int), beat

    ok = send(celery_client, "tasks.add", 2, 3, queue="ops-ev")
    assert ok.get(timeout=10) == 5
    event_log.wait("task-succeeded", of(node, "task-succeeded", ok.id), timeout=5)
    lifecycle = [e for _, e in event_log.select(of(node, uuid=ok.id))]
    assert [e["type"] for e in lifecycle] == ["task-received", "task-started", "task-succeeded"], lifecycle
    received, started, succeeded = lifecycle
    assert received["name"] == "tasks.add", received
    assert received["args"] == "[2, 3]" and received["kwargs"] == "{}", received
    assert received["retries"] == 0 and received["root_id"] == ok.id, received
    assert succeeded["result"] == "5", succeeded
    assert isinstance(succeeded["runtime"], float) and 0 <= succeeded["runtime"] < 5, succeeded
    assert received["clock"] < started["clock"] < succeeded["clock"], lifecycle

    bad = send(celery_client, "tasks.fail", "boom", queue="ops-ev")
    with pytest.raises(ValueError):
        bad.get(timeout=10)
    _, failed = event_log.wait("task-failed", of(node, "task-failed", bad.id), timeout=5)[0]
    assert failed["exception"] == "ValueError('boom')", failed
    assert "ValueError" in (failed.get("traceback") or ""), failed

    # revoke(terminate=True) of a running task -> task-revoked(terminated, signum 15)
    long = send(celery_client, "tasks.sleep", 10, queue="ops-ev")
    event_log.wait("task-started of tasks.sleep(10)", of(node, "task-started", long.id), timeout=5)
    celery_client.control.revoke(long.id, terminate=True, destination=[node])
    _, revoked = event_log.wait("task-revoked", of(node, "task-revoked", long.id), timeout=5)[0]
    assert revoked["terminated"] is True and revoked["signum"] == 15 and revoked["expired"] is False, revoked
    # a revoked countdown task -> task-revoked(terminated False) when it is discarded
    held = send(celery_client, "tasks.add", 1, 1, queue="ops-ev", countdown=1)
    event_log.wait("task-received of the countdown task", of(node, "task-received", held.id), timeout=5)
    celery_client.control.revoke(held.id, destination=[node])
    _, discarded = event_log.wait("task-revoked (countdown)", of(node, "task-revoked", held.id), timeout=6)[0]
    assert discarded["terminated"] is False and discarded["expired"] is False, discarded
    assert not event_log.select(of(node, "task-started", held.id)), "the revoked countdown task started"

    processed_before = beats[-1][1]["processed"]
    later = event_log.wait("a heartbeat after the tasks", lambda e: of(node, "worker-heartbeat")(e)
                           and e["processed"] > processed_before, timeout=6)
    assert later

    worker.stop_and_check()
    _, offline = event_log.wait("worker-offline", of(node, "worker-offline"), timeout=5)[0]
    assert offline["pid"] == worker.pid, offline


def test_control_enable_and_disable_events(ops_worker, event_log, subprocess_env, celery_client):
    worker = ops_worker("ops-evctl", "swift-evctl", heartbeat=True)    # no -E
    node = worker.node
    event_log.wait("worker-online", of(node, "worker-online"), timeout=10)
    quiet = send(celery_client, "tasks.add", 1, 1, queue="ops-evctl")
    assert quiet.get(timeout=10) == 2
    time.sleep(1)
    assert not event_log.select(of(node, uuid=quiet.id)), "task events without -E"

    reply = control_json(subprocess_env, node, "enable_events")
    assert reply.get("ok") in ("task events enabled", "task events already enabled"), reply
    loud = send(celery_client, "tasks.add", 2, 2, queue="ops-evctl")
    assert loud.get(timeout=10) == 4
    event_log.wait("task-succeeded after enable_events", of(node, "task-succeeded", loud.id), timeout=5)

    reply = control_json(subprocess_env, node, "disable_events")
    assert reply == {"ok": "task events disabled"}, reply
    quiet2 = send(celery_client, "tasks.add", 3, 3, queue="ops-evctl")
    assert quiet2.get(timeout=10) == 6
    time.sleep(1.5)
    assert not event_log.select(of(node, uuid=quiet2.id)), "task events after disable_events"
    # worker events continue
    n = len(event_log.select(of(node, "worker-heartbeat")))
    event_log.wait("heartbeats continue", of(node, "worker-heartbeat"), count=n + 1, timeout=5)
    worker.stop_and_check()


# ---------------------------------------------------------------------------
# Flower
# ---------------------------------------------------------------------------

def test_flower_sees_the_worker_and_its_tasks(ops_worker, procs, subprocess_env, celery_client):
    port = free_port()
    env = dict(subprocess_env, FLOWER_UNAUTHENTICATED_API="true")
    base = [str(CELERY_EXE)] if CELERY_EXE.is_file() else [PY, "-m", "celery"]
    flower = procs.start("flower", base + ["--workdir", str(INTEROP), "-A", "ops_app", "flower",
                                           f"--port={port}", "--address=127.0.0.1",
                                           # Flower drops a worker's key when its reply misses this
                                           # window; a loaded 2-core CI box needs more than 1 s.
                                           "--inspect_timeout=5000"],
                         cwd=INTEROP, env=env, log_path=WORK / "flower.log")
    try:
        wait_for_port(port, flower, timeout=30)
        url = f"http://127.0.0.1:{port}"
        worker = ops_worker("ops-fl", "swift-fl", extra=["-E"], heartbeat=True)
        node = worker.node
        with httpx.Client(base_url=url, timeout=15) as http:
            def workers(**params):
                r = http.get("/api/workers", params=params)
                assert r.status_code == 200, (r.status_code, r.text)
                return r.json()

            def complete_entry():
                entry = workers(refresh=1).get(node) or {}
                # Flower fills each key from its own inspect call; wait until all three answered.
                return entry if all(k in entry for k in ("stats", "registered", "active_queues")) else None

            info = poll("worker in /api/workers?refresh=1 with stats, registered and active_queues",
                        complete_entry, timeout=20, interval=0.5)
            assert info["stats"]["pid"] == worker.pid, info["stats"]
            assert "tasks.add" in info["registered"], info["registered"]
            assert "ops-fl" in {q["name"] for q in info["active_queues"]}, info["active_queues"]
            keys = ("stats", "registered", "active_queues", "scheduled", "active", "reserved",
                    "revoked", "conf")
            poll("every inspect key for one worker",
                 lambda: all(k in (workers(refresh=1, workername=node).get(node) or {}) for k in keys),
                 timeout=20, interval=0.5)
            poll("worker alive in /api/workers?status=1", lambda: workers(status=1).get(node) is True,
                 timeout=10, interval=0.5)

            ok = send(celery_client, "tasks.add", 20, 22, queue="ops-fl")
            bad = send(celery_client, "tasks.fail", "boom", queue="ops-fl")
            assert ok.get(timeout=10) == 42

            def task(task_id, state):
                t = http.get("/api/tasks").json().get(task_id)
                return t if t and t.get("state") == state else None

            t = poll("SUCCESS task in /api/tasks", lambda: task(ok.id, "SUCCESS"), timeout=10)
            assert t["name"] == "tasks.add" and t["result"] == "42" and t["worker"] == node, t
            assert isinstance(t["runtime"], float) and t["runtime"] >= 0, t
            assert t["args"] == "[20, 22]", t
            f = poll("FAILURE task in /api/tasks", lambda: task(bad.id, "FAILURE"), timeout=10)
            assert f["exception"] == "ValueError('boom')", f

            r = http.get(f"/api/task/info/{ok.id}")
            assert r.status_code == 200, r.text
            detail = r.json()
            assert detail.get("uuid", detail.get("task-id")) == ok.id and detail["state"] == "SUCCESS", detail
            assert detail["result"] == "42" and detail["worker"] == node, detail
            assert isinstance(detail["runtime"], float), detail

            r = http.get("/workers")
            assert r.status_code == 200 and node in r.text, r.text[:2000]

        shot = os.environ.get("FLOWER_SCREENSHOT")
        chromium = shutil.which("chromium")
        if shot and chromium:
            Path(shot).parent.mkdir(parents=True, exist_ok=True)
            cp = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu",
                                 "--hide-scrollbars", "--virtual-time-budget=5000",
                                 f"--screenshot={shot}", "--window-size=1400,900", f"{url}/workers"],
                                capture_output=True, text=True, timeout=90)
            assert cp.returncode == 0 and Path(shot).is_file(), cp.stderr[-2000:]
        worker.stop_and_check()
    finally:
        flower.stop(timeout=5)
