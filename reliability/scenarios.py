"""The reliability scenarios of issue 7 and after: the registry. ``SCENARIOS`` lists every
scenario, in the table's order, as (row name, function); each function takes a
``harness.Context``, the scenario's ``harness.Procs`` and fills a ``harness.ScenarioResult``
(one row of the table); ``run_scenario`` adds timing, crash accounting and process cleanup.
Used by ``run.py`` and by ``tests/test_reliability.py``.

One module per scenario family, each with its own ``SIZES`` (quick and full):

    1  crash recovery                          scenarios_crash.py
    2  pop-then-record window (kill loops)     scenarios_kill.py
    3  broker outage                           scenarios_outage.py
    4  hostile input                           scenarios_hostile.py (entries from fuzz.py)
    5  secrets                                 scenarios_secrets.py
    6  graceful shutdown                       scenarios_shutdown.py
    7  resource bounds                         scenarios_resources.py
    8  other signals (SIGHUP, SIGPIPE)         scenarios_signals.py
    9  control plane, start-up                 scenarios_control.py
    10 unacked records, ETA                    scenarios_unacked.py
    11 Redis refusing writes, message sizes    scenarios_redis_limits.py

The context and the checks they share (``account``, ``check_drained``, ...) live in
``harness.py``.
"""
from __future__ import annotations

import re
import time
import traceback
from pathlib import Path

import harness as H
import scenarios_control
import scenarios_crash
import scenarios_hostile
import scenarios_kill
import scenarios_outage
import scenarios_redis_limits
import scenarios_resources
import scenarios_secrets
import scenarios_shutdown
import scenarios_signals
import scenarios_unacked
from harness import Context, ScenarioError, ScenarioResult

# Failures that need a change in the Swift worker (see reliability/README.md). The row is
# reported as XFAIL (and the pytest test is xfail) only while it fails.
KNOWN_BUGS = {}


SCENARIOS = [
    ("1a crash recovery, Swift -> Swift", scenarios_crash.s1a_crash_swift),
    ("1b crash recovery, Python -> Swift", scenarios_crash.s1b_crash_python),
    ("2a kill loop, backlog (fetch path)", scenarios_kill.s2a_kill_backlog),
    ("2b kill loop, idle worker (blocking wait)", scenarios_kill.s2b_kill_trickle),
    ("2c blocking-wait window, SIGKILL", scenarios_kill.s2c_window_sigkill),
    ("2d blocking-wait window, connection drop", scenarios_kill.s2d_window_drop),
    ("2e BRPOP fallback window (no BLMOVE)", scenarios_kill.s2e_window_fallback),
    ("3a outage, AOF persistence", scenarios_outage.s3a_outage_aof),
    ("3b outage, no persistence", scenarios_outage.s3b_outage_plain),
    ("3c outage while idle", scenarios_outage.s3c_outage_idle),
    ("3d client get() through outages", scenarios_outage.s3d_client_wait),
    ("4a hostile input fuzz", scenarios_hostile.s4_fuzz),
    ("4b hostile values, one at a time", scenarios_hostile.s4b_probes),
    ("5 secrets", scenarios_secrets.s5_secrets),
    ("6a warm shutdown under load", scenarios_shutdown.s6a_warm_shutdown),
    ("6b cold shutdown (second signal)", scenarios_shutdown.s6b_cold_shutdown),
    ("7a fds over reconnects", scenarios_resources.s7a_fds),
    ("7b RSS with a backlog", scenarios_resources.s7b_rss),
    ("7c slow task flood", scenarios_resources.s7c_slow_flood),
    ("8a SIGHUP under load (warm restart in place)", scenarios_signals.s8a_sighup),
    ("8b SIGPIPE (kill -PIPE; log piped to head -1)", scenarios_signals.s8b_sigpipe),
] + scenarios_control.SCENARIOS_CONTROL + scenarios_unacked.SCENARIOS_UNACKED + [
    ("11a Redis out of memory, early ack", scenarios_redis_limits.s11a_oom_early_ack),
    ("11b Redis out of memory, acks_late", scenarios_redis_limits.s11b_oom_acks_late),
    ("11c message size: 100 MiB round trip, over the limit answered", scenarios_redis_limits.s11c_message_size),
]


def slug(name):
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def run_scenario(name, fn, size, redis_url, work: Path) -> ScenarioResult:
    r = ScenarioResult(name)
    sdir = work / slug(name)
    sdir.mkdir(parents=True, exist_ok=True)
    procs = H.Procs(sdir)
    client = H.redis_client(redis_url)
    client.flushdb()
    ctx = Context(size=size, redis_url=redis_url, work=sdir)
    t0 = time.monotonic()
    suite_error = False
    try:
        fn(ctx, procs, r)
    except (ScenarioError, H.ProcError) as exc:   # ProcError: a process never got ready, ...
        r.failures.append(f"could not run: {exc}")
        suite_error = True
    except Exception as exc:  # a bug in the suite itself: show it, never hide it
        r.failures.append(f"suite error: {exc!r}\n{traceback.format_exc()}")
        suite_error = True
    finally:
        r.wall = time.monotonic() - t0
        crashed = []
        for p in procs.items:
            if not p.is_worker:
                continue
            if not p.expected_exit and not p.alive():
                crashed.append(p.label)
            elif H.crash_lines(p.log_text()):
                crashed.append(p.label)
        procs.stop_all()
        client.close()
    r.crashes += len(crashed)
    if crashed:
        r.failures.append(f"crashed workers: {crashed} (logs in {sdir})")
    if not r.ok and name in KNOWN_BUGS and not suite_error:
        r.xfail = KNOWN_BUGS[name]
    return r
