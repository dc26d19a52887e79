"""The manual's support procedures in Spanish, in Debian's Chromium, against the demo data.

"Mi Soporte" (the list, searching it), "Creación de Incidentes" (a new case whose "Asociado" is picked in
the "Buscar registros" dialog with the keyboard) and "Validar Vigencia del soporte" (the hour banks and a
detail), in one walk to keep the suite fast; then the same lookup without JavaScript.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from d365portal.emulator.seed import (
    DEMO_ACCOUNT_ID,
    DEMO_ASSOCIATE_ID,
    DEMO_ASSOCIATE_NAME,
    DEMO_CASE_NUMBER,
    DEMO_CONTACT_ID,
    DEMO_PASSWORD,
    DEMO_USERNAME,
)
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser


def _case_rows(page: Any) -> Any:
    return page.locator("table.cases tbody tr")


def _console_errors(page: Any) -> list[str]:
    """Errors the pages log (a CSP violation by an inline script or style would show here)."""
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    return errors


def test_manual_procedures_walk_through(page: Any, emulator: Any) -> None:
    from playwright.sync_api import expect

    errors = _console_errors(page)
    sign_in(page)
    # Mi Soporte: the menu's "Mi soporte", then the manual's case in the list.
    page.get_by_role("link", name="Mi soporte", exact=True).click()
    expect(page.get_by_role("heading", name="Soporte técnico", level=1)).to_be_visible()
    expect(page.get_by_role("heading", name="Mis casos abiertos")).to_be_visible()
    expect(page.get_by_role("navigation", name="Ruta de navegación")).to_contain_text("Página principal")
    page.get_by_label("Casos por página").select_option("50")
    page.get_by_role("button", name="Buscar", exact=True).click()
    row = _case_rows(page).filter(has_text=DEMO_CASE_NUMBER)
    expect(row).to_have_count(1)
    for value in ("Moderado", "En Revisión", "26/12/2019 11:24", "INOVAIT SAS"):
        expect(row).to_contain_text(value)
    assert _case_rows(page).count() > 1
    page.get_by_label("Búsqueda").fill("B2K8P0")
    page.get_by_role("button", name="Buscar", exact=True).click()
    expect(_case_rows(page)).to_have_count(1)

    # Creación de Incidentes: "Abrir un caso nuevo", the form, the "Asociado" lookup dialog.
    page.get_by_role("link", name="Abrir un caso nuevo").click()
    expect(page.get_by_role("heading", name="Información general")).to_be_visible()
    expect(page.get_by_label("Cliente")).to_have_value("INOVAIT SAS")
    expect(page.get_by_label("Contacto")).to_have_value("Lorena Melo Hernandez")
    page.get_by_label("Título").fill("Asunto del caso desde el navegador")
    page.get_by_label("Descripción").fill("Descripción detallada del caso")
    trigger = page.get_by_role("button", name="Buscar asociado")
    trigger.click()
    dialog = page.get_by_role("dialog", name="Buscar registros")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Búsqueda")).to_be_focused()
    expect(dialog.get_by_role("radio", name=DEMO_ASSOCIATE_NAME)).to_be_visible()
    # Esc closes it and gives the focus back to the button.
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(trigger).to_be_focused()
    # Open it with the keyboard, search, pick the row with the keyboard, "Seleccionar".
    page.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    page.keyboard.type("asociado")
    page.keyboard.press("Enter")
    expect(dialog.locator("tbody tr")).to_have_count(1)
    row = dialog.locator("tbody tr")
    for value in (DEMO_ASSOCIATE_NAME, "+57161", "86001", "Sonia"):
        expect(row).to_contain_text(value)
    for header in ("Nombre de cuenta", "Correo electrónico", "Número de centralita", "Número de cuenta",
                   "Contacto principal", "Dirección 1: ciudad"):  # fmt: skip
        expect(dialog.get_by_role("columnheader", name=header)).to_be_visible()
    radio = dialog.get_by_role("radio", name=DEMO_ASSOCIATE_NAME)
    radio.focus()
    page.keyboard.press("Space")
    expect(radio).to_be_checked()
    dialog.get_by_role("button", name="Seleccionar").click()
    expect(dialog).to_be_hidden()
    expect(trigger).to_be_focused()
    expect(page.get_by_role("textbox", name="Asociado")).to_have_value(DEMO_ASSOCIATE_NAME)
    expect(page.get_by_label("Título")).to_have_value("Asunto del caso desde el navegador")
    page.get_by_role("button", name="Enviar").click()

    flash = page.locator(".flash-success")
    expect(flash).to_contain_text("Se creó el caso CAS-")
    number = re.search(r"CAS-\d{5}-[A-Z0-9]{6}", flash.inner_text())
    assert number
    [stored] = [r for r in emulator.store.query("incidents") if r["ticketnumber"] == number.group(0)]
    assert stored["title"] == "Asunto del caso desde el navegador"
    assert stored["_customerid_value"] == str(DEMO_ACCOUNT_ID)
    assert stored["_primarycontactid_value"] == str(DEMO_CONTACT_ID)
    assert stored["_ino_asociado_value"] == str(DEMO_ASSOCIATE_ID)
    assert stored["caseorigincode"] == 3
    expect(page.get_by_text(DEMO_ASSOCIATE_NAME, exact=True)).to_be_visible()

    # The new case is in the list.
    page.get_by_role("link", name="Mi soporte", exact=True).click()
    page.get_by_label("Búsqueda").fill(number.group(0))
    page.get_by_role("button", name="Buscar", exact=True).click()
    expect(_case_rows(page)).to_have_count(1)
    expect(_case_rows(page)).to_contain_text("Asunto del caso desde el navegador")

    # Validar Vigencia del soporte: the hour banks, the highlighted link, the detail.
    page.get_by_role("link", name="Vigencia de Soporte", exact=True).click()
    expect(page.get_by_role("heading", name="Vigencia Soporte", level=1)).to_be_visible()
    bank = page.locator("table.hour-banks tbody tr").filter(has_text="01/02/2020")
    for value in ("En espera", "Número de horas", "25,00", "01/02/2021", "INOVAIT SAS"):
        expect(bank).to_contain_text(value)
    bank.get_by_role("link").click()
    expect(page.get_by_role("heading", name="Bolsa de horas 2020", level=1)).to_be_visible()
    expect(page.locator("meter#usage-meter")).to_be_visible()
    expect(page.locator("dl.details")).to_contain_text("25,00")
    assert errors == []


def test_lookup_without_javascript_keeps_the_draft(browser: Any, live_portal: Any, emulator: Any) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(base_url=live_portal.url, locale="es-ES", java_script_enabled=False)
    outside: list[str] = []
    context.route(
        "**/*",
        lambda route: (
            route.continue_()
            if route.request.url.startswith("http://127.0.0.1")
            else (outside.append(route.request.url), route.abort())
        ),
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        sign_in(page)
        page.goto("/es-ES/support/create-case/")
        page.get_by_label("Título").fill("Sin JavaScript")
        page.get_by_label("Descripción").fill("Texto conservado")
        page.get_by_role("button", name="Buscar asociado").click()
        expect(page.get_by_role("heading", name="Buscar registros", level=1)).to_be_visible()
        page.get_by_label("Búsqueda").fill("Nombre")
        page.get_by_label("Búsqueda").press("Enter")  # Enter searches
        page.get_by_role("radio", name=DEMO_ASSOCIATE_NAME).check()
        page.get_by_role("button", name="Seleccionar").click()
        expect(page.get_by_role("textbox", name="Asociado")).to_have_value(DEMO_ASSOCIATE_NAME)
        expect(page.get_by_label("Título")).to_have_value("Sin JavaScript")
        expect(page.get_by_label("Descripción")).to_have_value("Texto conservado")
        page.get_by_label("Título").press("Enter")  # Enter in "Título" sends (not the lookup)
        expect(page.locator(".flash-success")).to_contain_text("Se creó el caso")
        [stored] = [r for r in emulator.store.query("incidents") if r["title"] == "Sin JavaScript"]
        assert stored["_ino_asociado_value"] == str(DEMO_ASSOCIATE_ID)
    finally:
        context.close()
    assert not outside


def test_a_session_that_ends_while_typing_a_case_loses_nothing(page: Any, emulator: Any) -> None:
    """Idle timeout while writing: the lookup says so, "Enviar" asks to sign in, and the form comes back
    with everything typed (the real browser's Fetch metadata marks the post as the portal's own)."""
    from playwright.sync_api import expect

    errors = _console_errors(page)
    sign_in(page)
    page.goto("/es-ES/support/create-case/")
    page.get_by_label("Título").fill("Escrito antes de la pausa")
    page.get_by_label("Descripción").fill("Un texto largo\nen dos líneas")
    page.context.clear_cookies()  # the server forgot the session meanwhile
    page.get_by_role("button", name="Buscar asociado").click()
    dialog = page.get_by_role("dialog", name="Buscar registros")
    expect(dialog.get_by_role("status")).to_contain_text("Su sesión terminó.")
    dialog.get_by_role("button", name="Cerrar").click()
    page.get_by_role("button", name="Enviar", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("lo que escribió se conserva")
    page.get_by_label("Usuario").fill(DEMO_USERNAME)  # on this page: it returns to the form
    page.get_by_label("Contraseña").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Iniciar Sesión", exact=True).click()
    expect(page.get_by_role("alert").filter(has_text="Recuperamos lo que escribió")).to_be_visible()
    expect(page.get_by_label("Título")).to_have_value("Escrito antes de la pausa")
    expect(page.get_by_label("Descripción")).to_have_value("Un texto largo\nen dos líneas")
    page.get_by_role("button", name="Enviar", exact=True).click()
    expect(page.locator(".flash-success")).to_contain_text("Se creó el caso")
    assert [r for r in emulator.store.query("incidents") if r["title"] == "Escrito antes de la pausa"]
    # The one expected console line is the browser noting the refused post's 400; no CSP violation.
    assert [e for e in errors if "status of 400" not in e] == []
