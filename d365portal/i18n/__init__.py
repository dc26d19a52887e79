"""Languages, the message catalog and locale formatting (dates, numbers): used by web, mail and admin.

Messages live in `i18n/messages/<area>.toml`, each key with its Spanish and English text side by side:

    [auth]
    signin = { es = "Iniciar Sesión", en = "Sign in" }

Templates call `_("auth.signin")`; a missing key or language raises in tests (`TESTING`) and falls
back to the key elsewhere, so a typo is caught before it ships. Formatting goes through Babel:
`26/12/2019 11:24` and `25,00` in Spanish, `12/26/2019 11:24 AM` and `25.00` in English.
"""

from __future__ import annotations

import tomllib
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal
from flask import Flask, current_app, g, request

LANGUAGES = ("es-ES", "en-US")
# Parsed once: Babel would parse a locale name again on every formatted value of every page.
_BABEL_LOCALE = {"es-ES": Locale.parse("es_ES"), "en-US": Locale.parse("en_US")}
_CATALOG_KEY = {"es-ES": "es", "en-US": "en"}
DATE_FORMAT = {"es-ES": "dd/MM/yyyy", "en-US": "MM/dd/yyyy"}
DATETIME_FORMAT = {"es-ES": "dd/MM/yyyy HH:mm", "en-US": "MM/dd/yyyy h:mm a"}
MESSAGES_DIR = Path(__file__).parent / "messages"


class MissingMessage(KeyError):
    """A template asked for a message key (or language) the catalog does not have."""


@lru_cache(maxsize=1)
def catalog() -> dict[str, dict[str, str]]:
    """All messages, `area.key` → {"es": …, "en": …}, loaded once from the TOML files."""
    messages: dict[str, dict[str, str]] = {}
    for path in sorted(MESSAGES_DIR.glob("*.toml")):
        with path.open("rb") as handle:
            for area, entries in tomllib.load(handle).items():
                for key, texts in entries.items():
                    messages[f"{area}.{key}"] = texts
    return messages


def current_language() -> str:
    """The language of this request: the URL prefix, else the configured default."""
    lang = g.get("lang")
    if lang in LANGUAGES:
        return str(lang)
    return str(current_app.config["SETTINGS"].default_language)


def gettext(key: str, **values: object) -> str:
    """The message for `key` in the current language, with `{name}` placeholders filled."""
    lang = current_language()
    texts = catalog().get(key)
    text = texts.get(_CATALOG_KEY[lang]) if texts else None
    if text is None:
        if current_app.testing:
            raise MissingMessage(f"{key} ({lang})")
        text = key
    return text.format(**values) if values else text


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["SETTINGS"].timezone)  # ZoneInfo caches its instances


def format_datetime_local(value: datetime | None) -> str:
    """A UTC instant in the portal's time zone and the language's format (26/12/2019 11:24)."""
    if value is None:
        return ""
    lang = current_language()
    return format_datetime(value.astimezone(_zone()), DATETIME_FORMAT[lang], locale=_BABEL_LOCALE[lang])


def format_date_only(value: date | datetime | None) -> str:
    """A date-only value as given, never shifted by a time zone (01/02/2020)."""
    if value is None:
        return ""
    day = value.date() if isinstance(value, datetime) else value
    lang = current_language()
    return format_date(day, DATE_FORMAT[lang], locale=_BABEL_LOCALE[lang])


def format_number(value: Decimal | float | int | None, places: int = 2) -> str:
    """A number with the language's separators and fixed decimals (25,00)."""
    if value is None:
        return ""
    pattern = "#,##0." + "0" * places if places else "#,##0"
    return format_decimal(value, pattern, locale=_BABEL_LOCALE[current_language()])


def switch_language_url(lang: str) -> str:
    """The current page's URL in another language (the language switcher)."""
    path = request.full_path if request.query_string else request.path
    for known in LANGUAGES:
        prefix = f"/{known}/"
        if path.startswith(prefix) or path == f"/{known}":
            return f"/{lang}/" + path[len(prefix) :]
    return f"/{lang}/"


def init_app(app: Flask) -> None:
    """Expose `_`, the formatters and the language to every template."""
    catalog()  # fail at start-up on a malformed catalog
    app.jinja_env.globals.update(
        _=gettext,
        current_language=current_language,
        switch_language_url=switch_language_url,
        LANGUAGES=LANGUAGES,
    )
    app.jinja_env.filters.update(
        datetime=format_datetime_local,
        dateonly=format_date_only,
        number=format_number,
    )
