"""Fixtures of the identity tests: both store implementations (a real redis-server when marked)."""

from __future__ import annotations

from pathlib import Path

import pytest

from d365portal.identity.store import RedisStore, SqliteStore, Store


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    """Each store implementation in turn (Redis keys get a per-test prefix)."""
    if request.param == "sqlite":
        return SqliteStore(tmp_path / "store.sqlite3")
    url = request.getfixturevalue("redis_url")
    return RedisStore(url, prefix=f"test:{tmp_path.name}:")
