"""Compressed task messages and results (kombu's `compression`, Celery 5.7's
`result_compression`) between Python and Swift, and protocol-1 messages from the Swift client."""
import base64
import json
import zlib

import pytest
from celery.backends.base import COMPRESSED_PAYLOAD_MAGIC
from kombu.compression import decompress

from conftest import INTEROP, PY, WORK, WORKER_READY_TIMEOUT, WORKER_STOP_TIMEOUT, start_worker
from celery_testkit.celery_apps import add_basic_tasks, make_app
from celery_testkit.procs import wait_ready

CODECS = ["zlib", "bzip2", "lzma", "zstd", "brotli"]


@pytest.fixture(scope="module")
def compressed_python_worker(procs, subprocess_env):
    """A Python worker on `pyz` storing results with result_compression='zlib'."""
    argv = [PY, "-m", "celery", "-A", "compressed", "worker", "-P", "solo", "-c", "1", "-Q", "pyz",
            "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", "py-pyz@%h", "--loglevel", "INFO"]
    started = []

    def start():
        if not started:
            proc = procs.start("py-worker-pyz", argv, cwd=INTEROP / "pyworker", env=subprocess_env,
                               log_path=WORK / "py-worker-pyz.log")
            wait_ready(proc, timeout=WORKER_READY_TIMEOUT, pattern=r"@\S+ ready\.")
            started.append(proc)
        return started[0]

    yield start
    for proc in started:
        proc.stop(timeout=WORKER_STOP_TIMEOUT)


def test_python_client_compressed_messages_run_on_the_swift_worker(celery_client, swift_worker, redis_url):
    add = celery_client.tasks["tasks.add"]
    results = [(i, add.apply_async((i, 100), compression=codec, queue="celery")) for i, codec in enumerate(CODECS)]
    for i, result in results:
        assert result.get(timeout=30) == i + 100
    # task_compression in the app's configuration, as a Python team sets it.
    app = add_basic_tasks(make_app("compressing_client", broker=redis_url, backend=redis_url), tag="client")
    app.conf.task_compression = "bzip2"
    try:
        big = list(range(50_000))
        assert app.send_task("tasks.echo", args=[big], queue="celery").get(timeout=30) == big
    finally:
        app.close()


def _entry(redis_client, queue):
    raw = redis_client.lrange(queue, 0, 0)
    assert raw, f"nothing waiting in {queue}"
    return json.loads(raw[0])


def test_bad_compressed_body_is_rejected_and_the_worker_goes_on(celery_client, swift_worker, redis_client):
    add = celery_client.tasks["tasks.add"]
    # A real kombu message, parked where nobody consumes, its body swapped for a bad zlib stream.
    redis_client.delete("n-parked")
    parked = add.apply_async((1, 1), compression="zlib", queue="n-parked")
    envelope = _entry(redis_client, "n-parked")
    redis_client.delete("n-parked")
    assert envelope["headers"]["compression"] == "application/x-gzip"
    envelope["body"] = base64.b64encode(b"definitely not a zlib stream").decode()
    offset = len(swift_worker.log_text())
    redis_client.lpush("celery", json.dumps(envelope))
    with pytest.raises(Exception) as failure:
        parked.get(timeout=30)
    assert type(failure.value).__name__ == "DecodeError", repr(failure.value)
    assert "incorrect header check" in str(failure.value)
    log = swift_worker.log_text()[offset:]
    assert "Rejected message" in log and "cannot be decompressed" in log and "invalid zlib stream" in log, log[-3000:]
    assert swift_worker.proc.alive()
    assert add.apply_async((20, 22), compression="zlib", queue="celery").get(timeout=30) == 42


def test_decompression_bomb_stops_at_the_limit(procs, redis_url, subprocess_env, celery_client):
    env = dict(subprocess_env, CELERY_WORKER_MAX_DECOMPRESSED_SIZE="200000")
    worker = start_worker(procs, redis_url, env, celery_client, "n-bomb", "swift-bomb@%h", "swift-worker-bomb")
    try:
        echo = celery_client.tasks["tasks.echo"]
        bomb = echo.apply_async(("0" * 5_000_000,), compression="zlib", queue="n-bomb")
        with pytest.raises(Exception) as failure:
            bomb.get(timeout=30)
        assert type(failure.value).__name__ == "LimitExceeded", repr(failure.value)
        assert "200000-byte limit" in str(failure.value)
        assert "200000-byte limit" in worker.log_text()
        small = echo.apply_async(("0" * 1000,), compression="zlib", queue="n-bomb")
        assert small.get(timeout=30) == "0" * 1000
    finally:
        worker.stop_and_check()


def test_swift_worker_stores_compressed_results_python_reads_them(procs, redis_url, subprocess_env, celery_client,
                                                                  redis_client, compressed_python_worker):
    env = dict(subprocess_env, CELERY_RESULT_COMPRESSION="gzip")
    worker = start_worker(procs, redis_url, env, celery_client, "n-rz", "swift-rz@%h", "swift-worker-rz")
    try:
        ok = celery_client.tasks["tasks.add"].apply_async((2, 3), queue="n-rz")
        assert ok.get(timeout=30) == 5
        stored = redis_client.get(f"celery-task-meta-{ok.id}")
        prefix = COMPRESSED_PAYLOAD_MAGIC + b"application/x-gzip\x00"
        assert stored.startswith(prefix), stored[:60]
        # Byte for byte Celery's form: the document, zlib-compressed as Python compresses it.
        document = zlib.decompress(stored[len(prefix):])
        assert stored == prefix + zlib.compress(document)
        assert json.loads(document)["status"] == "SUCCESS"
        bad = celery_client.tasks["tasks.fail"].apply_async(("compressed failure",), queue="n-rz")
        with pytest.raises(ValueError, match="compressed failure"):
            bad.get(timeout=30)
        assert redis_client.get(f"celery-task-meta-{bad.id}").startswith(prefix)
        # A chord: its parts are counted through compressed entries, as Celery 5.7 stores them.
        from celery import chord
        add, tsum = celery_client.tasks["tasks.add"], celery_client.signature("tasks.tsum")
        workflow = chord([add.s(i, i).set(queue="n-rz") for i in range(4)], tsum.set(queue="n-rz"))
        assert workflow.apply_async().get(timeout=30) == 12
        # Mixed: members on a Python worker storing compressed parts too; whichever worker
        # records the last part reads the other's compressed entries.
        compressed_python_worker()
        header = [add.s(1, 1).set(queue="pyz"), add.s(2, 2).set(queue="n-rz"), add.s(3, 3).set(queue="pyz"),
                  add.s(4, 4).set(queue="n-rz")]
        for _ in range(3):
            assert chord(header, tsum.set(queue="n-rz")).apply_async().get(timeout=30) == 20
    finally:
        worker.stop_and_check()


def test_swift_client_compressed_and_protocol_1_messages_run_on_a_python_worker(
        swift_cli, redis_client, compressed_python_worker, tmp_path, redis_url):
    # Published to a queue nobody consumes, read there, then handed to the Python worker's queue.
    redis_client.delete("n-park")
    config = tmp_path / "celeryconfig.py"
    config.write_text("task_compression = 'bzip2'\n")
    cp = swift_cli("call", "tasks.add", "--args", "[40, 2]", "--queue", "n-park", "--json", "--config", config,
                   "--broker", redis_url)
    assert cp.returncode == 0, cp.stderr
    compressed_id = json.loads(cp.stdout)["task_id"]
    envelope = _entry(redis_client, "n-park")
    assert envelope["headers"]["compression"] == "application/x-bz2"
    assert envelope["content-encoding"] == "utf-8" and envelope["properties"]["body_encoding"] == "base64"
    body = json.loads(decompress(base64.b64decode(envelope["body"]), "application/x-bz2"))
    assert body[0] == [40, 2]

    v1config = tmp_path / "v1config.py"
    v1config.write_text("task_protocol = 1\ntask_compression = 'gzip'\n")
    cp = swift_cli("call", "tasks.add", "--args", "[1, 2]", "--kwargs", "{}", "--queue", "n-park", "--json",
                   "--config", v1config, "--broker", redis_url)
    assert cp.returncode == 0, cp.stderr
    v1_id = json.loads(cp.stdout)["task_id"]
    envelope = _entry(redis_client, "n-park")
    assert "task" not in envelope["headers"], envelope["headers"]
    assert envelope["headers"] == {"compression": "application/x-gzip"}
    v1body = json.loads(zlib.decompress(base64.b64decode(envelope["body"])))
    assert list(v1body) == ["task", "id", "args", "kwargs", "group", "group_index", "retries", "eta", "expires",
                            "utc", "callbacks", "errbacks", "timelimit", "taskset", "chord"]
    assert v1body["task"] == "tasks.add" and v1body["id"] == v1_id and v1body["args"] == [1, 2]
    for raw in reversed(redis_client.lrange("n-park", 0, -1)):
        redis_client.lpush("pyz", raw)
    redis_client.delete("n-park")

    compressed_python_worker()
    # The Python worker stores compressed results; the Swift client reads them unconfigured.
    for task_id, value in ((compressed_id, "42"), (v1_id, "3")):
        cp = swift_cli("result", task_id, "--wait", "--timeout", "30", "--broker", redis_url)
        assert cp.returncode == 0, cp.stderr
        assert cp.stdout.strip() == value
        assert redis_client.get(f"celery-task-meta-{task_id}").startswith(COMPRESSED_PAYLOAD_MAGIC)
    cp = swift_cli("call", "tasks.fail", "--args", '["from swift"]', "--queue", "pyz", "--wait", "--timeout", "30",
                   "--broker", redis_url)
    assert cp.returncode == 1, (cp.stdout, cp.stderr)
    assert "from swift" in cp.stderr


def test_cli_peek_and_decode_read_compressed_messages(celery_client, swift_cli, redis_client, redis_url):
    redis_client.delete("n-peek")
    sent = [celery_client.tasks["tasks.add"].apply_async((i, 1), compression=codec, queue="n-peek")
            for i, codec in enumerate(CODECS)]
    cp = swift_cli("peek", "n-peek", "--limit", "10", "--broker", redis_url)
    assert cp.returncode == 0, cp.stderr
    lines = [json.loads(line) for line in cp.stdout.splitlines() if line.strip()]
    by_id = {line.get("headers", {}).get("id"): line for line in lines}
    for i, result in enumerate(sent):
        assert by_id[result.id]["args"] == [i, 1], by_id.get(result.id)
    raw = redis_client.lrange("n-peek", 0, 0)[0]
    cp = swift_cli("decode", input=raw)
    assert cp.returncode == 0, cp.stderr
    assert json.loads(cp.stdout)["headers"]["compression"] in {
        "application/x-gzip", "application/x-bz2", "application/x-lzma", "application/zstd", "application/x-brotli"}
    redis_client.delete("n-peek")


def test_cli_call_compression_flag(swift_cli, swift_worker, redis_url):
    for codec in ("brotli", "xz"):
        cp = swift_cli("call", "tasks.add", "--args", "[5, 6]", "--compression", codec, "--wait", "--timeout", "30",
                       "--broker", redis_url)
        assert cp.returncode == 0, cp.stderr
        assert cp.stdout.strip() == "11"
    cp = swift_cli("call", "tasks.add", "--args", "[5, 6]", "--compression", "snappy", "--broker", redis_url)
    assert cp.returncode == 4, (cp.returncode, cp.stderr)
    assert "unknown compression 'snappy'" in cp.stderr


def test_swift_client_protocol_1_chain_runs_on_a_python_worker(celery_client, swift_cli, compressed_python_worker,
                                                               redis_client, tmp_path, redis_url):
    """Under task_protocol = 1 a chain is linked through callbacks, as Celery links it."""
    from celery import chain
    compressed_python_worker()
    add = celery_client.tasks["tasks.add"]
    workflow = chain(add.s(1, 2).set(queue="pyz"), add.s(3).set(queue="pyz"), add.s(4).set(queue="pyz"))
    v1config = tmp_path / "v1config.py"
    v1config.write_text("task_protocol = 1\n")
    cp = swift_cli("apply", json.dumps(workflow), "--config", v1config, "--broker", redis_url)
    assert cp.returncode == 0, cp.stderr
    (last_id,) = cp.stdout.split()
    assert celery_client.AsyncResult(last_id).get(timeout=30) == 10
