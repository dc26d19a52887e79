"""The case list's state in the query string: search, filter, sort, page size and the page cursors.

Dataverse pages with an opaque cursor (no `$skip`), so "previous" is a stack of the cursors seen so far.
The stack travels in one signed query parameter (`page`): the user cannot forge a cursor into someone
else's query, and a cursor only applies to the query it came from (changing the search starts over).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, replace
from typing import Any, cast

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from werkzeug.datastructures import MultiDict

from d365portal.crm.cases import CaseSort
from d365portal.crm.models import CaseFilter, SortDirection

SORTS: tuple[CaseSort, ...] = (
    "ticket_number",
    "title",
    "customer",
    "priority",
    "status_reason",
    "created_on",
)
FILTERS: tuple[CaseFilter, ...] = ("open", "resolved", "all")
# Whose cases, for users above Contacto: the company's (what they always saw) or only their own.
WHOSE = ("company", "mine")
PAGE_SIZES = (10, 25, 50)
MAX_SEARCH = 100
# Cursors kept for "previous"; deeper than this, "previous" falls back to the first page.
MAX_BACK = 12
_SALT = "case-list-page"


@dataclass(frozen=True)
class ListState:
    """What the user asked the case list for."""

    search: str = ""
    which: CaseFilter = "open"
    whose: str = "company"
    sort: CaseSort = "ticket_number"
    direction: SortDirection = "desc"
    size: int = 10
    cursor: str | None = None
    back: tuple[str | None, ...] = ()  # cursors of the pages before this one (None = first page)
    number: int = 1  # this page's number, for display

    def query(self, **changes: Any) -> dict[str, Any]:
        """Query-string values for `url_for`, with `changes` applied; paging restarts unless kept."""
        state = replace(self, **changes) if changes else self
        values: dict[str, Any] = {}
        if state.search:
            values["q"] = state.search
        if state.which != "open":
            values["which"] = state.which
        if state.whose != "company":
            values["whose"] = state.whose
        if (state.sort, state.direction) != ("ticket_number", "desc"):
            values["sort"] = state.sort
            values["dir"] = state.direction
        if state.size != PAGE_SIZES[0]:
            values["size"] = state.size
        if state.cursor is not None or state.number > 1:
            values["page"] = _serializer().dumps(
                {"k": state._key(), "c": state.cursor, "b": list(state.back), "n": state.number}
            )
        return values

    def sort_query(self, column: CaseSort) -> dict[str, Any]:
        """Query for a header click: toggle the direction on the current column, else ascending."""
        if column == self.sort:
            direction: SortDirection = "asc" if self.direction == "desc" else "desc"
        else:
            direction = "asc"
        return self.query(sort=column, direction=direction, cursor=None, back=(), number=1)

    def next_query(self, next_cursor: str) -> dict[str, Any]:
        """Query for the next page."""
        back = (*self.back, self.cursor)[-MAX_BACK:]
        return self.query(cursor=next_cursor, back=back, number=self.number + 1)

    def previous_query(self) -> dict[str, Any] | None:
        """Query for the previous page; None on the first page."""
        if self.number <= 1:
            return None
        if not self.back:  # the stack was cut: go back to the start
            return self.first_query()
        return self.query(cursor=self.back[-1], back=self.back[:-1], number=self.number - 1)

    def first_query(self) -> dict[str, Any]:
        """Query for the first page with the same search, filter, sort and size."""
        return self.query(cursor=None, back=(), number=1)

    def _key(self) -> list[Any]:
        return [self.search, self.which, self.whose, self.sort, self.direction, self.size]


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def _choice(value: str | None, allowed: tuple[Any, ...], default: Any) -> Any:
    return value if value in allowed else default


def clean_search(value: str | None, limit: int = MAX_SEARCH) -> str:
    """Search text as typed, minus control characters (a pasted tab or NUL would match nothing, or
    make Dataverse refuse the query), spaces trimmed, at most `limit` characters."""
    text = "".join(" " if unicodedata.category(c) == "Cc" else c for c in value or "")
    return text.strip()[:limit].strip()


def parse_state(args: MultiDict[str, str]) -> ListState:
    """Read the list state from the query string; anything unknown falls back to the default."""
    search = clean_search(args.get("q"))
    which = cast(CaseFilter, _choice(args.get("which"), FILTERS, "open"))
    whose = str(_choice(args.get("whose"), WHOSE, "company"))
    sort = cast(CaseSort, _choice(args.get("sort"), SORTS, "ticket_number"))
    default_dir = "desc" if sort == "ticket_number" else "asc"
    direction = cast(SortDirection, _choice(args.get("dir"), ("asc", "desc"), default_dir))
    try:
        size = int(args.get("size", PAGE_SIZES[0]))
    except ValueError:
        size = PAGE_SIZES[0]
    size = size if size in PAGE_SIZES else PAGE_SIZES[0]
    state = ListState(search=search, which=which, whose=whose, sort=sort, direction=direction, size=size)
    token = args.get("page")
    if not token:
        return state
    try:
        data = _serializer().loads(token)
    except BadSignature:
        return state  # a tampered or stale page token: the first page
    if not isinstance(data, dict) or data.get("k") != state._key():
        return state  # the cursor belongs to another query
    back = tuple(c if isinstance(c, str) else None for c in data.get("b", []))[-MAX_BACK:]
    number = data["n"] if isinstance(data.get("n"), int) and data["n"] > 0 else 1
    cursor = data.get("c") if isinstance(data.get("c"), str) else None
    return replace(state, cursor=cursor, back=back, number=number)
