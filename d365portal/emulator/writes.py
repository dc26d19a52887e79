"""Writes: payload validation with Dataverse's errors, upsert rules, case resolution and hour banks."""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from decimal import Decimal
from typing import Any

from d365portal.emulator import errors
from d365portal.emulator.filters import parse_datetime
from d365portal.emulator.metadata import STATE_ENUM_NAMES, STATES
from d365portal.emulator.schema import DEEP_INSERT_ONLY_SETS, READ_ONLY_SETS, CollectionNav, Column, Table
from d365portal.emulator.store import LOGICAL, Row, Store

_BIND = re.compile(r"^(?:.*/)?([A-Za-z_][A-Za-z0-9_]*)\(([0-9a-fA-F-]{36})\)$")
_IGNORED_ON_WRITE = {
    "createdon", "modifiedon", "versionnumber", "fullname", "ticketnumber", "filesize", "isdocument",
}  # fmt: skip
ATTACHMENT_BLOCKED = (
    "The attachment is either not a valid type or is too large. It cannot be uploaded or downloaded."
)
_INVALID_FILE_CHARS = frozenset('\\/:*?"<>|')
RESOLVED_MESSAGE = (
    "This message can not be used to set the state of incident to Resolved. In order to set state of "
    "incident to Resolved, use the CloseIncidentRequest message instead."
)


def _type_error(table: Table, column: Column) -> errors.EmulatorError:
    return errors.payload_error(
        table.entity_set,
        f"Cannot convert a primitive value to the expected type '{column.edm_type}'. "
        "See the inner exception for more details.",
    )


class Writer:
    """Validates and applies creates, updates, deletes and the CloseIncident action."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # --- validation -----------------------------------------------------------------------
    def changes(self, table: Table, body: Any) -> Row:
        """The body's changes as stored values, or a Dataverse-style 400 (nothing is written)."""
        if not isinstance(body, dict):
            raise errors.payload_error(table.entity_set, "The payload must be a JSON object.")
        out: Row = {}
        for key, value in body.items():
            if key in table.collections:
                raise errors.payload_error(
                    table.entity_set,
                    f"The collection '{key}' can be set only when the row is created (deep insert).",
                )
            if key == "createdby@odata.bind":
                continue  # set by Dataverse from the caller (MSCRMCallerID impersonation), never by a body
            if key.endswith("@odata.bind"):
                out.update(self._bind(table, key[: -len("@odata.bind")], value))
                continue
            if key.startswith("@") or "@" in key:
                continue  # instance annotations (@odata.type, …) are ignored
            column = table.columns.get(key)
            if column is None or column.kind == "lookup":
                raise errors.payload_error(
                    table.entity_set,
                    f"The property '{key}' does not exist on type 'Microsoft.Dynamics.CRM."
                    f"{table.logical_name}'. Make sure to only use property names that are defined by "
                    "the type or mark the type as open type.",
                )
            if key in _IGNORED_ON_WRITE:
                continue
            if key == table.primary_key and value is None:  # would leave a row without an id
                raise errors.invalid_argument(f"The value of '{key}' cannot be null.")
            out[key] = self._value(table, column, value)
        return out

    def _bind(self, table: Table, nav: str, value: Any) -> Row:
        if nav not in table.navigations:
            raise errors.payload_error(
                table.entity_set,
                f"An undeclared property '{nav}' which only has property annotations in the payload but no "
                "property value was found in the payload. In OData, only declared navigation properties "
                "and declared named streams can be represented as properties without values.",
            )
        column, target = table.navigations[nav]
        if value is None:
            return {column.read_name: None, column.read_name + LOGICAL: None}
        match = _BIND.match(value) if isinstance(value, str) else None
        target_table = self.store.table_for(target)
        if not match or match.group(1) != target_table.entity_set:
            raise errors.payload_error(
                table.entity_set,
                f"The URI '{value}' in '{nav}@odata.bind' is not a valid reference to "
                f"'{target_table.entity_set}'.",
            )
        ref = match.group(2).lower()
        if ref not in self.store.rows(target_table.entity_set):
            raise errors.record_not_found(target, ref)
        return {column.read_name: ref, column.read_name + LOGICAL: target}

    def _value(self, table: Table, column: Column, value: Any) -> Any:
        if value is None:
            return None
        kind = column.kind
        ok = {
            "string": isinstance(value, str),
            "int": isinstance(value, int) and not isinstance(value, bool),
            "choice": isinstance(value, int) and not isinstance(value, bool),
            "decimal": isinstance(value, int | float | str) and not isinstance(value, bool),
            "bool": isinstance(value, bool),
            "datetime": isinstance(value, str),
            "dateonly": isinstance(value, str),
            "guid": isinstance(value, str),
        }[kind]
        if not ok:
            raise _type_error(table, column)
        if kind == "string" and column.max_length and len(value) > column.max_length:
            raise errors.too_long(column.name, table.logical_name, column.max_length)
        if kind == "choice":
            options = self.store.metadata.options(table.entity_set, column.name)
            if options is not None and value not in options:
                raise errors.option_out_of_range(column.name, table.logical_name, value, sorted(options))
        if kind == "int" and not -(2**31) <= value < 2**31:
            raise _type_error(table, column)
        try:
            if kind == "decimal":
                number = Decimal(str(value))
                if not number.is_finite():  # "NaN" / "Infinity" as text
                    raise _type_error(table, column)
                return float(number)
            if kind in ("datetime", "dateonly"):
                return parse_datetime(value).strftime("%Y-%m-%dT%H:%M:%SZ")
            if kind == "guid":
                return str(uuid.UUID(value))
        except (ValueError, ArithmeticError):
            raise _type_error(table, column) from None
        return value

    def _check_required(self, table: Table, row: Row) -> None:
        for column in table.columns.values():
            if column.required and row.get(column.read_name) in (None, ""):
                if table.entity_set == "incidents" and column.name == "customerid":
                    raise errors.missing_customer()
                raise errors.required_missing(column.name, table.logical_name)

    def _check_state(self, table: Table, row: Row) -> None:
        states = STATES.get(table.entity_set)
        if states is None:  # a table without state and status reason
            return
        state, status = row.get("statecode"), row.get("statuscode")
        if state not in states:
            raise errors.option_out_of_range("statecode", table.logical_name, state, sorted(states))
        if status not in states[state]:
            enum = STATE_ENUM_NAMES.get(table.entity_set, f"{table.logical_name}State")
            names = {0: "Active", 1: "Resolved", 2: "Canceled"} if table.entity_set == "incidents" else {}
            raise errors.invalid_argument(
                f"{status} is not a valid status code for state code {enum}.{names.get(state, state)} on "
                f"{table.logical_name} with Id {row[table.primary_key]}."
            )

    # --- deep insert ----------------------------------------------------------------------
    def deep_changes(self, table: Table, body: Any) -> tuple[Row, list[tuple[CollectionNav, Row, list[Any]]]]:
        """The row's own changes and, per collection property in the body, its new related rows
        (each validated like a create; nothing is written until all of them pass)."""
        if not isinstance(body, dict):
            raise errors.payload_error(table.entity_set, "The payload must be a JSON object.")
        own = {k: v for k, v in body.items() if k not in table.collections}
        nested: list[tuple[CollectionNav, Row, list[Any]]] = []
        for name, items in body.items():
            if name not in table.collections:
                continue
            nav = table.collections[name]
            if not isinstance(items, list):
                raise errors.payload_error(table.entity_set, f"The value of '{name}' must be a JSON array.")
            other = self.store.tables[nav.entity_set]
            for item in items:
                child, grandchildren = self.deep_changes(other, item)
                nested.append((nav, child, [grandchildren]))
        return self.changes(table, own), nested

    def create_deep(self, table: Table, body: Any, *, caller: str, row_id: str | None = None) -> Row:
        """POST with related rows in the body (Web API "Create related table rows in one operation"):
        the row and every related row are created in one transaction, or none is."""
        changes, nested = self.deep_changes(table, body)

        def work() -> Row:
            row = self.create(table, changes, row_id=row_id, caller=caller)
            self._create_children(table, row, nested, caller)
            return row

        return self.store.transaction(work)  # type: ignore[no-any-return]

    def _create_children(
        self, table: Table, parent: Row, nested: list[tuple[CollectionNav, Row, list[Any]]], caller: str
    ) -> None:
        parent_id = parent[table.primary_key]
        for nav, child, (grandchildren,) in nested:
            other = self.store.tables[nav.entity_set]
            back = other.columns[nav.column].read_name
            child = {**child, back: parent_id, back + LOGICAL: table.logical_name}
            created = self.create(other, child, caller=caller, nested=True)
            self._create_children(other, created, grandchildren, caller)

    # --- writes ---------------------------------------------------------------------------
    def create(
        self, table: Table, changes: Row, row_id: str | None = None, *, caller: str | None = None,
        nested: bool = False,
    ) -> Row:
        """Create a row (validated first); a case linked to an entitlement may consume a term."""
        if row_id:
            changes[table.primary_key] = row_id
        if changes.get(table.primary_key) and changes[table.primary_key] in self.store.rows(table.entity_set):
            raise errors.duplicate_record()
        if table.entity_set == "incidents" and changes.get("statecode") == 1:
            raise errors.invalid_argument(RESOLVED_MESSAGE)
        candidate = {**changes}
        candidate.setdefault(table.primary_key, str(uuid.uuid4()))
        if table.entity_set in STATES:
            candidate.setdefault("statecode", 0)
            default_status = STATES[table.entity_set].get(candidate["statecode"], (None,))[0]
            candidate.setdefault("statuscode", default_status)
        if table.entity_set in DEEP_INSERT_ONLY_SETS and not nested:
            raise errors.method_not_allowed("POST", table.entity_set)
        if table.entity_set in READ_ONLY_SETS - DEEP_INSERT_ONLY_SETS:  # an N:N intersect: use $ref
            raise errors.method_not_allowed("POST", table.entity_set)
        if caller is not None and "_createdby_value" in table.by_read_name:
            candidate["_createdby_value"] = caller
            candidate["_createdby_value" + LOGICAL] = "systemuser"
        if table.entity_set == "annotations":
            self._check_attachment(candidate)
        self._check_required(table, candidate)
        self._check_state(table, candidate)

        def work() -> Row:
            row = self.store.insert(table.entity_set, candidate)
            if table.entity_set == "incidents":
                self._on_case_created(row)
            return row

        return self.store.transaction(work)

    def update(self, table: Table, row_id: str, changes: Row) -> Row:
        """Update a row; incident state changes follow Dataverse's rules (resolve only via CloseIncident)."""
        if table.entity_set in READ_ONLY_SETS:
            raise errors.method_not_allowed("PATCH", table.entity_set)
        current = self.store.rows(table.entity_set)[row_id]
        merged = {**current, **changes}
        if table.entity_set == "annotations" and {"documentbody", "filename"} & set(changes):
            self._check_attachment(merged)
            changes.update({k: merged[k] for k in ("filesize", "isdocument")})
        if "statecode" in changes and "statuscode" not in changes:
            merged["statuscode"] = STATES[table.entity_set].get(changes["statecode"], (None,))[0]
        self._check_required(table, merged)
        if table.entity_set == "incidents" and merged.get("statecode") == 1 and current.get("statecode") != 1:
            raise errors.invalid_argument(RESOLVED_MESSAGE)
        self._check_state(table, merged)
        if "statecode" in changes:
            changes["statuscode"] = merged["statuscode"]

        def work() -> Row:
            if table.entity_set == "incidents" and current.get("statecode") == 1 and merged["statecode"] != 1:
                self._adjust_entitlement(current, give_back=True)
            return self.store.update(table.entity_set, row_id, changes)

        return self.store.transaction(work)

    def close_incident(self, body: Any) -> None:
        """The CloseIncident action: a resolution activity, the case resolved, hours deducted."""
        if not isinstance(body, dict) or not isinstance(body.get("IncidentResolution"), dict):
            raise errors.payload_error("CloseIncident", "The parameter 'IncidentResolution' is missing.")
        status = body.get("Status")
        if not isinstance(status, int) or isinstance(status, bool):
            raise errors.payload_error("CloseIncident", "The parameter 'Status' must be an Edm.Int32.")
        resolutions = self.store.tables["incidentresolutions"]
        resolution = self.changes(resolutions, body["IncidentResolution"])
        case_id = resolution.get("_incidentid_value")
        if not case_id:
            raise errors.invalid_argument("The IncidentResolution must reference an incident (incidentid).")
        case = self.store.rows("incidents")[case_id]
        if status not in STATES["incidents"][1]:
            raise errors.invalid_argument(
                f"{status} is not a valid status code for state code IncidentState.Resolved on incident with "
                f"Id {case_id}."
            )
        if case.get("statecode") != 0:
            raise errors.invalid_argument("This case has already been resolved or canceled.")
        resolution.update(statecode=1, statuscode=2)

        def work() -> None:
            self.store.insert("incidentresolutions", resolution)
            changes: Row = {"statecode": 1, "statuscode": status}
            if resolution.get("timespent") is not None:
                changes["billedserviceunits"] = resolution["timespent"]
            updated = self.store.update("incidents", case_id, changes)
            self._adjust_entitlement(updated, give_back=False)

        self.store.transaction(work)

    # --- notes with files -----------------------------------------------------------------
    def _check_attachment(self, row: Row) -> None:
        """A note's file, as Dataverse checks it: the organization's `maxuploadfilesize` applies to the
        base64 text, `blockedattachments` to the extension (both AttachmentBlocked, 0x80043e09), a
        name with invalid characters is AttachmentInvalidFileName (0x80044a08). Sets `filesize` and
        `isdocument` from the body."""
        body, name = row.get("documentbody"), row.get("filename")
        if not body:
            row["filesize"], row["isdocument"] = 0, False
            return
        try:
            size = len(base64.b64decode(body, validate=True))
        except (binascii.Error, ValueError):
            raise errors.payload_error(
                "annotations", "The documentbody is not a valid base64 string."
            ) from None
        organization = next(iter(self.store.rows("organizations").values()), {})
        limit = organization.get("maxuploadfilesize") or 5_242_880
        blocked = {e.strip().lower() for e in (organization.get("blockedattachments") or "").split(";")}
        name = str(name or "")
        extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
        if any(ch in _INVALID_FILE_CHARS or ord(ch) < 32 for ch in name):
            raise errors.EmulatorError(400, "0x80044a08", "Attachment file name contains invalid characters.")
        if len(body) > limit or (extension and extension in blocked - {""}):
            raise errors.EmulatorError(400, "0x80043e09", ATTACHMENT_BLOCKED)
        row["filesize"], row["isdocument"] = size, True

    # --- hour banks -----------------------------------------------------------------------
    def _terms(self, case: Row, entitlement: Row) -> float:
        if entitlement.get("allocationtypecode") == 1:
            return (case.get("billedserviceunits") or 0) / 60
        return 1.0

    def _adjust_entitlement(self, case: Row, give_back: bool) -> None:
        """Deduct (or give back) the terms a resolved case consumed from its entitlement."""
        entitlement_id = case.get("_entitlementid_value")
        if not entitlement_id or case.get("decremententitlementterm") is False:
            return
        entitlement = self.store.rows("entitlements").get(entitlement_id)
        if entitlement is None or entitlement.get("decreaseremainingon") == 1:
            return
        terms = self._terms(case, entitlement)
        remaining = (entitlement.get("remainingterms") or 0) + (terms if give_back else -terms)
        self.store.update("entitlements", entitlement_id, {"remainingterms": round(remaining, 10)})

    def _on_case_created(self, case: Row) -> None:
        entitlement_id = case.get("_entitlementid_value")
        if not entitlement_id or case.get("decremententitlementterm") is False:
            return
        entitlement = self.store.rows("entitlements").get(entitlement_id)
        if (
            entitlement
            and entitlement.get("decreaseremainingon") == 1
            and entitlement.get("allocationtypecode") == 0
        ):
            remaining = (entitlement.get("remainingterms") or 0) - 1
            self.store.update("entitlements", entitlement_id, {"remainingterms": remaining})
