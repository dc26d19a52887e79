"""PLACEHOLDER (issue 4 replaces this file): mail senders (SMTP, file outbox) and messages."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Build the mailer chosen by the settings into `app.extensions["mailer"]`."""
