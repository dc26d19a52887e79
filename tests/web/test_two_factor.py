"""The second factor of local accounts (issue 17): the authenticator app set up from Perfil > Seguridad,
the sign-in's second step (app, recovery and email codes), the lockout, remembered devices, and the
resets — through the pages, with the contact's sealed secret in the emulator."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pyotp
from flask import Flask
from flask.testing import FlaskClient

from d365portal import create_app
from d365portal.emulator import seed as S
from tests.browser.conftest import text_body, wait_for_mail
from tests.conftest import make_settings
from tests.web.account_helpers import LOGIN, LOGOUT, csrf_token, post_form, sign_in, text

SECURITY = "/es-ES/profile/security/"
SETUP = "/es-ES/profile/security/app"
VERIFY = "/es-ES/Account/Login/TwoFactor"
WRONG = "El código no es válido"


def contact_row(emulator: Any, contact_id: Any = S.DEMO_CONTACT_ID) -> dict[str, Any]:
    return dict(emulator.store.get("contacts", str(contact_id)))


def signed_in(client: FlaskClient) -> bool:
    with client.session_transaction() as session:
        return "principal" in session


def code_at(secret: str, step: int = 0) -> str:
    """The app's code `step` 30-second steps from now (each code is accepted once)."""
    return pyotp.TOTP(secret).at(time.time() + 30 * step)


def set_up_app(client: FlaskClient) -> tuple[str, list[str]]:
    """Sign in, open "Configurar aplicación de autenticación", read the key, confirm with a code."""
    assert sign_in(client).status_code == 302
    page = text(client.get(SETUP))
    qr = r'<img src="data:image/svg\+xml[^"]+" alt="Código QR para la aplicación de autenticación"'
    assert re.search(qr, page)
    found = re.search(r'<code id="totp-secret">([A-Z2-7 ]+)</code>', page)
    assert found
    secret = found.group(1).replace(" ", "")
    response = post_form(client, SETUP, {"code": code_at(secret)})
    assert response.status_code == 303 and response.headers["Location"].endswith("/profile/security/codes")
    codes_page = text(client.get(response.headers["Location"]))
    codes = re.findall(r"<li><code>([a-z0-9]{5}-[a-z0-9]{5})</code></li>", codes_page)
    assert len(codes) == 10 and len(set(codes)) == 10
    client.post(LOGOUT, data={"csrf_token": csrf_token(client, "/es-ES/")})
    return secret, codes


def password_step(client: FlaskClient) -> Any:
    """The password, right: the answer sends to the second step and nobody is signed in yet."""
    response = sign_in(client)
    assert response.status_code == 302 and response.headers["Location"] == VERIFY
    assert not signed_in(client)
    return response


def test_the_app_is_set_up_with_the_portals_qr_code_and_its_secret_is_sealed_on_the_contact(
    client: FlaskClient, emulator: Any
) -> None:
    assert sign_in(client).status_code == 302
    assert "No configurada" in text(client.get(SECURITY))
    client.post(LOGOUT, data={"csrf_token": csrf_token(client, "/es-ES/")})
    secret, codes = set_up_app(client)
    sealed = contact_row(emulator)["d365p_secondfactor"]
    assert sealed and secret not in sealed and codes[0] not in sealed
    # The codes are shown once.
    password_step(client)
    assert post_form(client, VERIFY, {"code": code_at(secret, 1)}).status_code == 302
    assert client.get("/es-ES/profile/security/codes").status_code == 302
    page = text(client.get(SECURITY))
    assert "Configurada el" in page and "Códigos de recuperación sin usar: 10" in page


def test_a_wrong_first_code_does_not_set_the_app_up(client: FlaskClient, emulator: Any) -> None:
    sign_in(client)
    client.get(SETUP)
    response = post_form(client, SETUP, {"code": "000000"})
    assert response.status_code == 400 and WRONG in text(response)
    assert not contact_row(emulator).get("d365p_secondfactor")


def test_sign_in_asks_for_the_apps_code_and_each_code_works_once(client: FlaskClient, emulator: Any) -> None:
    secret, _ = set_up_app(client)
    password_step(client)
    page = text(client.get(VERIFY))
    assert "Verificación en dos pasos" in page and 'autocomplete="one-time-code"' in page
    assert client.get("/es-ES/support/").status_code == 302  # not signed in during the second step
    wrong = post_form(client, VERIFY, {"code": "123456"})
    assert wrong.status_code == 400 and WRONG in text(wrong) and not signed_in(client)
    code = code_at(secret, 1)
    assert post_form(client, VERIFY, {"code": code}).headers["Location"] == "/es-ES/"
    assert signed_in(client) and client.get("/es-ES/support/").status_code == 200
    client.post(LOGOUT, data={"csrf_token": csrf_token(client, "/es-ES/")})
    password_step(client)
    replayed = post_form(client, VERIFY, {"code": code})
    assert replayed.status_code == 400 and not signed_in(client)


def test_a_recovery_code_works_once(client: FlaskClient, emulator: Any) -> None:
    _, codes = set_up_app(client)
    password_step(client)
    assert post_form(client, VERIFY, {"code": codes[3].upper()}).status_code == 302 and signed_in(client)
    assert "Códigos de recuperación sin usar: 9" in text(client.get(SECURITY))
    client.post(LOGOUT, data={"csrf_token": csrf_token(client, "/es-ES/")})
    password_step(client)
    again = post_form(client, VERIFY, {"code": codes[3]})
    assert again.status_code == 400 and not signed_in(client)


def test_wrong_codes_count_towards_the_lockout(client: FlaskClient, emulator: Any) -> None:
    secret, _ = set_up_app(client)
    password_step(client)  # the right password counts as a try until the code is right
    for _ in range(3):
        assert post_form(client, VERIFY, {"code": "000000"}).status_code == 400
    client.application.extensions["identity"].accounts.wait()
    last = post_form(client, VERIFY, {"code": "111111"})
    client.application.extensions["identity"].accounts.wait()
    assert last.status_code == 302 and last.headers["Location"].endswith("failed=1")
    assert contact_row(emulator)["adx_identity_lockoutenddate"]
    # Locked out: the right password and a right code no longer sign in.
    response = sign_in(client)
    assert response.status_code == 200 and not signed_in(client)
    assert post_form(client, VERIFY, {"code": code_at(secret, 1)}, form_url=LOGIN).status_code == 302
    assert not signed_in(client)  # no pending sign-in any more: back to the sign-in page


def test_the_email_code_arrives_in_the_outbox_and_works_once(
    app: Flask, client: FlaskClient, emulator: Any
) -> None:
    emulator.store.rows("contacts")[str(S.DEMO_CONTACT_ID)]["adx_identity_twofactorenabled"] = True
    password_step(client)
    outbox = Path(app.config["SETTINGS"].mail_outbox)
    message = wait_for_mail(outbox, 1)[-1]
    assert message["Subject"] == "Su código de inicio de sesión" and S.DEMO_EMAIL in message["To"]
    code = re.search(r"^\s+(\d{6})$", text_body(message), re.M)
    assert code
    assert "Le enviamos un código" in text(client.get(VERIFY))
    assert post_form(client, VERIFY, {"code": code.group(1)}).status_code == 302 and signed_in(client)
    client.post(LOGOUT, data={"csrf_token": csrf_token(client, "/es-ES/")})
    password_step(client)
    assert post_form(client, VERIFY, {"code": code.group(1)}).status_code == 400  # used, and a new sign-in
    assert not signed_in(client)


def test_a_new_email_code_on_request_and_a_limit_on_how_many(
    app: Flask, client: FlaskClient, emulator: Any
) -> None:
    emulator.store.rows("contacts")[str(S.DEMO_CONTACT_ID)]["adx_identity_twofactorenabled"] = True
    password_step(client)  # one mail
    outbox = Path(app.config["SETTINGS"].mail_outbox)
    sent = text(post_form(client, VERIFY, {"intent": "email"}))
    assert "Le enviamos un código nuevo" in sent
    assert len(wait_for_mail(outbox, 2)) == 2
    post_form(client, VERIFY, {"intent": "email"})  # the third (limit: 3 per 10 minutes)
    refused = text(post_form(client, VERIFY, {"intent": "email"}))
    assert "No fue posible enviar un código" in refused
    time.sleep(0.2)
    assert len(list(outbox.glob("*.eml"))) == 3


def test_every_user_is_asked_when_the_portal_requires_it(tmp_path: Path, emulator: Any) -> None:
    app = create_app(make_settings(tmp_path, emulator.url, two_factor_required=True))
    client = app.test_client()
    password_step(client)
    assert wait_for_mail(Path(app.config["SETTINGS"].mail_outbox), 1)


def test_a_remembered_device_skips_the_step_until_the_devices_are_forgotten(
    client: FlaskClient, emulator: Any
) -> None:
    secret, _ = set_up_app(client)
    password_step(client)
    response = post_form(client, VERIFY, {"code": code_at(secret, 1), "remember": "y"})
    cookie = client.get_cookie("d365_device")
    assert response.status_code == 302 and cookie is not None and cookie.http_only
    client.post(LOGOUT, data={"csrf_token": csrf_token(client, "/es-ES/")})
    assert sign_in(client).headers["Location"] == "/es-ES/" and signed_in(client)  # no second step
    forgot = post_form(client, SECURITY, {"action": "forget_devices"})
    assert forgot.status_code == 303
    client.post(LOGOUT, data={"csrf_token": csrf_token(client, "/es-ES/")})
    password_step(client)  # the same cookie is refused now


def test_a_password_reset_keeps_the_second_factor(app: Flask, client: FlaskClient, emulator: Any) -> None:
    from d365portal.crm import crm
    from d365portal.identity import identity

    set_up_app(client)
    with app.app_context():
        contact = crm(app).contacts.get(S.DEMO_CONTACT_ID)
        identity(app).accounts.set_password(contact, "Una-Clave-Nueva-Larga-2026", after_reset=True)
    assert contact_row(emulator)["d365p_secondfactor"]
    response = sign_in(client, password="Una-Clave-Nueva-Larga-2026")
    assert response.headers["Location"] == VERIFY and not signed_in(client)


def test_removing_the_app_needs_the_password(client: FlaskClient, emulator: Any) -> None:
    secret, _ = set_up_app(client)
    password_step(client)
    post_form(client, VERIFY, {"code": code_at(secret, 1)})
    wrong = post_form(client, SECURITY, {"action": "remove_app", "current": "no-es-la-clave"})
    assert wrong.status_code == 400 and "Configurada el" in text(wrong)
    removed = post_form(client, SECURITY, {"action": "remove_app", "current": S.DEMO_PASSWORD})
    assert removed.status_code == 303 and "No configurada" in text(client.get(SECURITY))
    client.post(LOGOUT, data={"csrf_token": csrf_token(client, "/es-ES/")})
    assert sign_in(client).headers["Location"] == "/es-ES/"


def test_a_company_admin_resets_a_colleagues_second_factor(
    app: Flask, client: FlaskClient, emulator: Any
) -> None:
    colleague = app.test_client()
    assert sign_in(colleague, S.DEMO_COMPANY_LEVEL_USERNAME).status_code == 302
    page = text(colleague.get(SETUP))
    secret = re.search(r'<code id="totp-secret">([A-Z2-7 ]+)</code>', page).group(1).replace(" ", "")  # type: ignore[union-attr]
    assert post_form(colleague, SETUP, {"code": code_at(secret)}).status_code == 303
    sign_in(client)  # Lorena, the company's admin
    url = f"/es-ES/company/users/{S.DEMO_COMPANY_LEVEL_ID}/reset2fa"
    assert "Restablecer verificación en dos pasos" in text(client.get("/es-ES/company/users"))
    done = post_form(client, url, {})
    assert done.status_code == 303
    notes = [n for n in emulator.store.query("annotations")
             if n.get("_objectid_value") == str(S.DEMO_COMPANY_LEVEL_ID)]  # fmt: skip
    assert any("Verificación en dos pasos restablecida por" in (n.get("notetext") or "") for n in notes)
    fresh = app.test_client()
    assert sign_in(fresh, S.DEMO_COMPANY_LEVEL_USERNAME).headers["Location"] == "/es-ES/"


def test_the_second_step_in_english(client: FlaskClient, emulator: Any) -> None:
    emulator.store.rows("contacts")[str(S.DEMO_CONTACT_ID)]["adx_identity_twofactorenabled"] = True
    login = "/en-US/Account/Login/Login"
    response = post_form(client, login, {"username": S.DEMO_USERNAME, "password": S.DEMO_PASSWORD})
    assert response.headers["Location"] == "/en-US/Account/Login/TwoFactor"
    page = text(client.get(response.headers["Location"]))
    assert "Two-step verification" in page and "Verification code" in page and "Email me a code" in page


def test_a_secret_sealed_with_another_key_fails_closed_but_an_email_code_still_works(
    app: Flask, client: FlaskClient, emulator: Any
) -> None:
    from cryptography.fernet import Fernet

    from d365portal.identity.twofactor import Sealer, SecondFactor, enrol, new_recovery_codes, new_secret

    foreign = Sealer(Fernet.generate_key()).seal(enrol(SecondFactor(), new_secret(), new_recovery_codes()))
    emulator.store.rows("contacts")[str(S.DEMO_CONTACT_ID)]["d365p_secondfactor"] = foreign
    password_step(client)  # still asked: an unreadable factor is never "no factor"
    assert "restablezca su verificación" in text(client.get(VERIFY))
    message = wait_for_mail(Path(app.config["SETTINGS"].mail_outbox), 1)[-1]
    code = re.search(r"^\s+(\d{6})$", text_body(message), re.M)
    assert code and post_form(client, VERIFY, {"code": code.group(1)}).status_code == 302
    assert signed_in(client)


def test_codes_are_rate_limited_per_address(tmp_path: Path, emulator: Any) -> None:
    app = create_app(make_settings(tmp_path, emulator.url, two_factor_rate_per_ip=2))
    client = app.test_client()
    emulator.store.rows("contacts")[str(S.DEMO_CONTACT_ID)]["adx_identity_twofactorenabled"] = True
    password_step(client)
    assert post_form(client, VERIFY, {"code": "000000"}).status_code == 400
    assert post_form(client, VERIFY, {"code": "000001"}).status_code == 400
    limited = post_form(client, VERIFY, {"code": "000002"})
    assert limited.status_code == 429 and "Demasiados intentos" in text(limited) and not signed_in(client)
