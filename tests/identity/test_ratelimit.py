"""Per-address rate limits: an IPv6 subscriber's whole /64 counts as one address."""

from __future__ import annotations

from pathlib import Path

from d365portal.identity.ratelimit import Limit, RateLimiter, client_key
from d365portal.identity.store import SqliteStore


def _limiter(tmp_path: Path) -> RateLimiter:
    return RateLimiter(SqliteStore(tmp_path / "store.sqlite3"), {"signin": Limit(2, 300)})


def test_new_addresses_in_the_same_ipv6_64_do_not_reset_the_limit(tmp_path: Path) -> None:
    limiter = _limiter(tmp_path)
    rotating = [f"2001:db8:1:2::{n:x}" for n in range(1, 4)]  # a fresh address for every attempt
    assert [limiter.hit("signin", address) for address in rotating] == [True, True, False]
    assert limiter.hit("signin", "2001:db8:1:3::1")  # the neighbouring /64 is someone else


def test_ipv4_addresses_count_one_by_one(tmp_path: Path) -> None:
    limiter = _limiter(tmp_path)
    assert [limiter.hit("signin", "192.0.2.10") for _ in range(3)] == [True, True, False]
    assert limiter.hit("signin", "192.0.2.11")
    assert client_key("::ffff:192.0.2.10") == "192.0.2.10"  # the same client over a dual stack
    assert client_key("unknown") == "unknown"
