"""CSRF on every form and the security headers (issue 4 extends this file)."""

from __future__ import annotations

from flask import Flask
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()


def init_app(app: Flask) -> None:
    """Global CSRF protection; every POST is a FlaskForm."""
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # the session's own lifetime bounds it
    csrf.init_app(app)
