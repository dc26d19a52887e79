"""The emulator's rows: an in-memory dict per entity set, written through to SQLite when persistent.

Rows are kept in the shape clients read them (`_customerid_value`, ISO-8601 UTC strings), plus the
lookup's target table under `_x_value@Microsoft.Dynamics.CRM.lookuplogicalname`.
"""

from __future__ import annotations

import json
import random
import sqlite3
import string
import threading
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from d365portal.emulator.indexes import SortedIndex
from d365portal.emulator.metadata import DEMO_METADATA, STATES, SeedMetadata
from d365portal.emulator.schema import Table, build_tables

LOGICAL = "@Microsoft.Dynamics.CRM.lookuplogicalname"
_ALPHABET = string.ascii_uppercase + string.digits
Row = dict[str, Any]


def utc_now() -> str:
    """Now, as Dataverse writes datetimes (UTC, seconds, Z)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def to_json_value(value: Any) -> Any:
    """Python values (UUID, datetime, date, Decimal) as the JSON the Web API sends."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, date):
        return f"{value.isoformat()}T00:00:00Z"
    if isinstance(value, Decimal):
        return float(value)
    return value


class Store:
    """Rows of every emulated table, with reset()/seed() and optional SQLite persistence."""

    def __init__(
        self,
        seed: str = "demo",
        metadata: SeedMetadata = DEMO_METADATA,
        db_path: str | Path | None = None,
        reset: bool = False,
    ) -> None:
        self.seed_name = seed
        self.seed_metadata = metadata
        self.metadata = metadata.copy()  # labels a tenant may change at run time (UpdateOptionValue)
        self.tables: dict[str, Table] = build_tables(metadata.custom_lookups)
        self.lock = threading.RLock()
        self._rows: dict[str, dict[str, Row]] = {name: {} for name in self.tables}
        # Lookup indexes (built on first use) and per-table change counters for query caches.
        self._indexes: dict[tuple[str, str], dict[str, set[str]]] = {}
        self._sorted: dict[tuple[str, str], SortedIndex] = {}
        self.generation: dict[str, int] = dict.fromkeys(self.tables, 0)
        self._version = 1000
        # Change tracking: deleted rows as (version, id) per table, and the oldest version a delta
        # token may carry (tokens below it are expired: `expire_change_tracking()`).
        self._deleted: dict[str, list[tuple[int, str]]] = {name: [] for name in self.tables}
        self.tracking_floor = 0
        self._tickets: set[str] = set()
        self._random = random.Random(20191226)  # noqa: S311 - ticket suffixes, not secrets
        self._db: sqlite3.Connection | None = None
        if db_path is not None:
            path = Path(db_path)
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS rows (entity_set TEXT NOT NULL, id TEXT NOT NULL, "
                "data TEXT NOT NULL, PRIMARY KEY (entity_set, id))"
            )
            self._db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
            seeded = self._db.execute("SELECT value FROM meta WHERE key='seeded'").fetchone()
            if seeded and not reset:
                self._load()
                return
        self.reset()

    # --- lifecycle ------------------------------------------------------------------------
    def reset(self) -> None:
        """Drop every row and seed again (the seed chosen at start)."""
        with self.lock:
            for rows in self._rows.values():
                rows.clear()
            self._invalidate()
            self._tickets.clear()
            self._version = 1000
            for tombstones in self._deleted.values():
                tombstones.clear()
            self.tracking_floor = 0
            self._random.seed(20191226)
            self.metadata = self.seed_metadata.copy()
            if self._db is not None:
                self._db.execute("DELETE FROM rows")
                self._db.execute("DELETE FROM meta")
            self.seed(self.seed_name)
            if self._db is not None:
                self._db.execute("INSERT OR REPLACE INTO meta VALUES ('seeded', ?)", (self.seed_name,))

    def seed(self, name: str) -> None:
        """Load a named data set: "demo" (the manual's data) or "empty" (only the organization and
        its users, which every environment has)."""
        if name not in ("demo", "empty"):
            raise ValueError(f"unknown seed {name!r} (demo or empty)")
        from d365portal.emulator.demo_data import build_demo_rows
        from d365portal.emulator.system_rows import system_rows

        for entity_set, rows in system_rows().items():
            self.bulk_insert(entity_set, rows)
        if name == "empty":
            return

        for entity_set, rows in build_demo_rows().items():
            self.bulk_insert(entity_set, rows)

    def _load(self) -> None:
        assert self._db is not None  # noqa: S101 - only called when persistent
        for entity_set, row_id, data in self._db.execute("SELECT entity_set, id, data FROM rows"):
            row = json.loads(data)
            self._rows[entity_set][row_id] = row
            self._invalidate()
            self._version = max(self._version, int(row.get("versionnumber", 0)))
            if entity_set == "incidents" and row.get("ticketnumber"):
                self._tickets.add(row["ticketnumber"])

    def close(self) -> None:
        """Close the SQLite file (if any)."""
        if self._db is not None:
            self._db.close()
            self._db = None

    # --- reads ----------------------------------------------------------------------------
    def get(self, entity_set: str, row_id: Any) -> Row | None:
        """A copy of one row, or None."""
        with self.lock:
            row = self._rows[entity_set].get(str(row_id).lower())
            return dict(row) if row is not None else None

    def query(self, entity_set: str) -> list[Row]:
        """Copies of every row of a table."""
        with self.lock:
            return [dict(row) for row in self._rows[entity_set].values()]

    def rows(self, entity_set: str) -> dict[str, Row]:
        """The live rows of a table (callers hold `lock` and never mutate them)."""
        return self._rows[entity_set]

    def index(self, entity_set: str, column: str) -> dict[str, set[str]]:
        """Lookup value → ids of the rows holding it (kept up to date on every write)."""
        key = (entity_set, column)
        index = self._indexes.get(key)
        if index is None:
            index = {}
            for row_id, row in self._rows[entity_set].items():
                value = row.get(column)
                if value is not None:
                    index.setdefault(value, set()).add(row_id)
            self._indexes[key] = index
        return index

    def sorted_index(self, entity_set: str, column: str, kind: str) -> SortedIndex:
        """The rows of a table ordered by one column (kept up to date on every write)."""
        key = (entity_set, column)
        index = self._sorted.get(key)
        if index is None:
            index = self._sorted[key] = SortedIndex(self._rows[entity_set], column, kind)
        return index

    def _invalidate(self) -> None:
        self._indexes.clear()
        self._sorted.clear()
        for name in self.generation:
            self.generation[name] += 1

    def _changed(self, entity_set: str, row_id: str, old: Row | None, new: Row | None) -> None:
        self.generation[entity_set] += 1
        if new is None and old is not None:
            self._deleted[entity_set].append((self.next_version(), row_id))
        for (name, _), ordered in self._sorted.items():
            if name == entity_set:
                ordered.update(row_id, old, new)
        for (name, column), index in self._indexes.items():
            if name != entity_set:
                continue
            before = old.get(column) if old else None
            after = new.get(column) if new else None
            if before == after:
                continue
            if before is not None:
                index.get(before, set()).discard(row_id)
            if after is not None:
                index.setdefault(after, set()).add(row_id)

    def find_set(self, row_id: str, logical_names: Iterable[str]) -> str | None:
        """Which of the given tables (logical names) holds `row_id`."""
        for logical in logical_names:
            table = self.table_for(logical)
            if row_id in self._rows[table.entity_set]:
                return logical
        return None

    def table_for(self, logical_name: str) -> Table:
        """The table of an entity type."""
        for table in self.tables.values():
            if table.logical_name == logical_name:
                return table
        raise KeyError(logical_name)

    # --- change tracking ----------------------------------------------------------------------
    def current_version(self) -> int:
        """The latest row version handed out."""
        return self._version

    def changed_since(self, entity_set: str, version: int) -> list[Row]:
        """Rows created or changed after `version`, oldest change first (callers hold `lock`)."""
        table = self._rows[entity_set].values()
        rows = [row for row in table if int(row.get("versionnumber") or 0) > version]
        return sorted(rows, key=lambda row: int(row["versionnumber"]))

    def deleted_since(self, entity_set: str, version: int) -> list[str]:
        """Ids of rows deleted after `version` (and not created again since)."""
        alive = self._rows[entity_set]
        tombstones = self._deleted[entity_set]
        return [row_id for stamp, row_id in tombstones if stamp > version and row_id not in alive]

    def expire_change_tracking(self) -> None:
        """Every delta token issued so far is expired from now on (Dataverse's retention, in tests)."""
        with self.lock:
            self.tracking_floor = self.next_version()

    # --- writes ---------------------------------------------------------------------------
    def next_version(self) -> int:
        """The next row version (global and increasing, like Dataverse's versionnumber)."""
        self._version += 1
        return self._version

    def new_ticket_number(self) -> str:
        """A unique CAS-<5 digits>-<6 alphanumerics> ticket number."""
        while True:
            number = f"CAS-{self._random.randrange(1000, 100000):05d}-" + "".join(
                self._random.choices(_ALPHABET, k=6)
            )
            if number not in self._tickets:
                self._tickets.add(number)
                return number

    def normalize(self, entity_set: str, row: Row) -> Row:
        """Accept `nav@odata.bind`, raw lookup names and Python values; return read-shaped values."""
        table = self.tables[entity_set]
        navs = table.navigations
        out: Row = {}
        for key, value in row.items():
            if key.endswith("@odata.bind"):
                nav = key[: -len("@odata.bind")]
                nav_column, target = navs[nav]
                ref = str(value).rsplit("(", 1)[-1].rstrip(")") if value else None
                out[nav_column.read_name] = ref.lower() if ref else None
                out[nav_column.read_name + LOGICAL] = target if ref else None
                continue
            column = table.columns.get(key)
            if column is not None and column.kind == "lookup":
                key = column.read_name
            if value is not None and not isinstance(value, str | int | float):
                value = to_json_value(value)
            elif isinstance(value, str) and key.endswith("_value") and not key.endswith(LOGICAL):
                value = value.lower()
            out[key] = value
        return out

    def _complete(self, entity_set: str, row: Row) -> Row:
        table = self.tables[entity_set]
        for column in table.columns.values():
            if column.kind != "lookup" or len(column.targets) < 2:
                if column.kind == "lookup":
                    key = column.read_name
                    row[key + LOGICAL] = column.targets[0][0] if row.get(key) else None
                continue
            key = column.read_name
            if row.get(key) and not row.get(key + LOGICAL):
                logical = self.find_set(row[key], [t for t, _ in column.targets])
                row[key + LOGICAL] = logical or column.targets[0][0]
            elif not row.get(key):
                row[key + LOGICAL] = None
        if entity_set == "contacts":
            parts = [row.get("firstname"), row.get("lastname")]
            row["fullname"] = " ".join(p for p in parts if p) or None
        return row

    def insert(self, entity_set: str, row: Row) -> Row:
        """Store a new row, filling id, dates, state, version and computed columns; returns a copy."""
        with self.lock:
            stored = self._prepare(entity_set, row)
            row_id = stored[self.tables[entity_set].primary_key]
            old = self._rows[entity_set].get(row_id)
            self._rows[entity_set][row_id] = stored
            self._changed(entity_set, row_id, old, stored)
            self._persist(entity_set, [stored])
            return dict(stored)

    def bulk_insert(self, entity_set: str, rows: Iterable[Row]) -> int:
        """Insert many rows in one transaction (seeding, benchmarks)."""
        with self.lock:
            prepared = [self._prepare(entity_set, row) for row in rows]
            key = self.tables[entity_set].primary_key
            target = self._rows[entity_set]
            for stored in prepared:
                old = target.get(stored[key])
                target[stored[key]] = stored
                if self._indexes or self._sorted:
                    self._changed(entity_set, stored[key], old, stored)
            self.generation[entity_set] += 1
            self._persist(entity_set, prepared)
            return len(prepared)

    def _prepare(self, entity_set: str, row: Row) -> Row:
        table = self.tables[entity_set]
        stored = self.normalize(entity_set, row)
        key = table.primary_key
        stored[key] = str(stored.get(key) or uuid.uuid4()).lower()
        if not stored.get("createdon"):
            stored["createdon"] = utc_now()
        stored.setdefault("modifiedon", stored["createdon"])
        states = STATES.get(entity_set)
        if states is not None:  # tables with a state (annotations, parties, users have none)
            state = stored.setdefault("statecode", 0)
            stored.setdefault("statuscode", states[state][0])
        stored["versionnumber"] = self.next_version()
        if entity_set == "incidents":
            if not stored.get("ticketnumber"):
                stored["ticketnumber"] = self.new_ticket_number()
            else:
                self._tickets.add(stored["ticketnumber"])
            stored.setdefault("decremententitlementterm", True)
        for column in table.columns.values():
            value = stored.setdefault(column.read_name, None)
            if column.kind == "decimal" and value is not None:
                stored[column.read_name] = float(value)
        return self._complete(entity_set, stored)

    def update(self, entity_set: str, row_id: Any, changes: Row, *, touch: bool = True) -> Row:
        """Apply changes to a row (bumping version, and modifiedon unless `touch` is off: a system
        count such as an article's views is not an edit); returns a copy."""
        with self.lock:
            row_id = str(row_id).lower()
            current = self._rows[entity_set][row_id]
            updated = {**current, **self.normalize(entity_set, changes)}
            updated["versionnumber"] = self.next_version()
            if touch:
                updated["modifiedon"] = utc_now()
            self._complete(entity_set, updated)
            self._rows[entity_set][row_id] = updated
            self._changed(entity_set, row_id, current, updated)
            self._persist(entity_set, [updated])
            return dict(updated)

    def delete(self, entity_set: str, row_id: Any) -> None:
        """Remove a row."""
        with self.lock:
            row_id = str(row_id).lower()
            old = self._rows[entity_set].pop(row_id, None)
            self._changed(entity_set, row_id, old, None)
            if self._db is not None:
                self._db.execute("DELETE FROM rows WHERE entity_set=? AND id=?", (entity_set, row_id))

    def transaction(self, work: Callable[[], Any]) -> Any:
        """Run `work` under the lock; if it raises, every row it changed is put back."""
        with self.lock:
            snapshot = {name: dict(rows) for name, rows in self._rows.items()}
            version = self._version
            try:
                return work()
            except BaseException:
                changed = [
                    (name, rid)
                    for name, rows in self._rows.items()
                    for rid in set(rows) ^ set(snapshot[name])
                    | {r for r in rows if r in snapshot[name] and rows[r] is not snapshot[name][r]}
                ]
                self._rows = snapshot
                self._invalidate()
                self._version = version
                for name, rid in changed:
                    if rid in snapshot[name]:
                        self._persist(name, [snapshot[name][rid]])
                    elif self._db is not None:
                        self._db.execute("DELETE FROM rows WHERE entity_set=? AND id=?", (name, rid))
                raise

    def _persist(self, entity_set: str, rows: list[Row]) -> None:
        if self._db is None or not rows:
            return
        key = self.tables[entity_set].primary_key
        self._db.execute("BEGIN")
        self._db.executemany(
            "INSERT OR REPLACE INTO rows VALUES (?, ?, ?)",
            [(entity_set, row[key], json.dumps(row)) for row in rows],
        )
        self._db.execute("COMMIT")
