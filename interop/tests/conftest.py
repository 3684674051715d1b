"""Session fixtures for the swift-celery interop suite.

Environment:
  REDIS_URL            use this Redis (db is FLUSHDB'd at session start);
                       unset -> a private redis-server on a free loopback port.
  SWIFT_CELERY_BIN     directory holding `interop-worker` and `swift-celery`
                       (default <repo>/.build/debug; relative paths are
                       resolved against the repo root).
  INTEROP_WORKER_CMD   replace the Swift worker command.  A template with
                       {python} {interop} {repo} {bin} {broker} {backend}
                       {queue} {name} placeholders, or `python-standin` for the
                       Python stand-in (interop/pyworker/all_tasks.py).
  INTEROP_CLI_CMD      replace `<bin>/swift-celery` (template as above, the
                       `call ...` arguments are appended), or `python-standin`.
  INTEROP_WORK_DIR     where logs go (default interop/.work): one directory
                       per run under runs/, `latest` links to the newest.
"""
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from celery.exceptions import TimeoutError as CeleryTimeout

INTEROP = Path(__file__).resolve().parents[1]
REPO = INTEROP.parent
sys.path.insert(0, str(REPO / "tools" / "py"))
from celery_testkit import results  # noqa: E402
from celery_testkit.celery_apps import add_basic_tasks, make_app  # noqa: E402
from celery_testkit.procs import PY, Procs, free_port, swift_bin, wait_for_port, wait_ready  # noqa: E402

WORK_ROOT = Path(os.environ.get("INTEROP_WORK_DIR") or INTEROP / ".work")
# One log directory per run (concurrent runs must not share log files);
# <WORK_ROOT>/latest points at the newest, only the last 5 runs are kept.
WORK = WORK_ROOT / "runs" / f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
BIN = swift_bin()

STANDIN_WORKER_CMD = (
    "{python} -m celery --workdir {interop}/pyworker -A all_tasks worker "
    "-P prefork -c 4 -Q {queue} -n {name} --loglevel INFO "
    "--without-gossip --without-mingle --without-heartbeat"
)
STANDIN_CLI_CMD = "{python} {interop}/pyworker/standin_cli.py"

WORKER_READY_TIMEOUT = 30.0
WORKER_STOP_TIMEOUT = 15.0


@pytest.fixture(scope="session")
def procs():
    """Safety net: every subprocess started by the suite dies at session end.  Logs go to
    WORK/<label>.log, truncated when a process of the same label starts again."""
    WORK.mkdir(parents=True, exist_ok=True)
    latest = WORK_ROOT / "latest"
    try:
        if latest.is_symlink() or latest.exists():
            latest.unlink()
        latest.symlink_to(WORK.relative_to(WORK_ROOT))
    except OSError:
        pass
    for old in sorted((WORK_ROOT / "runs").iterdir())[:-5]:
        shutil.rmtree(old, ignore_errors=True)
    registry = Procs(WORK, append=False, tail_lines=60)
    yield registry
    registry.stop_all()


# ---------------------------------------------------------------------------
# Redis
# ---------------------------------------------------------------------------

@pytest.fixture(scope="session")
def redis_url(procs):
    url = os.environ.get("REDIS_URL")
    private = None
    if not url:
        exe = shutil.which("redis-server") or "/usr/bin/redis-server"
        port = free_port()
        private = procs.start(
            "redis-server",
            [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(WORK)],
            cwd=WORK, env=dict(os.environ), log_path=WORK / "redis-server.log")
        url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.exceptions.ConnectionError:
            if private is not None:
                private.check_alive()
            if time.monotonic() > deadline:
                pytest.fail(f"Redis at {url} not reachable after 10s")
            time.sleep(0.1)
    client.flushdb()
    client.close()
    yield url
    if private is not None:
        private.stop(timeout=5)


@pytest.fixture(scope="session")
def redis_client(redis_url):
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture(scope="session")
def subprocess_env(redis_url):
    env = dict(os.environ)
    env.update(CELERY_BROKER_URL=redis_url, CELERY_RESULT_BACKEND=redis_url,
               PYTHONUNBUFFERED="1", PYTHONDONTWRITEBYTECODE="1")
    return env


# ---------------------------------------------------------------------------
# Python Celery client (stands in for any Python producer)
# ---------------------------------------------------------------------------

@pytest.fixture(scope="session")
def celery_client(redis_url):
    # Client-side signatures only; the bodies never run here.
    app = add_basic_tasks(make_app("interop_client", broker=redis_url, backend=redis_url), tag="client")
    yield app
    app.close()


def wait_results(app, async_results, timeout, watch=()):
    """Poll the result backend (MGET of the meta keys, decoded by Celery)
    until every task is SUCCESS/FAILURE.  Returns {task_id: meta}; fails the
    test with a summary if some are still missing at the deadline, or as soon
    as one of the ``watch`` processes (Proc) has exited."""
    backend = app.backend
    ids = [r.id for r in async_results]
    done = results.wait_results(backend.client, ids, timeout, watch, poll=0.2,
                                key=backend.get_key_for_task, decode=backend.decode_result)
    if len(done) == len(ids):
        return done
    for proc in watch:
        if not proc.alive():
            pytest.fail(f"{proc.label} exited (code {proc.popen.returncode}) with "
                        f"{len(done)}/{len(ids)} results in\n{proc.tail()}")
    pytest.fail(f"only {len(done)}/{len(ids)} results arrived within {timeout}s")


def get_stored(result, timeout):
    """``result.get(timeout)``; when Celery's client times out on a result the worker has stored,
    the stored value, with a warning. Celery's ResultConsumer subscribes to the result's channel
    and GETs the key on two connections: a result stored and published in the instant between
    Redis reading the GET and reading the SUBSCRIBE is never seen by ``get()`` (met once, on a
    chord whose body finished 15 ms after ``apply``). What the test asserts, the value the worker
    stored, is still read from Redis; a missing or failed result still fails."""
    try:
        return result.get(timeout=timeout)
    except CeleryTimeout:
        meta = result.backend._get_task_meta_for(result.id)
        if meta.get("status") != "SUCCESS":
            raise
        import warnings
        warnings.warn(f"Celery's client missed the notification of {result.id}; read the stored result")
        return meta["result"]


def wait_for_task(app, proc, name, args, queue, timeout=WORKER_READY_TIMEOUT):
    """Send ``name(*args)`` to ``queue`` and wait for its result while
    checking that ``proc`` stays alive."""
    res = app.send_task(name, args=list(args), queue=queue)
    deadline = time.monotonic() + timeout
    while True:
        proc.check_alive()
        try:
            return res.get(timeout=0.5)
        except CeleryTimeout:
            if time.monotonic() > deadline:
                pytest.fail(f"{proc.label}: no result for {name}{tuple(args)} on "
                            f"queue {queue!r} within {timeout}s\n{proc.tail()}")


# ---------------------------------------------------------------------------
# Swift worker (or a stand-in) and Swift CLI
# ---------------------------------------------------------------------------

def _template_vars(redis_url, **extra):
    return dict(python=PY, interop=INTEROP, repo=REPO, bin=BIN,
                broker=redis_url, backend=redis_url, **extra)


def worker_argv(redis_url, queue, name, extra=()):
    template = os.environ.get("INTEROP_WORKER_CMD", "").strip()
    if template:
        if template == "python-standin":
            template = STANDIN_WORKER_CMD
        return shlex.split(template.format(**_template_vars(redis_url, queue=queue, name=name))) + list(extra)
    exe = BIN / "interop-worker"
    if not exe.is_file():
        pytest.fail(f"Swift worker binary not found: {exe}\n"
                    "Build it (`swift build`), or set SWIFT_CELERY_BIN, "
                    "or INTEROP_WORKER_CMD=python-standin to validate the suite.")
    return [str(exe), "worker", "--broker", redis_url, "--backend", redis_url,
            "-Q", queue, "-c", "4", "-n", name, "--loglevel", "INFO", *extra]


def cli_argv(redis_url):
    template = os.environ.get("INTEROP_CLI_CMD", "").strip()
    if template:
        if template == "python-standin":
            template = STANDIN_CLI_CMD
        return shlex.split(template.format(**_template_vars(redis_url)))
    exe = BIN / "swift-celery"
    if not exe.is_file():
        pytest.fail(f"Swift CLI binary not found: {exe}\n"
                    "Build it (`swift build`) or set SWIFT_CELERY_BIN.")
    return [str(exe)]


class Worker:
    def __init__(self, proc, queue, name):
        self.proc = proc
        self.queue = queue
        self.name = name

    @property
    def pid(self):
        return self.proc.pid

    def log_text(self):
        return self.proc.log_text()

    def stop_and_check(self):
        if not self.proc.alive():
            self.proc.stop(timeout=0)
            pytest.fail(f"{self.proc.label} had already exited with code "
                        f"{self.proc.popen.returncode} before SIGTERM\n{self.proc.tail()}")
        rc, in_time = self.proc.stop(timeout=WORKER_STOP_TIMEOUT)
        assert in_time, (f"{self.proc.label} did not exit within "
                         f"{WORKER_STOP_TIMEOUT}s of SIGTERM\n{self.proc.tail()}")
        assert rc == 0, f"{self.proc.label} exited with {rc} after SIGTERM\n{self.proc.tail()}"


def start_worker(procs, redis_url, env, client, queue, name, label, extra=()):
    argv = worker_argv(redis_url, queue, name, extra)
    proc = procs.start(label, argv, cwd=REPO, env=env, log_path=WORK / f"{label}.log")
    value = wait_for_task(client, proc, "tasks.add", (1, 2), queue.split(",")[0])
    assert value == 3, f"{label}: readiness probe tasks.add(1, 2) returned {value!r}"
    return Worker(proc, queue, name)


@pytest.fixture(scope="session")
def swift_worker(procs, redis_url, subprocess_env, celery_client):
    """The Swift worker consuming `celery` for the whole session.  On teardown
    it gets SIGTERM and must exit 0 within 15 s."""
    worker = start_worker(procs, redis_url, subprocess_env, celery_client,
                          "celery", "swift@%h", "swift-worker")
    yield worker
    worker.stop_and_check()


@pytest.fixture(scope="session")
def worker_log(swift_worker):
    """Function returning the session Swift worker's log text so far."""
    return swift_worker.log_text


@pytest.fixture
def extra_worker(procs, redis_url, subprocess_env, celery_client):
    """Factory for additional Swift workers; they are stopped at test end."""
    started = []

    def start(queue, name, label, extra=()):
        worker = start_worker(procs, redis_url, subprocess_env, celery_client,
                              queue, name, label, extra)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.proc.stop(timeout=WORKER_STOP_TIMEOUT)


@pytest.fixture(scope="session")
def swift_cli(redis_url, subprocess_env):
    """Function running `swift-celery <args...>`; returns CompletedProcess."""
    def run(*args, timeout=60, input=None):
        argv = cli_argv(redis_url) + [str(a) for a in args]
        try:
            if input is not None:
                cp = subprocess.run(argv, cwd=str(REPO), env=subprocess_env, input=input,
                                    capture_output=True, timeout=timeout)
                return subprocess.CompletedProcess(cp.args, cp.returncode, cp.stdout.decode("utf-8", "replace"),
                                                   cp.stderr.decode("utf-8", "replace"))
            return subprocess.run(argv, cwd=str(REPO), env=subprocess_env,
                                  capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            pytest.fail(f"{shlex.join(argv)} did not finish within {timeout}s: {exc}")
    return run


# ---------------------------------------------------------------------------
# Python Celery workers (interop/pyworker/tasks.py)
# ---------------------------------------------------------------------------

@pytest.fixture(scope="session")
def python_worker(procs, subprocess_env):
    """Factory: python_worker(queue) starts (once per queue) a Python Celery
    worker running interop/pyworker/tasks.py and waits until it is ready."""
    started = {}

    def start(queue):
        if queue in started and started[queue].alive():
            return started[queue]
        argv = [PY, "-m", "celery", "-A", "tasks", "worker", "-P", "solo", "-c", "1",
                "-Q", queue, "--without-gossip", "--without-mingle",
                "--without-heartbeat", "-n", f"py-{queue}@%h", "--loglevel", "INFO"]
        proc = procs.start(f"py-worker-{queue}", argv, cwd=INTEROP / "pyworker",
                           env=subprocess_env, log_path=WORK / f"py-worker-{queue}.log")
        wait_ready(proc, timeout=WORKER_READY_TIMEOUT, pattern=r"@\S+ ready\.")
        started[queue] = proc
        return proc

    yield start
    for proc in started.values():
        proc.stop(timeout=WORKER_STOP_TIMEOUT)


# ---------------------------------------------------------------------------
# Web apps
# ---------------------------------------------------------------------------

WEB_APPS = {
    "fastapi": (INTEROP / "fastapi_app", lambda port: [
        PY, "-m", "uvicorn", "main:app", "--host", "127.0.0.1", "--port", str(port),
        "--log-level", "warning"]),
    "flask": (INTEROP / "flask_app", lambda port: [
        PY, "-m", "flask", "--app", "my_app", "run", "--host", "127.0.0.1",
        "--port", str(port), "--no-reload", "--no-debugger"]),
    "django": (INTEROP / "django_app", lambda port: [
        PY, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"]),
}


@pytest.fixture(scope="session")
def web_app(procs, subprocess_env):
    """Factory: web_app("fastapi"|"flask"|"django") -> base URL (started once)."""
    started = {}

    def start(kind):
        if kind not in started:
            cwd, argv = WEB_APPS[kind]
            port = free_port()
            proc = procs.start(f"web-{kind}", argv(port), cwd=cwd, env=subprocess_env,
                               log_path=WORK / f"web-{kind}.log")
            wait_for_port(port, proc)
            started[kind] = (proc, f"http://127.0.0.1:{port}")
        proc, url = started[kind]
        proc.check_alive()
        return url

    yield start
    for proc, _ in started.values():
        proc.stop(timeout=5)
