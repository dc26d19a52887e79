"""Per-IP rate limits (sign-in, forgot-password, reset) counted in the shared store, so every worker
and host of the portal counts together."""

from __future__ import annotations

import ipaddress
import time
from dataclasses import dataclass

from d365portal.identity.store import Store


@dataclass(frozen=True)
class Limit:
    """At most `count` attempts per `window` seconds."""

    count: int
    window: int


def client_key(client: str) -> str:
    """Whom a limit counts: an IPv4 address, or an IPv6 address's /64 network (one subscriber gets a
    whole /64 and could otherwise take a fresh address for every attempt)."""
    try:
        address = ipaddress.ip_address(client.strip("[]"))
    except ValueError:
        return client
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


class RateLimiter:
    """Fixed-window counters: `hit()` counts one attempt and says whether it is allowed."""

    def __init__(self, store: Store, limits: dict[str, Limit]) -> None:
        self.store = store
        self.limits = limits

    def hit(self, action: str, client: str) -> bool:
        """Count one `action` attempt from `client` (an IP); False when over the limit."""
        limit = self.limits[action]
        window = int(time.time() // limit.window)
        count = self.store.incr(f"rate:{action}:{client_key(client)}:{window}", limit.window)
        return count <= limit.count
