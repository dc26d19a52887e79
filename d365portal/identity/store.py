"""The shared key-value store for sessions, rate limits and single-use markers (DESIGN.md decision 9).

Two implementations of one small interface (strings with a TTL, counters, sets):
- `SqliteStore`: the embedded default, a SQLite file under `var/` that every gunicorn worker on the
  host opens (WAL mode, so readers never wait for the writer);
- `RedisStore`: when `D365_REDIS_URL` is set, for several hosts behind a load balancer.
"""

from __future__ import annotations

import builtins
import os
import random
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Protocol


class Store(Protocol):
    """Strings with a time to live, counters and sets; every TTL is in seconds."""

    def get(self, key: str) -> str | None:
        """The value, or None when missing or expired."""

    def set(self, key: str, value: str, ttl: int) -> None:
        """Store `value` under `key` for `ttl` seconds."""

    def add(self, key: str, value: str, ttl: int) -> bool:
        """Store only if absent (atomic); True when this call stored it."""

    def delete(self, *keys: str) -> None:
        """Remove keys (strings, counters or sets)."""

    def incr(self, key: str, ttl: int) -> int:
        """Add one to a counter that expires `ttl` seconds after its first increment; the new value."""

    def sadd(self, key: str, member: str, ttl: int) -> None:
        """Add a member to a set, keeping the set at least `ttl` more seconds."""

    def srem(self, key: str, member: str) -> None:
        """Remove a member from a set."""

    def smembers(self, key: str) -> builtins.set[str]:
        """The members of a set (empty when missing)."""


_SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL, expires REAL NOT NULL);
CREATE TABLE IF NOT EXISTS members (
    key TEXT NOT NULL, member TEXT NOT NULL, expires REAL NOT NULL, PRIMARY KEY (key, member));
"""


class SqliteStore:
    """The embedded store: one SQLite file shared by the processes of one host."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        conn = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(_SCHEMA)
        finally:
            conn.close()  # never carried into forked workers (gunicorn --preload)

    def _connect(self) -> sqlite3.Connection:
        """This thread's connection; a forked child opens its own (a SQLite handle must not cross a fork)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None or getattr(self._local, "pid", None) != os.getpid():
            conn = sqlite3.connect(self.path, timeout=10, isolation_level=None)
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn, self._local.pid = conn, os.getpid()
        return conn

    def _write(self, sql: str, params: tuple[Any, ...]) -> sqlite3.Cursor:
        conn = self._connect()
        if random.random() < 0.01:  # noqa: S311 - housekeeping, not security
            now = time.time()
            conn.execute("DELETE FROM kv WHERE expires < ?", (now,))
            conn.execute("DELETE FROM members WHERE expires < ?", (now,))
        return conn.execute(sql, params)

    def get(self, key: str) -> str | None:
        """The value, or None when missing or expired."""
        row = self._connect().execute(
            "SELECT value FROM kv WHERE key = ? AND expires >= ?", (key, time.time())
        ).fetchone()
        return None if row is None else str(row[0])

    def set(self, key: str, value: str, ttl: int) -> None:
        """Store `value` under `key` for `ttl` seconds."""
        self._write(
            "INSERT INTO kv (key, value, expires) VALUES (?, ?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value, expires = excluded.expires",
            (key, value, time.time() + ttl),
        )

    def add(self, key: str, value: str, ttl: int) -> bool:
        """Store only if absent or expired (atomic); True when this call stored it."""
        now = time.time()
        cursor = self._write(
            "INSERT INTO kv (key, value, expires) VALUES (?, ?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value, expires = excluded.expires "
            "WHERE kv.expires < ?",
            (key, value, now + ttl, now),
        )
        return cursor.rowcount == 1

    def delete(self, *keys: str) -> None:
        """Remove keys (strings, counters or sets)."""
        conn = self._connect()
        for key in keys:
            conn.execute("DELETE FROM kv WHERE key = ?", (key,))
            conn.execute("DELETE FROM members WHERE key = ?", (key,))

    def incr(self, key: str, ttl: int) -> int:
        """Add one to a counter that expires `ttl` seconds after its first increment; the new value."""
        now = time.time()
        row = self._write(
            "INSERT INTO kv (key, value, expires) VALUES (?, '1', ?) "
            "ON CONFLICT(key) DO UPDATE SET "
            "value = CASE WHEN kv.expires < ? THEN '1' ELSE CAST(CAST(kv.value AS INTEGER) + 1 AS TEXT) END, "
            "expires = CASE WHEN kv.expires < ? THEN excluded.expires ELSE kv.expires END "
            "RETURNING value",
            (key, now + ttl, now, now),
        ).fetchone()
        return int(row[0])

    def sadd(self, key: str, member: str, ttl: int) -> None:
        """Add a member to a set, keeping the set at least `ttl` more seconds."""
        self._write(
            "INSERT INTO members (key, member, expires) VALUES (?, ?, ?) "
            "ON CONFLICT(key, member) DO UPDATE SET expires = excluded.expires",
            (key, member, time.time() + ttl),
        )

    def srem(self, key: str, member: str) -> None:
        """Remove a member from a set."""
        self._connect().execute("DELETE FROM members WHERE key = ? AND member = ?", (key, member))

    def smembers(self, key: str) -> builtins.set[str]:
        """The members of a set (empty when missing)."""
        rows = self._connect().execute(
            "SELECT member FROM members WHERE key = ? AND expires >= ?", (key, time.time())
        ).fetchall()
        return {str(row[0]) for row in rows}


class RedisStore:
    """The store on Redis (redis-py), shared by every host of the portal."""

    def __init__(self, url: str, prefix: str = "d365portal:") -> None:
        import redis

        self._redis = redis.Redis.from_url(url, decode_responses=True, socket_timeout=5)
        self._prefix = prefix

    def _k(self, key: str) -> str:
        return self._prefix + key

    def get(self, key: str) -> str | None:
        """The value, or None when missing or expired."""
        value = self._redis.get(self._k(key))
        return None if value is None else str(value)

    def set(self, key: str, value: str, ttl: int) -> None:
        """Store `value` under `key` for `ttl` seconds."""
        self._redis.set(self._k(key), value, ex=max(1, ttl))

    def add(self, key: str, value: str, ttl: int) -> bool:
        """Store only if absent (atomic); True when this call stored it."""
        return bool(self._redis.set(self._k(key), value, ex=max(1, ttl), nx=True))

    def delete(self, *keys: str) -> None:
        """Remove keys (strings, counters or sets)."""
        if keys:
            self._redis.delete(*(self._k(k) for k in keys))

    def incr(self, key: str, ttl: int) -> int:
        """Add one to a counter that expires `ttl` seconds after its first increment; the new value."""
        pipe = self._redis.pipeline()
        pipe.incr(self._k(key))
        pipe.expire(self._k(key), max(1, ttl), nx=True)
        value, _ = pipe.execute()
        return int(value)

    def sadd(self, key: str, member: str, ttl: int) -> None:
        """Add a member to a set, keeping the set at least `ttl` more seconds."""
        pipe = self._redis.pipeline()
        pipe.sadd(self._k(key), member)
        pipe.expire(self._k(key), max(1, ttl), gt=True)
        pipe.expire(self._k(key), max(1, ttl), nx=True)
        pipe.execute()

    def srem(self, key: str, member: str) -> None:
        """Remove a member from a set."""
        self._redis.srem(self._k(key), member)

    def smembers(self, key: str) -> builtins.set[str]:
        """The members of a set (empty when missing)."""
        return {str(m) for m in self._redis.smembers(self._k(key))}  # type: ignore[union-attr]


def build_store(var_dir: Path, redis_url: str | None) -> Store:
    """Redis when a URL is configured, else the SQLite file `<var_dir>/identity.sqlite3`."""
    if redis_url:
        return RedisStore(redis_url)
    return SqliteStore(Path(var_dir) / "identity.sqlite3")
