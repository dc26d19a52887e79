"""The WSGI entry point for any server: `gunicorn d365portal.wsgi:app`.

A wrong setting stops start-up with one line naming it (no traceback): the process exits with
gunicorn's "application failed to load" status, so gunicorn stops instead of respawning workers.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from d365portal.settings import Settings, SettingsError

if TYPE_CHECKING:  # pragma: no cover
    from flask import Flask

# gunicorn's Arbiter.APP_LOAD_ERROR: the master halts rather than booting the worker again.
APP_LOAD_ERROR = 4


def load_app(settings: Settings | None = None) -> Flask:
    """`create_app()`, or a one-line error on stderr and exit status 4 when a setting is wrong."""
    from d365portal.app import create_app

    try:
        return create_app(settings)
    except SettingsError as exc:
        print(f"d365portal: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(APP_LOAD_ERROR) from None


def __getattr__(name: str) -> Any:
    """`app` is built on first access, so importing this module reads no settings."""
    if name in ("app", "application"):
        globals()[name] = built = load_app()
        return built
    raise AttributeError(name)
