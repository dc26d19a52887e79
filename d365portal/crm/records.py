"""Turning Dataverse rows (raw values + annotations) into the typed records of `models.py`."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from d365portal.crm.models import Choice, Lookup

FORMATTED = "@OData.Community.Display.V1.FormattedValue"
LOGICAL_NAME = "@Microsoft.Dynamics.CRM.lookuplogicalname"

Row = dict[str, Any]


def lookup_column(name: str) -> str:
    """The read name of a lookup: `customerid` → `_customerid_value`."""
    return f"_{name}_value"


def text(row: Row, column: str) -> str | None:
    """A string column (None when empty)."""
    value = row.get(column)
    return None if value in (None, "") else str(value)


def integer(row: Row, column: str) -> int | None:
    """A whole-number column."""
    value = row.get(column)
    return None if value is None else int(value)


def decimal(row: Row, column: str) -> Decimal | None:
    """A decimal column, exactly (JSON numbers go through their text)."""
    value = row.get(column)
    return None if value is None else Decimal(str(value))


def boolean(row: Row, column: str, default: bool = False) -> bool:
    """A yes/no column."""
    value = row.get(column)
    return default if value is None else bool(value)


def choice(row: Row, column: str, entity: str = "") -> Choice | None:
    """A choice column of table `entity` with Dataverse's label for it (the value when unlabelled)."""
    value = row.get(column)
    if value is None:
        return None
    label = row.get(column + FORMATTED)
    text = str(label) if label is not None else str(value)
    return Choice(value=int(value), label=text, entity=entity, attribute=column)


def required_choice(row: Row, column: str, entity: str = "") -> Choice:
    """A choice column that every row has (state, status)."""
    found = choice(row, column, entity)
    if found is None:
        raise ValueError(f"Dataverse row without {column}")
    return found


def lookup(row: Row, name: str) -> Lookup | None:
    """A lookup (`name` is the logical column name): id, related record's name and table."""
    column = lookup_column(name)
    value = row.get(column)
    if not value:
        return None
    return Lookup(
        id=UUID(str(value)), name=row.get(column + FORMATTED), logical_name=row.get(column + LOGICAL_NAME)
    )


def timestamp(row: Row, column: str) -> datetime | None:
    """A date-and-time column as an aware UTC datetime."""
    value = row.get(column)
    if not value:
        return None
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def required_timestamp(row: Row, column: str) -> datetime:
    """A date-and-time column every row has (createdon)."""
    found = timestamp(row, column)
    if found is None:
        raise ValueError(f"Dataverse row without {column}")
    return found


def date_only(row: Row, column: str) -> date | None:
    """A date-only column, never shifted a day.

    entitlement.startdate/enddate are "UserLocal" columns with the "DateOnly" format (Microsoft's
    entitlement reference): Dataverse sends the UTC instant of midnight in the time zone of whoever
    entered the date — 2020-02-01T05:00:00Z from Bogotá, 2020-01-31T23:00:00Z from Madrid. The nearest
    UTC midnight is that date for every zone from UTC-11 to UTC+12; a plain date stays as it is.
    """
    value = row.get(column)
    if not value:
        return None
    text = str(value)
    if len(text) <= 10:
        return date.fromisoformat(text)
    instant = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if instant.tzinfo is not None:
        instant = instant.astimezone(UTC)
    return (instant + timedelta(hours=12)).date()


def uuid(row: Row, column: str) -> UUID:
    """A primary key column."""
    return UUID(str(row[column]))
