"""Who sees what in a customer company: Power Pages' web roles mapped to three levels (issue 15).

A contact's web roles are the N:N `adx_webrole_contact` (Power Pages' standard data model: relationship,
intersect entity and navigation property share the name). The portal maps role names (settings) to:

- Contacto: the cases where the user is the contact; hour banks only when the tenant allows it;
- Empresa: every case and hour bank of the account and its associated end customers;
- Administrador de la empresa: Empresa, plus managing the company's portal users.

The highest mapped role wins; a contact with none gets the default level. Inactive roles count for
nothing. `RoleRepository.rights_of` is the re-validation read (DESIGN.md decision 20): one request
that also tells whether the contact may still sign in and still belongs to the account.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from uuid import UUID

from d365portal.crm import records as r
from d365portal.crm.models import Level
from d365portal.dataverse import odata
from d365portal.dataverse.client import DataverseClient
from d365portal.dataverse.errors import DataverseError, NotFound
from d365portal.settings import FieldMap

ROLE_NAVIGATION = "adx_webrole_contact"
ROLE_SET = "adx_webroles"
ROLE_NAME = "adx_name"
DUPLICATE_KEY = "0x80040237"


@dataclass(frozen=True)
class RoleNames:
    """The web role name of each level (settings) and the level of a contact with none of them."""

    contact: str = "Contacto"
    company: str = "Empresa"
    admin: str = "Administrador de la empresa"
    default: Level = Level.COMPANY

    def name_of(self, level: Level) -> str:
        """The web role that gives `level`."""
        return {Level.CONTACT: self.contact, Level.COMPANY: self.company, Level.ADMIN: self.admin}[level]

    def level_for(self, role_names: Iterable[str]) -> Level:
        """The highest level the roles give (names compared case-insensitively), else the default."""
        held = {name.casefold() for name in role_names}
        for level in (Level.ADMIN, Level.COMPANY, Level.CONTACT):
            if self.name_of(level).casefold() in held:
                return level
        return self.default

    def mapped(self) -> tuple[str, ...]:
        """The three role names."""
        return (self.contact, self.company, self.admin)


def roles_expand() -> str:
    """The `$expand` item that brings a contact's active web roles (id and name)."""
    return odata.expand(
        ROLE_NAVIGATION, select_=("adx_webroleid", ROLE_NAME), filter_=odata.eq("statecode", 0)
    )


def role_names_of(row: Mapping[str, object]) -> tuple[str, ...]:
    """The names of the web roles expanded on a contact row."""
    roles = row.get(ROLE_NAVIGATION)
    if not isinstance(roles, list):
        return ()
    return tuple(str(role.get(ROLE_NAME) or "") for role in roles if isinstance(role, dict))


@dataclass(frozen=True)
class Rights:
    """What Dataverse says now about a signed-in contact."""

    level: Level
    account_id: UUID | None
    logon_enabled: bool
    active: bool


class RoleRepository:
    """Reads a contact's rights and grants or takes away web roles (each one request; the role ids
    are read once per process)."""

    def __init__(self, client: DataverseClient, fieldmap: FieldMap, names: RoleNames) -> None:
        self._client = client
        self._fieldmap = fieldmap
        self.names = names
        self._ids: dict[str, UUID] | None = None
        self._lock = threading.Lock()

    def rights_of(self, contact_id: UUID) -> Rights | None:
        """The contact's level, account and sign-in flag now; None when the contact is gone."""
        logon = odata.identifier(self._fieldmap.identity_logonenabled)
        params = {"$select": odata.select(("contactid", "statecode", "_parentcustomerid_value", logon)),
                  "$expand": roles_expand()}  # fmt: skip
        try:
            row = self._client.get(odata.entity_path("contacts", UUID(str(contact_id))), params)
        except NotFound:
            return None
        parent = r.lookup(row, "parentcustomerid")
        return Rights(
            level=self.names.level_for(role_names_of(row)),
            account_id=parent.id if parent is not None else None,
            logon_enabled=r.boolean(row, logon),
            active=row.get("statecode") in (0, None),
        )

    def role_ids(self) -> dict[str, UUID]:
        """The ids of the three mapped web roles by name (casefolded), read once per process."""
        with self._lock:
            if self._ids is None:
                where = odata.or_(*(odata.eq(ROLE_NAME, name) for name in self.names.mapped()))
                params = {"$select": odata.select(("adx_webroleid", ROLE_NAME)),
                          "$filter": odata.and_(where, odata.eq("statecode", 0)).text}  # fmt: skip
                rows = self._client.get(ROLE_SET, params).get("value", [])
                self._ids = {str(row[ROLE_NAME]).casefold(): r.uuid(row, "adx_webroleid") for row in rows}
            return dict(self._ids)

    def role_id(self, level: Level) -> UUID:
        """The id of the web role that gives `level`; LookupError when the tenant lacks it."""
        found = self.role_ids().get(self.names.name_of(level).casefold())
        if found is None:
            raise LookupError(f"the web role {self.names.name_of(level)!r} does not exist in Dataverse")
        return found

    def grant(self, contact_id: UUID, level: Level) -> None:
        """Associate the contact with the level's web role (already associated is fine)."""
        try:
            self._client.associate(ROLE_SET, self.role_id(level), ROLE_NAVIGATION, "contacts", contact_id)
        except DataverseError as exc:
            if exc.code != DUPLICATE_KEY:
                raise

    def revoke(self, contact_id: UUID, level: Level) -> None:
        """Disassociate the contact from the level's web role (not associated is fine)."""
        self._client.disassociate(ROLE_SET, self.role_id(level), ROLE_NAVIGATION, contact_id)

    def set_level(self, contact_id: UUID, current: Iterable[str], level: Level) -> None:
        """Make `level` the contact's: grant its role, then take away the other mapped roles held."""
        held = {name.casefold() for name in current}
        if self.names.name_of(level).casefold() not in held:
            self.grant(contact_id, level)
        for other in Level:
            if other is not level and self.names.name_of(other).casefold() in held:
                self.revoke(contact_id, other)
