"""What the admin commands share: settings that fail in one line, the portal app for a command."""

from __future__ import annotations

import logging
from typing import Any

import click
from flask import Flask

from d365portal.settings import Settings, SettingsError, load_settings


def settings_or_exit(**overrides: Any) -> Settings:
    """The settings, or a one-line error (click's `Error: …`) naming the wrong one."""
    try:
        return load_settings(**overrides)
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


def portal_app(settings: Settings) -> Flask:
    """The portal app (repositories, mailer, identity) for a command, or a one-line error."""
    from d365portal.app import create_app

    try:
        app = create_app(settings)
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    quiet_logs(settings)
    return app


def quiet_logs(settings: Settings) -> None:
    """A command's own output is its result: logs go to stderr, and only warnings unless DEBUG."""
    from d365portal.logs import ConsoleHandler

    for handler in logging.getLogger().handlers:
        if isinstance(handler, ConsoleHandler):
            handler.to = "stderr"
            if settings.log_level != "DEBUG":
                handler.setLevel(logging.WARNING)
