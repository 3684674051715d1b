#!/usr/bin/env python3
"""Run celery 5.7.0's own integration tests (t/integration) against an
EXTERNAL worker process.

    .venv/bin/python interop/celery_suite/run.py \\
        --worker-cmd "<cmd>" --redis-url redis://127.0.0.1:6379/0 \\
        [--tests test_tasks.py::test_basic_task ...] [--all-judgeable] [--pidbox]

What it does:
 1. fetches the celery 5.7.0 sdist with pip (cached in interop/.work/sdist-cache)
    and extracts t/__init__.py, t/skip.py, t/canvas_helpers.py and
    t/integration/ into interop/.work/celery-suite/;
 2. appends one import to the extracted t/integration/conftest.py so that
    external_worker.py's fixtures replace the in-process session worker
    (celery_session_worker) and the manager fixture; the session worker
    fixture starts --worker-cmd, waits until it answers
    t.integration.tasks.add(20, 22), and stops it with SIGTERM at the end;
 3. runs the selected tests with pytest (per-test timeout) and prints
    ``PASS|FAIL|NOT-JUDGEABLE <nodeid> [reason]`` lines, then ``N passed, N failed``;
    writes interop/.work/celery-suite/report.json.  Exit status 1 if a selected
    test failed.

Placeholders usable in --worker-cmd: {nodename} (the pytest process's anon_nodename(),
which test_inspect.py expects as the worker's name) {broker} {backend} {repo} {suite}
{harness} {python} {venv_bin}.  The worker also gets TEST_BROKER,
TEST_BACKEND, CELERY_BROKER_URL, CELERY_RESULT_BACKEND, REDIS_HOST,
REDIS_PORT and PYTHONPATH=<harness>:<suite> in its environment, cwd=<suite>.
"""
import argparse
import fcntl
import hashlib
import json
import os
import shlex
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from urllib.parse import urlparse

HARNESS = Path(__file__).resolve().parent
REPO = HARNESS.parents[1]
WORK = REPO / 'interop' / '.work'
SDIST_CACHE = WORK / 'sdist-cache'
SUITE = WORK / 'celery-suite'
LOCK = WORK / 'celery-suite.lock'

sys.path.insert(0, str(HARNESS))
import catalog  # noqa: E402

VERSION = catalog.CELERY_VERSION
SDIST_NAME = f'celery-{VERSION}.tar.gz'
PREFIX = 't/integration/'
SUITE_FILES = ('test_tasks.py', 'test_canvas.py', 'test_group_chains.py')

DEFAULT_WORKER_CMD = ('{repo}/.build/debug/interop-worker worker --broker {broker} '
                      '--backend {backend} -Q celery -c 4 --loglevel INFO')
PYTHON_WORKER_CMD = '{venv_bin}/celery -A python_worker_app worker -P prefork -c 2 --loglevel INFO'

CONFTEST_MARK = '# --- appended by interop/celery_suite/run.py ---'
CONFTEST_EXPECT = (
    'from celery.contrib.pytest import celery_app, celery_session_app, celery_session_worker',
    'def manager(app, celery_session_worker):',
    "TEST_BROKER = os.environ.get('TEST_BROKER', 'pyamqp://')",
    "TEST_BACKEND = os.environ.get('TEST_BACKEND', 'redis://')",
)

# celery's fixtures plugin (upstream gets it from pytest-celery's entry point).
PYTEST_PLUGINS = ('-p', 'celery.contrib.pytest', '-p', 'no:cacheprovider')

PYTEST_INI = """\
# Written by interop/celery_suite/run.py (mirrors celery's own
# [tool.pytest.ini_options]: test classes are named test_*).
[pytest]
addopts = --strict-markers
python_classes = test_*
xfail_strict = true
markers =
    sleepdeprived_patched_module
    masked_modules
    patched_environ
    patched_module
    flaky
    amqp
    celery
"""


def log(msg):
    print(f'[celery-suite] {msg}', file=sys.stderr, flush=True)


# ------------------------------------------------------------------ lock

def acquire_lock(timeout):
    """One run at a time: runs share interop/.work/celery-suite (extracted
    suite, logs, worker pidfile, report.json)."""
    WORK.mkdir(parents=True, exist_ok=True)
    fh = open(LOCK, 'a+')
    deadline = time.monotonic() + timeout
    told = False
    while True:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fh
        except BlockingIOError:
            if not told:
                log(f'another run holds {LOCK}; waiting up to {timeout:.0f}s')
                told = True
            if time.monotonic() > deadline:
                sys.exit(f'gave up waiting for {LOCK}')
            time.sleep(1)


# ------------------------------------------------------------------ sdist

def fetch_sdist():
    SDIST_CACHE.mkdir(parents=True, exist_ok=True)
    path = SDIST_CACHE / SDIST_NAME
    if not path.exists():
        log(f'downloading the celery {VERSION} sdist into {SDIST_CACHE}')
        subprocess.run(
            [sys.executable, '-m', 'pip', 'download', '--no-deps', '--no-binary', ':all:',
             f'celery=={VERSION}', '-d', str(SDIST_CACHE)],
            check=True, stdout=sys.stderr)
        if not path.exists():
            sys.exit(f'pip download did not produce {path}')
    return path


def extract_suite(sdist):
    """(Re)extract the pieces of t/ the integration suite imports."""
    SUITE.mkdir(parents=True, exist_ok=True)
    tdir = SUITE / 't'
    if tdir.exists():
        subprocess.run(['rm', '-rf', str(tdir)], check=True)
    top = f'celery-{VERSION}/'
    wanted_top = {'t/__init__.py', 't/skip.py', 't/canvas_helpers.py'}
    with tarfile.open(sdist) as tar:
        members = []
        for m in tar.getmembers():
            if not m.name.startswith(top):
                continue
            rel = m.name[len(top):]
            if rel in wanted_top or (rel.startswith(PREFIX) and '__pycache__' not in rel):
                if not (m.isfile() or m.isdir()):
                    continue
                m = m.replace(name=rel) if hasattr(m, 'replace') else _renamed(m, rel)
                members.append(m)
        kwargs = {'filter': 'data'} if hasattr(tarfile, 'data_filter') else {}
        tar.extractall(SUITE, members=members, **kwargs)
    conftest = SUITE / PREFIX / 'conftest.py'
    text = conftest.read_text()
    missing = [s for s in CONFTEST_EXPECT if s not in text]
    if missing:
        sys.exit(f'upstream conftest.py changed, expected lines missing: {missing}')
    conftest.write_text(
        text.rstrip('\n') + '\n\n\n' + CONFTEST_MARK + '\n'
        '# Replace the in-process session worker and the manager fixture with\n'
        '# ones driving an external worker process (see external_worker.py).\n'
        'from external_worker import *  # noqa: E402,F401,F403\n')
    (SUITE / 'pytest.ini').write_text(PYTEST_INI)


def _renamed(member, name):
    import copy
    m = copy.copy(member)
    m.name = name
    return m


# ------------------------------------------------------------------ selection

def fn_key(nodeid):
    """Node id without its parametrize suffix: the catalog's key."""
    return nodeid.split('[', 1)[0]


def collect(env, files):
    proc = subprocess.run(
        [sys.executable, '-m', 'pytest', '--collect-only', '-q', *PYTEST_PLUGINS,
         *files],
        cwd=SUITE, env=env, capture_output=True, text=True)
    ids = [ln.strip() for ln in proc.stdout.splitlines() if '::' in ln and not ln.startswith(' ')]
    if proc.returncode not in (0, 5) or not ids:
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-4000:])
        sys.exit(f'pytest collection failed (exit {proc.returncode})')
    return ids


def normalise_spec(spec):
    spec = spec.strip()
    for p in ('interop/.work/celery-suite/', 't/integration/', 'integration/'):
        if spec.startswith(p):
            spec = spec[len(p):]
    return PREFIX + spec


def resolve(spec, collected):
    """Match a user spec against collected node ids.

    Accepts full node ids, ``file::Class::test``, ``file::test`` (any class),
    ``file::Class``, ``file``, with or without a parametrize suffix."""
    spec = normalise_spec(spec)
    exact = [n for n in collected if n == spec]
    if exact:
        return exact
    hits = [n for n in collected if fn_key(n) == spec]
    if hits:
        return hits
    file_part, _, rest = spec.partition('::')
    out = []
    for n in collected:
        nfile, _, nrest = n.partition('::')
        if nfile != file_part:
            continue
        if not rest:
            out.append(n)
            continue
        parts = nrest.split('::')
        bare = [p.split('[', 1)[0] for p in parts]
        rparts = rest.split('::')
        if '[' in rest:
            if '::'.join(parts[-len(rparts):]) == rest:
                out.append(n)
        elif bare[-len(rparts):] == rparts or bare[:len(rparts)] == rparts:
            out.append(n)
    return out


def classify(nodeid, pidbox):
    """-> (kind, reason) with kind in run / not-judgeable."""
    key = fn_key(nodeid)
    if key in catalog.NOT_JUDGEABLE:
        return 'not-judgeable', catalog.NOT_JUDGEABLE[key]
    if key in catalog.NEEDS_PIDBOX:
        if pidbox:
            return 'run', catalog.NEEDS_PIDBOX[key]
        return 'not-judgeable', 'needs pidbox (run with --pidbox if the worker has one): ' + \
            catalog.NEEDS_PIDBOX[key]
    if key in catalog.JUDGEABLE:
        return 'run', catalog.JUDGEABLE[key]
    return 'run', 'not in the catalog (asked for explicitly)'


# ------------------------------------------------------------------ results

def summarise(records, selected):
    by = {n: [] for n in selected}
    for r in records:
        if r['nodeid'] in by:
            by[r['nodeid']].append(r)
    out = {}
    for n, recs in by.items():
        dur = round(sum(r['duration'] for r in recs if not r['subtest']), 3)
        failed = [r for r in recs if r['outcome'] == 'failed']
        call = [r for r in recs if r['when'] == 'call' and not r['subtest']]
        setup = [r for r in recs if r['when'] == 'setup']
        if not recs:
            out[n] = ('FAIL', 'no result recorded (pytest crashed or was killed)', dur)
        elif failed:
            f = failed[0]
            where = 'subtest' if f['subtest'] else f['when']
            msg = f['message'] or 'failed'
            out[n] = ('FAIL', f'{where}: {msg}', dur)
        elif call and call[0]['wasxfail'] is not None:
            if call[0]['outcome'] == 'skipped':
                out[n] = ('FAIL', f"xfailed: {call[0]['wasxfail'] or call[0]['message']}", dur)
            else:
                out[n] = ('PASS', 'xpassed', dur)
        elif call and call[0]['outcome'] == 'passed':
            out[n] = ('PASS', '', dur)
        elif (call and call[0]['outcome'] == 'skipped') or (setup and setup[0]['outcome'] == 'skipped'):
            r = call[0] if call else setup[0]
            out[n] = ('NOT-JUDGEABLE', f"skipped by the suite at run time: {r['message']}", dur)
        else:
            out[n] = ('FAIL', 'incomplete result', dur)
    return out


def kill_leftover_worker(pidfile):
    """If pytest died without the fixture's teardown, end the worker it
    started.  pidfile holds {"pid", "argv"}; the process is only signalled if
    /proc/<pid>/cmdline still shows that argv (no pid reuse accidents).  The
    worker leads its own process group (start_new_session)."""
    try:
        rec = json.loads(pidfile.read_text())
        pid, argv = int(rec['pid']), list(rec['argv'])
    except (OSError, ValueError, KeyError, TypeError):
        pidfile.unlink(missing_ok=True)
        return None
    pidfile.unlink(missing_ok=True)
    try:
        cmdline = Path(f'/proc/{pid}/cmdline').read_bytes().split(b'\0')[:-1]
    except OSError:
        return None
    cmd = [c.decode(errors='replace') for c in cmdline]
    # A script's argv[0] shows up after its interpreter (#!): compare the rest.
    if not (cmd[len(cmd) - len(argv) + 1:] == argv[1:]
            and any(Path(argv[0]).name in c for c in cmd[:len(cmd) - len(argv) + 1])):
        return None
    try:
        os.kill(pid, signal.SIGTERM)
        for _ in range(100):
            time.sleep(0.1)
            os.kill(pid, 0)
    except ProcessLookupError:
        pass
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    return pid


# ------------------------------------------------------------------ main

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--worker-cmd', default=None,
                    help=f'external worker command (default: {DEFAULT_WORKER_CMD!r})')
    ap.add_argument('--python-worker', action='store_true',
                    help=f'use the real Python worker: {PYTHON_WORKER_CMD!r} (implies --pidbox)')
    ap.add_argument('--redis-url', default='redis://127.0.0.1:6379/0',
                    help='broker URL, and result backend unless --backend-url is given')
    ap.add_argument('--backend-url', default=None)
    sel = ap.add_mutually_exclusive_group()
    sel.add_argument('--tests', nargs='+', metavar='SPEC',
                     help='e.g. test_tasks.py::test_basic_task, test_canvas.py::test_chain')
    sel.add_argument('--all-judgeable', action='store_true',
                     help='every test of test_tasks.py and test_canvas.py judged from outside')
    ap.add_argument('--pidbox', action='store_true',
                    help='the worker answers pidbox broadcasts (inspect/revoke): run those tests too '
                         'and let the manager fixture wait for an idle worker')
    ap.add_argument('--no-pidbox', action='store_true',
                    help='with --python-worker: behave as for a worker without pidbox')
    ap.add_argument('--timeout', type=float, default=90.0, help='per-test timeout in seconds')
    ap.add_argument('--startup-timeout', type=float, default=60.0,
                    help='seconds for the worker to answer its first task')
    ap.add_argument('--stop-timeout', type=float, default=30.0,
                    help='seconds after SIGTERM before the worker gets SIGKILL')
    ap.add_argument('--lock-timeout', type=float, default=1800.0,
                    help='seconds to wait for another run using interop/.work/celery-suite to finish')
    ap.add_argument('--list', action='store_true', help='print the selection and exit')
    ap.add_argument('-v', '--verbose', action='store_true', help="show pytest's output live")
    ap.add_argument('--pytest-arg', action='append', default=[], help='extra pytest argument')
    args = ap.parse_args(argv)

    broker = args.redis_url
    backend = args.backend_url or args.redis_url
    pidbox = (args.pidbox or args.python_worker) and not args.no_pidbox
    cmd_template = args.worker_cmd or (PYTHON_WORKER_CMD if args.python_worker else DEFAULT_WORKER_CMD)

    t_start = time.monotonic()
    lock = acquire_lock(args.lock_timeout)  # noqa: F841 (held until exit)
    sdist = fetch_sdist()
    sha = hashlib.sha256(sdist.read_bytes()).hexdigest()
    extract_suite(sdist)

    u = urlparse(broker)
    suite_s, harness_s = str(SUITE), str(HARNESS)
    env = dict(os.environ)
    env.pop('PYTHONSAFEPATH', None)
    env.update({
        'TEST_BROKER': broker,
        'TEST_BACKEND': backend,
        'CELERY_BROKER_URL': broker,
        'CELERY_RESULT_BACKEND': backend,
        'REDIS_HOST': u.hostname or 'localhost',
        'REDIS_PORT': str(u.port or 6379),
        'PYTHONPATH': os.pathsep.join([harness_s, suite_s] + (
            [os.environ['PYTHONPATH']] if os.environ.get('PYTHONPATH') else [])),
        'PYTHONUNBUFFERED': '1',
    })

    # ---- selection
    files = sorted({PREFIX + f for f in SUITE_FILES} | {
        normalise_spec(s).split('::')[0] for s in (args.tests or [])})
    for f in files:
        if not (SUITE / f).exists():
            sys.exit(f'no such test file in the suite: {f}')
    collected = collect(env, files)
    if args.tests:
        selected = []
        for spec in args.tests:
            hits = resolve(spec, collected)
            if not hits:
                sys.exit(f'no collected test matches {spec!r}')
            selected += [h for h in hits if h not in selected]
    elif args.all_judgeable:
        selected = [n for n in collected if n.split('::')[0] in {PREFIX + f for f in SUITE_FILES}]
    else:
        selected = []
        for key in catalog.DEFAULT:
            selected += [n for n in collected if fn_key(n) == key]
    plan = [(n, *classify(n, pidbox)) for n in selected]
    to_run = [n for n, kind, _ in plan if kind == 'run']

    if args.list:
        for n, kind, reason in plan:
            print(f"{'RUN' if kind == 'run' else 'NOT-JUDGEABLE'} {n} [{reason}]")
        print(f'{len(to_run)} to run, {len(plan) - len(to_run)} not judgeable')
        return 0

    # ---- worker command
    venv_bin = str(Path(sys.executable).parent)
    subst = {'{broker}': broker, '{backend}': backend, '{repo}': str(REPO), '{suite}': suite_s,
             '{harness}': harness_s, '{python}': sys.executable, '{venv_bin}': venv_bin}
    worker_argv = []
    for tok in shlex.split(cmd_template):
        for k, v in subst.items():
            tok = tok.replace(k, v)
        worker_argv.append(tok)

    results_path = SUITE / 'results.jsonl'
    worker_log = SUITE / 'worker.log'
    pytest_log = SUITE / 'pytest.log'
    pidfile = SUITE / 'worker.pid'
    worker_info = SUITE / 'worker.json'
    for p in (results_path, worker_log, pytest_log, worker_info):
        p.unlink(missing_ok=True)
    kill_leftover_worker(pidfile)
    env.update({
        'INTEROP_WORKER_ARGV': json.dumps(worker_argv),
        'INTEROP_WORKER_CWD': suite_s,
        'INTEROP_WORKER_LOG': str(worker_log),
        'INTEROP_WORKER_PIDFILE': str(pidfile),
        'INTEROP_WORKER_INFO': str(worker_info),
        'INTEROP_STARTUP_TIMEOUT': str(args.startup_timeout),
        'INTEROP_STOP_TIMEOUT': str(args.stop_timeout),
        'INTEROP_PIDBOX': '1' if pidbox else '0',
        'INTEROP_RESULTS': str(results_path),
        'INTEROP_TEST_TIMEOUT': str(args.timeout),
        'INTEROP_SLOW_TESTS': json.dumps(catalog.SLOW),
    })

    for n, kind, reason in plan:
        if kind != 'run':
            print(f'NOT-JUDGEABLE {n} [{reason}]', flush=True)

    pytest_rc = None
    if to_run:
        _check_redis(broker)
        log(f'worker: {shlex.join(worker_argv)}')
        log(f'running {len(to_run)} test(s); pytest output: {pytest_log}; worker log: {worker_log}')
        pytest_cmd = [sys.executable, '-m', 'pytest', *PYTEST_PLUGINS, '-p', 'external_worker',
                      '-rfE', '--tb=short', f'--timeout={args.timeout}', *args.pytest_arg, *to_run]
        budget = (sum(max(args.timeout, catalog.SLOW.get(fn_key(n), 0)) + 10 for n in to_run)
                  + args.startup_timeout + args.stop_timeout + 120)
        with open(pytest_log, 'w') as out:
            proc = subprocess.Popen(pytest_cmd, cwd=SUITE, env=env, stdout=out,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True)
        pytest_rc = _wait_pytest(proc, time.monotonic() + budget, pytest_log, args.verbose)
        leftover = kill_leftover_worker(pidfile)
        if leftover:
            log(f'killed leftover worker pid {leftover}')

    records = []
    if results_path.exists():
        records = [json.loads(ln) for ln in results_path.read_text().splitlines() if ln.strip()]
    outcomes = summarise(records, to_run)

    n_pass = n_fail = 0
    report_tests = []
    for n, kind, reason in plan:
        if kind != 'run':
            report_tests.append({'nodeid': n, 'outcome': 'NOT-JUDGEABLE', 'reason': reason})
            continue
        status, msg, dur = outcomes[n]
        if status == 'PASS':
            n_pass += 1
        elif status == 'FAIL':
            n_fail += 1
        line = f'{status} {n}'
        if status == 'NOT-JUDGEABLE':
            line += f' [{msg}]'
        elif msg:
            line += f' [{msg.splitlines()[0][:300]}]'
        print(line, flush=True)
        report_tests.append({'nodeid': n, 'outcome': status, 'message': msg,
                             'duration_s': dur, 'what_it_judges': reason})

    worker = {}
    if worker_info.exists():
        worker = json.loads(worker_info.read_text())
    report = {
        'celery_version': VERSION,
        'sdist': str(sdist), 'sdist_sha256': sha,
        'worker_cmd': worker_argv,
        'broker': broker, 'backend': backend,
        'selection': 'tests' if args.tests else ('all-judgeable' if args.all_judgeable else 'default'),
        'pidbox': pidbox,
        'per_test_timeout_s': args.timeout,
        'pytest_exit_code': pytest_rc,
        'duration_s': round(time.monotonic() - t_start, 1),
        'counts': {'passed': n_pass, 'failed': n_fail,
                   'not_judgeable': sum(1 for t in report_tests if t['outcome'] == 'NOT-JUDGEABLE')},
        'worker': worker,
        'logs': {'pytest': str(pytest_log), 'worker': str(worker_log)},
        'tests': report_tests,
    }
    (SUITE / 'report.json').write_text(json.dumps(report, indent=2) + '\n')
    log(f'report: {SUITE / "report.json"} ({report["duration_s"]}s)')
    print(f'{n_pass} passed, {n_fail} failed', flush=True)
    return 1 if n_fail else 0


def _wait_pytest(proc, deadline, log_path, verbose):
    pos = 0
    try:
        while True:
            try:
                rc = proc.wait(1)
            except subprocess.TimeoutExpired:
                rc = None
            if verbose:
                with open(log_path, errors='replace') as fh:
                    fh.seek(pos)
                    chunk = fh.read()
                    pos = fh.tell()
                sys.stderr.write(chunk)
            if rc is not None:
                return rc
            if time.monotonic() > deadline:
                raise TimeoutError
    except (TimeoutError, KeyboardInterrupt) as exc:
        log(f'stopping pytest ({type(exc).__name__})')
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            return proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            return proc.wait()


def _check_redis(url):
    import redis
    try:
        redis.Redis.from_url(url, socket_connect_timeout=3).ping()
    except Exception as exc:
        sys.exit(f'cannot reach Redis at {url}: {exc!r}')


if __name__ == '__main__':
    sys.exit(main())
