"""The knowledge base in a real browser (issue 16), in Spanish and English: search, the sanitized
article (no console error: the CSP blocks nothing because nothing dangerous is left), "Sí", the
suggestions while typing a new case's title (opening one and coming back keeps the draft; the
deflection is in Dataverse), and the same without JavaScript."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from d365portal.emulator.seed import KB_DANGEROUS_ID, KB_VPN_EN_TITLE, KB_VPN_ES_ID, KB_VPN_ES_TITLE
from tests.browser.conftest import field, sign_in
from tests.conftest import ServedApp

pytestmark = pytest.mark.browser

T = {
    "es-ES": {"kb": "Knowledge Base", "search": "Buscar en la base de conocimiento", "button": "Buscar",
              "vpn": KB_VPN_ES_TITLE, "yes": "Sí", "rated": "Gracias: registramos su opinión.",
              "title": "Título", "description": "Descripción", "suggested": "Artículos que pueden ayudarle",
              "find": "Buscar artículos", "back": "Volver a su caso nuevo"},
    "en-US": {"kb": "Knowledge Base", "search": "Search the knowledge base", "button": "Search",
              "vpn": KB_VPN_EN_TITLE, "yes": "Yes", "rated": "Thank you: your feedback was recorded.",
              "title": "Title", "description": "Description", "suggested": "Articles that may help you",
              "find": "Find articles", "back": "Back to your new case"},
}  # fmt: skip


@pytest.fixture()
def console_errors(page: Any) -> Iterator[list[str]]:
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    yield errors


def _wait(check: Any, timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := check()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return value


@pytest.mark.parametrize("lang", ["es-ES", "en-US"])
def test_search_read_and_rate(page: Any, emulator: Any, lang: str, console_errors: list[str]) -> None:
    t = T[lang]
    sign_in(page, lang=lang)
    page.get_by_role("navigation").get_by_role("link", name=t["kb"]).click()
    field(page, t["search"]).fill("VPN")
    page.get_by_role("button", name=t["button"], exact=True).click()
    results = page.locator("ol.kb-results")
    results.wait_for()
    text = results.inner_text()
    assert t["vpn"] in text and "concentrador" not in text and "concentrator" not in text
    assert "doble factor" not in text
    results.get_by_role("link", name=t["vpn"]).click()
    page.get_by_role("heading", name=t["vpn"], level=1).wait_for()
    page.get_by_role("button", name=t["yes"], exact=True).click()
    page.get_by_text(t["rated"]).wait_for()
    article_id = page.url.split("/knowledgebase/")[1].split("?")[0].split("#")[0]
    ratings = [r for r in emulator.store.query("feedback") if r.get("_regardingobjectid_value") == article_id]
    assert len(ratings) == 1 and ratings[0]["rating"] == 1
    page.goto(f"/{lang}/knowledgebase/{KB_DANGEROUS_ID}")
    page.locator(".kb-content table").wait_for()
    html = page.locator(".kb-content").inner_html()
    assert "<script" not in html and "<iframe" not in html and "<img" not in html and "onerror" not in html
    assert page.evaluate("document.body.innerText").find("pwned") == -1
    assert console_errors == []


@pytest.mark.parametrize("lang", ["es-ES", "en-US"])
def test_a_suggestion_while_typing_keeps_the_draft_and_records_the_deflection(
    page: Any, emulator: Any, lang: str
) -> None:
    t = T[lang]
    sign_in(page, lang=lang)
    page.goto(f"/{lang}/support/create-case/")
    field(page, t["title"]).press_sequentially("La VPN se desconecta", delay=20)
    field(page, t["description"]).fill("Cada cinco minutos desde el lunes.")
    box = page.locator("#suggestions")
    box.get_by_role("heading", name=t["suggested"]).wait_for()
    before = len(emulator.store.query("adx_casedeflections"))
    box.get_by_role("link").first.click()
    page.locator("article.kb-article").wait_for()
    page.go_back()
    page.wait_for_load_state()
    assert field(page, t["title"]).input_value() == "La VPN se desconecta"
    assert field(page, t["description"]).input_value() == "Cada cinco minutos desde el lunes."
    rows = _wait(lambda: emulator.store.query("adx_casedeflections")[before:])
    assert rows and rows[-1]["adx_casetitle"] == "La VPN se desconecta"


def test_without_javascript_the_button_finds_articles_and_the_draft_comes_back(
    browser: Any, live_portal: ServedApp, emulator: Any
) -> None:
    context = browser.new_context(base_url=live_portal.url, java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        t = T["es-ES"]
        before = len(emulator.store.query("adx_casedeflections"))
        sign_in(page)
        page.goto("/es-ES/support/create-case/")
        field(page, t["title"]).fill("No me conecto a la VPN")
        field(page, t["description"]).fill("Desde casa, con el portátil nuevo.")
        page.get_by_role("button", name=t["find"]).click()
        page.get_by_role("heading", name=t["suggested"]).wait_for()
        assert field(page, t["title"]).input_value() == "No me conecto a la VPN"
        page.locator("#suggestions").get_by_role("link", name=KB_VPN_ES_TITLE).click()
        page.get_by_role("heading", name=KB_VPN_ES_TITLE, level=1).wait_for()
        page.get_by_role("link", name=t["back"]).click()
        assert field(page, t["title"]).input_value() == "No me conecto a la VPN"
        assert field(page, t["description"]).input_value() == "Desde casa, con el portátil nuevo."
        rows = _wait(lambda: [r for r in emulator.store.query("adx_casedeflections")[before:]
                              if r.get("_adx_knowledgearticle_value") == str(KB_VPN_ES_ID)
                              and r.get("adx_casetitle") == "No me conecto a la VPN"])  # fmt: skip
        assert len(rows) == 1
    finally:
        context.close()


def test_suggestions_after_the_session_ended_stay_out_of_the_form(page: Any) -> None:
    """A session that ends while a title is typed: the suggestion request is redirected to the sign-in
    page, and that page must not land inside the new-case form (it has its own way of saying so)."""
    sign_in(page)
    page.goto("/es-ES/support/create-case/")
    page.context.clear_cookies()
    with page.expect_response(lambda r: "/knowledgebase/suggest" in r.url or "/Account/Login" in r.url):
        field(page, "Título").press_sequentially("La VPN se corta", delay=10)
    page.wait_for_timeout(400)
    box = page.locator("#suggestions")
    assert box.locator("input, form").count() == 0 and "Iniciar Sesión" not in box.inner_text()
