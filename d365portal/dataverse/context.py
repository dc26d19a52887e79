"""Per-page-view context the web layer sets and reads: the client request id and call metrics.

`set_request_id()` tags every Dataverse call of the current page view with `x-ms-client-request-id`
(so a support engineer can find the portal's calls in Dataverse's logs); `metrics.begin()` starts a
fresh counter that the request log reads with `metrics.current()`.
"""

from __future__ import annotations

import threading
import uuid
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
