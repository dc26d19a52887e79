"""Repositories over Dataverse for the portal's tables; authorization (scope) is enforced here.

Every operation is exactly one Dataverse request. The web layer reaches them through
`current_app.extensions["crm"]`, a `Crm` built by `init_app()`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from flask import Flask

    from d365portal.crm.accounts import AccountRepository
    from d365portal.crm.cases import CaseRepository
    from d365portal.crm.contacts import ContactRepository
    from d365portal.crm.entitlements import EntitlementRepository
    from d365portal.dataverse.client import DataverseClient


@dataclass(frozen=True)
class Crm:
    """The repositories, sharing one Dataverse client."""

    client: DataverseClient
    cases: CaseRepository
    accounts: AccountRepository
    contacts: ContactRepository
    entitlements: EntitlementRepository


def build_crm(client: DataverseClient, fieldmap: object) -> Crm:
    """Wire the repositories onto one client and the tenant's field map."""
    from d365portal.crm.accounts import AccountRepository
    from d365portal.crm.cases import CaseRepository
    from d365portal.crm.contacts import ContactRepository
    from d365portal.crm.entitlements import EntitlementRepository

    return Crm(
        client=client,
        cases=CaseRepository(client, fieldmap),  # type: ignore[arg-type]
        accounts=AccountRepository(client, fieldmap),  # type: ignore[arg-type]
        contacts=ContactRepository(client, fieldmap),  # type: ignore[arg-type]
        entitlements=EntitlementRepository(client, fieldmap),  # type: ignore[arg-type]
    )


def init_app(app: Flask) -> None:
    """Build the Dataverse client and the repositories once per process, in `app.extensions`."""
    from d365portal.dataverse import build_client

    settings = app.config["SETTINGS"]
    client = build_client(settings)
    app.extensions["dataverse"] = client
    app.extensions["crm"] = build_crm(client, settings.fieldmap)
