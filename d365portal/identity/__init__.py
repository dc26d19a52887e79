"""PLACEHOLDER (issue 4 replaces this file): portal users on the contact — passwords, lockout,
reset tokens, sessions, rate limits."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Install the session store and the identity services."""
