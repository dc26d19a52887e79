"""Rows as the Web API sends them: selected columns, @odata.etag and the annotations asked for."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel.numbers import format_decimal

from d365portal.emulator.conditional import etag
from d365portal.emulator.filters import parse_datetime
from d365portal.emulator.schema import Column, Table
from d365portal.emulator.store import LOGICAL, Store

FORMATTED = "@OData.Community.Display.V1.FormattedValue"
NAVPROP = "@Microsoft.Dynamics.CRM.associatednavigationproperty"
USER_TIME_ZONE = ZoneInfo("America/Bogota")  # the emulator's application user's time zone


@dataclass(frozen=True)
class Annotations:
    """Which annotations a `Prefer: odata.include-annotations` asked for."""

    formatted: bool = False
    lookup: bool = False
    counts: bool = False  # totalrecordcount / totalrecordcountlimitexceeded

    @classmethod
    def from_preference(cls, value: str | None) -> Annotations:
        """Parse the comma-separated annotation filter (with * wildcards)."""
        if not value:
            return cls()
        patterns = [p.strip() for p in value.strip('"').split(",") if p.strip()]

        def wants(name: str) -> bool:
            for pattern in patterns:
                if pattern.startswith("-"):
                    continue
                if pattern == "*" or pattern == name:
                    return True
                if pattern.endswith(".*") and name.startswith(pattern[:-1]):
                    return True
            return False

        formatted = wants("OData.Community.Display.V1.FormattedValue")
        lookup = wants("Microsoft.Dynamics.CRM.lookuplogicalname") or wants(
            "Microsoft.Dynamics.CRM.associatednavigationproperty"
        )
        # As Microsoft documents (select-columns.md): the lookup annotations come only when asked
        # for by name or wildcard, not with FormattedValue alone.
        counts = wants("Microsoft.Dynamics.CRM.totalrecordcount") or wants(
            "Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"
        )
        return cls(formatted=formatted, lookup=lookup, counts=counts)

    @property
    def any(self) -> bool:
        """True if any annotation was asked for."""
        return self.formatted or self.lookup


class Formatter:
    """Formats values in the emulator's language and user time zone."""

    def __init__(self, store: Store, language: str) -> None:
        self.store = store
        self.language = language
        self.spanish = language.lower().startswith("es")

    def formatted(self, table: Table, column: Column, value: Any, row: dict[str, Any]) -> str | None:
        """Dataverse's formatted value for one column value (None when it has none)."""
        if value is None:
            return None
        kind = column.kind
        if kind == "choice":
            return self.store.metadata.label(self.language, table.entity_set, column.name, value)
        if kind == "bool":
            return ("Sí" if self.spanish else "Yes") if value else "No"
        if kind == "datetime":
            local = parse_datetime(value).astimezone(USER_TIME_ZONE)
            return self._datetime(local)
        if kind == "dateonly":
            day = parse_datetime(value).date()
            return day.strftime("%d/%m/%Y") if self.spanish else f"{day.month}/{day.day}/{day.year}"
        if kind == "int":
            return format_decimal(value, format="#,##0", locale=self._locale)
        if kind == "decimal":
            return format_decimal(value, format="#,##0.00", locale=self._locale)
        if kind == "lookup":
            target = row.get(column.read_name + LOGICAL)
            if not target:
                return None
            other_table = self.store.table_for(target)
            other = self.store.rows(other_table.entity_set).get(value)
            return other.get(other_table.primary_name) if other is not None else None
        return None

    @property
    def _locale(self) -> str:
        return "es_ES" if self.spanish else "en_US"

    def _datetime(self, local: datetime) -> str:
        if self.spanish:
            return local.strftime("%d/%m/%Y %H:%M")
        hour = local.hour % 12 or 12
        suffix = "AM" if local.hour < 12 else "PM"
        return f"{local.month}/{local.day}/{local.year} {hour}:{local.minute:02d} {suffix}"

    def row(
        self, table: Table, row: dict[str, Any], select: list[str] | None, annotations: Annotations
    ) -> dict[str, Any]:
        """One row as JSON: @odata.etag, the key, the selected columns and their annotations."""
        out: dict[str, Any] = {"@odata.etag": etag(row)}
        columns = table.by_read_name
        names = select if select is not None else list(columns)
        if table.primary_key not in names:
            names = [*names, table.primary_key]
        for name in names:
            column = columns[name]
            value = row.get(name)
            if value is not None and annotations.any and name not in (table.primary_key, "versionnumber"):
                if annotations.formatted:
                    text = self.formatted(table, column, value, row)
                    if text is not None:
                        out[name + FORMATTED] = text
                if annotations.lookup and column.kind == "lookup":
                    target = row.get(name + LOGICAL)
                    nav = dict(column.targets).get(target or "")
                    if nav:
                        out[name + NAVPROP] = nav
                    out[name + LOGICAL] = target
            out[name] = value
        return out
