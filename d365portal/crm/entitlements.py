"""Entitlements: the hour banks of the contact's account and its associated end customers."""

from __future__ import annotations

from uuid import UUID

from d365portal.crm.models import Entitlement, Scope
from d365portal.dataverse.client import DataverseClient
from d365portal.settings import FieldMap


class EntitlementRepository:
    """Reads entitlements; every method is one Dataverse request."""

    def __init__(self, client: DataverseClient, fieldmap: FieldMap) -> None:
        self._client = client
        self._fieldmap = fieldmap

    def list_for(self, scope: Scope) -> list[Entitlement]:
        """Every entitlement in scope, ordered by state (↑) then name."""
        raise NotImplementedError

    def get_for(self, scope: Scope, entitlement_id: UUID) -> Entitlement:
        """One entitlement in scope with its linked cases; `NotFound` when missing or out of scope."""
        raise NotImplementedError

    def default_for_new_case(self, account_id: UUID, associate_id: UUID | None) -> UUID | None:
        """The active default entitlement that applies to a new case (the associate's first, then the
        account's), None when there is none. When `associate_id` is given it must be an associate of
        the account, else `NotFound` — this one request both validates the associate and finds it."""
        raise NotImplementedError
