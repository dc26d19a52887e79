"""One exception root for everything Dataverse answers that is not success.

Pages map these by meaning: `NotFound` → 404, `Throttled`/`Unavailable` → 503 "try again" with the
user's input kept, the rest → a clear message. Messages never contain a token or a secret.
"""

from __future__ import annotations

# Statuses worth retrying (with Retry-After honoured); anything else fails fast.
TRANSIENT_STATUSES = frozenset({429, 502, 503, 504})


class DataverseError(Exception):
    """Root of every Dataverse failure, carrying what the server said."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
        not_sent: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code or None
        self.request_id = request_id
        self.retry_after = retry_after
        # Dataverse surely never received the attempt (no token, connection refused or not accepted
        # in time): even a non-idempotent request (a POST) may then be sent again.
        self.not_sent = not_sent

    @property
    def is_transient(self) -> bool:
        """True when the same request may succeed later (throttling, outage, timeout)."""
        return self.status is None or self.status in TRANSIENT_STATUSES

    def __str__(self) -> str:
        parts = [self.message]
        if self.status is not None:
            parts.append(f"(HTTP {self.status}{', ' + self.code if self.code else ''})")
        return " ".join(parts)


class InvalidQuery(DataverseError):
    """400: Dataverse refused the request (unknown column, bad value, required column missing)."""


class AuthenticationFailed(DataverseError):
    """401 after a token refresh, or the identity provider refused to issue a token."""

    @property
    def is_transient(self) -> bool:
        """A refused credential stays refused: never worth a retry (it only holds the page view)."""
        return False


class TokenError(AuthenticationFailed):
    """The identity provider refused to issue a token; the message names the AADSTS code and the fix."""

    def __init__(self, message: str, *, aadsts: str | None = None, error: str | None = None) -> None:
        super().__init__(message, code=aadsts or error)
        self.aadsts = aadsts
        self.error = error

    @property
    def is_transient(self) -> bool:
        """Only the identity provider's own "try again later" is worth a retry."""
        return self.error == "temporarily_unavailable"


class PermissionDenied(DataverseError):
    """403: the application user lacks a privilege or is not set up in the environment."""


class NotFound(DataverseError):
    """404: no such record (or entity set)."""


class Conflict(DataverseError):
    """412: the record already exists (If-None-Match) or changed since read (If-Match)."""


class Throttled(DataverseError):
    """429 past the retry budget: service protection limits; try again later."""


class Unavailable(DataverseError):
    """5xx, timeout or connection failure past the retry budget: Dataverse is down or unreachable."""


class NotSupported(DataverseError):
    """501: the server (the emulator) does not implement what was asked."""


_BY_STATUS: dict[int, type[DataverseError]] = {
    400: InvalidQuery,
    401: AuthenticationFailed,
    403: PermissionDenied,
    404: NotFound,
    412: Conflict,
    429: Throttled,
    501: NotSupported,
}


def error_class_for(status: int) -> type[DataverseError]:
    """The exception class that names what an HTTP status means."""
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if status >= 500:
        return Unavailable
    return DataverseError


# What to do about the identity provider's and Dataverse's most common refusals, in plain words.
_AADSTS_ADVICE: dict[str, str] = {
    "AADSTS7000215": (
        "the client secret is wrong: copy the secret's Value (not its ID) from the app registration's "
        "'Certificates & secrets' page into D365_CLIENT_SECRET"
    ),
    "AADSTS7000222": (
        "the client secret has expired: create a new secret in the app registration and update "
        "D365_CLIENT_SECRET"
    ),
    "AADSTS700016": (
        "no application with this client id exists in the tenant: check D365_CLIENT_ID (the app "
        "registration's Application (client) ID) and D365_TENANT_ID"
    ),
    "AADSTS90002": (
        "the tenant was not found: check D365_TENANT_ID (the Directory (tenant) ID or a verified domain) "
        "and D365_AUTHORITY_HOST for sovereign clouds"
    ),
    "AADSTS700027": (
        "the certificate was not accepted: upload its public part to the app registration and check "
        "D365_CERTIFICATE_THUMBPRINT"
    ),
    "AADSTS500011": ("the Dataverse environment was not found in this tenant: check D365_DATAVERSE_URL"),
    "AADSTS50034": "the account does not exist in this tenant: check D365_TENANT_ID",
}

# Dataverse 403 when the app registration has no application user in the environment.
APPLICATION_USER_MISSING = "0x80072560"
_APPLICATION_USER_ADVICE = (
    "the application is not set up as an application user in this Dataverse environment: in the Power "
    "Platform admin center open the environment, Settings > Users + permissions > Application users, "
    "add the app registration (D365_CLIENT_ID) and give it a security role"
)


def explain_aadsts(code: str | None) -> str:
    """Plain words for an AADSTS code (or Dataverse's 'application user missing' code 0x80072560)."""
    if not code:
        return "the identity provider refused to issue a token: check the D365_* credentials"
    normalized = code.strip()
    if normalized.lower() == APPLICATION_USER_MISSING:
        return _APPLICATION_USER_ADVICE
    key = normalized.upper()
    if not key.startswith("AADSTS"):
        key = f"AADSTS{key}"
    return _AADSTS_ADVICE.get(
        key, "the identity provider refused to issue a token: look the code up in Microsoft's AADSTS list"
    )
