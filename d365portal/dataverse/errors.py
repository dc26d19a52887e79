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
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code or None
        self.request_id = request_id
        self.retry_after = retry_after

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
