"""Perfil → Seguridad: Cambiar contraseña and Cambiar correo electrónico."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from d365portal.emulator.seed import DEMO_CONTACT_ID, DEMO_EMAIL, DEMO_PASSWORD, DEMO_USERNAME
from tests.browser.conftest import text_body, wait_for_mail
from tests.web.account_helpers import (
    contact_row,
    post_form,
    session_cookie,
    sign_in,
    text,
    with_cookie,
)

PROFILE = "/es-ES/profile/"
CHANGE_PASSWORD = "/es-ES/profile/ChangePassword"
CHANGE_EMAIL = "/es-ES/profile/ChangeEmail"
NEW_PASSWORD = "caballo correcto bateria grapa"


@pytest.fixture()
def signed_in(client: FlaskClient) -> FlaskClient:
    sign_in(client)
    return client


def change_password(client: FlaskClient, current: str, new: str, confirm: str | None = None) -> Any:
    data = {"current": current, "password": new, "confirm": new if confirm is None else confirm}
    return post_form(client, CHANGE_PASSWORD, data)


def test_profile_pages_need_a_signed_in_user(client: FlaskClient) -> None:
    for url in (PROFILE, CHANGE_PASSWORD, CHANGE_EMAIL):
        location = client.get(url).headers["Location"]
        assert location.startswith("/es-ES/Account/Login/Login?next=/es-ES/profile/")


def test_profile_shows_the_security_section(signed_in: FlaskClient) -> None:
    page = text(signed_in.get(PROFILE))
    for label in ("Perfil", "Seguridad", "Cambiar contraseña", "Cambiar correo electrónico", DEMO_EMAIL):
        assert label in page
    english = text(signed_in.get("/en-US/profile/"))
    for label in ("Profile", "Security", "Change password", "Change email"):
        assert label in english


def test_change_password_then_sign_in_with_the_new_one(signed_in: FlaskClient, app: Flask) -> None:
    response = change_password(signed_in, DEMO_PASSWORD, NEW_PASSWORD)
    assert response.headers["Location"] == CHANGE_PASSWORD
    assert "Su contraseña se ha cambiado correctamente" in text(signed_in.get(CHANGE_PASSWORD))
    fresh = app.test_client()
    assert "incorrectos" in text(sign_in(fresh, DEMO_USERNAME, DEMO_PASSWORD))
    assert sign_in(fresh, DEMO_USERNAME, NEW_PASSWORD).headers["Location"] == "/es-ES/"


def test_change_password_ends_other_sessions_and_the_old_cookie(signed_in: FlaskClient, app: Flask) -> None:
    other_browser = app.test_client()
    sign_in(other_browser)
    old_cookie = session_cookie(signed_in)
    assert old_cookie
    change_password(signed_in, DEMO_PASSWORD, NEW_PASSWORD)
    assert signed_in.get(PROFILE).status_code == 200  # this browser goes on, under a new id
    assert session_cookie(signed_in) != old_cookie
    assert other_browser.get(PROFILE).status_code == 302
    copied = with_cookie(app.test_client(), old_cookie)
    assert copied.get(PROFILE).status_code == 302


def test_change_password_says_why_it_refuses(signed_in: FlaskClient, emulator: Any) -> None:
    before = contact_row(emulator, DEMO_CONTACT_ID)["adx_identity_passwordhash"]
    wrong_current = change_password(signed_in, "wrong one!", NEW_PASSWORD)
    assert "La contraseña actual no es correcta." in text(wrong_current)
    assert "al menos 12 caracteres" in text(change_password(signed_in, DEMO_PASSWORD, "corta"))
    assert "demasiado común" in text(change_password(signed_in, DEMO_PASSWORD, "qwerty123456"))
    assert "no coinciden" in text(change_password(signed_in, DEMO_PASSWORD, NEW_PASSWORD, "otra"))
    refused = change_password(signed_in, DEMO_PASSWORD, "lmelo@inovait.co")
    assert "su nombre, su usuario ni su correo" in text(refused)
    assert DEMO_PASSWORD not in text(refused)  # passwords are never echoed back
    assert contact_row(emulator, DEMO_CONTACT_ID)["adx_identity_passwordhash"] == before


def test_guessing_the_current_password_counts_towards_the_lockout(
    signed_in: FlaskClient, app: Flask, emulator: Any
) -> None:
    """A session left open (or stolen) is no way round the lockout: wrong current passwords on
    Cambiar contraseña / Cambiar correo electrónico count like failed sign-ins."""
    for attempt in range(5):
        page = change_password(signed_in, f"guess number {attempt}", NEW_PASSWORD)
        assert "La contraseña actual no es correcta." in text(page)
        app.extensions["identity"].accounts.wait()
    assert contact_row(emulator, DEMO_CONTACT_ID)["adx_identity_lockoutenddate"] is not None
    before = contact_row(emulator, DEMO_CONTACT_ID)["adx_identity_passwordhash"]
    locked = change_password(signed_in, DEMO_PASSWORD, NEW_PASSWORD)  # even the right one, now
    assert "La contraseña actual no es correcta." in text(locked)
    email = post_form(signed_in, CHANGE_EMAIL, {"email": "otra@inovait.co", "current": DEMO_PASSWORD})
    assert "La contraseña actual no es correcta." in text(email)
    row = contact_row(emulator, DEMO_CONTACT_ID)
    assert row["adx_identity_passwordhash"] == before and row["emailaddress1"] == DEMO_EMAIL


def test_change_email_updates_the_contact_and_tells_the_old_address(
    signed_in: FlaskClient, app: Flask, emulator: Any
) -> None:
    form = {"email": "lorena.melo@inovait.co", "current": DEMO_PASSWORD}
    response = post_form(signed_in, CHANGE_EMAIL, form)
    assert response.headers["Location"] == PROFILE
    page = text(signed_in.get(PROFILE))
    assert "Su correo electrónico se ha cambiado correctamente." in page
    assert "lorena.melo@inovait.co" in page
    assert contact_row(emulator, DEMO_CONTACT_ID)["emailaddress1"] == "lorena.melo@inovait.co"
    notice = wait_for_mail(Path(app.config["SETTINGS"].mail_outbox))[0]
    assert notice["To"].addresses[0].addr_spec == DEMO_EMAIL
    assert "lorena.melo@inovait.co" in text_body(notice)


def test_change_email_kills_reset_links_mailed_to_the_old_address(
    app: Flask, client: FlaskClient, emulator: Any
) -> None:
    from tests.web.test_auth_reset import request_link, reset

    link = request_link(app, client)  # mailed to the old address before the change
    stamp_before = contact_row(emulator, DEMO_CONTACT_ID)["adx_identity_securitystamp"]
    sign_in(client)
    post_form(client, CHANGE_EMAIL, {"email": "lorena.melo@inovait.co", "current": DEMO_PASSWORD})
    row = contact_row(emulator, DEMO_CONTACT_ID)
    assert row["adx_identity_securitystamp"] != stamp_before
    assert row["adx_identity_emailaddress1confirmed"] is False
    stranger = app.test_client()
    refused = reset(stranger, link)
    assert refused.status_code == 400 and "no es válido" in text(refused)
    assert sign_in(stranger, password=DEMO_PASSWORD).headers["Location"] == "/es-ES/"  # unchanged


def test_change_email_needs_the_current_password_and_keeps_the_typed_address(
    signed_in: FlaskClient, emulator: Any
) -> None:
    refused = text(post_form(signed_in, CHANGE_EMAIL, {"email": "nueva@inovait.co", "current": "wrong one!"}))
    assert "La contraseña actual no es correcta." in refused
    assert 'value="nueva@inovait.co"' in refused
    assert "Escriba una dirección de correo electrónico válida." in text(
        post_form(signed_in, CHANGE_EMAIL, {"email": "no es correo", "current": DEMO_PASSWORD})
    )
    assert contact_row(emulator, DEMO_CONTACT_ID)["emailaddress1"] == DEMO_EMAIL
