"""Per-IP rate limits (sign-in, forgot-password, reset) counted in the shared store, so every worker
and host of the portal counts together."""

from __future__ import annotations

import time
from dataclasses import dataclass

from d365portal.identity.store import Store


@dataclass(frozen=True)
class Limit:
    """At most `count` attempts per `window` seconds."""

    count: int
    window: int


class RateLimiter:
    """Fixed-window counters: `hit()` counts one attempt and says whether it is allowed."""

    def __init__(self, store: Store, limits: dict[str, Limit]) -> None:
        self.store = store
        self.limits = limits

    def hit(self, action: str, client: str) -> bool:
        """Count one `action` attempt from `client` (an IP); False when over the limit."""
        limit = self.limits[action]
        window = int(time.time() // limit.window)
        count = self.store.incr(f"rate:{action}:{client}:{window}", limit.window)
        return count <= limit.count
