"""Reads: query options ($select, $filter, $orderby, $top, $count, $expand), paging and expansion."""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote

from d365portal.emulator import errors
from d365portal.emulator.filters import Candidates, FilterCompiler, Predicate
from d365portal.emulator.formatting import Annotations, Formatter
from d365portal.emulator.indexes import sort_key
from d365portal.emulator.schema import ManyToMany, Table
from d365portal.emulator.store import LOGICAL, Store

MAX_PAGE_SIZE = 5000
COUNT_LIMIT = 5000
SUPPORTED = {"$select", "$filter", "$orderby", "$top", "$count", "$expand", "$skiptoken", "$deltatoken"}
UNSUPPORTED = {
    "$apply",
    "$search",
    "$format",
    "$levels",
    "$compute",
    "$index",
    "$schemaversion",
}
# Dataverse's answer to $orderby/$top inside a single-valued (many-to-one) $expand (Web API "Join tables").
SINGLE_VALUED_EXPAND_OPTIONS = (
    "Only $select and $filter clause can be provided while doing $expand on many-to-one relationship "
    "or nested one-to-many relationship."
)
# "You can include up to 15 $expand options in a query" (Web API "Join tables"), nested ones included.
MAX_EXPANSIONS = 15
_COOKIE = re.compile(
    r'^<cookie pagenumber="(\d+)" pagingcookie="(\d+)(?:\|([0-9a-f-]{36}))?" istracking="False" />$'
)


@dataclass
class Options:
    """Parsed query options for one table."""

    select: list[str] | None = None
    predicate: Predicate | None = None
    candidates: Candidates | None = None
    cache_key: tuple[Any, ...] = ()
    touched: tuple[str, ...] = ()
    orderby: list[tuple[str, bool]] = field(default_factory=list)
    top: int | None = None
    count: bool = False
    expand: list[Expansion] = field(default_factory=list)


@dataclass
class Expansion:
    """One $expand item: a navigation property and its nested options."""

    name: str
    table: Table
    options: Options
    lookup_key: str | None = None  # single-valued: the lookup column read name
    target: str | None = None
    back_column: str | None = None  # collection-valued: the column of the related rows
    through: ManyToMany | None = None  # N:N: the relationship whose intersect rows link them
    query: str = ""  # the nested options as a query string (for `<nav>@odata.nextLink`)


def is_number(text: str) -> bool:
    """Plain ASCII digits (`str.isdigit()` also takes "²" and other digits `int()` refuses)."""
    return text.isascii() and text.isdigit()


def count_expansions(items: list[Expansion]) -> int:
    """Every $expand item of a query, nested ones included."""
    return sum(1 + count_expansions(item.options.expand) for item in items)


def split_top_level(text: str, sep: str) -> list[str]:
    """Split on `sep` outside parentheses and quotes."""
    parts: list[str] = []
    current: list[str] = []
    depth, quoted = 0, False
    for char in text:
        if char == "'":
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth -= 1
        if char == sep and depth == 0 and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


# Parameters without `$` that Dataverse understands and the emulator does not implement.
DATAVERSE_PARAMETERS = frozenset({"fetchXml", "savedQuery", "userQuery", "sql"})


def check_parameter(name: str) -> None:
    """Refuse a query parameter without `$`: Dataverse's own 400 for one it does not know (its
    message, with code 0x0), 501 for one it knows and the emulator lacks. Never ignored."""
    if name.startswith("$"):
        return
    if name.startswith("@"):
        raise errors.not_implemented("parameter aliases")
    if name in DATAVERSE_PARAMETERS:
        raise errors.not_implemented(f"the query parameter '{name}'")
    raise errors.EmulatorError(400, "0x0", f"The query parameter {name} is not supported")


class QueryParser:
    """Validates query options against a table, the way Dataverse validates them."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def parse(self, table: Table, args: dict[str, str], nested: bool = False) -> Options:
        """Parse every option in `args` (already URL-decoded)."""
        for name in args:
            if name == "$skip":
                raise errors.skip_not_supported()
            if name in UNSUPPORTED:
                raise errors.not_implemented(f"the query option '{name}'")
            if name.startswith("$") and name not in SUPPORTED:
                raise errors.query_syntax(f"The query parameter '{name}' is not supported.")
            check_parameter(name)
        options = Options()
        if "$select" in args:
            options.select = self.select(table, args["$select"])
        touched: set[str] = {table.entity_set}
        if args.get("$filter"):
            compiler = FilterCompiler(self.store, table)
            options.predicate, options.candidates = compiler.compile_with_plan(args["$filter"])
            touched |= compiler.touched
        if args.get("$orderby"):
            options.orderby = self.orderby(table, args["$orderby"])
            for name, _ in options.orderby:  # a lookup sorts by the related name: renames matter
                for target, _nav in table.by_read_name[name].targets:
                    touched.add(self.store.table_for(target).entity_set)
        options.touched = tuple(sorted(touched))
        options.cache_key = (table.entity_set, args.get("$filter") or "", tuple(options.orderby))
        if "$top" in args:
            options.top = self._int(args["$top"], "$top")
        if "$count" in args:
            value = args["$count"].strip().lower()
            if value not in ("true", "false"):
                raise errors.query_syntax(f"'{args['$count']}' is not a valid count option.")
            options.count = value == "true"
        if args.get("$expand"):
            options.expand = self.expand(table, args["$expand"])
        if not nested and count_expansions(options.expand) > MAX_EXPANSIONS:
            raise errors.EmulatorError(
                400, "0x8004430d", "Number of link entities in query exceeded maximum limit."
            )
        return options

    @staticmethod
    def _int(text: str, option: str) -> int:
        if not is_number(text.strip()):
            raise errors.query_syntax(f"Invalid value '{text}' for {option} query option found.")
        return int(text)

    def select(self, table: Table, text: str) -> list[str]:
        """The selected read names; an unknown (or navigation) name is 0x80060888."""
        names = [part.strip() for part in text.split(",")]
        for name in names:
            if not name:
                raise errors.query_syntax(f"Syntax error: '{text}' is not a valid $select.")
            if name == "*":
                return list(table.by_read_name)
            if name not in table.by_read_name:
                raise errors.unknown_property(name, table.logical_name)
        return names

    def orderby(self, table: Table, text: str) -> list[tuple[str, bool]]:
        """(read name, descending) pairs."""
        keys = []
        for part in text.split(","):
            words = part.split()
            if not words or len(words) > 2 or (len(words) == 2 and words[1].lower() not in ("asc", "desc")):
                raise errors.query_syntax(f"Syntax error in $orderby '{text}'.")
            if "/" in words[0]:
                raise errors.not_implemented("$orderby on navigation paths")
            if words[0] not in table.by_read_name:
                raise errors.unknown_property(words[0], table.logical_name)
            keys.append((words[0], len(words) == 2 and words[1].lower() == "desc"))
        return keys

    def expand(self, table: Table, text: str) -> list[Expansion]:
        """$expand items, each with its nested $select/$filter/$orderby/$top."""
        items = []
        for raw in split_top_level(text, ","):
            raw = raw.strip()
            match = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)(?:\((.*)\))?", raw, re.S)
            if not match:
                raise errors.query_syntax(f"Syntax error in $expand '{text}'.")
            name, inner = match.group(1), match.group(2) or ""
            nested: dict[str, str] = {}
            for option in split_top_level(inner, ";") if inner else []:
                key, _, value = option.partition("=")
                nested[key.strip()] = value
            if name in table.navigations:
                if {"$orderby", "$top"} & {key.strip() for key in nested}:
                    raise errors.query_syntax(SINGLE_VALUED_EXPAND_OPTIONS)
                column, target = table.navigations[name]
                other = self.store.table_for(target)
                options = self.parse(other, nested, nested=True)
                items.append(Expansion(name, other, options, lookup_key=column.read_name, target=target))
            elif name in table.collections:
                nav = table.collections[name]
                other = self.store.tables[nav.entity_set]
                if "$expand" in {key.strip() for key in nested} and (
                    {"$orderby", "$top"} & {key.strip() for key in nested}
                ):  # Web API "Join tables": $orderby and $top are not supported with nested $expand
                    raise errors.query_syntax(SINGLE_VALUED_EXPAND_OPTIONS)
                options = self.parse(other, nested, nested=True)
                query = "&".join(f"{k.strip()}={quote(v, safe=',()/$=')}" for k, v in nested.items())
                items.append(Expansion(name, other, options, back_column=f"_{nav.column}_value", query=query))
            elif name in table.many_to_many:
                link = table.many_to_many[name]
                other = self.store.tables[link.entity_set]
                if "$expand" in {key.strip() for key in nested}:
                    raise errors.not_implemented("$expand nested in a many-to-many $expand")
                options = self.parse(other, nested, nested=True)
                query = "&".join(f"{k.strip()}={quote(v, safe=',()/$=')}" for k, v in nested.items())
                items.append(Expansion(name, other, options, through=link, query=query))
            else:
                raise errors.unknown_property(name, table.logical_name)
        return items


def sort_rows(
    store: Store, rows: list[dict[str, Any]], table: Table, orderby: list[tuple[str, bool]]
) -> list[dict[str, Any]]:
    """Sort like Dataverse: choices by value, lookups by the related row's name, nulls first, then by key."""
    key_name = table.primary_key
    # Ties go by the primary key in the first key's direction (as the sorted-index path does).
    rows = sorted(rows, key=lambda r: r[key_name], reverse=bool(orderby and orderby[0][1]))
    for name, descending in reversed(orderby):
        kind = table.by_read_name[name].kind

        def key(row: dict[str, Any], name: str = name, kind: str = kind) -> tuple[bool, Any]:
            if kind == "lookup":
                return sort_key(_lookup_name(store, row, name), "string")
            return sort_key(row.get(name), kind)

        rows.sort(key=key, reverse=descending)
    return rows


def _lookup_name(store: Store, row: dict[str, Any], name: str) -> str | None:
    """The primary name of the row a lookup points to (what Dataverse orders lookups by)."""
    ref, target = row.get(name), row.get(name + LOGICAL)
    if not ref or not target:
        return None
    related_table = store.table_for(target)
    related = store.rows(related_table.entity_set).get(ref)
    return related.get(related_table.primary_name) if related else None


def page_from_index(
    store: Store, table: Table, options: Options, after_id: str | None, skip: int, limit: int
) -> tuple[list[dict[str, Any]], bool] | None:
    """A page read in index order without sorting everything (one $orderby key, large candidate sets).

    Returns (rows, more) or None when this query shape does not qualify.
    """
    if len(options.orderby) != 1 or options.count:
        return None
    ids = options.candidates() if options.candidates else None
    if ids is not None and len(ids) < 2000:
        return None  # sorting a few candidates is cheaper than walking the index
    name, descending = options.orderby[0]
    if table.by_read_name[name].kind == "lookup":
        return None  # ordered by the related row's name, which the index does not follow
    index = store.sorted_index(table.entity_set, name, table.by_read_name[name].kind)
    rows = store.rows(table.entity_set)
    after = None
    if after_id is not None and after_id in rows:
        after, skip = index.entry(rows[after_id], after_id), 0
    page: list[dict[str, Any]] = []
    for row_id in index.ids(descending, after):
        if ids is not None and row_id not in ids:
            continue
        row = rows[row_id]
        if options.predicate is not None and not options.predicate(row):
            continue
        if skip:
            skip -= 1
            continue
        if len(page) == limit:
            return page, True
        page.append(row)
    return page, False


class ResultCache:
    """Ordered results of recent queries, valid until a table they depend on changes."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self._entries: OrderedDict[tuple[Any, ...], tuple[tuple[int, ...], list[dict[str, Any]]]] = (
            OrderedDict()
        )

    def get(self, key: tuple[Any, ...], generations: tuple[int, ...]) -> list[dict[str, Any]] | None:
        """The cached rows for `key` if nothing it depends on changed since."""
        entry = self._entries.get(key)
        if entry is None or entry[0] != generations:
            return None
        self._entries.move_to_end(key)
        return entry[1]

    def put(self, key: tuple[Any, ...], generations: tuple[int, ...], rows: list[dict[str, Any]]) -> None:
        """Remember a result."""
        self._entries[key] = (generations, rows)
        self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)


def select_rows(
    store: Store, table: Table, options: Options, cache: ResultCache | None = None
) -> list[dict[str, Any]]:
    """Filtered and ordered rows (live dicts; callers hold the store lock)."""
    generations = tuple(store.generation[name] for name in options.touched)
    if cache is not None:
        cached = cache.get(options.cache_key, generations)
        if cached is not None:
            return cached
    all_rows = store.rows(table.entity_set)
    ids = options.candidates() if options.candidates else None
    rows = all_rows.values() if ids is None else [all_rows[i] for i in ids if i in all_rows]
    matched = [r for r in rows if options.predicate(r)] if options.predicate else list(rows)
    result = sort_rows(store, matched, table, options.orderby)
    if cache is not None:
        cache.put(options.cache_key, generations, result)
    return result


def serialize(
    store: Store,
    formatter: Formatter,
    table: Table,
    row: dict[str, Any],
    options: Options,
    notes: Annotations,
    link_base: str | None = None,
    in_collection: bool = False,
) -> dict[str, Any]:
    """A row with its expansions. With `link_base` (the Web API root), an expanded collection carries
    `<nav>@odata.nextLink`, the URL of the related rows: always in a collection query (Microsoft's
    "Single $expand on collection-valued navigation properties"), and for one row when `$top` cut it."""
    out = formatter.row(table, row, options.select, notes)
    row_id = row[table.primary_key]
    for item in options.expand:
        if item.lookup_key is not None:
            ref = row.get(item.lookup_key)
            related = None
            if ref and row.get(item.lookup_key + LOGICAL) == item.target:
                related = store.rows(item.table.entity_set).get(ref)
            out[item.name] = (
                serialize(store, formatter, item.table, related, item.options, notes) if related else None
            )
        else:
            related_rows = store.rows(item.table.entity_set)
            if item.through is not None:
                linked = linked_through(store, item.through, row_id)
            else:
                linked = store.index(item.table.entity_set, item.back_column or "").get(row_id, set())
            children = [
                related_rows[i]
                for i in linked
                if i in related_rows
                and (item.options.predicate is None or item.options.predicate(related_rows[i]))
            ]
            children = sort_rows(store, children, item.table, item.options.orderby)
            cut = item.options.top is not None and len(children) > item.options.top
            if item.options.top is not None:
                children = children[: item.options.top]
            out[item.name] = [
                serialize(store, formatter, item.table, c, item.options, notes) for c in children
            ]
            if link_base is not None and (in_collection or cut):
                query = f"?{item.query}" if item.query else ""
                url = f"{link_base}{table.entity_set}({row_id})/{item.name}{query}"
                out[f"{item.name}@odata.nextLink"] = url
    return out


def linked_through(store: Store, link: ManyToMany, row_id: str) -> set[str]:
    """The ids of the rows an N:N relationship links to `row_id` (through its intersect rows)."""
    intersect = store.rows(link.intersect_set)
    ids = store.index(link.intersect_set, link.this_column).get(row_id, set())
    return {str(intersect[i][link.other_column]) for i in ids if i in intersect}


def make_skiptoken(page: int, offset: int, last_id: str) -> str:
    """An opaque paging cookie shaped like Dataverse's: the page, the offset and the last row's id."""
    return f'<cookie pagenumber="{page}" pagingcookie="{offset}|{last_id}" istracking="False" />'


def read_skiptoken(token: str) -> tuple[int, int, str | None]:
    """(page number, offset, last row id) from a paging cookie made by `make_skiptoken`."""
    match = _COOKIE.match(unquote(token))
    if not match:
        raise errors.query_syntax("The $skiptoken value is not valid.")
    return int(match.group(1)), int(match.group(2)), match.group(3)


def resume_at(rows: list[dict[str, Any]], key: str, offset: int, last_id: str | None) -> int:
    """Where the next page starts: just after the last row sent (if still there), else the offset."""
    if last_id is None:
        return offset
    if offset > 0 and offset - 1 < len(rows) and rows[offset - 1].get(key) == last_id:
        return offset
    for index, row in enumerate(rows):
        if row.get(key) == last_id:
            return index + 1
    return offset


def next_link(
    base: str, entity_set: str, raw_args: list[tuple[str, str]], page: int, offset: int, last_id: str
) -> str:
    """@odata.nextLink: the same query with a new $skiptoken."""
    parts = [f"{quote(k, safe='$')}={quote(v, safe=',()/$=')}" for k, v in raw_args if k != "$skiptoken"]
    parts.append("$skiptoken=" + quote(make_skiptoken(page, offset, last_id), safe=""))
    return f"{base}{entity_set}?" + "&".join(parts)
