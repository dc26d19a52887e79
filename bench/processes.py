"""Child processes of the benchmark: start, wait until they answer, sample memory, stop."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path

import psutil
import requests

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Child:
    """One subprocess with its output in a log file; stopped with SIGTERM, then SIGKILL."""

    def __init__(
        self, name: str, argv: list[str], log_path: Path, env: Mapping[str, str] | None = None
    ) -> None:
        self.name = name
        self.log_path = log_path
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = log_path.open("wb")
        self.process = subprocess.Popen(  # noqa: S603 - argv is built from our own constants
            argv,
            cwd=PROJECT_ROOT,
            env={**os.environ, **(env or {})},
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        """The process id."""
        return self.process.pid

    def wait_http(self, url: str, timeout: float = 60.0) -> None:
        """Block until `url` answers below 500, or fail with the tail of the child's log."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.tail()}")
            try:
                if requests.get(url, timeout=2).status_code < 500:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not answer {url} within {timeout:.0f} s:\n{self.tail()}")

    def tail(self, lines: int = 30) -> str:
        """The last lines of the child's output."""
        self._log.flush()
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the child (gunicorn shuts its workers down gracefully), SIGKILL if it lingers."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self._log.close()


def python_argv(*args: str) -> list[str]:
    """A command line running this interpreter (the project's virtualenv)."""
    return [sys.executable, *args]


class MemorySampler:
    """Samples the resident memory of a process's children (gunicorn workers) and keeps each peak."""

    def __init__(self, parent_pid: int, interval: float = 0.5) -> None:
        self._parent = psutil.Process(parent_pid)
        self._interval = interval
        self._stop = threading.Event()
        self.peaks: dict[int, int] = {}
        self._thread = threading.Thread(target=self._run, name="memory-sampler", daemon=True)

    def start(self) -> MemorySampler:
        """Start sampling in a background thread."""
        self._thread.start()
        return self

    def sample(self) -> None:
        """Take one sample now."""
        for pid, rss in self.current().items():
            self.peaks[pid] = max(self.peaks.get(pid, 0), rss)

    def current(self) -> dict[int, int]:
        """Resident memory of each worker right now, in bytes."""
        current: dict[int, int] = {}
        try:
            children = self._parent.children(recursive=False)
        except psutil.Error:
            return current
        for child in children:
            try:
                current[child.pid] = child.memory_info().rss
            except psutil.Error:
                continue
        return current

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.sample()

    def stop(self) -> dict[int, int]:
        """Stop sampling; peak RSS in bytes per worker pid."""
        self.sample()
        self._stop.set()
        self._thread.join(timeout=5)
        return dict(self.peaks)
