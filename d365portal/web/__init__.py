"""The web layer: blueprints (one per page area), the language prefix, error pages."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from flask import Flask, abort, current_app, g, url_for

from d365portal.crm import option_labels
from d365portal.crm.models import Choice
from d365portal.i18n import LANGUAGES, current_language


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
    if _takes_language(endpoint):
        values["lang"] = g.get("lang") or current_app.config["SETTINGS"].default_language


def _takes_language(endpoint: str) -> bool:
    """Whether a route of `endpoint` has a `<lang>` part; looked up once per endpoint and app.

    Every `url_for` asks (27 times for a case list), and scanning the endpoint's rules each time cost
    about a quarter of `url_for`'s time. Unknown endpoints are not remembered (`url_for` will fail)."""
    known: dict[str, bool] = current_app.extensions.setdefault("web.lang_endpoints", {})
    found = known.get(endpoint)
    if found is None:
        try:
            rules = list(current_app.url_map.iter_rules(endpoint))
        except KeyError:
            return False
        found = known[endpoint] = any("lang" in rule.arguments for rule in rules)
    return found


_NIL = UUID(int=0)
# Left unescaped in query strings, as werkzeug's own encoding does (werkzeug.urls._urlencode).
_QUERY_SAFE = "!$'()*,/:;?@"


def row_url_prefix(endpoint: str, argument: str) -> str:
    """`url_for(endpoint, **{argument: id})` without the id, for a list whose rows append their own.

    One route build per page instead of one per row; the id must be the route's last part (a UUID,
    which needs no quoting)."""
    values: dict[str, Any] = {argument: _NIL}
    url = url_for(endpoint, **values)
    if "?" in url or not url.endswith(f"/{_NIL}"):
        raise ValueError(f"{endpoint}: <{argument}> is not the last part of its URL")
    return url[: -len(str(_NIL))]


def with_query(base: str, values: dict[str, Any]) -> str:
    """`base` with `values` as its query string, encoded as `url_for` encodes extra arguments.

    For links that share one path (the case list's sort headers and pager): the path is built once."""
    items = [(key, value) for key, value in values.items() if value is not None]
    return f"{base}?{urlencode(items, safe=_QUERY_SAFE)}" if items else base


def choice_label(choice: Choice | None) -> str:
    """`{{ case.priority|label }}`: an option's label in the page's language (crm/labels.py)."""
    if choice is None:
        return ""
    # Looked up once per page view: a case list shows about twenty labels.
    found = g.get("_labels")
    if found is None:
        found = g._labels = (option_labels(), current_language())
    catalog, language = found
    return catalog.label(choice, language)


def note_language() -> None:
    """The language of a signed-in user's page, kept for the notifier's mails (written when it changes)."""
    from flask import session

    from d365portal.identity import identity
    from d365portal.notify.deliver import remember_language
    from d365portal.web.auth_context import current_principal

    lang = g.get("lang")
    user = current_principal() if lang else None
    if user is not None and session.get("lang_noted") != lang:
        remember_language(identity().store, str(user.contact_id), str(lang))
        session["lang_noted"] = lang


def init_app(app: Flask) -> None:
    """Register the blueprints, the language URL handling, security and error pages."""
    from d365portal.web import (
        auth,
        case_activity,  # adds the case page and its conversation to support.bp
        company,
        errors,
        external,
        health,
        hosts,
        hours,
        knowledge,
        main,
        profile,
        security,
        security_page,
        signin,
        support,
        support_new,  # noqa: F401 - adds the new-case views to support.bp
        two_factor,
    )
    from d365portal.web.auth_context import current_principal

    app.url_value_preprocessor(_pull_language)
    app.url_defaults(_add_language)
    app.jinja_env.globals.update(
        row_url_prefix=row_url_prefix, with_query=with_query, human_size=case_activity.human_size,
        excerpt=knowledge.excerpt, signin_providers=signin.providers_for_page,
    )
    app.jinja_env.filters["label"] = choice_label
    app.context_processor(lambda: {"principal": current_principal(), "settings": app.config["SETTINGS"]})

    hosts.init_app(app)
    app.before_request(case_activity.allow_uploads)  # before the CSRF check reads a comment's files
    app.before_request(note_language)
    app.register_error_handler(413, case_activity.too_large)
    security.init_app(app)
    errors.init_app(app)
    for module in (main, auth, two_factor, external, profile, security_page, support, hours, company,
                   knowledge, health):
        app.register_blueprint(module.bp)
