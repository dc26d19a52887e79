"""Contacts and the portal identity columns stored on them (DESIGN.md decision 7)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

from d365portal.crm import records as r
from d365portal.crm.models import Contact, Credentials, Lookup
from d365portal.crm.roles import role_names_of, roles_expand
from d365portal.dataverse import odata
from d365portal.dataverse.client import DataverseClient
from d365portal.dataverse.errors import Conflict, NotFound
from d365portal.settings import FieldMap

PARENT_ACCOUNT_NAV = "parentcustomerid_account"
MAX_EMAIL_MATCHES = 5
PORTAL_USERS_PAGE = 5000

# `Contact` field (or `password_hash`) → the FieldMap attribute naming its column.
IDENTITY_FIELDS: dict[str, str] = {
    "username": "identity_username",
    "password_hash": "identity_passwordhash",
    "security_stamp": "identity_securitystamp",
    "logon_enabled": "identity_logonenabled",
    "lockout_enabled": "identity_lockoutenabled",
    "access_failed_count": "identity_accessfailedcount",
    "lockout_end": "identity_lockoutenddate",
    "email_confirmed": "identity_emailconfirmed",
    "last_successful_login": "identity_lastsuccessfullogin",
    "two_factor_enabled": "identity_twofactorenabled",
}
# Read and written like the password hash: on the sign-in path and the security page only.
SECRET_FIELDS: dict[str, str] = {
    "password_hash": "identity_passwordhash",
    "second_factor": "identity_secondfactor",
}


def identity_column(fieldmap: FieldMap, field: str) -> str:
    """The contact column of an identity field, from the field map; KeyError for anything else."""
    return odata.identifier(getattr(fieldmap, IDENTITY_FIELDS.get(field) or SECRET_FIELDS[field]))


def contact_columns(fieldmap: FieldMap, *, with_hash: bool = False, second_factor: bool = True) -> list[str]:
    """The contact columns the portal reads; the password hash (and the second factor's sealed
    secret, when the tenant has its column) only on the sign-in path."""
    columns = ["contactid", "fullname", "firstname", "lastname", "emailaddress1", "_parentcustomerid_value"]
    columns += [identity_column(fieldmap, f) for f in IDENTITY_FIELDS if f != "password_hash"]
    if with_hash:
        columns.append(identity_column(fieldmap, "password_hash"))
        if second_factor:
            columns.append(identity_column(fieldmap, "second_factor"))
    return columns


def contact_from_row(row: r.Row, fieldmap: FieldMap) -> Contact:
    """A `Contact` from a contact row (never carries the hash)."""
    col = {field: identity_column(fieldmap, field) for field in IDENTITY_FIELDS}
    parent = r.lookup(row, "parentcustomerid")
    expanded = row.get(PARENT_ACCOUNT_NAV)
    if parent is not None and isinstance(expanded, dict) and expanded.get("name"):
        parent = Lookup(id=parent.id, name=expanded["name"], logical_name=parent.logical_name or "account")
    return Contact(
        etag=row.get("@odata.etag"),
        id=r.uuid(row, "contactid"),
        full_name=r.text(row, "fullname") or "",
        first_name=r.text(row, "firstname"),
        last_name=r.text(row, "lastname"),
        email=r.text(row, "emailaddress1"),
        parent_account=parent,
        username=r.text(row, col["username"]),
        security_stamp=r.text(row, col["security_stamp"]),
        logon_enabled=r.boolean(row, col["logon_enabled"]),
        lockout_enabled=r.boolean(row, col["lockout_enabled"], default=True),
        access_failed_count=r.integer(row, col["access_failed_count"]) or 0,
        lockout_end=r.timestamp(row, col["lockout_end"]),
        email_confirmed=r.boolean(row, col["email_confirmed"]),
        last_successful_login=r.timestamp(row, col["last_successful_login"]),
        two_factor_enabled=r.boolean(row, col["two_factor_enabled"]),
        web_roles=role_names_of(row),
    )


def contact_expand() -> str:
    """What every contact read brings along: the parent account's name and the active web roles."""
    return ",".join((odata.expand(PARENT_ACCOUNT_NAV, select_=["name"]), roles_expand()))


def _column_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return odata.literal(value)  # UTC ISO-8601 with Z, as Dataverse expects
    if isinstance(value, UUID):
        return str(value)
    return value


class ContactRepository:
    """Reads and updates contacts; every method is one Dataverse request."""

    def __init__(self, client: DataverseClient, fieldmap: FieldMap, *, second_factor: bool = True) -> None:
        self._client = client
        self._fieldmap = fieldmap
        self.second_factor = second_factor  # the tenant has the second factor's column

    def columns(self, *, with_hash: bool = False) -> list[str]:
        """The contact columns a read selects."""
        return contact_columns(self._fieldmap, with_hash=with_hash, second_factor=self.second_factor)

    def _query(self, where: odata.Expr, *, with_hash: bool = False, top: int | None = None) -> list[r.Row]:
        params: dict[str, str | int] = {
            "$select": odata.select(self.columns(with_hash=with_hash)),
            "$filter": where.text,
            "$expand": contact_expand(),
        }
        if top is not None:
            params["$top"] = top
        return list(self._client.get("contacts", params).get("value", []))

    def _credentials(self, where: odata.Expr) -> Credentials | None:
        rows = self._query(where, with_hash=True, top=2)
        if len(rows) != 1:  # none, or an ambiguous username: nobody signs in as it
            return None
        return self.credentials_from_row(rows[0])

    def credentials_from_row(self, row: r.Row) -> Credentials:
        """Contact, password hash and sealed second factor from a row read `with_hash`."""
        sealed = r.text(row, identity_column(self._fieldmap, "second_factor")) if self.second_factor else None
        return Credentials(
            contact=contact_from_row(row, self._fieldmap),
            password_hash=r.text(row, identity_column(self._fieldmap, "password_hash")),
            second_factor=sealed,
        )

    def credentials_by_username(self, username: str) -> Credentials | None:
        """The sign-in read: contact + password hash + parent account name, or None."""
        if not username.strip():
            return None
        return self._credentials(odata.eq(identity_column(self._fieldmap, "username"), username.strip()))

    def credentials_by_id(self, contact_id: UUID) -> Credentials | None:
        """Contact + password hash by id (password change, reset), or None."""
        return self._credentials(odata.eq("contactid", UUID(str(contact_id))))

    def get(self, contact_id: UUID) -> Contact:
        """One contact (without hash); `NotFound` when missing."""
        rows = self._query(odata.eq("contactid", UUID(str(contact_id))))
        if not rows:
            raise NotFound(f"contact {contact_id} does not exist", status=404)
        return contact_from_row(rows[0], self._fieldmap)

    def find_by_email(self, email: str) -> list[Contact]:
        """Contacts whose emailaddress1 equals the address (case-insensitive), at most a few."""
        if not email.strip():
            return []
        # Dataverse compares strings case-insensitively, so `eq` is the case-insensitive match.
        rows = self._query(odata.eq("emailaddress1", email.strip()), top=MAX_EMAIL_MATCHES)
        return [contact_from_row(row, self._fieldmap) for row in rows]

    def find_by_username(self, username: str) -> Contact | None:
        """The contact with that portal username, or None."""
        if not username.strip():
            return None
        rows = self._query(odata.eq(identity_column(self._fieldmap, "username"), username.strip()), top=2)
        return contact_from_row(rows[0], self._fieldmap) if len(rows) == 1 else None

    def list_portal_users(self) -> list[Contact]:
        """Every contact that has a portal username (for `d365portal users list`)."""
        params = {
            "$select": odata.select(contact_columns(self._fieldmap)),
            "$filter": odata.ne(identity_column(self._fieldmap, "username"), None).text,
            "$expand": contact_expand(),
        }
        # One request up to 5000 users; beyond that the command follows @odata.nextLink.
        rows = self._client.iterate("contacts", params, page_size=PORTAL_USERS_PAGE)
        contacts = [contact_from_row(row, self._fieldmap) for row in rows]
        return sorted(contacts, key=lambda c: (c.username or "").lower())

    def update_identity(self, contact_id: UUID, changes: Mapping[str, Any], etag: str | None = None) -> None:
        """PATCH identity fields. Keys are logical names of `Contact` fields or `password_hash`
        (mapped to the field map's columns); with `etag`, If-Match makes it fail on a concurrent change."""
        unknown = set(changes) - set(IDENTITY_FIELDS) - set(SECRET_FIELDS)
        if unknown:
            raise ValueError(f"not identity fields: {', '.join(sorted(unknown))}")
        if "second_factor" in changes and not self.second_factor:
            raise ValueError("the second factor's column is not configured (two_factor_app = false)")
        body = {identity_column(self._fieldmap, k): _column_value(v) for k, v in changes.items()}
        self._client.update("contacts", UUID(str(contact_id)), body, etag=etag)

    def update_email(
        self, contact_id: UUID, email: str, identity_changes: Mapping[str, Any] | None = None
    ) -> None:
        """Set emailaddress1, and in the same request any identity fields that go with it (a new
        security stamp, the address no longer confirmed)."""
        changes = dict(identity_changes or {})
        unknown = set(changes) - set(IDENTITY_FIELDS)
        if unknown:
            raise ValueError(f"not identity fields: {', '.join(sorted(unknown))}")
        body = {identity_column(self._fieldmap, k): _column_value(v) for k, v in changes.items()}
        body["emailaddress1"] = email.strip()
        self._client.update("contacts", UUID(str(contact_id)), body)

    # --- the company's people (issue 15) ------------------------------------------------------------
    def company_people(self, account_id: UUID) -> list[Contact]:
        """Every active contact of the account, with identity columns and web roles, by name: the
        company admin's list, in one request."""
        where = odata.and_(
            odata.eq("_parentcustomerid_value", UUID(str(account_id))), odata.eq("statecode", 0)
        )
        params: dict[str, str | int] = {
            "$select": odata.select(contact_columns(self._fieldmap)),
            "$filter": where.text,
            "$expand": contact_expand(),
            "$orderby": odata.orderby([("fullname", "asc"), ("contactid", "asc")]),
        }
        rows = self._client.iterate("contacts", params, page_size=PORTAL_USERS_PAGE)
        return [contact_from_row(row, self._fieldmap) for row in rows]

    def create_in_account(
        self, contact_id: UUID, account_id: UUID, first: str, last: str, email: str
    ) -> bool:
        """Create a contact under the account with the id the portal chose (a retry is not a second
        contact: PATCH with If-None-Match); False when that id exists already."""
        body = {
            "firstname": first.strip(), "lastname": last.strip(), "emailaddress1": email.strip(),
            "parentcustomerid_account@odata.bind": odata.bind("accounts", UUID(str(account_id))),
        }  # fmt: skip
        try:
            self._client.upsert("contacts", UUID(str(contact_id)), body, create_only=True)
        except Conflict:
            return False
        return True

    def add_note(self, contact_id: UUID, subject: str, text: str) -> None:
        """An audit note on the contact's timeline in Dynamics."""
        self._client.create("annotations", {
            "subject": subject, "notetext": text,
            "objectid_contact@odata.bind": odata.bind("contacts", UUID(str(contact_id))),
        })  # fmt: skip
