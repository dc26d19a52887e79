"""Contacts and the portal identity columns stored on them (DESIGN.md decision 7)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from d365portal.crm.models import Contact, Credentials
from d365portal.dataverse.client import DataverseClient
from d365portal.settings import FieldMap


class ContactRepository:
    """Reads and updates contacts; every method is one Dataverse request."""

    def __init__(self, client: DataverseClient, fieldmap: FieldMap) -> None:
        self._client = client
        self._fieldmap = fieldmap

    def credentials_by_username(self, username: str) -> Credentials | None:
        """The sign-in read: contact + password hash + parent account name, or None."""
        raise NotImplementedError

    def credentials_by_id(self, contact_id: UUID) -> Credentials | None:
        """Contact + password hash by id (password change, reset), or None."""
        raise NotImplementedError

    def get(self, contact_id: UUID) -> Contact:
        """One contact (without hash); `NotFound` when missing."""
        raise NotImplementedError

    def find_by_email(self, email: str) -> list[Contact]:
        """Contacts whose emailaddress1 equals the address (case-insensitive), at most a few."""
        raise NotImplementedError

    def find_by_username(self, username: str) -> Contact | None:
        """The contact with that portal username, or None."""
        raise NotImplementedError

    def list_portal_users(self) -> list[Contact]:
        """Every contact that has a portal username (for `d365portal users list`)."""
        raise NotImplementedError

    def update_identity(self, contact_id: UUID, changes: Mapping[str, Any], etag: str | None = None) -> None:
        """PATCH identity fields. Keys are logical names of `Contact` fields or `password_hash`
        (mapped to the field map's columns); with `etag`, If-Match makes it fail on a concurrent change."""
        raise NotImplementedError

    def update_email(self, contact_id: UUID, email: str) -> None:
        """Set emailaddress1."""
        raise NotImplementedError
