"""PLACEHOLDER (issue 6 replaces this file): logging setup and the one-line-per-request log."""

from __future__ import annotations

import logging

from flask import Flask


def init_app(app: Flask) -> None:
    """Configure logging from the settings."""
    logging.basicConfig(level=app.config["SETTINGS"].log_level)
