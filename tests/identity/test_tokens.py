"""Reset tokens: 128-bit, signed, expiring, single use, dead after a security-stamp change."""

from __future__ import annotations

import base64
from datetime import timedelta
from pathlib import Path
from uuid import UUID

import pytest

from d365portal.crm.models import Contact
from d365portal.identity.ratelimit import Limit, RateLimiter
from d365portal.identity.store import SqliteStore
from d365portal.identity.tokens import ResetTokens, reset_link

CONTACT = Contact(id=UUID("a655cdb9-b66b-f011-b4cb-000d3a88c16c"), full_name="Lorena", security_stamp="S1")
HOUR = timedelta(hours=1)


@pytest.fixture()
def tokens(tmp_path: Path) -> ResetTokens:
    return ResetTokens("secret-key-for-tests", SqliteStore(tmp_path / "s.sqlite3"))


def test_a_token_checks_once_and_then_is_used(tokens: ResetTokens) -> None:
    token = tokens.issue(CONTACT, HOUR)
    parsed = tokens.check(CONTACT, token)
    assert parsed is not None
    assert tokens.consume(parsed)
    assert tokens.check(CONTACT, token) is None
    assert not tokens.consume(parsed)


def test_tokens_carry_at_least_128_random_bits_and_differ(tokens: ResetTokens) -> None:
    first, second = tokens.issue(CONTACT, HOUR), tokens.issue(CONTACT, HOUR)
    assert first != second
    raw = base64.urlsafe_b64decode(first + "==")
    assert len(raw) >= 16 + 4 + 32
    assert first == first.strip() and all(c.isalnum() or c in "-_" for c in first)


def test_expired_tokens_fail(tokens: ResetTokens) -> None:
    token = tokens.issue(CONTACT, timedelta(minutes=60), now=1_000_000)
    assert tokens.check(CONTACT, token, now=1_000_000 + 3599) is not None
    assert tokens.check(CONTACT, token, now=1_000_000 + 3601) is None


def test_a_new_security_stamp_kills_the_token(tokens: ResetTokens) -> None:
    token = tokens.issue(CONTACT, HOUR)
    assert tokens.check(CONTACT.model_copy(update={"security_stamp": "S2"}), token) is None


def test_tampered_or_foreign_tokens_fail(tokens: ResetTokens, tmp_path: Path) -> None:
    token = tokens.issue(CONTACT, HOUR)
    other_contact = CONTACT.model_copy(update={"id": UUID(int=7)})
    assert tokens.check(other_contact, token) is None
    flipped = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    assert tokens.check(CONTACT, flipped) is None
    assert tokens.check(CONTACT, "not-a-token") is None
    other_key = ResetTokens("another-secret", SqliteStore(tmp_path / "o.sqlite3"))
    assert other_key.check(CONTACT, token) is None


def test_release_lets_the_link_be_used_again(tokens: ResetTokens) -> None:
    token = tokens.issue(CONTACT, HOUR)
    parsed = tokens.check(CONTACT, token)
    assert parsed is not None and tokens.consume(parsed)
    tokens.release(parsed)
    assert tokens.check(CONTACT, token) is not None


def test_link_shape_is_the_manuals() -> None:
    link = reset_link("https://soporte.inovait.co/", "es-ES", CONTACT.id, "abc_-123")
    assert link == (
        "https://soporte.inovait.co/es-ES/Account/Login/ResetPassword"
        "?userId=a655cdb9-b66b-f011-b4cb-000d3a88c16c&code=abc_-123"
    )


def test_rate_limiter_allows_the_limit_then_refuses(tmp_path: Path) -> None:
    limiter = RateLimiter(SqliteStore(tmp_path / "r.sqlite3"), {"signin": Limit(3, 300)})
    assert [limiter.hit("signin", "10.0.0.1") for _ in range(4)] == [True, True, True, False]
    assert limiter.hit("signin", "10.0.0.2")
