"""Dataverse's service-protection API limits, per user (the bearer token), as Microsoft documents them:
requests and combined execution time in a sliding window (300 s), and concurrent requests. Past a
limit: 429 with the documented code (0x80072322 requests, 0x80072321 execution time, 0x80072326
concurrency), its message and `Retry-After`. Every answer carries `x-ms-ratelimit-burst-remaining-
xrm-requests` and `x-ms-ratelimit-time-remaining-xrm-requests` (seconds). The limits are settings,
so tests and the bench can use small ones; `None` turns protection off (the default in tests).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from d365portal.emulator import errors

LIMIT_FIELDS = ("requests", "seconds", "concurrent", "window")


@dataclass
class _Usage:
    calls: deque[tuple[float, float]] = field(default_factory=deque)  # (started, execution seconds)
    in_flight: int = 0


class ServiceProtection:
    """The limits and each user's usage; `enabled` only when limits are set."""

    def __init__(
        self,
        requests: int | None = None,
        seconds: float | None = None,
        concurrent: int | None = None,
        window: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._users: dict[str, _Usage] = {}
        self.configure(requests=requests, seconds=seconds, concurrent=concurrent, window=window)

    def configure(
        self, *, requests: int | None, seconds: float | None, concurrent: int | None, window: float = 300.0
    ) -> None:
        """Set the limits (None: no such limit) and forget every user's usage."""
        if window <= 0 or any(v is not None and v <= 0 for v in (requests, seconds, concurrent)):
            raise ValueError("limits must be positive")
        with self._lock:
            self.requests, self.seconds, self.concurrent, self.window = requests, seconds, concurrent, window
            self._users.clear()

    @property
    def enabled(self) -> bool:
        """Whether any limit is set."""
        return any(v is not None for v in (self.requests, self.seconds, self.concurrent))

    def snapshot(self) -> dict[str, float | int | None]:
        """The limits, for the control endpoint."""
        return {"requests": self.requests, "seconds": self.seconds, "concurrent": self.concurrent,
                "window": self.window}  # fmt: skip

    def _trim(self, usage: _Usage, now: float) -> None:
        while usage.calls and usage.calls[0][0] <= now - self.window:
            usage.calls.popleft()

    def admit(self, user: str) -> float:
        """Start one request of `user` (its start time, for `finish`), or raise Dataverse's 429 for the
        limit it would break."""
        now = self._clock()
        if not self.enabled:
            return now
        now = self._clock()
        with self._lock:
            usage = self._users.setdefault(user, _Usage())
            self._trim(usage, now)
            wait = usage.calls[0][0] + self.window - now if usage.calls else 1.0
            retry = {"Retry-After": str(max(1, math.ceil(wait)))}
            if self.concurrent is not None and usage.in_flight >= self.concurrent:
                message = f"Number of concurrent requests exceeded the limit of {self.concurrent}."
                raise errors.EmulatorError(429, "0x80072326", message, {"Retry-After": "1"})
            if self.requests is not None and len(usage.calls) >= self.requests:
                message = (
                    f"Number of requests exceeded the limit of {self.requests} over time window of "
                    f"{self.window:g} seconds."
                )
                raise errors.EmulatorError(429, "0x80072322", message, retry)
            spent = sum(seconds for _, seconds in usage.calls)
            if self.seconds is not None and spent >= self.seconds:
                message = (
                    f"Combined execution time of incoming requests exceeded limit of "
                    f"{self.seconds * 1000:,.0f} milliseconds over time window of {self.window:g} seconds. "
                    "Decrease number of concurrent requests or reduce the duration of requests and try "
                    "again later."
                )
                raise errors.EmulatorError(429, "0x80072321", message, retry)
            usage.in_flight += 1
            usage.calls.append((now, 0.0))
        return now

    def finish(self, user: str, started: float) -> None:
        """End a request admitted at `started` (this clock), charging its execution time."""
        if not self.enabled:
            return
        now = self._clock()
        with self._lock:
            usage = self._users.get(user)
            if usage is None:
                return
            usage.in_flight = max(0, usage.in_flight - 1)
            for index in range(len(usage.calls) - 1, -1, -1):
                at, seconds = usage.calls[index]
                if at == started and seconds == 0.0:
                    usage.calls[index] = (at, now - started)
                    break

    def headers(self, user: str) -> dict[str, str]:
        """The remaining-budget headers for `user`'s next request."""
        if not self.enabled:
            return {}
        now = self._clock()
        with self._lock:
            usage = self._users.setdefault(user, _Usage())
            self._trim(usage, now)
            found: dict[str, str] = {}
            if self.requests is not None:
                left_requests = max(0, self.requests - len(usage.calls))
                found["x-ms-ratelimit-burst-remaining-xrm-requests"] = str(left_requests)
            if self.seconds is not None:
                left = max(0.0, self.seconds - sum(seconds for _, seconds in usage.calls))
                found["x-ms-ratelimit-time-remaining-xrm-requests"] = f"{left:,.2f}"
            return found
