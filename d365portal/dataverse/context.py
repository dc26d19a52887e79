"""Per-page-view context the web layer sets and reads: the client request id and call metrics.

`set_request_id()` tags every Dataverse call of the current page view with `x-ms-client-request-id`
(so a support engineer can find the portal's calls in Dataverse's logs); `metrics.begin()` starts a
fresh counter that the request log reads with `metrics.current()`.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Mapping
from contextvars import ContextVar, Token
from dataclasses import dataclass

request_id_var: ContextVar[str | None] = ContextVar("dataverse_request_id", default=None)


def set_request_id(value: str | None) -> Token[str | None]:
    """Use `value` as the client request id of the calls made in this context (None: one per call)."""
    return request_id_var.set(value)


def current_request_id() -> str:
    """The id to send as `x-ms-client-request-id`: the page view's, or a fresh one."""
    return request_id_var.get() or str(uuid.uuid4())


@dataclass
class CallMetrics:
    """What the Dataverse calls of one page view cost."""

    calls: int = 0
    elapsed_ms: float = 0.0
    retries: int = 0

    def record(self, elapsed_ms: float, *, retry: bool = False) -> None:
        """Count one HTTP attempt that took `elapsed_ms`."""
        self.calls += 1
        self.elapsed_ms += elapsed_ms
        if retry:
            self.retries += 1


_metrics_var: ContextVar[CallMetrics | None] = ContextVar("dataverse_metrics", default=None)


class _Metrics:
    """Access to the current context's `CallMetrics`."""

    def begin(self) -> CallMetrics:
        """Start counting afresh for this context (a page view) and return the counter."""
        fresh = CallMetrics()
        _metrics_var.set(fresh)
        return fresh

    def current(self) -> CallMetrics:
        """The counter of this context (started on first use)."""
        found = _metrics_var.get()
        if found is None:
            found = self.begin()
        return found


metrics = _Metrics()


class _TokenRequestCounter:
    """Process-wide count of requests made to the identity provider (the benchmark reports it)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count = 0

    def increment(self) -> None:
        """One more token request."""
        with self._lock:
            self._count += 1

    @property
    def value(self) -> int:
        """Token requests made by this process so far."""
        return self._count

    def reset(self) -> None:
        """Back to zero (tests, benchmark runs)."""
        with self._lock:
            self._count = 0


token_requests = _TokenRequestCounter()


@dataclass(frozen=True)
class Budget:
    """What Dataverse last said was left of the application user's service-protection budget."""

    requests_remaining: float | None = None  # x-ms-ratelimit-burst-remaining-xrm-requests
    time_remaining_s: float | None = None  # x-ms-ratelimit-time-remaining-xrm-requests (seconds)
    observed_at: float | None = None  # time.time() of the response
    throttled_until: float | None = None  # after a 429: now + Retry-After


def _number(value: str | None) -> float | None:
    """A header number; Dataverse writes thousands with commas ("1,199.98")."""
    if value is None:
        return None
    try:
        return float(value.replace(",", "").strip())
    except ValueError:
        return None


OUT_OF_ORDER_S = 1.0


class _BudgetTracker:
    """Process-wide: the latest budget headers of any Dataverse response (Microsoft's
    service-protection headers, on every response), and the end of the last 429's Retry-After."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._budget = Budget()

    def observe(self, headers: Mapping[str, str], status: int, retry_after: float | None) -> None:
        """Read one response's headers."""
        requests_left = _number(headers.get("x-ms-ratelimit-burst-remaining-xrm-requests"))
        time_left = _number(headers.get("x-ms-ratelimit-time-remaining-xrm-requests"))
        now = time.time()
        with self._lock:
            old = self._budget
            throttled = now + retry_after if status == 429 and retry_after else old.throttled_until
            if requests_left is None and time_left is None and throttled == old.throttled_until:
                return
            if old.observed_at is not None and now - old.observed_at < OUT_OF_ORDER_S:
                # Answers to requests made at the same time (a page's own and its rights re-read) can
                # arrive in either order: within a moment, the smaller figure is the newer one.
                if requests_left is not None and old.requests_remaining is not None:
                    requests_left = min(requests_left, old.requests_remaining)
                if time_left is not None and old.time_remaining_s is not None:
                    time_left = min(time_left, old.time_remaining_s)
            self._budget = Budget(
                requests_left if requests_left is not None else old.requests_remaining,
                time_left if time_left is not None else old.time_remaining_s,
                now,
                throttled,
            )

    def spend(self) -> None:
        """A request is about to go: count it against the last figure until Dataverse's answer
        brings a true one (so requests in flight are not all sent on the same stale figure)."""
        with self._lock:
            old = self._budget
            if old.requests_remaining is not None:
                self._budget = Budget(
                    old.requests_remaining - 1, old.time_remaining_s, old.observed_at, old.throttled_until
                )

    def current(self) -> Budget:
        """The latest observation."""
        return self._budget

    def reset(self) -> None:
        """Forget (tests)."""
        with self._lock:
            self._budget = Budget()


budget = _BudgetTracker()
