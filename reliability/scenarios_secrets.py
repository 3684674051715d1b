"""Scenario family 5: secrets. Workers and ``swift-celery`` with right and wrong passwords
(default and ACL users), a closed port and malformed URLs, against a private
``requirepass`` redis-server: tasks work and no password shows in any output.
"""
from __future__ import annotations

import os
import secrets
import subprocess
import time

import harness as H
from harness import ids_of, stop_worker_checked


def s5_secrets(ctx, procs, r):
    password = "Rel-" + secrets.token_hex(12) + "@:/?#%"
    user_password = "Usr-" + secrets.token_hex(12)
    wrong_password = "Wrong-" + secrets.token_hex(12)
    from urllib.parse import quote
    enc = quote(password, safe="")
    rs = H.RedisServer(procs, "secret-redis", password=password).start()
    c = rs.client()
    c.execute_command("ACL", "SETUSER", "reluser", "on", f">{user_password}", "~*", "&*", "+@all")
    port = rs.port
    closed_port = H.free_port()
    urls = {
        "default user": f"redis://:{enc}@127.0.0.1:{port}/0",
        "acl user": f"redis://reluser:{user_password}@127.0.0.1:{port}/0",
    }
    outputs = []
    sent = done = 0
    for label, url in urls.items():
        for json_logs in (False, True):
            extra = ["--loglevel", "DEBUG"] + (["--json-logs"] if json_logs else [])
            q = "rel-secret"
            w = H.start_swift_worker(procs, f"secret-{label.replace(' ', '-')}{'-json' if json_logs else ''}",
                                     url, queue=q, concurrency=2, extra=extra)
            tasks = H.make_tasks(10, prefix="sec", queue=q)
            H.push(c, q, [raw for _, raw in tasks])
            res = H.wait_results(c, ids_of(tasks), 15, watch=[w])
            sent += len(tasks)
            done += sum(1 for m in res.values() if m["status"] == "SUCCESS")
            stop_worker_checked(r, w)
            outputs.append((w.label, w.log_bytes()))
    r.sent, r.executed, r.lost = sent, done, sent - done
    if r.lost:
        r.failures.append(f"{r.lost} tasks failed with authenticated URLs")
    # failing connections: wrong password, wrong port, malformed URL
    bad_urls = {
        "wrong-password": f"redis://:{wrong_password}@127.0.0.1:{port}/0",
        "wrong-user-password": f"redis://reluser:{wrong_password}@127.0.0.1:{port}/0",
        "closed-port": f"redis://:{enc}@127.0.0.1:{closed_port}/0",
        "bad-port": f"redis://:{enc}@127.0.0.1:notaport/0",
        "bad-db": f"redis://reluser:{user_password}@127.0.0.1:{port}/zz",
        "db-out-of-range": f"redis://reluser:{user_password}@127.0.0.1:{port}/999",
        "bad-scheme": f"rediss://:{enc}@127.0.0.1:{port}/0",
    }
    for label, url in bad_urls.items():
        w = H.start_swift_worker(procs, f"secret-{label}", url, queue="rel-secret", concurrency=1,
                                 extra=["--loglevel", "DEBUG"], ready=False)
        time.sleep(1.5)
        w.stop(timeout=5)
        outputs.append((w.label, w.log_bytes()))
    # the CLI
    cli = [str(H.CLI_BIN)]
    cmds = [
        ["call", "tasks.add", "--args", "[1, 2]", "--broker", urls["default user"], "--timeout", "3"],
        ["call", "tasks.add", "--args", "[1, 2]", "--wait", "--timeout", "3", "--broker", bad_urls["closed-port"]],
        ["call", "tasks.add", "--args", "[1, 2]", "--wait", "--timeout", "3", "--broker", bad_urls["wrong-password"]],
        ["call", "tasks.add", "--args", "[1, 2]", "--broker", bad_urls["bad-port"]],
        ["result", "nope", "--broker", bad_urls["closed-port"]],
        ["result", "nope", "--broker", bad_urls["wrong-user-password"]],
        ["peek", "celery", "--broker", urls["acl user"]],
        ["peek", "celery", "--broker", bad_urls["bad-scheme"]],
        ["peek", "celery", "--broker", bad_urls["bad-db"]],
        ["peek", "celery", "--broker", bad_urls["db-out-of-range"]],
        ["result", "nope", "--broker", bad_urls["wrong-password"]],
    ]
    clean_env = {k: v for k, v in os.environ.items() if not k.startswith("CELERY_")}
    for i, args in enumerate(cmds):
        env = clean_env
        try:
            p = subprocess.run(cli + args, capture_output=True, timeout=20, env=env)
            out = p.stdout + p.stderr
        except subprocess.TimeoutExpired as exc:
            out = (exc.stdout or b"") + (exc.stderr or b"")
            r.failures.append(f"swift-celery {args[0]} ({i}) did not finish in 20 s")
        (procs.work / f"cli-{i}.log").write_bytes(out)
        if H.crash_lines(out.decode("utf-8", "replace")) or b"free(): " in out:
            r.crashes += 1
            r.failures.append(f"swift-celery {' '.join(a for a in args if '://' not in a)} crashed: "
                              f"{out.decode('utf-8', 'replace').splitlines()[0][:80]}")
        outputs.append((f"swift-celery {' '.join(args[:2])} #{i}", out))
    # also the CLI reading the URL from the environment only
    env = dict(clean_env, CELERY_BROKER_URL=bad_urls["closed-port"])
    p = subprocess.run(cli + ["result", "x"], capture_output=True, timeout=20, env=env)
    outputs.append(("swift-celery env", p.stdout + p.stderr))
    needles = {password, enc, user_password, wrong_password, quote(password), password[:16]}
    leaks = []
    for label, out in outputs:
        for needle in needles:
            if needle.encode() in out:
                leaks.append(f"{label} shows {needle[:6]}...")
    r.check(not leaks, f"secret in output: {leaks}")
    r.notes.append(f"{len(outputs)} outputs searched ({sum(len(o) for _, o in outputs)} bytes), "
                   f"including wrong password/port, malformed URLs and the CLI")
    redacted = sum(out.count(b"***") for _, out in outputs)
    r.check(redacted > 0, "no redacted URL (***) in any output: are the URLs logged at all?")
    rs.stop()
