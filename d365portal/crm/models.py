"""Typed records read from Dataverse: raw values beside Dataverse's formatted labels.

Labels of choices and lookups are the `OData.Community.Display.V1.FormattedValue` annotations, so a
tenant's custom labels ("Moderado", "En Revisión") show as-is; the portal never hard-codes one.
Dates are UTC `datetime`s (the web layer formats them in the portal's time zone); date-only values
(entitlement start/end) are `date`s, never shifted a day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import IntEnum
from typing import Generic, Literal, TypeVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict


class Record(BaseModel):
    """Base of every record: immutable, keeps the row's ETag for concurrency checks."""

    model_config = ConfigDict(frozen=True)

    etag: str | None = None


class Choice(BaseModel):
    """An option-set value with Dataverse's label for it."""

    model_config = ConfigDict(frozen=True)

    value: int
    label: str  # Dataverse's formatted value (the application user's language)
    entity: str = ""  # table and column, to find the label in the page's language (crm/labels.py)
    attribute: str = ""


class Lookup(BaseModel):
    """A reference to another row: its id, its name (formatted value) and its table."""

    model_config = ConfigDict(frozen=True)

    id: UUID
    name: str | None = None
    logical_name: str | None = None


class CaseState(IntEnum):
    """incident.statecode."""

    ACTIVE = 0
    RESOLVED = 1
    CANCELED = 2


class CaseStatus(IntEnum):
    """incident.statuscode values the portal writes (Dataverse's defaults)."""

    IN_PROGRESS = 1
    PROBLEM_SOLVED = 5
    CANCELLED = 6


class Case(Record):
    """An incident as the portal shows it."""

    id: UUID
    ticket_number: str | None = None
    title: str
    description: str | None = None
    customer: Lookup | None = None
    associate: Lookup | None = None
    contact: Lookup | None = None
    entitlement: Lookup | None = None
    priority: Choice | None = None
    origin: Choice | None = None
    case_type: Choice | None = None
    state: Choice
    status_reason: Choice
    created_on: datetime
    modified_on: datetime | None = None
    # Minutes charged when resolved (billed service units); None while open.
    billed_minutes: int | None = None
    # The list's "Esperando su respuesta": staff wrote last, or the status reason asks for details.
    awaiting_reply: bool = False

    @property
    def is_open(self) -> bool:
        """True while the case is active (not resolved or canceled)."""
        return self.state.value == CaseState.ACTIVE


class Account(Record):
    """An account: the customer, or one of its associated end customers."""

    id: UUID
    name: str
    account_number: str | None = None
    email: str | None = None
    telephone: str | None = None
    city: str | None = None
    primary_contact: Lookup | None = None
    parent_account: Lookup | None = None


class Contact(Record):
    """A contact with the portal identity fields (never the password hash: see `Credentials`)."""

    id: UUID
    full_name: str
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    parent_account: Lookup | None = None
    username: str | None = None
    security_stamp: str | None = None
    logon_enabled: bool = False
    lockout_enabled: bool = True
    access_failed_count: int = 0
    lockout_end: datetime | None = None
    email_confirmed: bool = False
    last_successful_login: datetime | None = None
    two_factor_enabled: bool = False  # adx_identity_twofactorenabled: a second factor is asked
    web_roles: tuple[str, ...] = ()  # names of the contact's active Power Pages web roles

    def locked_out(self, now: datetime | None = None) -> bool:
        """A lockout end in the future."""
        if self.lockout_end is None:
            return False
        end = self.lockout_end if self.lockout_end.tzinfo else self.lockout_end.replace(tzinfo=UTC)
        return end > (now or datetime.now(UTC))


class Credentials(BaseModel):
    """What the sign-in path alone reads: the contact plus its stored password hash."""

    model_config = ConfigDict(frozen=True)

    contact: Contact
    password_hash: str | None = None
    second_factor: str | None = None  # the sealed (encrypted) authenticator secret and recovery codes


class AllocationType(IntEnum):
    """entitlement.allocationtypecode."""

    NUMBER_OF_CASES = 0
    NUMBER_OF_HOURS = 1


class Entitlement(Record):
    """An entitlement: the customer's support hour bank (or case bank)."""

    id: UUID
    name: str
    customer: Lookup | None = None
    start_date: date | None = None
    end_date: date | None = None
    allocation_type: Choice
    total_terms: Decimal | None = None
    remaining_terms: Decimal | None = None
    state: Choice
    status_reason: Choice
    is_default: bool = False
    restrict_case_creation: bool = False
    cases: tuple[Case, ...] = ()

    @property
    def used_terms(self) -> Decimal | None:
        """Total minus remaining (None when either is unknown)."""
        if self.total_terms is None or self.remaining_terms is None:
            return None
        return self.total_terms - self.remaining_terms


class Level(IntEnum):
    """What a portal user may see and do in their company, lowest first."""

    CONTACT = 1
    COMPANY = 2
    ADMIN = 3

    @property
    def key(self) -> str:
        """The level's name in settings, messages and forms."""
        return {Level.CONTACT: "contact", Level.COMPANY: "company", Level.ADMIN: "admin"}[self]

    @classmethod
    def from_key(cls, key: str) -> Level:
        """The level named `key` (contact, company, admin); ValueError otherwise."""
        for level in cls:
            if level.key == key:
                return level
        raise ValueError(f"unknown level {key!r}")


@dataclass(frozen=True)
class Scope:
    """Who is asking and what they may see: the cases of the account and its associated end customers
    (Empresa and above), or only those where they are the contact (Contacto, or "Mis casos" at any
    level); hour banks at Contacto level only where the tenant allows it."""

    contact_id: UUID
    account_id: UUID
    level: Level = Level.COMPANY
    mine_only: bool = False
    contact_hour_banks: bool = False

    @property
    def own_cases_only(self) -> bool:
        """Only the cases where this contact is the contact."""
        return self.mine_only or self.level < Level.COMPANY

    @property
    def hour_banks(self) -> bool:
        """May this user see the company's hour banks."""
        return self.level >= Level.COMPANY or self.contact_hour_banks


T = TypeVar("T")

CaseFilter = Literal["open", "resolved", "all"]
SortDirection = Literal["asc", "desc"]


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list, with an opaque cursor for the next one (None on the last page)."""

    items: tuple[T, ...]
    next_cursor: str | None = None
    total: int | None = None  # @odata.count when asked (capped at 5000 by Dataverse)


@dataclass(frozen=True)
class NewCase:
    """What the portal sends to open a case; `id` is chosen by the portal (idempotent create)."""

    id: UUID
    title: str
    description: str | None
    customer_id: UUID
    contact_id: UUID
    associate_id: UUID | None = None
    entitlement_id: UUID | None = None
