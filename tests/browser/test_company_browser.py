"""Company roles in a real browser (issue 15), in Spanish and English: a Contacto colleague sees only
their cases; the company admin switches to the company's cases, invites a new colleague (the mail's
link sets the password, the colleague signs in), changes their level, disables them (the colleague's
open session ends at its next request) and enables them; the audit notes are in Dataverse."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from d365portal.emulator.seed import (
    DEMO_CASE_ID,
    DEMO_CASE_NUMBER,
    DEMO_CONTACT_LEVEL_CASE_NUMBER,
    DEMO_CONTACT_LEVEL_USERNAME,
    DEMO_USERNAME,
)
from tests.browser.conftest import field, sign_in, wait_for_mail
from tests.conftest import ServedApp

pytestmark = pytest.mark.browser
NEW_PASSWORD = "lampara verde rio montaña"

T = {
    "es-ES": {
        "whose": "Mostrar de quién", "company": "Casos de la empresa", "mine": "Mis casos",
        "search": "Buscar", "show": "Mostrar", "all": "Todos",
        "users": "Usuarios de la empresa", "invite": "Invitar a un colega", "new": "Una persona nueva",
        "first": "Nombre", "last": "Apellidos", "email": "Correo electrónico", "level": "Nivel",
        "send": "Enviar invitación", "invited": "Se invitó a Marta Suárez",
        "mail_button": "Elegir contraseña", "password": "Contraseña nueva",
        "confirm": "Confirmar nueva contraseña", "reset": "Restablecer",
        "change_level": "Cambiar nivel: Marta Suárez", "save_level": "Guardar nivel",
        "company_level": "Empresa", "level_done": "Marta Suárez tiene ahora el nivel Empresa.",
        "disable": "Deshabilitar acceso: Marta Suárez", "yes_disable": "Sí, deshabilitar",
        "enable": "Habilitar acceso: Marta Suárez", "yes_enable": "Sí, habilitar",
        "ended": "Su sesión terminó", "not_found": "no existe",
    },
    "en-US": {
        "whose": "Show whose cases", "company": "Company cases", "mine": "My cases",
        "search": "Search", "show": "Show", "all": "All",
        "users": "Company users", "invite": "Invite a colleague", "new": "A new person",
        "first": "First name", "last": "Last name", "email": "Email", "level": "Level",
        "send": "Send invitation", "invited": "Marta Suárez",
        "mail_button": "Choose password", "password": "New password",
        "confirm": "Confirm new password", "reset": "Reset",
        "change_level": "Change level: Marta Suárez", "save_level": "Save level",
        "company_level": "Company", "level_done": "Marta Suárez now has the level Company.",
        "disable": "Disable access: Marta Suárez", "yes_disable": "Yes, disable",
        "enable": "Enable access: Marta Suárez", "yes_enable": "Yes, enable",
        "ended": "Your session ended", "not_found": "not",
    },
}  # fmt: skip


@pytest.fixture()
def second_tab(browser: Any, live_portal: ServedApp) -> Iterator[Any]:
    """Another browser (own cookies): the colleague's."""
    context = browser.new_context(base_url=live_portal.url, locale="es-ES")
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    yield tab
    context.close()


def row_action(label: str) -> re.Pattern[str]:
    """A row's action link: its visible text, then the person's name read only by screen readers."""
    action, _, name = label.partition(": ")
    return re.compile(rf"^{re.escape(action)}\s*:\s*{re.escape(name)}$")


def numbers_on(page: Any) -> list[str]:
    return [cell.inner_text().strip() for cell in page.locator("table.cases tbody tr td:first-child").all()]


@pytest.mark.parametrize("lang", ["es-ES", "en-US"])
def test_a_contacto_colleague_sees_only_their_cases(page: Any, lang: str) -> None:
    t = T[lang]
    sign_in(page, DEMO_CONTACT_LEVEL_USERNAME, lang=lang)
    page.goto(f"/{lang}/support/?which=all")
    assert DEMO_CONTACT_LEVEL_CASE_NUMBER in numbers_on(page) and DEMO_CASE_NUMBER not in numbers_on(page)
    assert page.get_by_label(t["whose"]).count() == 0
    answer = page.goto(f"/{lang}/support/case/{DEMO_CASE_ID}")
    assert answer is not None and answer.status == 404


@pytest.mark.parametrize("lang", ["es-ES", "en-US"])
def test_the_company_admin_works_with_colleagues(
    page: Any, second_tab: Any, app: Flask, emulator: Any, lang: str
) -> None:
    t = T[lang]
    outbox = Path(app.config["SETTINGS"].mail_outbox)
    sign_in(page, DEMO_USERNAME, lang=lang)
    # "Casos de la empresa" / "Mis casos".
    page.goto(f"/{lang}/support/?which=all&size=50")
    page.get_by_label(t["whose"]).select_option(label=t["mine"])
    page.get_by_role("button", name=t["search"], exact=True).click()
    page.wait_for_url(re.compile(r"whose=mine"))
    assert DEMO_CONTACT_LEVEL_CASE_NUMBER not in numbers_on(page)
    page.get_by_label(t["whose"]).select_option(label=t["company"])
    page.get_by_role("button", name=t["search"], exact=True).click()
    page.wait_for_load_state()
    assert DEMO_CONTACT_LEVEL_CASE_NUMBER in numbers_on(page)

    # Invite a new colleague.
    page.goto(f"/{lang}/")
    page.get_by_role("link", name=t["users"]).first.click()
    page.get_by_role("heading", name=t["users"]).wait_for()
    page.get_by_role("link", name=t["invite"]).click()
    page.get_by_label(t["new"]).check()
    field(page, t["first"]).fill("Marta")
    field(page, t["last"]).fill("Suárez")
    field(page, t["email"]).fill("msuarez@inovait.co")
    page.get_by_role("button", name=t["send"]).click()
    page.get_by_text(t["invited"]).first.wait_for()
    message = wait_for_mail(outbox)[-1]
    assert message["To"].endswith("<msuarez@inovait.co>") or "msuarez@inovait.co" in message["To"]
    html_part = message.get_body(("html",))
    assert html_part is not None
    second_tab.set_content(html_part.get_content())  # type: ignore[attr-defined]
    second_tab.get_by_role("link", name=t["mail_button"]).click()
    second_tab.wait_for_url(re.compile(r"/Account/Login/ResetPassword\?userId="))
    field(second_tab, t["password"]).fill(NEW_PASSWORD)
    field(second_tab, t["confirm"]).fill(NEW_PASSWORD)
    second_tab.get_by_role("button", name=t["reset"], exact=True).click()
    second_tab.wait_for_load_state()
    sign_in(second_tab, "msuarez", NEW_PASSWORD, lang=lang)
    assert second_tab.get_by_role("link", name="Marta Suárez", exact=True).is_visible()

    # Change the new colleague's level.
    page.goto(f"/{lang}/company/users")
    page.get_by_role("link", name=row_action(t["change_level"])).click()
    page.get_by_label(t["level"], exact=True).select_option(label=t["company_level"])
    page.get_by_role("button", name=t["save_level"]).click()
    page.get_by_text(t["level_done"]).wait_for()

    # Disable: the colleague's open session ends at its next request; then enable again.
    page.get_by_role("link", name=row_action(t["disable"])).click()
    page.get_by_role("button", name=t["yes_disable"]).click()
    page.get_by_role("heading", name=t["users"]).wait_for()
    second_tab.goto(f"/{lang}/support/")
    assert "/Account/Login/Login" in second_tab.url
    page.get_by_role("link", name=row_action(t["enable"])).click()
    page.get_by_role("button", name=t["yes_enable"]).click()
    page.get_by_role("heading", name=t["users"]).wait_for()
    sign_in(second_tab, "msuarez", NEW_PASSWORD, lang=lang)
    assert second_tab.get_by_role("link", name="Marta Suárez", exact=True).is_visible()

    # The audit trail is on the contact in Dataverse (in the portal's default language).
    people = emulator.store.query("contacts")
    (marta,) = [row for row in people if row.get("adx_identity_username") == "msuarez"]
    notes = [
        str(row.get("notetext"))
        for row in emulator.store.query("annotations")
        if row.get("_objectid_value") == marta["contactid"]
    ]
    for start in ("Acceso al portal concedido por", "Nivel en el portal cambiado a Empresa por",
                  "Acceso al portal deshabilitado por", "Acceso al portal habilitado por"):  # fmt: skip
        assert any(note.startswith(start) for note in notes), (start, notes)
