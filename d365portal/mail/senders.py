"""Mail senders: SMTP (plain+STARTTLS, or SSL; optional auth) and the file outbox (.eml files)."""

from __future__ import annotations

import smtplib
import ssl
import time
import uuid
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit


class MailError(Exception):
    """A message could not be handed over; the text names the server, never a password."""


class Sender(Protocol):
    """Hands one message to its destination."""

    def send(self, message: EmailMessage) -> None:
        """Deliver `message` or raise `MailError`."""

    def describe(self) -> str:
        """Where mail goes, without secrets (for logs and `d365portal check`)."""


class OutboxSender:
    """Writes each message to `<directory>/<timestamp>-<id>.eml` (the embedded default)."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def send(self, message: EmailMessage) -> None:
        """Write the message as an .eml file (atomically: a reader never sees half a message)."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            name = f"{time.time_ns()}-{uuid.uuid4().hex[:8]}.eml"
            partial = self.directory / f".{name}.tmp"
            partial.write_bytes(bytes(message))
            partial.replace(self.directory / name)
        except OSError as exc:
            raise MailError(f"cannot write to the outbox {self.directory}: {exc.strerror}") from None

    def describe(self) -> str:
        """Where mail goes."""
        return f"file outbox {self.directory}"


class SmtpSender:
    """SMTP from a URL: smtp://[user:pass@]host[:port][?starttls=1] or smtps://… (implicit TLS)."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("D365_SMTP_URL must look like smtp://user:pass@host:587?starttls=1 or smtps://…")
        self.ssl = parts.scheme == "smtps"
        self.host = parts.hostname
        self.port = parts.port or (465 if self.ssl else 25)
        self.username = unquote(parts.username) if parts.username else None
        self._password = unquote(parts.password) if parts.password else None
        query = parse_qs(parts.query)
        self.starttls = query.get("starttls", ["0"])[0].lower() in ("1", "true", "yes")
        self.verify = query.get("verify", ["1"])[0].lower() not in ("0", "false", "no")
        self.timeout = timeout

    def _context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        if not self.verify:  # only for a test relay with a self-signed certificate
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    def send(self, message: EmailMessage) -> None:
        """Connect, (STARTTLS), (log in), send, quit."""
        try:
            smtp: smtplib.SMTP
            if self.ssl:
                smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=self._context())
            else:
                smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            with smtp:
                if self.starttls:
                    smtp.starttls(context=self._context())
                if self.username:
                    smtp.login(self.username, self._password or "")
                smtp.send_message(message)
        except (smtplib.SMTPException, OSError) as exc:
            detail = type(exc).__name__
            if isinstance(exc, smtplib.SMTPResponseException):
                detail += f" {exc.smtp_code}"
            raise MailError(f"SMTP {self.host}:{self.port} refused or failed: {detail}") from None

    def describe(self) -> str:
        """Where mail goes (no password)."""
        mode = "SSL" if self.ssl else ("STARTTLS" if self.starttls else "plain")
        user = f" as {self.username}" if self.username else ""
        return f"SMTP {self.host}:{self.port} ({mode}){user}"
