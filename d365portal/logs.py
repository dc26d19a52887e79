"""Logging to stdout (text or JSON lines), one line per request, and redaction of anything secret.

Every request gets an id: a sane incoming `X-Request-ID` (a GUID) or a new one. It is echoed in the
response's `X-Request-ID`, sent to Dataverse as `x-ms-client-request-id`, and ends the request's log
line together with the method, path (never the query string: reset links carry their token there),
status, duration and the Dataverse calls made and the time spent in them.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, g, request

from d365portal.dataverse import context
from d365portal.settings import Settings

REQUEST_ID_HEADER = "X-Request-ID"
REQUEST_LOGGER = "d365portal.request"
REDACTED = "[REDACTED]"
_QUIET_PATHS = frozenset({"/healthz", "/readyz"})  # probes every few seconds: DEBUG, not INFO

# Patterns for secrets that can show up in free text: headers, key=value pairs, JSON, URLs, tokens.
_SECRET_KEYS = "|".join((
    "authorization", "password", "passwd", "pwd", "passwordhash", "password_hash", "secret",
    "client_secret", "secret_key", "static_token", "access_token", "refresh_token", "id_token", "token",
    "api_key", "apikey", "smtp_url", "private_key",
))
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\bbearer\s+[A-Za-z0-9\-._~+/]+=*", re.IGNORECASE), f"Bearer {REDACTED}"),
    (
        re.compile(rf"""((?<![A-Za-z0-9])(?:{_SECRET_KEYS})["']?\s*[:=]\s*["']?(?:bearer\s+)?)(?!\[REDACTED)[^\s"',;&}}]+""",
                   re.IGNORECASE),
        rf"\1{REDACTED}",
    ),
    (re.compile(r"([?&](?:code|token|sig)=)[^&\s\"']+", re.IGNORECASE), rf"\1{REDACTED}"),
    (re.compile(r"(\b[a-z][a-z0-9+.-]*://[^/\s:@]*:)[^@\s/]+@", re.IGNORECASE), rf"\1{REDACTED}@"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"), REDACTED),
    (re.compile(r"\$argon2(?:id|i|d)\$[^\s\"']+"), REDACTED),
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.DOTALL),
     REDACTED),
)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with bearer tokens, passwords, secrets, URL credentials and known secret values masked."""
    for value in secrets:
        if value and len(value) >= 4:
            text = text.replace(value, REDACTED)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFormatter(logging.Formatter):
    """Formats with the wrapped formatter, then masks secrets in the finished line (message, fields,
    traceback alike). Redaction happens here rather than in a `logging.Filter` because a filter would
    rewrite the shared record for every other handler too (an APM agent, pytest's caplog)."""

    def __init__(self, inner: logging.Formatter, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.inner = inner
        self.secrets = tuple(s for s in secrets if s)

    def format(self, record: logging.LogRecord) -> str:
        """The wrapped formatter's line, redacted."""
        return redact(self.inner.format(record), self.secrets)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the record's `fields`, exception."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as a JSON line."""
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False, default=str)


class _TextFormatter(logging.Formatter):
    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")


class ConsoleHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stdout` (or `sys.stderr`) is when each record is emitted."""

    def __init__(self, to: str = "stdout") -> None:
        super().__init__()
        self.to = to

    @property  # type: ignore[override]
    def stream(self) -> Any:
        """The current sys.stdout / sys.stderr."""
        return getattr(sys, self.to)

    @stream.setter
    def stream(self, value: Any) -> None:
        """Ignored: the stream is looked up on each record."""


def secret_values(settings: Settings) -> list[str]:
    """The configured secrets, masked verbatim wherever they might appear."""
    values = [settings.client_secret, settings.certificate_password, settings.secret_key, settings.smtp_url,
              settings.two_factor_key, *(p.client_secret for p in settings.identity_providers)]
    found = [v.get_secret_value() for v in values if v is not None]
    if settings.auth == "static":
        found.append(settings.static_token.get_secret_value())
    return found


def configure_logging(settings: Settings) -> logging.Handler:
    """Send every log record to stdout in the configured format, with secrets masked."""
    handler = ConsoleHandler("stdout")
    inner: logging.Formatter = (
        JsonFormatter()
        if settings.log_format == "json"
        else _TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    handler.setFormatter(RedactingFormatter(inner, secret_values(settings)))
    handler._d365portal = True  # type: ignore[attr-defined]
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_d365portal", False)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    return handler


def incoming_request_id(value: str | None) -> str:
    """The caller's X-Request-ID when it is a GUID (Dataverse wants one), else a new GUID."""
    if value and len(value) <= 64:
        try:
            return str(uuid.UUID(value.strip()))
        except ValueError:
            pass
    return str(uuid.uuid4())


def _printable(path: str) -> str:
    return "".join(c if c.isprintable() else "?" for c in path)[:300]


def _begin_request() -> None:
    g.request_started = time.perf_counter()
    g.request_id = incoming_request_id(request.headers.get(REQUEST_ID_HEADER))
    # Flask runs each request in its own context, so these contextvars are per page view.
    context.set_request_id(g.request_id)
    g.dataverse_metrics = context.metrics.begin()


def _log_request(response: Response) -> Response:
    started = g.get("request_started")
    if started is None:  # a hook failed before ours ran
        return response
    request_id = g.get("request_id", "")
    response.headers[REQUEST_ID_HEADER] = request_id
    spent = g.get("dataverse_metrics") or context.metrics.current()
    fields = {
        "method": request.method,
        "path": _printable(request.path),
        "status": response.status_code,
        "duration_ms": round((time.perf_counter() - started) * 1000, 1),
        "dataverse_calls": spent.calls,
        "dataverse_ms": round(spent.elapsed_ms, 1),
        "dataverse_retries": spent.retries,  # attempts beyond the first (throttling, outages)
        "dataverse_budget": context.budget.current().requests_remaining,  # requests left (Dataverse's word)
        "request_id": request_id,
    }
    level = logging.DEBUG if request.path in _QUIET_PATHS else logging.INFO
    text = "%(method)s %(path)s %(status)s %(duration_ms)sms dataverse=%(dataverse_calls)s/%(dataverse_ms)sms"
    if spent.retries:
        text += " retries=%(dataverse_retries)s"
    if fields["dataverse_budget"] is not None:
        text += " budget=%(dataverse_budget).0f"
    text += " request_id=%(request_id)s"
    logging.getLogger(REQUEST_LOGGER).log(level, text, fields, extra={"fields": fields})
    return response


def init_app(app: Flask) -> None:
    """Configure logging from the settings and log one line per request."""
    configure_logging(app.config["SETTINGS"])
    app.before_request(_begin_request)
    app.after_request(_log_request)
