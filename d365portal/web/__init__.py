"""The web layer: blueprints (one per page area), the language prefix, error pages."""

from __future__ import annotations

from typing import Any

from flask import Flask, abort, g

from d365portal.web.i18n import LANGUAGES


def _pull_language(endpoint: str | None, values: dict[str, Any] | None) -> None:
    """Take `<lang>` off the URL into `g.lang`; an unknown language is a 404."""
    if values and "lang" in values:
        lang = values.pop("lang")
        if lang not in LANGUAGES:
            abort(404)
        g.lang = lang


def _add_language(endpoint: str, values: dict[str, Any]) -> None:
    """Keep the current language in every `url_for` that needs one."""
    if "lang" in values or not endpoint:
        return
    from flask import current_app

    rule_args = current_app.url_map._rules_by_endpoint.get(endpoint)
    if rule_args and any("lang" in rule.arguments for rule in rule_args):
        values["lang"] = g.get("lang") or current_app.config["SETTINGS"].default_language


def init_app(app: Flask) -> None:
    """Register the blueprints, the language URL handling, security and error pages."""
    from d365portal.web import auth, errors, health, hours, main, profile, security, support
    from d365portal.web.auth_context import current_principal

    app.url_value_preprocessor(_pull_language)
    app.url_defaults(_add_language)
    app.context_processor(lambda: {"principal": current_principal(), "settings": app.config["SETTINGS"]})

    security.init_app(app)
    errors.init_app(app)
    for module in (main, auth, profile, support, hours, health):
        app.register_blueprint(module.bp)
