"""Fault injection (latency, 429, 503, dropped responses) and request statistics."""

from __future__ import annotations

import math
import threading
from collections import Counter
from typing import Any

FAULT_FIELDS = (
    "latency_ms",
    "throttle_ratio",
    "throttle_retry_after",
    "unavailable_ratio",
    "drop_response_ratio",
)


class Faults:
    """What to inject; ratios are applied deterministically (every 1/ratio-th request), not at random."""

    def __init__(self, **initial: Any) -> None:
        self._lock = threading.Lock()
        self.latency_ms = 0
        self.throttle_ratio = 0.0
        self.throttle_retry_after = 2
        self.unavailable_ratio = 0.0
        self.drop_response_ratio = 0.0
        self._credit: dict[str, float] = {}
        self.set(**initial)
        self._initial = self.snapshot()

    def clear(self) -> None:
        """Back to the faults the emulator was started with (none unless given at start)."""
        self.set(**self._initial)

    def set(self, **values: Any) -> None:
        """Change some fields (validated: ratios in [0, 1], non-negative times)."""
        for name, value in values.items():
            if name not in FAULT_FIELDS:
                raise ValueError(f"unknown fault {name!r}")
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise ValueError(f"{name} must be a number")
            if name.endswith("_ratio") and not 0 <= value <= 1:
                raise ValueError(f"{name} must be between 0 and 1")
            if value < 0:
                raise ValueError(f"{name} must not be negative")
        with self._lock:
            for name, value in values.items():
                setattr(
                    self, name, int(value) if name in ("latency_ms", "throttle_retry_after") else float(value)
                )
            self._credit.clear()

    def snapshot(self) -> dict[str, Any]:
        """The current fault settings."""
        return {name: getattr(self, name) for name in FAULT_FIELDS}

    def hit(self, kind: str) -> bool:
        """Whether this request gets fault `kind` ("throttle", "unavailable", "drop_response")."""
        ratio = float(getattr(self, f"{kind}_ratio"))
        if ratio <= 0:
            return False
        with self._lock:
            credit = self._credit.get(kind, 0.0) + ratio
            fire = credit >= 1 - 1e-9
            self._credit[kind] = credit - 1 if fire else credit
            return fire


class Stats:
    """Web API requests served, keyed "METHOD entityset"."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def count(self, key: str) -> None:
        """Count one request."""
        with self._lock:
            self._counts[key] += 1

    def snapshot(self) -> dict[str, Any]:
        """{"total": N, "requests": {"GET incidents": n, …}}."""
        with self._lock:
            return {"total": sum(self._counts.values()), "requests": dict(self._counts)}

    def reset(self) -> None:
        """Start counting from zero."""
        with self._lock:
            self._counts.clear()
