"""Accounts: the customer and its associated end customers (the "Asociado" lookup)."""

from __future__ import annotations

from uuid import UUID

from d365portal.crm.models import Account, Page
from d365portal.dataverse.client import DataverseClient
from d365portal.settings import FieldMap


class AccountRepository:
    """Reads accounts; every method is one Dataverse request."""

    def __init__(self, client: DataverseClient, fieldmap: FieldMap) -> None:
        self._client = client
        self._fieldmap = fieldmap

    def associates_of(
        self, account_id: UUID, *, search: str | None = None, page_size: int = 10, cursor: str | None = None
    ) -> Page[Account]:
        """The account's associated end customers, searched in name / account number / email / city."""
        raise NotImplementedError

    def get_associate(self, account_id: UUID, associate_id: UUID) -> Account:
        """One associate of the account; `NotFound` when it is not one of its associates."""
        raise NotImplementedError
