"""Swift CLI tools: decode, peek, result, and unix-socket broker URLs."""
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import redis

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "fixtures" / "messages"


def _run(swift_cli, *args, stdin=None):
    return swift_cli(*args) if stdin is None else swift_cli(*args, input=stdin)


def test_decode_prints_celery_field_names(swift_cli):
    raw = (FIXTURES / "typed_args.json").read_bytes()
    cp = swift_cli("decode", input=raw)
    assert cp.returncode == 0, cp.stderr
    decoded = json.loads(cp.stdout)
    original = json.loads(raw)
    assert decoded["headers"] == original["headers"]
    assert decoded["properties"] == original["properties"]
    assert decoded["content-type"] == "application/json" and decoded["protocol"] == 2
    # Typed values stay in kombu's typed form.
    assert '"__type__": "uuid"' in cp.stdout and '"__type__": "decimal"' in cp.stdout


def test_decode_refuses_pickle_and_garbage_with_a_reason(swift_cli):
    cp = swift_cli("decode", input=(FIXTURES / "serializer_pickle.json").read_bytes())
    assert cp.returncode != 0 and "application/x-python-serialize" in cp.stderr, cp.stderr
    cp = swift_cli("decode", input=b"{not json")
    assert cp.returncode != 0 and "not a JSON envelope" in cp.stderr, cp.stderr


def test_peek_shows_waiting_messages_without_taking_them(swift_cli, redis_url, celery_client, redis_client):
    queue = "peekq"
    redis_client.delete(queue)
    sent = [celery_client.send_task("tasks.add", args=[i, i], queue=queue) for i in range(3)]
    cp = swift_cli("peek", queue, "--limit", "5", "--broker", redis_url)
    assert cp.returncode == 0, cp.stderr
    lines = [json.loads(line) for line in cp.stdout.splitlines() if line.strip()]
    assert [line["headers"]["id"] for line in lines] == [r.id for r in sent]  # next to be taken first
    assert redis_client.llen(queue) == 3


def test_result_command(swift_cli, redis_url, celery_client, swift_worker):
    res = celery_client.send_task("tasks.add", args=[20, 22], queue="celery")
    cp = swift_cli("result", res.id, "--wait", "--timeout", "10", "--broker", redis_url)
    assert cp.returncode == 0 and cp.stdout.strip() == "42", cp.stderr
    cp = swift_cli("result", res.id, "--broker", redis_url)
    document = json.loads(cp.stdout)
    assert document["status"] == "SUCCESS" and document["result"] == 42 and document["task_id"] == res.id
    cp = swift_cli("result", "no-such-id", "--broker", redis_url)
    assert json.loads(cp.stdout)["status"] == "PENDING"


def test_unix_socket_broker_url(swift_cli):
    directory = tempfile.mkdtemp(prefix="swift-celery-sock-")
    socket_path = f"{directory}/redis.sock"
    server = subprocess.Popen(
        [shutil.which("redis-server"), "--port", "0", "--unixsocket", socket_path, "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        client = redis.Redis(unix_socket_path=socket_path)
        deadline = time.time() + 10
        while True:
            try:
                client.ping()
                break
            except redis.exceptions.ConnectionError:
                assert time.time() < deadline, "redis-server on a unix socket did not start"
                time.sleep(0.05)
        url = f"unix://{socket_path}"
        cp = swift_cli("call", "tasks.add", "--args", "[1, 2]", "--broker", url)
        assert cp.returncode == 0, cp.stderr
        task_id = cp.stdout.strip()
        cp = swift_cli("peek", "celery", "--broker", url)
        assert json.loads(cp.stdout.splitlines()[0])["headers"]["id"] == task_id
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(directory, ignore_errors=True)


def test_purge_removes_every_priority_list(swift_cli, redis_url, celery_client, redis_client):
    queue = "purgeq"
    for priority in (0, 3, 9):
        celery_client.send_task("tasks.add", args=[1, 1], queue=queue, priority=priority)
    assert redis_client.llen(queue) + redis_client.llen(f"{queue}\x06\x163") + redis_client.llen(f"{queue}\x06\x169") == 3
    cp = swift_cli("purge", "-Q", queue, "--broker", redis_url, input=b"n\n")
    assert cp.returncode != 0 and "There is no undo" in cp.stderr and "Aborted." in cp.stderr
    assert redis_client.llen(queue) == 1
    cp = swift_cli("purge", "-Q", f"{queue},other", "-f", "--json", "--broker", redis_url)
    assert cp.returncode == 0, cp.stderr
    assert json.loads(cp.stdout) == {queue: 3, "other": 0}
    assert not any(redis_client.exists(k) for k in (queue, f"{queue}\x06\x163", f"{queue}\x06\x169"))


def test_result_wait_shows_progress_and_json_modes(swift_cli, redis_url, celery_client, swift_worker):
    res = celery_client.send_task("semantics.progress", args=[3], queue="celery")
    cp = swift_cli("result", res.id, "--wait", "--timeout", "15", "--broker", redis_url)
    assert cp.returncode == 0, cp.stderr
    assert f"{res.id}: PROGRESS" in cp.stderr, cp.stderr
    cp = swift_cli("call", "tasks.add", "--args", "[2, 3]", "--json", "--broker", redis_url)
    task_id = json.loads(cp.stdout)["task_id"]
    cp = swift_cli("result", task_id, "--wait", "--json", "--timeout", "10", "--broker", redis_url)
    document = json.loads(cp.stdout)
    assert document["status"] == "SUCCESS" and document["result"] == 5 and document["task_id"] == task_id
    cp = swift_cli("call", "tasks.fail", "--args", '["json mode"]', "--wait", "--json", "--broker", redis_url)
    assert cp.returncode == 1 and json.loads(cp.stdout)["result"]["exc_type"] == "ValueError"


def test_shell_completion_script(swift_cli):
    cp = swift_cli("--generate-completion-script", "bash")
    assert cp.returncode == 0 and "purge" in cp.stdout and "complete" in cp.stdout
