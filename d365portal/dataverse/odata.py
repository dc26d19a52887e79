"""OData query building from typed parts: nothing here pastes user input into a query unescaped.

- column and navigation names must look like Dataverse identifiers (they come from code or the
  validated field map, never from a request);
- string values become literals with single quotes doubled; GUIDs are validated by `uuid.UUID`;
- the query string is percent-encoded by `encode_query()`, so `&`, `#`, `+` or `%` in a search
  cannot end the `$filter` or start another option.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Literal
from urllib.parse import quote
from uuid import UUID

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Kept readable in URLs; everything else (space, &, #, +, %, ?, =, quotes excepted) is percent-encoded.
_URL_SAFE = "$,()'/:@*"
_STRING_LITERAL = re.compile(r"'(?:[^']|'')*'")

Direction = Literal["asc", "desc"]


def identifier(name: str) -> str:
    """`name` if it is a Dataverse identifier or a `nav/column` path of identifiers; else ValueError."""
    parts = name.split("/")
    if not parts or not all(_IDENTIFIER.match(part) for part in parts):
        raise ValueError(f"not a Dataverse column name: {name!r}")
    return name


def guid(value: UUID | str) -> str:
    """The canonical text of a GUID; ValueError when `value` is not one."""
    return str(value if isinstance(value, UUID) else UUID(str(value)))


def literal(value: object) -> str:
    """An OData literal for a Python value: strings quoted with `'` doubled, GUIDs and dates bare."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, UUID):
        return guid(value)
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("datetimes in filters must be timezone-aware")
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(f"no OData literal for {type(value).__name__}")


@dataclass(frozen=True)
class Expr:
    """A boolean `$filter` expression, already safe: built only by the functions below."""

    text: str

    def __and__(self, other: Expr) -> Expr:
        return and_(self, other)

    def __or__(self, other: Expr) -> Expr:
        return or_(self, other)

    def __str__(self) -> str:
        return self.text


def _compare(op: str, column: str, value: object) -> Expr:
    return Expr(f"{identifier(column)} {op} {literal(value)}")


def eq(column: str, value: object) -> Expr:
    """`column eq value`."""
    return _compare("eq", column, value)


def le(column: str, value: object) -> Expr:
    """`column le value`."""
    return _compare("le", column, value)


def ge(column: str, value: object) -> Expr:
    """`column ge value`."""
    return _compare("ge", column, value)


def ne(column: str, value: object) -> Expr:
    """`column ne value`."""
    return _compare("ne", column, value)


# Dataverse runs contains/startswith/endswith as SQL LIKE: `%`, `_` and `[` are wildcards there
# (learn.microsoft.com …/data-platform/wildcard-characters); bracketed they match themselves.
_LIKE_WILDCARD = re.compile(r"([%_\[])")


def like_text(text: str) -> str:
    """`text` with Dataverse's LIKE wildcards bracketed, so `100%` or `a_b` match only themselves."""
    return _LIKE_WILDCARD.sub(r"[\1]", text)


def contains(column: str, text: str) -> Expr:
    """`contains(column,'text')`: case-insensitive, and `text` taken literally (wildcards escaped)."""
    return Expr(f"contains({identifier(column)},{literal(like_text(str(text)))})")


def startswith(column: str, text: str) -> Expr:
    """`startswith(column,'text')`, with `text` taken literally (wildcards escaped)."""
    return Expr(f"startswith({identifier(column)},{literal(like_text(str(text)))})")


def and_(*parts: Expr) -> Expr:
    """All of `parts` (each parenthesised so precedence never depends on the caller)."""
    return _join("and", parts)


def or_(*parts: Expr) -> Expr:
    """Any of `parts`."""
    return _join("or", parts)


def _join(op: str, parts: Sequence[Expr]) -> Expr:
    if not parts:
        raise ValueError(f"{op} of nothing")
    if len(parts) == 1:
        return parts[0]
    return Expr(f" {op} ".join(f"({p.text})" for p in parts))


def select(columns: Iterable[str]) -> str:
    """A `$select` value from column names."""
    return ",".join(identifier(c) for c in columns)


def orderby(keys: Iterable[tuple[str, Direction]]) -> str:
    """A `$orderby` value from (column, direction) pairs."""
    out = []
    for column, direction in keys:
        if direction not in ("asc", "desc"):
            raise ValueError(f"bad sort direction {direction!r}")
        out.append(f"{identifier(column)} {direction}")
    return ",".join(out)


def expand(
    navigation: str,
    *,
    select_: Iterable[str] | None = None,
    filter_: Expr | None = None,
    orderby_: Iterable[tuple[str, Direction]] | None = None,
    top_: int | None = None,
    expand_: Iterable[str] | None = None,
) -> str:
    """One `$expand` item with its nested options, e.g. `nav($select=a,b;$filter=…)`; `expand_` takes
    items made by this function (Dataverse refuses $orderby and $top beside a nested $expand)."""
    options = []
    if select_ is not None:
        options.append(f"$select={select(select_)}")
    if filter_ is not None:
        options.append(f"$filter={filter_.text}")
    if orderby_ is not None:
        options.append(f"$orderby={orderby(orderby_)}")
    if top_ is not None:
        options.append(f"$top={int(top_)}")
    nested = list(expand_ or ())
    if nested:
        if orderby_ is not None or top_ is not None:
            raise ValueError("Dataverse refuses $orderby/$top beside a nested $expand")
        options.append(f"$expand={','.join(nested)}")
    inner = f"({';'.join(options)})" if options else ""
    return f"{identifier(navigation)}{inner}"


def entity_path(entity_set: str, record_id: UUID | str | None = None) -> str:
    """`incidents` or `incidents(<guid>)`."""
    name = identifier(entity_set)
    return name if record_id is None else f"{name}({guid(record_id)})"


def bind(entity_set: str, record_id: UUID | str) -> str:
    """The value of an `<nav>@odata.bind` property: `/accounts(<guid>)`."""
    return f"/{entity_path(entity_set, record_id)}"


def _encode_value(text: str) -> str:
    # Inside a string literal every reserved character is percent-encoded, as Microsoft's table asks
    # ("URL encode special characters": $ & + , / : ; = ? @); the query's own syntax stays readable.
    out, position = [], 0
    for match in _STRING_LITERAL.finditer(text):
        out.append(quote(text[position : match.start()], safe=_URL_SAFE))
        out.append(quote(match.group(0), safe="'()"))
        position = match.end()
    out.append(quote(text[position:], safe=_URL_SAFE))
    return "".join(out)


def encode_query(params: Mapping[str, str | int]) -> str:
    """The query string, percent-encoded (spaces as %20; `&`/`#`/`+`/`%` escaped inside values, and
    every reserved character inside a string literal)."""
    return "&".join(f"{quote(str(k), safe='$')}={_encode_value(str(v))}" for k, v in params.items())
