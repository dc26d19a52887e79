"""Account forms when Dataverse is busy or down: the page comes back with what the user typed and a
"try again" message (503), never an error page that loses the input, and never a stack trace."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient

from d365portal import create_app
from d365portal.emulator.seed import DEMO_EMAIL, DEMO_PASSWORD
from tests.web.account_helpers import FORGOT, LOGIN, csrf_token, sign_in, text

TRY_AGAIN = "Servicio no disponible, intente de nuevo en unos momentos. Sus datos se conservaron."


@pytest.fixture()
def client(settings: Any) -> FlaskClient:
    """A portal that gives up on Dataverse quickly (the retry budget is what keeps the test short)."""
    app = create_app(settings.model_copy(update={"retry_budget_seconds": 0.3}))
    app.testing = True
    return app.test_client()


def _field_value(page: str, name: str) -> str | None:
    tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', page)
    value = re.search(r'value="([^"]*)"', tag.group(0)) if tag else None
    return value.group(1) if value else None


def _post_while_down(client: FlaskClient, emulator: Any, url: str, data: dict[str, str]) -> tuple[int, str]:
    token = csrf_token(client, url)
    emulator.faults.unavailable_ratio = 1.0
    response = client.post(url, data={**data, "csrf_token": token})
    emulator.faults.clear()
    return response.status_code, text(response)


def test_sign_in_keeps_the_username(client: FlaskClient, emulator: Any) -> None:
    status, page = _post_while_down(client, emulator, LOGIN, {"username": "lmelo", "password": DEMO_PASSWORD})
    assert status == 503 and TRY_AGAIN in page
    assert _field_value(page, "username") == "lmelo"
    assert DEMO_PASSWORD not in page and "Traceback" not in page
    assert sign_in(client).headers["Location"] == "/es-ES/"  # back up: the same form works


def test_forgot_password_keeps_the_address_and_promises_nothing(client: FlaskClient, emulator: Any) -> None:
    status, page = _post_while_down(client, emulator, FORGOT, {"email": DEMO_EMAIL})
    assert status == 503 and TRY_AGAIN in page
    assert _field_value(page, "email") == DEMO_EMAIL
    assert "Consulte su correo electrónico" not in page  # no mail could be sent


def test_change_email_keeps_the_new_address(client: FlaskClient, emulator: Any) -> None:
    sign_in(client)
    url = "/es-ES/profile/ChangeEmail"
    typed = {"email": "nueva@inovait.co", "current": DEMO_PASSWORD}
    status, page = _post_while_down(client, emulator, url, typed)
    assert status == 503 and TRY_AGAIN in page
    assert _field_value(page, "email") == "nueva@inovait.co"
    assert DEMO_PASSWORD not in page


def test_change_password_says_try_again(client: FlaskClient, emulator: Any) -> None:
    sign_in(client)
    url = "/es-ES/profile/ChangePassword"
    new = "una-clave-nueva-bastante-larga"
    typed = {"current": DEMO_PASSWORD, "password": new, "confirm": new}
    status, page = _post_while_down(client, emulator, url, typed)
    assert status == 503 and TRY_AGAIN in page
    assert "Su contraseña se ha cambiado correctamente" not in page
    other_browser = client.application.test_client()
    assert sign_in(other_browser, password=DEMO_PASSWORD).headers["Location"] == "/es-ES/"  # unchanged
