"""Portal users on their Dataverse contact: sign-in with lockout, password change, reset by token.

Every operation reads the contact once and writes it at most once (DESIGN.md decision 3): sign-in is
`credentials_by_username` + one PATCH carrying the failure count, the lockout end, the last sign-in and,
when needed, the argon2id upgrade of an old ASP.NET Identity hash. The lockout lives on the contact
(`adx_identity_accessfailedcount`, `adx_identity_lockoutenddate`), so it counts across processes.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from uuid import UUID

from d365portal.crm.contacts import ContactRepository
from d365portal.crm.models import Contact, Credentials
from d365portal.dataverse.errors import NotFound
from d365portal.identity.passwords import (
    dummy_verify,
    hash_kind,
    hash_password,
    needs_upgrade,
    verify_password,
)
from d365portal.identity.policy import PolicyViolation, check_password
from d365portal.identity.store import Store
from d365portal.identity.tokens import ParsedToken, ResetTokens

log = logging.getLogger(__name__)

AFTER_THE_ANSWER = 0.05  # seconds: background work starts this long after the page has answered
FailureReason = Literal["unknown_user", "logon_disabled", "locked_out", "bad_password", "no_account"]


@dataclass(frozen=True)
class SignInResult:
    """The outcome of a sign-in: the contact on success, else why (for the log, never the page)."""

    contact: Contact | None = None
    reason: FailureReason | None = None
    contact_id: UUID | None = None  # the failing user's contact, when the username exists (for logs)
    upgraded_from: str | None = None  # the old hash kind ("aspnet-v2", …) when re-hashed to argon2id
    # The password was right but a second factor is asked: nothing is written as a success yet, and
    # the guess stays counted until the code is right (`complete_sign_in`).
    pending: bool = False
    guess: int = 0
    second_factor: str | None = None  # the sealed second factor read with the credentials

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
        guesses: Store | None = None,
        answer_seconds: float = 0.0,
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
        # On the sign-in page, no sooner than its answer (`account_answer_floor_ms` after it arrived):
        # written meanwhile, it would take the interpreter from the request and show in its time.
        self.answer_seconds = answer_seconds
        # Guesses per username in the lockout window, counted atomically in the shared store before a
        # password is checked: parallel guesses (threads, processes, hosts) cannot outrun the lockout.
        self.guesses = guesses
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._pending: set[Future[None]] = set()

    # --- sign-in ------------------------------------------------------------------------------

    @staticmethod
    def _guess_key(username: str, contact: Contact | None) -> str:
        """The counter of one username's guesses in its current window. The window is the contact's
        lockout epoch: once a lockout has been written and has ended, the count starts again."""
        epoch = contact.lockout_end.isoformat() if contact and contact.lockout_end else "-"
        return f"guesses:{hashlib.sha256(username.casefold().encode()).hexdigest()}:{epoch}"

    def _take_guess(self, username: str, contact: Contact | None) -> int:
        """This guess's number in the username's lockout window (0 without a shared store)."""
        if self.guesses is None or not username:
            return 0
        window = max(1, int(self.lockout.total_seconds()))
        return self.guesses.incr(self._guess_key(username, contact), window)

    def _release_guess(self, username: str, contact: Contact, guess: int) -> None:
        if self.guesses is not None and username and guess:
            self.guesses.release(self._guess_key(username, contact), guess)

    def forget_guesses(self, contact: Contact) -> None:
        """Start the contact's count of guesses again (a reset link was used, an admin unlocked)."""
        if self.guesses is not None and contact.username:
            cleared = contact.model_copy(update={"lockout_end": None})
            keys = {self._guess_key(contact.username, c) for c in (contact, cleared)}
            self.guesses.delete(*keys)

    def _failures_with(self, contact: Contact, guess: int) -> int:
        """The failures this guess would make: the store's count in the window, or Dataverse's count
        plus one when that is higher (failures carried from before the window, or from Power Pages)."""
        return max(guess, contact.access_failed_count + 1)

    def sign_in(
        self, username: str, password: str, *, second_factor: Callable[[Credentials], bool] | None = None
    ) -> SignInResult:
        """Check the password, count failures and lock out; one read and at most one PATCH. When
        `second_factor(credentials)` says a code is asked, the result is `pending`."""
        username = username.strip()
        credentials = self.contacts.credentials_by_username(username) if username else None
        # Counted for every name, known or not, so both cost the same (timing tells nothing).
        guess = self._take_guess(username, credentials.contact if credentials else None)
        if credentials is None:
            dummy_verify(password)
            return SignInResult(reason="unknown_user")
        contact = credentials.contact
        now = datetime.now(UTC)
        if not contact.logon_enabled:
            dummy_verify(password)
            return SignInResult(reason="logon_disabled", contact_id=contact.id)
        if self._locked(credentials, guess, now, after_answer=True):
            dummy_verify(password)
            return SignInResult(reason="locked_out", contact_id=contact.id)
        if not verify_password(credentials.password_hash, password):
            self._count_failure(credentials, now, self._failures_with(contact, guess), after_answer=True)
            return SignInResult(reason="bad_password", contact_id=contact.id)
        # A success gives its number back only while no later guess took one: guesses sent in
        # parallel with the right one keep theirs (at most five checks, the success included), and
        # sign-ins one after another never pile up into a lockout.
        if contact.parent_account is None:
            self._release_guess(username, contact, guess)
            return SignInResult(reason="no_account", contact_id=contact.id)
        upgraded_from = None
        if second_factor is not None and second_factor(credentials):
            # Right password, no sign-in yet: this guess keeps its number, so passwords and codes
            # together never get more than the lockout's tries (the count is not reset until then).
            if needs_upgrade(credentials.password_hash):
                upgraded_from = hash_kind(credentials.password_hash)
                self.contacts.update_identity(contact.id, {"password_hash": hash_password(password)})
            return SignInResult(contact=contact, pending=True, guess=guess, upgraded_from=upgraded_from,
                                second_factor=credentials.second_factor)  # fmt: skip
        changes = self._success(contact, now)
        self._release_guess(username, contact, guess)
        if needs_upgrade(credentials.password_hash):
            changes["password_hash"] = hash_password(password)
            upgraded_from = hash_kind(credentials.password_hash)
        self.contacts.update_identity(contact.id, changes)
        return SignInResult(contact=contact, upgraded_from=upgraded_from)

    @staticmethod
    def _success(contact: Contact, now: datetime) -> dict[str, Any]:
        """What a successful sign-in writes: its time, and the failure count cleared."""
        changes: dict[str, Any] = {"last_successful_login": now}
        if contact.access_failed_count or contact.lockout_end is not None:
            changes.update(access_failed_count=0, lockout_end=None)
        return changes

    def complete_sign_in(self, contact: Contact, guess: int = 0) -> None:
        """A sign-in that passed every check (a second factor, an external provider): the last
        sign-in is written and the failure count cleared (one PATCH)."""
        self._release_guess(contact.username or "", contact, guess)
        self.contacts.update_identity(contact.id, self._success(contact, datetime.now(UTC)))

    def code_failed(self, credentials: Credentials) -> bool:
        """A wrong second-factor code counts like a wrong password; True when the account is locked
        out now (the pending sign-in ends)."""
        contact, now = credentials.contact, datetime.now(UTC)
        guess = self._take_guess(contact.username or "", contact)
        if self._locked(credentials, guess, now):
            return True
        failures = self._failures_with(contact, guess)
        self._count_failure(credentials, now, failures)
        return contact.lockout_enabled and failures >= self.max_failures

    @staticmethod
    def refusal(contact: Contact) -> FailureReason | None:
        """Why this contact cannot sign in by any route now (disabled, locked out, no company)."""
        if not contact.logon_enabled:
            return "logon_disabled"
        if contact.lockout_enabled and contact.locked_out():
            return "locked_out"
        if contact.parent_account is None:
            return "no_account"
        return None

    def _locked(
        self, credentials: Credentials, guess: int, now: datetime, *, after_answer: bool = False
    ) -> bool:
        """Locked out: Dataverse's lockout end is ahead, or this guess is past the limit in the window
        (then the lockout is written to the contact too, so Dynamics shows it)."""
        contact = credentials.contact
        if not contact.lockout_enabled:
            return False
        lockout_end = _utc(contact.lockout_end)
        if lockout_end is not None and lockout_end > now:
            return True
        if guess and self._failures_with(contact, guess) > self.max_failures:
            if lockout_end is None or lockout_end <= now:
                self._count_failure(credentials, now, self.max_failures, after_answer=after_answer)
            return True
        return False

    def _count_failure(
        self, credentials: Credentials, now: datetime, failures: int, *, after_answer: bool = False
    ) -> None:
        """Record a wrong password (the contact's `failures`-th) now, or in the background — for the
        sign-in page, once it has answered (its time must not tell which usernames exist)."""
        if not self.background_failures:
            self._record_failure(credentials, now, failures)
            return
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="signin-failures")
            not_before = time.monotonic() + self.answer_seconds + AFTER_THE_ANSWER if after_answer else 0.0
            record = self._record_failure_logged
            future = self._executor.submit(record, credentials, now, failures, not_before)
            self._pending.add(future)
        future.add_done_callback(self._pending.discard)

    def _record_failure_logged(
        self, credentials: Credentials, now: datetime, failures: int, not_before: float = 0.0
    ) -> None:
        time.sleep(max(0.0, not_before - time.monotonic()))
        try:
            self._record_failure(credentials, now, failures)
        except Exception:  # a background thread must never die silently
            log.exception("could not count a failed sign-in of contact %s", credentials.contact.id)

    def wait(self, timeout: float = 10.0) -> None:
        """Wait until the failed sign-ins counted in the background are written (tests, shutdown)."""
        for future in list(self._pending):
            future.exception(timeout=timeout)

    def _record_failure(self, credentials: Credentials, now: datetime, failures: int) -> None:
        """Write the failure count to the contact; at the limit the lockout starts (count back to 0).

        The count comes from the shared store's atomic counter, so concurrent failures write
        increasing numbers and no lost update can hide one; the lockout decision never waits for it."""
        contact = credentials.contact
        changes: dict[str, Any] = {"access_failed_count": failures}
        if contact.lockout_enabled and failures >= self.max_failures:
            changes = {"access_failed_count": 0, "lockout_end": now + self.lockout}
        self.contacts.update_identity(contact.id, changes)

    # --- password change ----------------------------------------------------------------------

    def check_current_password(self, contact_id: UUID, password: str) -> Credentials | None:
        """The credentials when `password` is the contact's current one, else None."""
        credentials = self.contacts.credentials_by_id(contact_id)
        if credentials is None:
            dummy_verify(password)
            return None
        # The same lockout as sign-in: a borrowed session must not be a way to guess the password.
        contact, now = credentials.contact, datetime.now(UTC)
        guess = self._take_guess(contact.username or "", contact)
        if self._locked(credentials, guess, now):
            dummy_verify(password)
            return None
        if not verify_password(credentials.password_hash, password):
            self._count_failure(credentials, now, self._failures_with(contact, guess))
            return None
        self._release_guess(contact.username or "", contact, guess)
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
        if after_reset:
            self.forget_guesses(contact)

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
