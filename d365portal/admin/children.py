"""Child processes that start together and always stop together (`d365portal demo`).

Each child runs in its own process group, so a Ctrl-C in the terminal reaches only the parent, which
then stops every child in order: one SIGTERM each (gunicorn's graceful stop, the emulator's clean
close), a further Ctrl-C or SIGTERM hurries them (SIGQUIT: gunicorn's quick stop), and whatever is
still running at the deadline is killed with its whole group (gunicorn's workers included). No signal,
however many and however close together, makes the parent leave before its children are gone. If the
parent itself dies abruptly (SIGKILL), Linux sends each child SIGTERM (`PR_SET_PDEATHSIG`).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import subprocess  # noqa: S404 - the demo starts its own servers
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int) -> Callable[[], None]:
    """A `preexec_fn` that asks Linux for SIGTERM when the parent exits (elsewhere: nothing)."""

    def setup() -> None:
        name = ctypes.util.find_library("c")
        if name is None:
            return
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(name, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the request took effect
            os._exit(1)

    return setup


@dataclass
class Child:
    """One started child: its name, process and the signal that stops it quickly."""

    name: str
    process: subprocess.Popen[bytes]
    hurry_signal: int = signal.SIGQUIT

    def alive(self) -> bool:
        """Whether the process is still running."""
        return self.process.poll() is None

    def signal_group(self, signum: int) -> None:
        """Send `signum` to the child's whole process group (gunicorn's workers too)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signum)


@dataclass
class Children:
    """The children of one command, stopped together by `stop()` or by a signal to the parent."""

    grace_seconds: float = 8.0
    children: list[Child] = field(default_factory=list)
    _signals: int = 0
    _handled: int = 0

    def start(
        self, name: str, argv: Sequence[str], env: Mapping[str, str], *, hurry_signal: int = signal.SIGQUIT
    ) -> Child:
        """Start `argv` in a new process group that dies with this process."""
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            list(argv), env=dict(env), start_new_session=True, preexec_fn=_die_with_parent(os.getpid())
        )
        child = Child(name, process, hurry_signal)
        self.children.append(child)
        return child

    def install_signal_handlers(self) -> None:
        """The first stop signal raises KeyboardInterrupt (ending whatever the command waits on);
        every later one is only counted, for `stop()` to hurry the children with."""

        def first(signum: int, frame: FrameType | None) -> Any:
            self._count_signals()
            raise KeyboardInterrupt

        for signum in STOP_SIGNALS:
            signal.signal(signum, first)

    def _count_signals(self) -> None:
        def count(signum: int, frame: FrameType | None) -> None:
            self._signals += 1

        for signum in STOP_SIGNALS:
            signal.signal(signum, count)

    def stop(self) -> None:
        """Stop every child (last started first); returns only when all of them have exited."""
        self._count_signals()  # from here on, a signal never interrupts the stop
        self._handled = self._signals
        for child in reversed(self.children):
            if child.alive():
                child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.grace_seconds
        while any(c.alive() for c in self.children) and time.monotonic() < deadline:
            if self._signals > self._handled:  # Ctrl-C again: hurry
                self._handled = self._signals
                for child in self.children:
                    if child.alive():
                        child.process.send_signal(child.hurry_signal)
            time.sleep(0.05)
        for child in self.children:
            if child.alive():
                child.signal_group(signal.SIGKILL)
            child.process.wait()
            child.signal_group(signal.SIGKILL)  # a worker its exited master left behind
