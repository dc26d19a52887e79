"""The shared store: the same behaviour from SQLite (embedded) and Redis, across processes."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

from d365portal.identity.store import SqliteStore, Store


def test_values_and_counters_expire(store: Store) -> None:
    store.set("a", "1", ttl=1)
    assert store.get("a") == "1"
    assert store.get("missing") is None
    assert [store.incr("c", ttl=1) for _ in range(3)] == [1, 2, 3]
    time.sleep(1.2)
    assert store.get("a") is None
    assert store.incr("c", ttl=1) == 1


def test_add_only_stores_once(store: Store) -> None:
    assert store.add("once", "x", ttl=60)
    assert not store.add("once", "y", ttl=60)
    assert store.get("once") == "x"
    store.delete("once")
    assert store.add("once", "z", ttl=60)


def test_sets(store: Store) -> None:
    store.sadd("s", "one", ttl=60)
    store.sadd("s", "two", ttl=60)
    assert store.smembers("s") == {"one", "two"}
    store.srem("s", "one")
    assert store.smembers("s") == {"two"}
    store.delete("s")
    assert store.smembers("s") == set()


def _count_in_child(path: str, times: int) -> None:
    child = SqliteStore(Path(path))
    for _ in range(times):
        child.incr("shared", ttl=60)


def test_sqlite_store_is_shared_by_processes(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite3"
    parent = SqliteStore(path)
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_count_in_child, args=(str(path), 25)) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)
    assert parent.incr("shared", ttl=60) == 51


def test_set_many_writes_every_key_and_replaces_old_values(store: Store) -> None:
    store.set("many:a", "old", 60)
    store.set_many({f"many:{n}": str(n) for n in range(500)} | {"many:a": "new"}, 60)
    assert store.get("many:a") == "new" and store.get("many:499") == "499" and store.get("many:0") == "0"
    store.set_many({}, 60)  # nothing to write is fine


def test_a_lease_is_held_by_one_owner_until_it_expires(store: Store) -> None:
    assert store.hold("lease:x", "first", 1) is True
    assert store.hold("lease:x", "second", 1) is False
    assert store.hold("lease:x", "first", 1) is True  # renewed by its owner
    import time

    time.sleep(1.2)
    assert store.hold("lease:x", "second", 5) is True  # expired: the other takes it
    assert store.get("lease:x") == "second"
