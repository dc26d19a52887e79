"""What goes over the wire to and from Dataverse: headers, `Prefer`, error bodies, ids, log redaction."""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import unquote, urlsplit
from uuid import UUID

import requests

from d365portal.dataverse.errors import (
    APPLICATION_USER_MISSING,
    DataverseError,
    PermissionDenied,
    Unavailable,
    error_class_for,
    explain_aadsts,
)

ANNOTATIONS = 'odata.include-annotations="*"'
_SENSITIVE_HEADERS = frozenset({"authorization", "cookie", "set-cookie"})


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """A copy of `headers` safe to log: the bearer token and cookies replaced by `***`."""
    return {k: ("***" if k.lower() in _SENSITIVE_HEADERS else v) for k, v in headers.items()}


def prefer(
    *, annotations: bool = True, page_size: int | None = None, representation: bool = False,
    track_changes: bool = False,
) -> str:
    """A `Prefer` header value."""
    parts = ["odata.track-changes"] if track_changes else []
    if representation:
        parts.append("return=representation")
    if annotations:
        parts.append(ANNOTATIONS)
    if page_size is not None:
        parts.append(f"odata.maxpagesize={int(page_size)}")
    return ",".join(parts)


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


def error_from_response(response: requests.Response) -> DataverseError:
    """The typed error for a non-success response (status, Dataverse code, message, request id)."""
    code = message = None
    try:
        body = response.json()
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            code = body["error"].get("code") or None
            message = body["error"].get("message") or None
    except ValueError:
        message = response.text[:300] or None
    status = response.status_code
    message = message or response.reason or f"HTTP {status}"
    request_id = response.headers.get("x-ms-service-request-id") or response.headers.get("REQ_ID")
    retry_after = _retry_after(response.headers.get("Retry-After"))
    cls = error_class_for(status)
    if status == 403 and code and code.lower() == APPLICATION_USER_MISSING:
        cls, message = PermissionDenied, f"{message} — {explain_aadsts(code)}"
    return cls(message, status=status, code=code, request_id=request_id, retry_after=retry_after)


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """A response's Retry-After in seconds (either form), or None."""
    return _retry_after(headers.get("Retry-After"))


def prefer_header(value: str) -> dict[str, str]:
    """`{"Prefer": value}`, or no header at all for an empty preference."""
    return {"Prefer": value} if value else {}


def unavailable(message: str, url: str, *, not_sent: bool = False) -> Unavailable:
    """`Unavailable` for a failed attempt; `not_sent` when Dataverse surely never got the request."""
    return Unavailable(f"{message} ({url_path(url)})", not_sent=not_sent)


_LITERAL = re.compile(r"'(?:[^']|'')*'")


def url_path(url: str) -> str:
    """The URL without scheme and host, for logs. String literals of the query (what a user typed
    into a search or the email of a forgot-password request) become `'…'`; the query's shape stays."""
    parts = urlsplit(url)
    if not parts.query:
        return parts.path
    query = _LITERAL.sub("'…'", unquote(parts.query))
    return f"{parts.path}?{query}"


def json_body(response: requests.Response) -> dict[str, Any]:
    """The JSON object a response carries (`DataverseError` when it is not one)."""
    try:
        body = response.json()
    except ValueError as exc:
        raise DataverseError(
            "Dataverse answered with something that is not JSON", status=response.status_code
        ) from exc
    if not isinstance(body, dict):
        raise DataverseError("Dataverse answered with unexpected JSON", status=response.status_code)
    return body


def entity_id(response: requests.Response) -> UUID:
    """The id in `OData-EntityId` of a create."""
    header = response.headers.get("OData-EntityId", "")
    try:
        return UUID(header.rsplit("(", 1)[1].rstrip(")"))
    except (IndexError, ValueError) as exc:
        raise DataverseError(
            "Dataverse did not say which record it created", status=response.status_code
        ) from exc
