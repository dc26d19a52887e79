"""Security headers on every response, no-store on signed-in and account pages, CSP-safe templates."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from d365portal.app import ASSETS_ROOT
from d365portal.web.security import CONTENT_SECURITY_POLICY
from tests.web.account_helpers import LOGIN, sign_in


@pytest.mark.parametrize("url", [LOGIN, "/es-ES/", "/no-such-page", "/static/css/portal.css"])
def test_every_response_carries_the_security_headers(client: FlaskClient, url: str) -> None:
    response = client.get(url)
    response.close()
    headers = response.headers
    assert headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"]
    assert "Strict-Transport-Security" not in headers  # the local demo runs over http


def test_hsts_outside_the_demo(settings: Any) -> None:
    from d365portal import create_app

    app = create_app(settings.model_copy(update={"demo": False}))
    headers = app.test_client().get(LOGIN, base_url="https://portal.test").headers
    assert headers["Strict-Transport-Security"].startswith("max-age=")


def test_account_and_signed_in_pages_are_never_stored(client: FlaskClient) -> None:
    for url in (LOGIN, "/es-ES/Account/Login/ForgotPassword", "/es-ES/Account/Login/ResetPassword"):
        assert client.get(url).headers["Cache-Control"] == "no-store"
    sign_in(client)
    for url in ("/es-ES/", "/es-ES/profile/", "/es-ES/support/", "/es-ES/vigencia-soporte/"):
        assert client.get(url).headers["Cache-Control"] == "no-store", url
    static = client.get("/static/css/portal.css")
    static.close()
    assert static.headers.get("Cache-Control") != "no-store"


def test_the_reset_page_sends_no_referrer(client: FlaskClient) -> None:
    headers = client.get("/es-ES/Account/Login/ResetPassword?userId=x&code=y").headers
    assert headers["Referrer-Policy"] == "no-referrer"


def _page_templates() -> list[Path]:
    root = ASSETS_ROOT / "templates"
    # Emails are not served pages (mail clients need inline styles); skip them wherever they live.
    pages = [p for p in root.rglob("*.html") if "emails" not in p.parts]
    return [p for p in pages if "emails/_layout" not in p.read_text(encoding="utf-8")]


@pytest.mark.parametrize("template", _page_templates(), ids=lambda p: str(p.relative_to(ASSETS_ROOT)))
def test_templates_have_nothing_the_csp_would_block(template: Path) -> None:
    source = template.read_text(encoding="utf-8")
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", source), "inline <script>"
    assert not re.search(r"\sstyle\s*=", source), "style attribute"
    assert "<style" not in source, "inline <style>"
    assert not re.search(r"\son[a-z]+\s*=", source), "inline event handler"
    assert "javascript:" not in source
