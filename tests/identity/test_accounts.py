"""The sign-in rules on a contact, with an in-memory repository (the pages test them on the emulator)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from d365portal.crm.models import Contact, Credentials, Lookup
from d365portal.dataverse.errors import Conflict
from d365portal.identity.accounts import Accounts
from d365portal.identity.passwords import aspnet_v2_hash
from d365portal.identity.store import SqliteStore
from d365portal.identity.tokens import ResetTokens

PASSWORD = "Soporte-Demo-2026"
CONTACT = Contact(
    id=UUID(int=1), full_name="Lorena Melo", username="lmelo", logon_enabled=True, etag='W/"1"',
    parent_account=Lookup(id=UUID(int=2), name="INOVAIT SAS"),
)


class FakeContacts:
    """Just enough of ContactRepository; counts requests; can answer one 412."""

    def __init__(self, contact: Contact, password_hash: str) -> None:
        self.contact, self.password_hash = contact, password_hash
        self.requests = 0
        self.conflicts = 0
        self.patches: list[dict[str, Any]] = []

    def _credentials(self) -> Credentials:
        self.requests += 1
        return Credentials(contact=self.contact, password_hash=self.password_hash)

    def credentials_by_username(self, username: str) -> Credentials | None:
        return self._credentials() if username == self.contact.username else None

    def credentials_by_id(self, contact_id: UUID) -> Credentials | None:
        return self._credentials()

    def update_identity(self, contact_id: UUID, changes: dict[str, Any], etag: str | None = None) -> None:
        self.requests += 1
        if self.conflicts:
            self.conflicts -= 1
            # Someone else counted a failure meanwhile.
            self.contact = self.contact.model_copy(
                update={"access_failed_count": self.contact.access_failed_count + 1, "etag": 'W/"2"'}
            )
            raise Conflict("changed", status=412)
        self.patches.append(dict(changes))
        fields = {k: v for k, v in changes.items() if k != "password_hash"}
        self.contact = self.contact.model_copy(update=fields)
        self.password_hash = changes.get("password_hash", self.password_hash)


@pytest.fixture()
def repo() -> FakeContacts:
    return FakeContacts(CONTACT, aspnet_v2_hash(PASSWORD, bytes(16)))


@pytest.fixture()
def accounts(repo: FakeContacts, tmp_path: Path) -> Accounts:
    store = SqliteStore(tmp_path / "s.sqlite3")
    tokens = ResetTokens("k", store)
    return Accounts(  # type: ignore[arg-type]
        repo, tokens, max_failures=5, lockout=timedelta(minutes=15), min_length=12, guesses=store
    )


def test_success_is_one_read_and_one_patch_with_the_upgrade(accounts: Accounts, repo: FakeContacts) -> None:
    result = accounts.sign_in("lmelo", PASSWORD)
    assert result.ok and repo.requests == 2
    assert repo.patches[0]["password_hash"].startswith("$argon2id$")
    assert "last_successful_login" in repo.patches[0]


def test_the_fifth_failure_locks_for_the_configured_time(accounts: Accounts, repo: FakeContacts) -> None:
    for _ in range(5):
        assert accounts.sign_in("lmelo", "wrong").reason == "bad_password"
    assert repo.contact.lockout_end is not None
    assert repo.contact.lockout_end > datetime.now(UTC) + timedelta(minutes=14)
    assert repo.contact.access_failed_count == 0
    assert accounts.sign_in("lmelo", PASSWORD).reason == "locked_out"


def test_failures_carried_from_before_the_window_count(accounts: Accounts, repo: FakeContacts) -> None:
    """A contact with 3 failures (from Power Pages, or an expired window) has 2 guesses left."""
    repo.contact = repo.contact.model_copy(update={"access_failed_count": 3})
    assert accounts.sign_in("lmelo", "wrong").reason == "bad_password"
    assert repo.contact.access_failed_count == 4
    assert accounts.sign_in("lmelo", "wrong").reason == "bad_password"
    assert repo.contact.lockout_end is not None
    assert accounts.sign_in("lmelo", PASSWORD).reason == "locked_out"


def test_unknown_users_cost_one_read_and_no_write(accounts: Accounts, repo: FakeContacts) -> None:
    assert accounts.sign_in("someone", PASSWORD).reason == "unknown_user"
    assert accounts.sign_in("   ", PASSWORD).reason == "unknown_user"
    assert repo.patches == []


def test_successful_sign_ins_never_pile_up_into_a_lockout(accounts: Accounts, repo: FakeContacts) -> None:
    for _ in range(12):
        assert accounts.sign_in("lmelo", PASSWORD).contact is not None
    for _ in range(4):
        assert accounts.sign_in("lmelo", "wrong").reason == "bad_password"
    assert accounts.sign_in("lmelo", PASSWORD).contact is not None  # 4 failures: still in
