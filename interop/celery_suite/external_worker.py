"""pytest plugin + fixture overrides that point celery's integration suite at
an external worker process instead of the in-process one.

run.py loads this module twice over:

* as a plugin (``-p external_worker``) for its hooks: per-test timeout,
  result recording;
* from the extracted ``t/integration/conftest.py``, to which run.py appends
  ``from external_worker import *``, so that the fixtures below replace the
  conftest's ``celery_session_worker`` (imported there from
  ``celery.contrib.pytest``) and ``manager``.  Fixtures defined in a conftest
  beat those of plugins, hence the import rather than the plugin alone.

Everything is configured by INTEROP_* environment variables set by run.py.
"""
import json
import logging
import os
import signal
import sys
import time
from pathlib import Path

import pytest

from celery.contrib.testing.manager import Manager

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / 'tools' / 'py'))
from celery_testkit.procs import Proc, ProcError  # noqa: E402

__all__ = ('celery_session_worker', 'manager', 'interop_external_worker_started')

logger = logging.getLogger(__name__)

PROBE_TASK = 't.integration.tasks.add'


def _env(name, default=None):
    return os.environ.get(name, default)


def _write_json(path, data):
    if path:
        tmp = path + '.tmp'
        with open(tmp, 'w') as fh:
            json.dump(data, fh, indent=2)
        os.replace(tmp, path)


class ExternalWorker:
    """A worker command started in its own session (process group), its output appended
    to INTEROP_WORKER_LOG."""

    def __init__(self):
        # `{nodename}` becomes this pytest process's anon_nodename(): the node name Celery's
        # in-process test worker would have, which test_inspect.py looks its replies up by.
        from celery.utils.nodenames import anon_nodename
        self.argv = [arg.replace('{nodename}', anon_nodename()) for arg in json.loads(_env('INTEROP_WORKER_ARGV'))]
        self.cwd = _env('INTEROP_WORKER_CWD') or None
        self.log_path = _env('INTEROP_WORKER_LOG')
        self.pid_path = _env('INTEROP_WORKER_PIDFILE')
        self.info_path = _env('INTEROP_WORKER_INFO')
        self.startup_timeout = float(_env('INTEROP_STARTUP_TIMEOUT', '60'))
        self.stop_timeout = float(_env('INTEROP_STOP_TIMEOUT', '30'))
        self.proc = None
        self.info = {'argv': self.argv, 'cwd': self.cwd, 'log': self.log_path}

    def _save(self):
        _write_json(self.info_path, self.info)

    def start(self):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(('PYTEST_', 'INTEROP_'))}
        self.t0 = time.monotonic()
        try:
            self.proc = Proc('external-worker', self.argv, self.log_path, cwd=self.cwd or os.getcwd(),
                             env=env)
        except ProcError as exc:
            cause = exc.__cause__ or exc
            self.info['start_error'] = repr(cause)
            self._save()
            raise RuntimeError(f'could not start worker {self.argv!r}: {cause!r}') from exc
        self.proc.close()  # the worker has the log open; nothing more is written from here
        self.info['pid'] = self.proc.pid
        if self.pid_path:
            with open(self.pid_path, 'w') as fh:
                json.dump({'pid': self.proc.pid, 'argv': self.argv}, fh)
        self._save()

    def wait_ready(self, app):
        """Send add(20, 22) and wait until a result is stored for it."""
        from celery.exceptions import TimeoutError as CeleryTimeoutError
        deadline = self.t0 + self.startup_timeout
        res = app.send_task(PROBE_TASK, args=(20, 22))
        try:
            while True:
                if not self.proc.alive():
                    self.info['exit_code_before_ready'] = self.proc.returncode
                    self._save()
                    raise RuntimeError(
                        f'worker exited with code {self.proc.returncode} before answering '
                        f'{PROBE_TASK}(20, 22)\n{self.proc.tail(25)}')
                try:
                    value = res.get(timeout=min(1.0, max(0.05, deadline - time.monotonic())),
                                    propagate=False)
                except CeleryTimeoutError:
                    value = None
                if res.ready():
                    if res.successful() and value == 42:
                        break
                    raise RuntimeError(
                        f'worker answered {PROBE_TASK}(20, 22) with state {res.state} '
                        f'and result {value!r} (expected SUCCESS 42)')
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f'worker did not answer {PROBE_TASK}(20, 22) within '
                        f'{self.startup_timeout:.0f}s\n{self.proc.tail(25)}')
        finally:
            try:
                res.forget()
            except Exception:  # pragma: no cover - cleanup only
                pass
        self.info['ready_after_s'] = round(time.monotonic() - self.t0, 3)
        self._save()

    def stop(self):
        """SIGTERM the worker; SIGKILL its process group after stop_timeout."""
        if self.proc is None:
            return
        info = self.info
        if not self.proc.alive():
            info['exited_before_stop'] = True
            info['exit_code'] = self.proc.returncode
        else:
            t = time.monotonic()
            self.proc.send(signal.SIGTERM)
            code = self.proc.wait(self.stop_timeout)
            info['stopped_by_sigterm'] = code is not None
            if code is None:
                self.proc.kill_group()
                code = self.proc.wait(10)
                info['killed'] = True
            info['exit_code'] = code
            info['stop_took_s'] = round(time.monotonic() - t, 3)
        # Leftover members of the worker's own process group (pool children).
        if self.proc.kill_group():
            info['group_leftovers_killed'] = True
        if self.pid_path:
            try:
                os.unlink(self.pid_path)
            except OSError:
                pass
        self._save()


@pytest.fixture(scope='session')
def celery_session_worker(
    request,
    celery_session_app,
    celery_includes,
    celery_class_tasks,
    celery_worker_pool,
    celery_worker_parameters,
):
    """Replaces celery.contrib.pytest's in-process session worker."""
    # Same client-side registrations as the upstream fixture.
    for module in celery_includes:
        celery_session_app.loader.import_task_module(module)
    for class_task in celery_class_tasks:
        celery_session_app.register_task(class_task)
    # Start from an empty task queue (e.g. a probe left by an earlier run).
    with celery_session_app.connection() as connection:
        while celery_session_app.control.purge(connection=connection):
            pass
    worker = ExternalWorker()
    worker.start()
    try:
        worker.wait_ready(celery_session_app)
        yield worker
    finally:
        worker.stop()


@pytest.fixture(autouse=True)
def interop_external_worker_started(celery_session_worker):
    """Start the worker for every selected test, not only for those that
    request ``manager``/``celery_session_worker`` (a few send tasks without)."""
    yield


def _wait_until_idle(manager):
    """Upstream Manager.wait_until_idle, minus the inspect step when the
    worker has no pidbox (it would wait 1 s and fail on every test)."""
    if _env('INTEROP_PIDBOX', '0') == '1':
        manager.wait_until_idle()
        return
    with manager.app.connection() as connection:
        while manager.app.control.purge(connection=connection):
            pass


@pytest.fixture
def manager(app, celery_session_worker):
    manager = Manager(app)
    yield manager
    try:
        _wait_until_idle(manager)
    except Exception as e:
        logger.warning("Failed to stop Celery test manager cleanly: %s", e)


# ---------------------------------------------------------------- plugin hooks

def pytest_collection_modifyitems(config, items):
    """Force the harness's per-test timeout over the suite's own
    @pytest.mark.timeout(300/60/20) marks (longer for catalog.SLOW tests)."""
    seconds = _env('INTEROP_TEST_TIMEOUT')
    if not seconds:
        return
    slow = json.loads(_env('INTEROP_SLOW_TESTS', '{}'))
    for item in items:
        t = max(float(seconds), float(slow.get(item.nodeid.split('[', 1)[0], 0)))
        item.add_marker(pytest.mark.timeout(t), append=False)


def _message(report):
    lr = report.longrepr
    if lr is None:
        return ''
    if isinstance(lr, tuple) and len(lr) == 3:  # skip: (path, lineno, reason)
        return str(lr[2])
    crash = getattr(lr, 'reprcrash', None)
    if crash is not None and getattr(crash, 'message', None):
        return crash.message
    return str(lr).strip().splitlines()[-1] if str(lr).strip() else ''


def pytest_runtest_logreport(report):
    path = _env('INTEROP_RESULTS')
    if not path:
        return
    rec = {
        'nodeid': report.nodeid,
        'when': report.when,
        'outcome': report.outcome,
        'duration': round(getattr(report, 'duration', 0.0), 3),
        'wasxfail': getattr(report, 'wasxfail', None),
        'subtest': getattr(report, 'context', None) is not None,
        'message': _message(report)[:2000],
    }
    with open(path, 'a') as fh:
        fh.write(json.dumps(rec) + '\n')
