"""Sign-in with Microsoft and the second factor in a real browser (issue 17).

The portal runs MSAL's real flow against the loopback OpenID provider over TLS (tests/oidc_provider.py):
Chromium goes to the provider's page, the provider posts its answer back (form_post, from another
site, so the portal's relay page carries it on with the session cookie), and the portal validates the
ID token. The second factor is set up from the QR page with a code the test computes, and used at
sign-in with the app, a recovery code and an emailed code.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest
from flask import Flask

from d365portal.crm import crm
from d365portal.emulator import seed as S
from d365portal.settings import Settings
from tests.browser.conftest import field, sign_in, text_body, wait_for_mail
from tests.conftest import ServedApp, loopback_tab, make_settings, provider_setting
from tests.oidc_provider import User

pytestmark = pytest.mark.browser
NO_ACCESS = "Su cuenta de Microsoft no tiene acceso a este portal"
FAILED = "No se pudo iniciar sesión con Microsoft"


@pytest.fixture()
def settings(tmp_path: Path, emulator: Any, portal_port: int, oidc: Any) -> Settings:
    return make_settings(tmp_path, emulator.url, public_base_url=f"http://127.0.0.1:{portal_port}",
                         identity_providers=[provider_setting(oidc)])  # fmt: skip


@pytest.fixture()
def tab(browser: Any, live_portal: ServedApp) -> Iterator[Any]:
    """A tab that may also reach the provider (https on loopback, its self-signed certificate accepted)."""
    with loopback_tab(browser, live_portal.url, ignore_https_errors=True) as page:
        yield page


def link(app: Flask, oidc: Any, contact_id: Any, sub: str) -> None:
    with app.app_context():
        crm().external.link(contact_id, oidc.issuer(), sub)


def with_microsoft(tab: Any, start: str = "/es-ES/Account/Login/Login") -> None:
    """From the sign-in page (or a link), "Iniciar sesión con Microsoft", then "Continuar" at the provider."""
    tab.goto(start)
    if "/Account/Login/Login" in start:
        tab.get_by_role("link", name="Iniciar sesión con Microsoft").click()
    tab.wait_for_url(re.compile(r"^https://127\.0\.0\.1:\d+/.+/authorize"))
    tab.get_by_role("button", name="Continuar").click()
    tab.wait_for_load_state()
    tab.wait_for_url(re.compile(r"^http://127\.0\.0\.1:\d+/(es-ES/|signin-entra)"))
    tab.wait_for_load_state()


def signed_in_as(tab: Any, name: str) -> bool:
    tab.goto("/es-ES/profile/")
    return name in tab.content() and "/Account/Login" not in tab.url


def test_a_linked_contact_signs_in_with_microsoft(app: Flask, tab: Any, oidc: Any, emulator: Any) -> None:
    link(app, oidc, S.DEMO_CONTACT_ID, "lmelo-sub")
    oidc.next_user = User(sub="lmelo-sub", email=S.DEMO_EMAIL)
    posts: list[str] = []
    tab.on("request", lambda r: posts.append(r.post_data or "") if r.url.endswith("/signin-entra") else None)
    with_microsoft(tab)
    tab.wait_for_url(re.compile(r"/es-ES/$"))
    assert signed_in_as(tab, S.DEMO_CONTACT_NAME)
    # The provider's cross-site post came without the session cookie; the portal's page relayed it.
    assert len(posts) == 2 and "d365_relay=1" in posts[1] and "d365_relay" not in posts[0]
    cookies = {c["name"] for c in tab.context.cookies()}
    assert cookies == {"d365_session"}  # no token in the browser


def test_first_sign_in_through_an_invitation_links_the_identity(
    app: Flask, tab: Any, oidc: Any, emulator: Any
) -> None:
    from d365portal.identity.invitations import grant_access, send_invitation

    settings = app.config["SETTINGS"]
    with app.test_request_context(base_url=str(settings.public_base_url)):
        invited = grant_access(crm().contacts.get(S.DEMO_SECOND_CONTACT_ID), "agomez")
        send_invitation(invited, "es-ES")
    mail = text_body(wait_for_mail(Path(settings.mail_outbox), 1)[-1])
    found = re.search(r"Iniciar sesión con Microsoft: (http://\S+)", mail)
    assert found and "/Account/Login/External/entra?userId=" in found.group(1)
    oidc.next_user = User(sub="agomez-sub", email="agomez@inovait.co")
    with_microsoft(tab, found.group(1))
    tab.wait_for_url(re.compile(r"/es-ES/$"))
    assert signed_in_as(tab, "Andrés Gómez")
    rows = [r for r in emulator.store.query("adx_externalidentities") if r["adx_username"] == "agomez-sub"]
    assert [r["_adx_contactid_value"] for r in rows] == [str(S.DEMO_SECOND_CONTACT_ID)]
    assert rows[0]["adx_identityprovidername"] == oidc.issuer()


def test_an_unknown_identity_gets_the_no_access_page(tab: Any, oidc: Any) -> None:
    oidc.next_user = User(sub="stranger", email="alguien@otra.co")
    with_microsoft(tab)
    assert NO_ACCESS in tab.content()
    assert tab.get_by_role("link", name="Iniciar sesión con otra cuenta").is_visible()
    assert not signed_in_as(tab, S.DEMO_CONTACT_NAME)


@pytest.mark.parametrize("spoil", ["audience", "issuer", "expired"])
def test_a_spoiled_id_token_fails_with_a_clear_page(app: Flask, tab: Any, oidc: Any, spoil: str) -> None:
    link(app, oidc, S.DEMO_CONTACT_ID, "lmelo-sub")
    oidc.next_user = User(sub="lmelo-sub")
    oidc.spoil = spoil
    with_microsoft(tab)
    assert FAILED in tab.content() and "No se inició ninguna sesión" in tab.content()
    assert not signed_in_as(tab, S.DEMO_CONTACT_NAME)


def test_a_forged_state_and_a_replayed_code_fail(app: Flask, tab: Any, oidc: Any) -> None:
    link(app, oidc, S.DEMO_CONTACT_ID, "lmelo-sub")
    oidc.next_user = User(sub="lmelo-sub")
    # Forged: the state travelling through the provider is not this browser's.
    tab.goto("/es-ES/Account/Login/Login")
    tab.get_by_role("link", name="Iniciar sesión con Microsoft").click()
    tab.wait_for_url(re.compile(r"^https://.+/authorize"))
    tab.evaluate("document.querySelector('input[name=state]').value = 'forged-by-an-attacker'")
    tab.get_by_role("button", name="Continuar").click()
    tab.wait_for_url(re.compile(r"/signin-entra$"))
    tab.wait_for_load_state()
    assert FAILED in tab.content()
    assert not signed_in_as(tab, S.DEMO_CONTACT_NAME)
    # Replayed: a code the provider already redeemed, brought back with a fresh flow's state.
    codes: list[str] = []
    tab.on("request", lambda r: codes.extend(parse_qs(r.post_data or "").get("code", []))
           if r.url.endswith("/signin-entra") and r.method == "POST" else None)  # fmt: skip
    with_microsoft(tab)
    tab.wait_for_url(re.compile(r"/es-ES/$"))
    assert codes
    tab.get_by_role("button", name=re.compile("Cerrar sesión")).click()
    tab.goto("/es-ES/Account/Login/Login")
    tab.get_by_role("link", name="Iniciar sesión con Microsoft").click()
    tab.wait_for_url(re.compile(r"^https://.+/authorize"))
    state = parse_qs(urlsplit(tab.url).query)["state"][0]
    tab.evaluate(
        """([action, code, state]) => { const f = document.createElement('form'); f.method = 'post';
        f.action = action; for (const [k, v] of [['code', code], ['state', state]]) {
        const i = document.createElement('input'); i.type = 'hidden'; i.name = k; i.value = v;
        f.appendChild(i); } document.body.appendChild(f); f.submit(); }""",
        [f"{str(app.config['SETTINGS'].public_base_url).rstrip('/')}/signin-entra", codes[0], state],
    )
    tab.wait_for_url(re.compile(r"/signin-entra$"))
    tab.wait_for_load_state()
    assert FAILED in tab.content()
    assert not signed_in_as(tab, S.DEMO_CONTACT_NAME)


# --- the second factor -----------------------------------------------------------------------
def code_at(secret: str, step: int = 0) -> str:
    return pyotp.TOTP(secret).at(time.time() + 30 * step)


def set_up_app(tab: Any) -> tuple[str, list[str]]:
    """Perfil > Verificación en dos pasos > Configurar…: the QR page, the key, a code from the "phone"."""
    sign_in(tab)
    tab.goto("/es-ES/profile/")
    tab.get_by_role("link", name="Verificación en dos pasos").click()
    tab.get_by_role("link", name="Configurar aplicación de autenticación").click()
    qr = tab.get_by_role("img", name="Código QR para la aplicación de autenticación")
    assert qr.is_visible() and qr.evaluate("img => img.naturalWidth") > 100  # drawn, not a broken image
    secret = tab.locator("#totp-secret").inner_text().replace(" ", "")
    field(tab, "Código de la aplicación").fill(code_at(secret))
    tab.get_by_role("button", name="Confirmar").click()
    codes = tab.locator("#recovery-codes code").all_inner_texts()
    assert len(codes) == 10 and "No volverán a mostrarse" in tab.content()
    tab.get_by_role("link", name="Ya los guardé").click()
    assert "Configurada el" in tab.content()
    tab.get_by_role("button", name=re.compile("Cerrar sesión")).click()
    return secret, codes


def second_step(tab: Any, code: str) -> None:
    sign_in(tab)
    tab.wait_for_url(re.compile(r"/Account/Login/TwoFactor$"))
    field(tab, "Código de verificación").fill(code)
    tab.get_by_role("button", name="Verificar").click()
    tab.wait_for_load_state()


def test_the_app_is_set_up_from_the_qr_page_and_sign_in_asks_for_its_code(tab: Any, emulator: Any) -> None:
    secret, codes = set_up_app(tab)
    second_step(tab, "000000")
    assert "El código no es válido" in tab.content()
    field(tab, "Código de verificación").fill(code_at(secret, 1))
    tab.get_by_role("button", name="Verificar").click()
    tab.wait_for_url(re.compile(r"/es-ES/$"))
    assert signed_in_as(tab, S.DEMO_CONTACT_NAME)
    tab.get_by_role("button", name=re.compile("Cerrar sesión")).click()
    # A recovery code works once.
    second_step(tab, codes[0])
    tab.wait_for_url(re.compile(r"/es-ES/$"))
    tab.get_by_role("button", name=re.compile("Cerrar sesión")).click()
    second_step(tab, codes[0])
    assert "El código no es válido" in tab.content()
    assert not signed_in_as(tab, S.DEMO_CONTACT_NAME)


def test_the_email_code_arrives_and_works_once_and_wrong_codes_lock_the_account(
    app: Flask, tab: Any, emulator: Any
) -> None:
    emulator.store.update("contacts", str(S.DEMO_CONTACT_ID), {"adx_identity_twofactorenabled": True})
    sign_in(tab)
    tab.wait_for_url(re.compile(r"/Account/Login/TwoFactor$"))
    assert "Le enviamos un código de 6 dígitos" in tab.content()
    outbox = Path(app.config["SETTINGS"].mail_outbox)
    code = re.search(r"^\s+(\d{6})$", text_body(wait_for_mail(outbox, 1)[-1]), re.M)
    assert code
    field(tab, "Código de verificación").fill(code.group(1))
    tab.get_by_role("button", name="Verificar").click()
    tab.wait_for_url(re.compile(r"/es-ES/$"))
    tab.get_by_role("button", name=re.compile("Cerrar sesión")).click()
    # The same code again, then wrong ones: the fifth try of the window locks the account.
    second_step(tab, code.group(1))
    assert "El código no es válido" in tab.content()
    for wrong in ("111111", "222222", "333333"):
        field(tab, "Código de verificación").fill(wrong)
        tab.get_by_role("button", name="Verificar").click()
        tab.wait_for_load_state()
    app.extensions["identity"].accounts.wait()
    tab.wait_for_url(re.compile(r"/Account/Login/Login\?failed=1$"))
    assert emulator.store.get("contacts", str(S.DEMO_CONTACT_ID))["adx_identity_lockoutenddate"]


def test_the_sign_in_pages_of_this_issue_pass_axe_and_fit_375px(
    app: Flask, tab: Any, oidc: Any, emulator: Any
) -> None:
    """The sign-in page with its provider button, the no-access and failure pages, the second step."""
    from tests.browser.test_accessibility import _check_current

    problems: dict[str, list[str]] = {}
    tab.goto("/es-ES/Account/Login/Login")
    _check_current(tab, "sign-in with providers", problems)
    oidc.next_user = User(sub="stranger")
    with_microsoft(tab)
    assert NO_ACCESS in tab.content()
    _check_current(tab, "no access", problems)
    link(app, oidc, S.DEMO_CONTACT_ID, "lmelo-sub")
    oidc.next_user, oidc.spoil = User(sub="lmelo-sub"), "expired"
    with_microsoft(tab)
    assert FAILED in tab.content()
    _check_current(tab, "failed", problems)
    emulator.store.update("contacts", str(S.DEMO_CONTACT_ID), {"adx_identity_twofactorenabled": True})
    for lang in ("es-ES", "en-US"):
        tab.context.clear_cookies()
        sign_in(tab, lang=lang)
        tab.wait_for_url(re.compile(r"/Account/Login/TwoFactor$"))
        _check_current(tab, f"second step {lang}", problems)
    assert not problems, problems


def test_the_relay_and_recovery_codes_pages_pass_axe_and_fit_375px_and_work_without_javascript(
    app: Flask, tab: Any, oidc: Any
) -> None:
    """The relay page is normally gone at once (relay.js posts it): with the script blocked it stays,
    is checked, and its "Continuar" button signs in. The recovery codes are shown once, after set-up."""
    from tests.browser.test_accessibility import _check_current

    problems: dict[str, list[str]] = {}
    link(app, oidc, S.DEMO_CONTACT_ID, "lmelo-sub")
    oidc.next_user = User(sub="lmelo-sub")
    tab.route("**/static/js/relay.js", lambda route: route.abort())
    tab.goto("/es-ES/Account/Login/Login")
    tab.get_by_role("link", name="Iniciar sesión con Microsoft").click()
    tab.get_by_role("button", name="Continuar").click()  # at the provider
    tab.wait_for_url(re.compile(r"/signin-entra$"))
    assert "Volviendo de Microsoft al portal" in tab.content()
    _check_current(tab, "relay", problems)
    tab.set_viewport_size({"width": 1280, "height": 900})
    tab.get_by_role("button", name="Continuar").click()  # the portal's own page, no script
    tab.wait_for_url(re.compile(r"/es-ES/$"))
    tab.get_by_role("button", name=re.compile("Cerrar sesión")).click()
    sign_in(tab)
    tab.goto("/es-ES/profile/security/app")
    secret = tab.locator("#totp-secret").inner_text().replace(" ", "")
    field(tab, "Código de la aplicación").fill(code_at(secret))
    tab.get_by_role("button", name="Confirmar").click()
    tab.wait_for_url(re.compile(r"/profile/security/codes$"))
    _check_current(tab, "recovery codes", problems)
    assert not problems, problems
