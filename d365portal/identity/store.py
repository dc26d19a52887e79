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

    def take(self, key: str, rate: float, burst: int) -> float:
        """A token bucket (GCRA) of `burst` tokens refilled at `rate` per second, taken atomically:
        0 when a token was taken, else the seconds until one is free."""

    def release(self, key: str, number: int) -> None:
        """Give back `number`, taken from the counter by `incr`, if it is still the last one taken
        (atomic: a number taken after it stays counted)."""

    def hold(self, key: str, owner: str, ttl: int) -> bool:
        """A lease: take `key` for `owner` when it is free or expired, or renew it when `owner` holds
        it, for `ttl` seconds (atomic); False while someone else holds it."""

    def set_many(self, items: dict[str, str], ttl: int) -> None:
        """`set` for many keys at once (one transaction, one round trip)."""


def gcra(tat: float | None, now: float, rate: float, burst: int) -> tuple[float | None, float]:
    """(the new theoretical arrival time, or None when refused; the wait when refused)."""
    interval = 1.0 / rate
    new_tat = max(tat or now, now) + interval
    allow_at = new_tat - burst * interval
    if now < allow_at:
        return None, allow_at - now
    return new_tat, 0.0


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

    def take(self, key: str, rate: float, burst: int) -> float:
        """A token from a GCRA bucket, in one IMMEDIATE transaction (every process of the host)."""
        conn = self._connect()
        conn.execute("BEGIN IMMEDIATE")
        try:
            now = time.time()
            row = conn.execute("SELECT value FROM kv WHERE key = ? AND expires >= ?", (key, now)).fetchone()
            new_tat, wait = gcra(float(row[0]) if row else None, now, rate, burst)
            if new_tat is not None:
                conn.execute(
                    "INSERT INTO kv (key, value, expires) VALUES (?, ?, ?) "
                    "ON CONFLICT(key) DO UPDATE SET value = excluded.value, expires = excluded.expires",
                    (key, repr(new_tat), new_tat + 1),
                )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return wait

    def release(self, key: str, number: int) -> None:
        """One less on a live counter whose value is still `number`, in one statement."""
        self._write(
            "UPDATE kv SET value = CAST(? - 1 AS TEXT) WHERE key = ? AND value = ? AND expires >= ?",
            (number, key, str(number), time.time()),
        )

    def set_many(self, items: dict[str, str], ttl: int) -> None:
        """Many `set`s in one transaction."""
        if not items:
            return
        expires = time.time() + ttl
        conn = self._connect()
        with conn:  # one BEGIN … COMMIT
            conn.execute("BEGIN")
            conn.executemany(
                "INSERT INTO kv (key, value, expires) VALUES (?, ?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value, expires = excluded.expires",
                [(key, value, expires) for key, value in items.items()],
            )

    def hold(self, key: str, owner: str, ttl: int) -> bool:
        """Take or renew a lease in one statement (free, expired, or already `owner`'s)."""
        now = time.time()
        cursor = self._write(
            "INSERT INTO kv (key, value, expires) VALUES (?, ?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value, expires = excluded.expires "
            "WHERE kv.expires < ? OR kv.value = excluded.value",
            (key, owner, now + ttl, now),
        )
        return cursor.rowcount == 1


# One round trip, atomic on the Redis server; its clock serves every host alike.
_REDIS_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local interval = 1 / tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - burst * interval
if now < allow_at then return tostring(allow_at - now) end
redis.call('SET', KEYS[1], tostring(new_tat), 'PX', math.ceil((new_tat - now) * 1000) + 1000)
return '0'
"""


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

    def release(self, key: str, number: int) -> None:
        """One less on a counter whose value is still `number` (a Lua script: atomic)."""
        self._redis.eval(
            "if tonumber(redis.call('GET', KEYS[1]) or -1) == tonumber(ARGV[1]) then "
            "return redis.call('DECR', KEYS[1]) end return 0",
            1,
            self._k(key),
            number,
        )

    def set_many(self, items: dict[str, str], ttl: int) -> None:
        """Many `set`s in one pipeline."""
        if not items:
            return
        pipe = self._redis.pipeline(transaction=False)
        for key, value in items.items():
            pipe.set(self._k(key), value, ex=max(1, ttl))
        pipe.execute()

    def hold(self, key: str, owner: str, ttl: int) -> bool:
        """Take or renew a lease in one Lua script (free, or already `owner`'s)."""
        return bool(
            self._redis.eval(
                "local v = redis.call('GET', KEYS[1]) "
                "if (not v) or v == ARGV[1] then redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2]) "
                "return 1 end return 0",
                1,
                self._k(key),
                owner,
                max(1, ttl),
            )
        )

    def take(self, key: str, rate: float, burst: int) -> float:
        """A token from a GCRA bucket, in one Lua script on the Redis server."""
        return float(self._redis.eval(_REDIS_TAKE, 1, self._k(key), rate, burst))


def build_store(var_dir: Path, redis_url: str | None) -> Store:
    """Redis when a URL is configured, else the SQLite file `<var_dir>/identity.sqlite3`."""
    if redis_url:
        return RedisStore(redis_url)
    return SqliteStore(Path(var_dir) / "identity.sqlite3")
