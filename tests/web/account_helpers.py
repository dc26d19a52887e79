"""Helpers of the account page tests (issue 4): CSRF-aware form posts and the real sign-in."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from d365portal.emulator.seed import DEMO_PASSWORD, DEMO_USERNAME

LOGIN = "/es-ES/Account/Login/Login"
LOGOUT = "/es-ES/Account/Login/LogOff"
FORGOT = "/es-ES/Account/Login/ForgotPassword"
RESET = "/es-ES/Account/Login/ResetPassword"
COOKIE = "d365_session"


def text(response: TestResponse) -> str:
    """The body as text, entities decoded."""
    return html.unescape(response.get_data(as_text=True))


def csrf_token(client: FlaskClient, url: str) -> str:
    """GET a page and read its form's CSRF token."""
    body = client.get(url).get_data(as_text=True)
    tag = re.search(r'<input[^>]*name="csrf_token"[^>]*>', body)
    match = re.search(r'value="([^"]+)"', tag.group(0)) if tag else None
    assert match, f"no CSRF token on {url}"
    return match.group(1)


def post_form(
    client: FlaskClient, url: str, data: dict[str, Any], form_url: str | None = None
) -> TestResponse:
    """Submit a form as a browser would: fetch the page for its CSRF token, then POST."""
    token = csrf_token(client, form_url or url)
    return client.post(url, data={**data, "csrf_token": token})


def sign_in(
    client: FlaskClient, username: str = DEMO_USERNAME, password: str = DEMO_PASSWORD, next_url: str = ""
) -> TestResponse:
    """The real sign-in through the form (Usuario, Contraseña); returns once a failure is counted."""
    response = post_form(client, LOGIN, {"username": username, "password": password, "next": next_url})
    client.application.extensions["identity"].accounts.wait()  # counted after the answer (timing)
    return response


def session_cookie(client: FlaskClient) -> str | None:
    """The session id cookie the client holds."""
    cookie = client.get_cookie(COOKIE)
    return cookie.value if cookie else None


def with_cookie(client: FlaskClient, value: str) -> FlaskClient:
    """The same client holding a given (e.g. copied) session cookie."""
    client.set_cookie(COOKIE, value)
    return client


def contact_row(emulator: Any, contact_id: Any) -> dict[str, Any]:
    """The emulator's stored contact row."""
    return dict(emulator.store.get("contacts", contact_id))


def interleaved_medians(
    first: Callable[[], float], second: Callable[[], float], samples: int = 40, warmup: int = 3
) -> tuple[float, float]:
    """The median of `samples` timings of each, taken alternately after a warm-up of both (so a
    disturbance of the machine hits both alike)."""
    import statistics

    for _ in range(warmup):
        first(), second()
    a, b = [], []
    for _ in range(samples):
        a.append(first())
        b.append(second())
    return statistics.median(a), statistics.median(b)
