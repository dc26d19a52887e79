"""Sorted indexes: a column's (sort key, id) pairs kept in order, so a page needs no full sort."""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterator
from typing import Any

SortKey = tuple[bool, Any]


def sort_key(value: Any, kind: str) -> SortKey:
    """SQL Server order: nulls first, strings case-insensitively."""
    if value is None:
        return (False, 0)
    return (True, value.casefold() if kind == "string" else value)


class SortedIndex:
    """(sort key, row id) for every row of a table, in ascending order, updated on every write."""

    def __init__(self, rows: dict[str, dict[str, Any]], column: str, kind: str) -> None:
        self.column = column
        self.kind = kind
        self.entries: list[tuple[SortKey, str]] = sorted(
            (sort_key(row.get(column), kind), row_id) for row_id, row in rows.items()
        )

    def entry(self, row: dict[str, Any], row_id: str) -> tuple[SortKey, str]:
        """The index entry of a row."""
        return (sort_key(row.get(self.column), self.kind), row_id)

    def update(self, row_id: str, old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
        """Move a row's entry after a write."""
        if old is not None:
            before = self.entry(old, row_id)
            if new is not None and self.entry(new, row_id) == before:
                return
            at = bisect_left(self.entries, before)
            if at < len(self.entries) and self.entries[at] == before:
                del self.entries[at]
        if new is not None:
            insort(self.entries, self.entry(new, row_id))

    def ids(self, descending: bool, after: tuple[SortKey, str] | None = None) -> Iterator[str]:
        """Row ids in order (descending: ties by id descending), starting just after `after`."""
        entries = self.entries
        if not descending:
            start = bisect_right(entries, after) if after is not None else 0
            for index in range(start, len(entries)):
                yield entries[index][1]
        else:
            stop = bisect_left(entries, after) if after is not None else len(entries)
            for index in range(stop - 1, -1, -1):
                yield entries[index][1]
