"""Swift CLI (`swift-celery call`) -> Python Celery worker on queue `pyq`."""
import shlex


def _call(swift_cli, redis_url, task, args, kwargs):
    return swift_cli("call", task, "--args", args, "--kwargs", kwargs,
                     "--queue", "pyq", "--wait", "--timeout", "20",
                     "--broker", redis_url, "--backend", redis_url)


def _describe(cp):
    return (f"$ {shlex.join(cp.args)}\nexit={cp.returncode}\n"
            f"stdout={cp.stdout!r}\nstderr={cp.stderr!r}")


def test_cli_add_positional(swift_cli, python_worker, redis_url):
    python_worker("pyq")
    cp = _call(swift_cli, redis_url, "tasks.add", "[2, 3]", "{}")
    assert cp.returncode == 0, _describe(cp)
    assert cp.stdout.strip() == "5", _describe(cp)


def test_cli_add_kwargs(swift_cli, python_worker, redis_url):
    python_worker("pyq")
    cp = _call(swift_cli, redis_url, "tasks.add", "[]", '{"x": 2, "y": 40}')
    assert cp.returncode == 0, _describe(cp)
    assert cp.stdout.strip() == "42", _describe(cp)


def test_cli_fail(swift_cli, python_worker, redis_url):
    python_worker("pyq")
    cp = _call(swift_cli, redis_url, "tasks.fail", '["boom"]', "{}")
    assert cp.returncode != 0, _describe(cp)
    assert "ValueError" in cp.stderr and "boom" in cp.stderr, _describe(cp)
