"""Repositories over Dataverse for the portal's tables; authorization (scope) is enforced here.

Every operation is exactly one Dataverse request. `init_app()` builds one `Crm` per app;
`crm()` is the one way to reach it (from a request, or with the app in a command).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from flask import Flask

    from d365portal.crm.accounts import AccountRepository
    from d365portal.crm.cases import CaseRepository
    from d365portal.crm.contacts import ContactRepository
    from d365portal.crm.conversation import ConversationRepository
    from d365portal.crm.entitlements import EntitlementRepository
    from d365portal.crm.external import ExternalIdentityRepository
    from d365portal.crm.knowledge import KnowledgeRepository
    from d365portal.crm.labels import LabelCatalog
    from d365portal.crm.roles import RoleNames, RoleRepository
    from d365portal.dataverse.client import DataverseClient
    from d365portal.settings import FieldMap, Settings


@dataclass(frozen=True)
class Crm:
    """The repositories, sharing one Dataverse client."""

    client: DataverseClient
    cases: CaseRepository
    accounts: AccountRepository
    contacts: ContactRepository
    entitlements: EntitlementRepository
    conversation: ConversationRepository
    roles: RoleRepository
    knowledge: KnowledgeRepository
    external: ExternalIdentityRepository


def validate_fieldmap(fieldmap: object) -> FieldMap:
    """The field map, checked: every name must be a Dataverse identifier (it ends up in OData URLs)."""
    from d365portal.dataverse.odata import identifier
    from d365portal.settings import FieldMap, SettingsError

    if not isinstance(fieldmap, FieldMap):
        raise SettingsError("D365_FIELDMAP: expected the tenant's field map")
    for name, value in fieldmap.model_dump().items():
        try:
            identifier(value)
        except ValueError:
            raise SettingsError(f"D365_FIELDMAP__{name.upper()}: must be a Dataverse column name") from None
    return fieldmap


def build_crm(
    client: DataverseClient, fieldmap: object, web_note_prefix: str = "*WEB*", roles: RoleNames | None = None,
    *, second_factor: bool = True,
) -> Crm:
    """Wire the repositories onto one client and the tenant's field map (validated here)."""
    from d365portal.crm.accounts import AccountRepository
    from d365portal.crm.cases import CaseRepository
    from d365portal.crm.contacts import ContactRepository
    from d365portal.crm.conversation import ConversationRepository
    from d365portal.crm.entitlements import EntitlementRepository
    from d365portal.crm.external import ExternalIdentityRepository
    from d365portal.crm.knowledge import KnowledgeRepository
    from d365portal.crm.roles import RoleNames, RoleRepository

    fieldmap = validate_fieldmap(fieldmap)
    contacts = ContactRepository(client, fieldmap, second_factor=second_factor)
    return Crm(
        client=client,
        cases=CaseRepository(client, fieldmap, web_note_prefix),
        accounts=AccountRepository(client, fieldmap),
        contacts=contacts,
        entitlements=EntitlementRepository(client, fieldmap),
        conversation=ConversationRepository(client, fieldmap, web_note_prefix),
        roles=RoleRepository(client, fieldmap, roles or RoleNames()),
        knowledge=KnowledgeRepository(client),
        external=ExternalIdentityRepository(client, fieldmap, contacts),
    )


def role_names(settings: Settings) -> RoleNames:
    """The web role names of each level, and the default level, from the settings."""
    from d365portal.crm.models import Level
    from d365portal.crm.roles import RoleNames

    return RoleNames(
        contact=settings.role_contact, company=settings.role_company, admin=settings.role_company_admin,
        default=Level.from_key(settings.role_default_level),
    )  # fmt: skip


def crm(app: Flask | None = None) -> Crm:
    """The repositories of `app` (default: the current app)."""
    from flask import current_app

    return (app or current_app).extensions["crm"]  # type: ignore[no-any-return]


def option_labels(app: Flask | None = None) -> LabelCatalog:
    """The option labels of `app` (default: the current app), in every language."""
    from flask import current_app

    return (app or current_app).extensions["labels"]  # type: ignore[no-any-return]


def init_app(app: Flask) -> None:
    """Build the Dataverse client, the repositories and the label catalogue once per process."""
    from d365portal.crm.labels import LabelCatalog, LabelRepository
    from d365portal.dataverse import build_client

    settings = app.config["SETTINGS"]
    client = build_client(settings)
    app.extensions["dataverse"] = client
    app.extensions["crm"] = build_crm(
        client, settings.fieldmap, settings.web_note_prefix, role_names(settings),
        second_factor=settings.two_factor_app,
    )
    catalog = LabelCatalog(LabelRepository(client), max_age=settings.metadata_refresh_seconds)
    app.extensions["labels"] = catalog
    # Loaded (and later refreshed) in the background, started by the first request of the process:
    # a page never waits for metadata and never counts a metadata request.
    app.before_request(catalog.ensure_fresh)
