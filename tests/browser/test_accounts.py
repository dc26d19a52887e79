"""The manual's account procedures in a real browser (Chromium): "Ingresar al Portal",
"Cambio de contraseña" and "Recuperación de contraseña", in Spanish exactly as written and in English."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from d365portal.emulator.seed import DEMO_CONTACT_NAME, DEMO_EMAIL, DEMO_PASSWORD, DEMO_USERNAME
from tests.browser.conftest import field, sign_in, text_body, wait_for_mail

pytestmark = pytest.mark.browser
NEW_PASSWORD = "caballo correcto bateria grapa"


@pytest.fixture()
def console_errors(page: Any) -> Iterator[list[str]]:
    """Console errors (a CSP violation shows up here); the test asserts there are none."""
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    yield errors


def test_ingresar_al_portal(page: Any, console_errors: list[str]) -> None:
    page.goto("/")
    # Paso 4: "Iniciar Sesión"; an anonymous visitor is already on the sign-in page.
    assert page.get_by_role("heading", name="Iniciar Sesión").is_visible()
    # Paso 5 and 6: Usuario, Contraseña, Iniciar Sesión.
    field(page, "Usuario").fill(DEMO_USERNAME)
    field(page, "Contraseña").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Iniciar Sesión").click()
    # Paso 7: the options, with the menu and the user's name.
    page.get_by_text("Seleccione la opción dentro de la cual va a realizar los procedimientos.").wait_for()
    menu = page.get_by_role("navigation", name="Menú principal")
    for item in ("Mi soporte", "Vigencia de Soporte", DEMO_CONTACT_NAME):
        assert menu.get_by_role("link", name=item).is_visible()
    # Sign out, and the home page asks to sign in again.
    menu.get_by_role("button", name="Cerrar sesión").click()
    page.get_by_role("heading", name="Iniciar Sesión").wait_for()
    page.goto("/es-ES/")
    assert "/Account/Login/Login" in page.url
    assert console_errors == []


def test_ingresar_al_portal_wrong_password_in_english(page: Any) -> None:
    sign_in(page, DEMO_USERNAME, "not my password", lang="en-US")
    assert page.get_by_role("alert").filter(has_text="Incorrect username or password").is_visible()
    sign_in(page, lang="en-US")
    page.get_by_text("Choose what you want to do.").wait_for()
    assert page.get_by_role("link", name="My support", exact=True).is_visible()


@pytest.mark.parametrize(
    "lang,labels",
    [
        ("es-ES", ("Perfil", "Seguridad", "Cambiar contraseña", "Contraseña actual", "Contraseña nueva",
                   "Confirmar nueva contraseña", "Su contraseña se ha cambiado correctamente")),
        ("en-US", ("Profile", "Security", "Change password", "Current password", "New password",
                   "Confirm new password", "Your password has been changed successfully")),
    ],
)
def test_cambio_de_contrasena(
    page: Any, lang: str, labels: tuple[str, ...], console_errors: list[str]
) -> None:
    profile, security, change, current, new, confirm, done = labels
    sign_in(page, lang=lang)
    # Paso 1: "Perfil" (the user's name in the menu), under "Seguridad" the option "Cambiar contraseña".
    page.get_by_role("navigation", name=re.compile("Menú principal|Main menu")).get_by_role(
        "link", name=DEMO_CONTACT_NAME
    ).click()
    page.get_by_role("heading", name=profile, exact=True).wait_for()
    sections = page.locator(".profile-nav")
    assert sections.get_by_text(security, exact=True).is_visible()
    sections.get_by_role("link", name=change).click()
    # Paso 2: the current password and the new one.
    field(page, current).fill(DEMO_PASSWORD)
    field(page, new).fill(NEW_PASSWORD)
    field(page, confirm).fill(NEW_PASSWORD)
    # Paso 3: "Cambiar contraseña" → "Su contraseña se ha cambiado correctamente".
    page.get_by_role("main").get_by_role("button", name=change).click()
    page.get_by_text(done).wait_for()
    # Still signed in; the new password is the one that works from now on.
    page.context.clear_cookies()
    sign_in(page, DEMO_USERNAME, NEW_PASSWORD, lang=lang)
    assert page.get_by_role("link", name=DEMO_CONTACT_NAME, exact=True).is_visible()
    assert console_errors == []


SPANISH_RESET = {
    "forgot_link": "¿Has olvidado la contraseña?",
    "title": "¿Ha olvidado la contraseña?",
    "email": "Correo electrónico",
    "hint": "Escriba su dirección de correo electrónico para solicitar un restablecimiento de contraseña.",
    "send": "Enviar",
    "sent": "Consulte su correo electrónico para restablecer la contraseña.",
    "mail_button": "Restablecer contraseña",
    "new": "Contraseña nueva",
    "confirm": "Confirmar nueva contraseña",
    "reset": "Restablecer",
    "done": "Su contraseña se ha restablecido.",
    "sign_in": "Iniciar sesión",
}
ENGLISH_RESET = {
    "forgot_link": "Forgot your password?",
    "title": "Forgot your password?",
    "email": "Email",
    "hint": "Enter your email address to request a password reset.",
    "send": "Send",
    "sent": "Check your email to reset your password.",
    "mail_button": "Reset password",
    "new": "New password",
    "confirm": "Confirm new password",
    "reset": "Reset",
    "done": "Your password has been reset.",
    "sign_in": "Sign in",
}


@pytest.mark.parametrize("lang,t", [("es-ES", SPANISH_RESET), ("en-US", ENGLISH_RESET)])
def test_recuperacion_de_contrasena(
    page: Any, app: Flask, lang: str, t: dict[str, str], console_errors: list[str]
) -> None:
    outbox = Path(app.config["SETTINGS"].mail_outbox)
    # Paso 1: "¿Has olvidado la contraseña?" on the sign-in page.
    page.goto(f"/{lang}/Account/Login/Login")
    page.get_by_role("link", name=t["forgot_link"]).click()
    page.get_by_role("heading", name=t["title"]).wait_for()
    # Paso 2: the address where it says "Correo electrónico", then "Enviar".
    email = field(page, t["email"])
    email.fill(DEMO_EMAIL)
    assert page.get_by_text(t["hint"]).is_visible()
    page.get_by_role("button", name=t["send"]).click()
    # Paso 3: "Consulte su correo electrónico para restablecer la contraseña."
    page.get_by_text(t["sent"]).wait_for()
    # Paso 4: the email; click "Restablecer contraseña".
    message = wait_for_mail(outbox)[0]
    if lang == "es-ES":
        body = text_body(message)
        assert "CAMBIO DE CONTRASEÑA" in body and f"Estimado(a) {DEMO_CONTACT_NAME}" in body
    html_part = message.get_body(("html",))
    assert html_part is not None
    page.goto("about:blank")  # the email is not a portal page: open it outside the portal's CSP
    page.set_content(html_part.get_content())  # type: ignore[attr-defined]
    page.get_by_role("link", name=t["mail_button"]).click()
    page.wait_for_url(re.compile(r"/Account/Login/ResetPassword\?userId="))
    # Paso 5: the new password twice, then "Restablecer".
    field(page, t["new"]).fill(NEW_PASSWORD)
    field(page, t["confirm"]).fill(NEW_PASSWORD)
    page.get_by_role("button", name=t["reset"], exact=True).click()
    # "Su contraseña se ha restablecido." with "Iniciar sesión"; not signed in automatically.
    page.get_by_text(t["done"]).wait_for()
    page.get_by_role("main").get_by_role("link", name=t["sign_in"]).click()
    sign_in(page, DEMO_USERNAME, NEW_PASSWORD, lang=lang)
    assert page.get_by_role("link", name=DEMO_CONTACT_NAME, exact=True).is_visible()
    assert console_errors == []


def test_after_a_refused_submit_focus_is_on_the_field_to_fix_with_its_message(page: Any) -> None:
    """A keyboard or screen-reader user lands on what to fix, and hears why (aria-describedby)."""
    sign_in(page, DEMO_USERNAME, "not my password")
    focused = page.evaluate("document.activeElement.id")
    assert focused == "username"
    described = page.locator("#username").get_attribute("aria-describedby") or ""
    assert "login-error" in described.split()
    assert "Usuario o contraseña incorrectos" in page.locator("#login-error").inner_text()
    sign_in(page)
    page.goto("/es-ES/profile/ChangePassword")
    field(page, "Contraseña actual").fill("not my password")
    field(page, "Contraseña nueva").fill(NEW_PASSWORD)
    field(page, "Confirmar nueva contraseña").fill(NEW_PASSWORD + "x")
    page.get_by_role("main").get_by_role("button", name="Cambiar contraseña").click()
    page.locator("[aria-invalid=true]").first.wait_for()
    focused = page.evaluate("document.activeElement.id")
    assert focused == page.locator("[aria-invalid=true]").first.get_attribute("id")
    described = page.locator(f"#{focused}").get_attribute("aria-describedby") or ""
    assert f"{focused}-error" in described.split()
