"""Cases (incidents) visible to a contact: its account's and its associated end customers'."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from d365portal.crm.models import Case, CaseFilter, NewCase, Page, Scope, SortDirection
from d365portal.dataverse.client import DataverseClient
from d365portal.settings import FieldMap

# Sortable columns of the case list, by the name the web layer uses.
CaseSort = Literal["ticket_number", "title", "customer", "priority", "status_reason", "created_on"]


class CaseRepository:
    """Reads and writes incidents; every method is one Dataverse request."""

    def __init__(self, client: DataverseClient, fieldmap: FieldMap) -> None:
        self._client = client
        self._fieldmap = fieldmap

    def list_for(
        self,
        scope: Scope,
        *,
        search: str | None = None,
        which: CaseFilter = "open",
        sort: CaseSort = "ticket_number",
        direction: SortDirection = "desc",
        page_size: int = 10,
        cursor: str | None = None,
    ) -> Page[Case]:
        """One page of the cases in scope, searched in number/title, sorted, open/resolved/all."""
        raise NotImplementedError

    def get_for(self, scope: Scope, case_id: UUID) -> Case:
        """One case by id within scope; `NotFound` when it does not exist or is out of scope."""
        raise NotImplementedError

    def create(self, new: NewCase) -> Case:
        """Create idempotently (PATCH + If-None-Match: *; 412 on a retry = already created)."""
        raise NotImplementedError

    def resolve(self, case_id: UUID, subject: str, minutes: int = 0) -> None:
        """Resolve through the CloseIncident action (status reason Problem Solved)."""
        raise NotImplementedError

    def cancel(self, case_id: UUID) -> None:
        """Cancel: statecode 2, statuscode 6."""
        raise NotImplementedError

    def reopen(self, case_id: UUID) -> None:
        """Reactivate: statecode 0, statuscode 1."""
        raise NotImplementedError
