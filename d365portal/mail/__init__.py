"""Sending mail: the sender chosen by the settings (SMTP when `D365_SMTP_URL` is set, else the file
outbox `var/outbox/*.eml`) behind `mailer()`, and messages rendered from
`templates/emails/` (HTML + plain text)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from email.message import EmailMessage

from flask import Flask

from d365portal.mail.senders import MailError, OutboxSender, Sender, SmtpSender

log = logging.getLogger(__name__)

__all__ = ["Mailer", "MailError", "init_app", "mailer"]


class Mailer:
    """Sends messages now (`send`) or in the background (`send_later`, failures only logged)."""

    def __init__(self, sender: Sender, mail_from: str) -> None:
        self.sender = sender
        self.mail_from = mail_from
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._pending: set[Future[None]] = set()

    def send(self, message: EmailMessage) -> None:
        """Send now; raises `MailError` (its text carries no secret)."""
        if "From" not in message:
            message["From"] = self.mail_from
        self.sender.send(message)
        log.info("mail sent to %s: %s", message["To"], message["Subject"])

    def send_later(
        self, message: EmailMessage | Callable[[], EmailMessage], *, not_before: float | None = None
    ) -> None:
        """Send in a background thread: the page answers in the same time whether or not mail goes out;
        a failure is logged for the admin. Given a function, it builds the message there too (a link
        to issue, templates to render: work that would tell by its time that an address exists).
        `not_before` (time.monotonic()) holds the work back until the page has answered: composing
        meanwhile would take the interpreter from the request's thread and show in its time."""
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="mailer")
            future = self._executor.submit(self._send_logged, message, not_before)
            self._pending.add(future)
        future.add_done_callback(self._pending.discard)

    def _send_logged(
        self, message: EmailMessage | Callable[[], EmailMessage], not_before: float | None = None
    ) -> None:
        if not_before is not None:
            time.sleep(max(0.0, not_before - time.monotonic()))
        if callable(message):
            try:
                message = message()
            except Exception:  # a background thread must never die silently
                log.exception("a mail could not be composed")
                return
        try:
            self.send(message)
        except MailError as exc:
            log.error("mail to %s not sent (%s): %s", message["To"], self.sender.describe(), exc)
        except Exception:  # a background thread must never die silently
            log.exception("mail to %s not sent (%s)", message["To"], self.sender.describe())

    def wait(self, timeout: float = 10.0) -> None:
        """Wait for background sends to finish (tests, shutdown)."""
        for future in list(self._pending):
            future.exception(timeout=timeout)


def build_sender(smtp_url: str | None, outbox: object) -> Sender:
    """SMTP when a URL is configured, else the file outbox."""
    if smtp_url:
        return SmtpSender(smtp_url)
    from pathlib import Path

    return OutboxSender(Path(str(outbox)))


def mailer(app: Flask | None = None) -> Mailer:
    """The mailer of `app` (default: the current app)."""
    from flask import current_app

    return (app or current_app).extensions["mailer"]  # type: ignore[no-any-return]


def init_app(app: Flask) -> None:
    """Build the mailer chosen by the settings into `app.extensions["mailer"]`."""
    settings = app.config["SETTINGS"]
    smtp_url = settings.smtp_url.get_secret_value() if settings.smtp_url else None
    try:
        sender = build_sender(smtp_url, settings.mail_outbox)
    except ValueError as exc:
        from d365portal.settings import SettingsError

        raise SettingsError(str(exc)) from None  # the message names the setting, never its value
    app.extensions["mailer"] = Mailer(sender, settings.mail_from)
