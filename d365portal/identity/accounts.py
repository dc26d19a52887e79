"""Portal users on their Dataverse contact: sign-in with lockout, password change, reset by token.

Every operation reads the contact once and writes it at most once (DESIGN.md decision 3): sign-in is
`credentials_by_username` + one PATCH carrying the failure count, the lockout end, the last sign-in and,
when needed, the argon2id upgrade of an old ASP.NET Identity hash. The lockout lives on the contact
(`adx_identity_accessfailedcount`, `adx_identity_lockoutenddate`), so it counts across processes.
"""

from __future__ import annotations

import logging
import threading
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from uuid import UUID

from d365portal.crm.contacts import ContactRepository
from d365portal.crm.models import Contact, Credentials
from d365portal.dataverse.errors import Conflict, NotFound
from d365portal.identity.passwords import (
    dummy_verify,
    hash_kind,
    hash_password,
    needs_upgrade,
    verify_password,
)
from d365portal.identity.policy import PolicyViolation, check_password
from d365portal.identity.tokens import ParsedToken, ResetTokens

log = logging.getLogger(__name__)

FailureReason = Literal["unknown_user", "logon_disabled", "locked_out", "bad_password", "no_account"]


@dataclass(frozen=True)
class SignInResult:
    """The outcome of a sign-in: the contact on success, else why (for the log, never the page)."""

    contact: Contact | None = None
    reason: FailureReason | None = None
    contact_id: UUID | None = None  # the failing user's contact, when the username exists (for logs)
    upgraded_from: str | None = None  # the old hash kind ("aspnet-v2", …) when re-hashed to argon2id

    @property
    def ok(self) -> bool:
        """True when the user is signed in."""
        return self.contact is not None


def new_security_stamp() -> str:
    """A fresh security stamp: changing it kills outstanding reset links."""
    return str(uuid.uuid4()).upper()


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _personal(contact: Contact) -> tuple[str | None, ...]:
    return (contact.full_name, contact.first_name, contact.last_name, contact.username, contact.email)


class Accounts:
    """The identity rules over the contact repository."""

    def __init__(
        self,
        contacts: ContactRepository,
        tokens: ResetTokens,
        *,
        max_failures: int,
        lockout: timedelta,
        min_length: int,
        background_failures: bool = False,
    ) -> None:
        self.contacts = contacts
        self.tokens = tokens
        self.max_failures = max_failures
        self.lockout = lockout
        self.min_length = min_length
        # Counting a wrong password costs a PATCH that an unknown username does not: done before the
        # answer, it would tell by timing which usernames exist. The portal counts it after answering,
        # on one thread per process so the failures of one user are counted in order.
        self.background_failures = background_failures
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._pending: set[Future[None]] = set()

    # --- sign-in ------------------------------------------------------------------------------

    def sign_in(self, username: str, password: str) -> SignInResult:
        """Check the password, count failures and lock out; one read and at most one PATCH."""
        username = username.strip()
        credentials = self.contacts.credentials_by_username(username) if username else None
        if credentials is None:
            dummy_verify(password)
            return SignInResult(reason="unknown_user")
        contact = credentials.contact
        now = datetime.now(UTC)
        if not contact.logon_enabled:
            dummy_verify(password)
            return SignInResult(reason="logon_disabled", contact_id=contact.id)
        lockout_end = _utc(contact.lockout_end)
        if contact.lockout_enabled and lockout_end is not None and lockout_end > now:
            dummy_verify(password)
            return SignInResult(reason="locked_out", contact_id=contact.id)
        if not verify_password(credentials.password_hash, password):
            self._count_failure(credentials, now)
            return SignInResult(reason="bad_password", contact_id=contact.id)
        if contact.parent_account is None:
            return SignInResult(reason="no_account", contact_id=contact.id)
        changes: dict[str, Any] = {"last_successful_login": now}
        if contact.access_failed_count or contact.lockout_end is not None:
            changes.update(access_failed_count=0, lockout_end=None)
        upgraded_from = None
        if needs_upgrade(credentials.password_hash):
            changes["password_hash"] = hash_password(password)
            upgraded_from = hash_kind(credentials.password_hash)
        self.contacts.update_identity(contact.id, changes)
        return SignInResult(contact=contact, upgraded_from=upgraded_from)

    def _count_failure(self, credentials: Credentials, now: datetime) -> None:
        """Record a wrong password now, or in the background when so configured."""
        if not self.background_failures:
            self._record_failure(credentials, now)
            return
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="signin-failures")
            future = self._executor.submit(self._record_failure_logged, credentials, now)
            self._pending.add(future)
        future.add_done_callback(self._pending.discard)

    def _record_failure_logged(self, credentials: Credentials, now: datetime) -> None:
        try:
            self._record_failure(credentials, now)
        except Exception:  # a background thread must never die silently
            log.exception("could not count a failed sign-in of contact %s", credentials.contact.id)

    def wait(self, timeout: float = 10.0) -> None:
        """Wait until the failed sign-ins counted in the background are written (tests, shutdown)."""
        for future in list(self._pending):
            future.exception(timeout=timeout)

    def _record_failure(self, credentials: Credentials, now: datetime) -> None:
        """One more failure on the contact; the lockout starts at the limit (count back to 0)."""
        contact = credentials.contact
        for attempt in range(2):
            failures = contact.access_failed_count + 1
            changes: dict[str, Any] = {"access_failed_count": failures}
            if contact.lockout_enabled and failures >= self.max_failures:
                changes = {"access_failed_count": 0, "lockout_end": now + self.lockout}
            try:
                self.contacts.update_identity(contact.id, changes, etag=contact.etag)
                return
            except Conflict:
                # Another process counted a failure at the same moment: count on top of its value.
                fresh = self.contacts.credentials_by_id(contact.id)
                if fresh is None or attempt:
                    return
                contact = fresh.contact

    # --- password change ----------------------------------------------------------------------

    def check_current_password(self, contact_id: UUID, password: str) -> Credentials | None:
        """The credentials when `password` is the contact's current one, else None."""
        credentials = self.contacts.credentials_by_id(contact_id)
        if credentials is None:
            dummy_verify(password)
            return None
        # The same lockout as sign-in: a borrowed session must not be a way to guess the password.
        contact, now = credentials.contact, datetime.now(UTC)
        lockout_end = _utc(contact.lockout_end)
        if contact.lockout_enabled and lockout_end is not None and lockout_end > now:
            dummy_verify(password)
            return None
        if not verify_password(credentials.password_hash, password):
            self._count_failure(credentials, now)
            return None
        return credentials

    def policy_violation(self, contact: Contact, password: str) -> PolicyViolation | None:
        """Why `password` is refused for this contact, or None."""
        return check_password(password, min_length=self.min_length, personal=_personal(contact))

    def set_password(self, contact: Contact, password: str, *, after_reset: bool = False) -> None:
        """Store a new argon2id hash and a new security stamp (outstanding links die)."""
        changes: dict[str, Any] = {
            "password_hash": hash_password(password),
            "security_stamp": new_security_stamp(),
        }
        if after_reset:
            # The link proved the address: clear any lockout and mark the email confirmed.
            changes.update(access_failed_count=0, lockout_end=None, email_confirmed=True)
        self.contacts.update_identity(contact.id, changes)

    # --- reset --------------------------------------------------------------------------------

    def find_for_reset(self, email: str) -> list[Contact]:
        """The portal users (username set, logon enabled) with this address; one request."""
        email = email.strip()
        if not email or "@" not in email:
            return []
        return [c for c in self.contacts.find_by_email(email) if c.username and c.logon_enabled]

    def check_reset(self, user_id: str, code: str) -> tuple[Contact, ParsedToken] | None:
        """The contact and token when the link is valid (genuine, unexpired, unused, stamp unchanged)."""
        try:
            contact_id = UUID(user_id)
        except (ValueError, TypeError):
            return None
        if not code or len(code) > 200 or not self.tokens.plausible(code):
            return None
        try:
            contact = self.contacts.get(contact_id)
        except NotFound:
            return None
        parsed = self.tokens.check(contact, code)
        return (contact, parsed) if parsed else None
