"""From changed rows to events: what happened, to which case or hour bank, said once.

Each followed table is read with the columns its events need. A case's status is compared with the
state last seen (kept in the shared store: the baseline records every case's), so only a change of
status reason or state is an event; comments and web notes are events when they are new and staff's;
an hour bank is an event the first time it crosses a threshold.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from d365portal.crm import records as r

EventKind = Literal[
    "comment", "note", "waiting", "resolved", "cancelled", "bank_low", "bank_empty", "bank_expiring"
]
STATE_TTL = 400 * 86400  # last-seen states and sent-mail keys outlive any delta token (90 days)
OUTGOING = 2
WAITING_FOR_DETAILS = 3


@dataclass(frozen=True)
class Followed:
    """A table the notifier follows: its entity set and the columns its events need."""

    entity_set: str
    logical_name: str
    select: tuple[str, ...]


FOLLOWED = (
    Followed("adx_portalcomments", "adx_portalcomment",
             ("activityid", "description", "adx_portalcommentdirectioncode", "_regardingobjectid_value",
              "statecode", "createdon")),
    Followed("annotations", "annotation", ("annotationid", "notetext", "_objectid_value", "createdon")),
    Followed("incidents", "incident", ("incidentid", "statecode", "statuscode", "versionnumber")),
    Followed("entitlements", "entitlement",
             ("entitlementid", "name", "statecode", "totalterms", "remainingterms", "enddate",
              "_customerid_value", "versionnumber")),
)  # fmt: skip


@dataclass(frozen=True)
class Event:
    """Something to tell: `key` names it once and for all (a mail per recipient per key)."""

    key: str
    kind: EventKind
    case_id: str | None = None
    bank_id: str | None = None
    account_id: str | None = None
    text: str = ""
    row: dict[str, Any] = field(default_factory=dict, compare=False)  # an hour bank's figures


class Detector:
    """Events of one batch of changed rows; `remember()` records the states they leave behind."""

    def __init__(self, store: Any, web_prefix: str, low_share: float, expiry_days: int) -> None:
        self.store = store
        self.prefix = web_prefix
        self.low_share = Decimal(str(low_share))
        self.expiry_days = expiry_days

    # --- the last-seen state of cases and banks ----------------------------------------------
    def _case_key(self, case_id: str) -> str:
        return f"notify:case:{case_id}"

    def remember(self, table: Followed, rows: list[dict[str, Any]]) -> None:
        """What each changed case looks like now (the next change is compared with it)."""
        if table.entity_set != "incidents":
            return
        states = {
            self._case_key(str(row["incidentid"])): f"{row.get('statecode')}:{row.get('statuscode')}"
            for row in rows
        }
        self.store.set_many(states, STATE_TTL)  # a baseline of 100,000 cases: one transaction

    # --- events ---------------------------------------------------------------------------------
    def events(self, table: Followed, rows: list[dict[str, Any]], today: date | None = None) -> list[Event]:
        """The events in rows changed on `table` since the last poll."""
        found: list[Event] = []
        for row in rows:
            if table.entity_set == "adx_portalcomments":
                found.extend(self._comment(row))
            elif table.entity_set == "annotations":
                found.extend(self._note(row))
            elif table.entity_set == "incidents":
                found.extend(self._case(row))
            elif table.entity_set == "entitlements":
                found.extend(self.bank_events(row, today or datetime.now(UTC).date()))
        return found

    def _comment(self, row: dict[str, Any]) -> list[Event]:
        case_id = row.get("_regardingobjectid_value")
        logical = row.get("_regardingobjectid_value" + r.LOGICAL_NAME)
        if row.get("adx_portalcommentdirectioncode") != OUTGOING or not case_id or row.get("statecode") == 2:
            return []  # the customer's own comment, one not about a case, or a withdrawn one
        if logical not in (None, "incident"):
            return []
        text = str(row.get("description") or "")
        return [Event(f"comment:{row['activityid']}", "comment", case_id=str(case_id), text=text)]

    def _note(self, row: dict[str, Any]) -> list[Event]:
        text = str(row.get("notetext") or "")
        case_id = row.get("_objectid_value")
        if not text.startswith(self.prefix) or not case_id:
            return []  # internal notes are never told
        if row.get("_objectid_value" + r.LOGICAL_NAME) != "incident":
            return []  # a file on a comment: the comment is the event
        return [
            Event(
                f"note:{row['annotationid']}",
                "note",
                case_id=str(case_id),
                text=text[len(self.prefix) :].strip(),
            )
        ]

    def _case(self, row: dict[str, Any]) -> list[Event]:
        case_id = str(row["incidentid"])
        state, status = row.get("statecode"), row.get("statuscode")
        seen = self.store.get(self._case_key(case_id))
        if seen == f"{state}:{status}":
            return []  # another column changed
        version = row.get("versionnumber") or ""
        if state == 1:
            return [Event(f"resolved:{case_id}:{version}", "resolved", case_id=case_id)]
        if state == 2:
            return [Event(f"cancelled:{case_id}:{version}", "cancelled", case_id=case_id)]
        if state == 0 and status == WAITING_FOR_DETAILS:
            return [Event(f"waiting:{case_id}:{version}", "waiting", case_id=case_id)]
        return []

    def bank_events(self, row: dict[str, Any], today: date) -> list[Event]:
        """Thresholds an active hour bank has crossed (each is told once per bank: the key has no version)."""
        if row.get("statecode") != 1:
            return []
        bank_id, account = str(row["entitlementid"]), row.get("_customerid_value")
        total, remaining = r.decimal(row, "totalterms"), r.decimal(row, "remainingterms")
        found: list[Event] = []
        if total and remaining is not None:
            if remaining <= 0:
                found.append(
                    Event(f"bank_empty:{bank_id}", "bank_empty", bank_id=bank_id, account_id=account, row=row)
                )
            elif remaining < total * self.low_share:
                found.append(
                    Event(f"bank_low:{bank_id}", "bank_low", bank_id=bank_id, account_id=account, row=row)
                )
        end = r.date_only(row, "enddate")
        if end is not None and today <= end <= today + timedelta(days=self.expiry_days):
            found.append(
                Event(
                    f"bank_expiring:{bank_id}", "bank_expiring", bank_id=bank_id, account_id=account, row=row
                )
            )
        return found
