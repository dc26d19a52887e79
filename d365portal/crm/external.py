"""External logins on Power Pages' own table, `adx_externalidentity` (issue 17, DESIGN.md decision 22).

A row links a provider's key for a user (`adx_username`: the ID token's `sub`, or `oid`) at one
provider (`adx_identityprovidername`: the token's issuer) to a contact (`adx_contactid`). Power Pages
writes the same rows, so users it had linked keep signing in, and agents see the links in Dynamics.
"""

from __future__ import annotations

import uuid
from uuid import UUID

from d365portal.crm.contacts import PARENT_ACCOUNT_NAV, ContactRepository, contact_from_row
from d365portal.crm.models import Contact
from d365portal.crm.roles import roles_expand
from d365portal.dataverse import odata
from d365portal.dataverse.client import DataverseClient
from d365portal.dataverse.errors import Conflict
from d365portal.settings import FieldMap

ENTITY_SET = "adx_externalidentities"
CONTACT_NAV = "adx_contactid"
KEY_MAX = 100  # adx_username
PROVIDER_MAX = 400  # adx_identityprovidername
_LINKS = uuid.UUID("5d1b6a3e-2c4f-4e8a-9b7d-17f0e2c3a4b5")


def identity_id(provider: str, key: str) -> UUID:
    """The row's id, the same for the same provider and key: a retried link is not a second row."""
    return uuid.uuid5(_LINKS, f"{provider}\n{key}")


class ExternalIdentityRepository:
    """Finds the contact of an external identity and links one; each method is one request."""

    def __init__(self, client: DataverseClient, fieldmap: FieldMap, contacts: ContactRepository) -> None:
        self._client = client
        self._fieldmap = fieldmap
        self._contacts = contacts

    def find_contact(self, provider: str, key: str) -> Contact | None:
        """The contact an active link of (provider, key) points to, with its account and web roles, in
        one read (the contact comes expanded on the link). None when unknown, or ambiguous."""
        if not key or len(key) > KEY_MAX or len(provider) > PROVIDER_MAX:
            return None
        where = odata.and_(
            odata.eq("adx_username", key), odata.eq("adx_identityprovidername", provider),
            odata.eq("statecode", 0),
        )  # fmt: skip
        contact = odata.expand(
            CONTACT_NAV,
            select_=self._contacts.columns(),
            expand_=[odata.expand(PARENT_ACCOUNT_NAV, select_=["name"]), roles_expand()],
        )
        params: dict[str, str | int] = {
            "$select": "adx_externalidentityid,_adx_contactid_value",
            "$filter": where.text, "$expand": contact, "$top": 2,
        }  # fmt: skip
        rows = list(self._client.get(ENTITY_SET, params).get("value", []))
        contacts = {str(row.get("_adx_contactid_value"))
                    for row in rows if isinstance(row.get(CONTACT_NAV), dict)}  # fmt: skip
        if len(contacts) != 1:
            return None
        return contact_from_row(rows[0][CONTACT_NAV], self._fieldmap)

    def link(self, contact_id: UUID, provider: str, key: str) -> bool:
        """Link (provider, key) to the contact (PATCH with If-None-Match: a retry is not a second row);
        False when that identity was linked already."""
        if not key or len(key) > KEY_MAX or len(provider) > PROVIDER_MAX:
            raise ValueError("an external identity's key or provider is too long for adx_externalidentity")
        body = {
            "adx_username": key, "adx_identityprovidername": provider,
            f"{CONTACT_NAV}@odata.bind": odata.bind("contacts", UUID(str(contact_id))),
        }  # fmt: skip
        try:
            self._client.upsert(ENTITY_SET, identity_id(provider, key), body, create_only=True)
        except Conflict:
            return False
        return True
