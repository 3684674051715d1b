"""Processes a test suite starts, and the registry that stops them all.

Every process runs in its own session, so stopping one also kills what it left behind in
its process group (prefork pool children, ...). Its stdout and stderr go to a log file that
starts with the command line, URL passwords masked.
"""
from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
PY = sys.executable


class ProcError(AssertionError):
    """A process did not get where the suite needs it: it could not start, exited early or
    never became ready."""


def swift_bin() -> Path:
    """The folder holding ``interop-worker`` and ``swift-celery``: SWIFT_CELERY_BIN (relative
    to the repository root unless absolute), else ``.build/debug``."""
    value = os.environ.get("SWIFT_CELERY_BIN")
    path = Path(value) if value else REPO / ".build" / "debug"
    return path if path.is_absolute() else (REPO / path).resolve()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_URL_PASSWORD = re.compile(r"(://[^:@/\s]*:)[^@\s]*@")


def mask_passwords(text: str) -> str:
    """``redis://user:secret@host`` -> ``redis://user:<masked-by-harness>@host`` (the
    reliability suite's secret scenarios grep every log for the password)."""
    return _URL_PASSWORD.sub(r"\1<masked-by-harness>@", text)


class Proc:
    """A subprocess in its own session; stdout+stderr go to ``log_path`` (or, with ``stdout``
    given, e.g. ``subprocess.PIPE``, there; the log file then only has the command line).
    ``append=False`` truncates the log a process of the same name left; ``tail_lines`` is
    how much of the log failure messages quote."""

    def __init__(self, label, argv, log_path, *, cwd=REPO, env=None, stdin=subprocess.DEVNULL,
                 stdout=None, stderr=subprocess.STDOUT, append=True, tail_lines=30):
        self.label = label
        self.argv = [str(a) for a in argv]
        self.log_path = Path(log_path)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.tail_lines = tail_lines
        self._fh = open(self.log_path, "ab" if append else "wb")
        self._fh.write(("$ " + mask_passwords(shlex.join(self.argv)) + "\n").encode())
        self._fh.flush()
        try:
            self.popen = subprocess.Popen(
                self.argv, cwd=str(cwd), env=env if env is not None else dict(os.environ),
                stdin=stdin, stdout=self._fh if stdout is None else stdout, stderr=stderr,
                start_new_session=True)
        except OSError as exc:
            self._fh.close()
            raise ProcError(f"{label}: cannot start {self.argv[0]}: {exc}") from exc
        self.pid = self.popen.pid
        self.started = time.monotonic()
        self.expected_exit = False   # set when the suite itself stops or kills it
        self.is_worker = False

    def alive(self) -> bool:
        return self.popen.poll() is None

    @property
    def returncode(self):
        return self.popen.poll()

    def check_alive(self):
        if not self.alive():
            raise ProcError(f"{self.label} exited early with code {self.popen.returncode}\n{self.tail()}")

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

    def kill_group(self, sig=signal.SIGKILL) -> bool:
        """Signals the whole process group; False when nothing of it was left."""
        try:
            os.killpg(self.pid, sig)
            return True
        except (ProcessLookupError, PermissionError):
            return False

    def kill9(self):
        self.expected_exit = True
        self.send(signal.SIGKILL)
        self.popen.wait(10)
        self.close()

    def stop(self, timeout=15.0, sig=signal.SIGTERM):
        """``sig``, wait up to ``timeout``, then SIGKILL the process group regardless.
        Returns (returncode, exited_in_time)."""
        in_time = True
        self.expected_exit = True
        if self.alive():
            self.send(sig)
            if self.wait(timeout) is None:
                in_time = False
        self.kill_group()
        self.wait(5)
        self.close()
        return self.popen.returncode, in_time

    def close(self):
        if not self._fh.closed:
            self._fh.close()

    def log_text(self) -> str:
        return self.log_bytes().decode("utf-8", "replace")

    def log_bytes(self) -> bytes:
        try:
            return self.log_path.read_bytes()
        except FileNotFoundError:
            return b""

    def tail(self, lines=None) -> str:
        text = self.log_text().splitlines()[-(self.tail_lines if lines is None else lines):]
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
    """Every process a suite (or one scenario) starts; ``stop_all`` is the safety net.
    Logs go to ``<work>/<label>.log`` unless ``log_name`` or ``log_path`` says otherwise;
    ``defaults`` are keyword arguments for every ``Proc`` (``append``, ``tail_lines``, ...)."""

    def __init__(self, work=None, **defaults):
        self.work = Path(work) if work is not None else None
        self.defaults = defaults
        self.items: list[Proc] = []

    def start(self, label, argv, log_name=None, *, log_path=None, **kwargs) -> Proc:
        if log_path is None:
            log_path = self.work / (log_name or f"{label}.log")
        proc = Proc(label, argv, log_path, **{**self.defaults, **kwargs})
        self.items.append(proc)
        return proc

    def stop_all(self, timeout=5.0):
        """Newest first: stops the live ones and kills what is left of every process group."""
        for proc in reversed(self.items):
            proc.stop(timeout=timeout)


def wait_ready(proc: Proc, timeout=30.0, pattern=r" ready\.", offset=0, poll=0.05):
    """Waits for ``pattern`` in the log (from character ``offset``), by default a worker's
    ``<name> ready.`` line."""
    rx = re.compile(pattern)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if rx.search(proc.log_text()[offset:]):
            return
        if not proc.alive():
            raise ProcError(f"{proc.label} exited with {proc.returncode} before ready\n{proc.tail()}")
        time.sleep(poll)
    raise ProcError(f"{proc.label} not ready within {timeout}s\n{proc.tail()}")


def wait_for_port(port, proc: Proc, timeout=30.0):
    """Waits until something accepts connections on loopback ``port``, while ``proc`` lives."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        proc.check_alive()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise ProcError(f"{proc.label}: port {port} not open after {timeout}s\n{proc.tail()}")
