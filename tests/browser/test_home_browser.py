"""The home page's "what waits" in Chromium (issue 14), in Spanish and English: the open cases, the case
awaiting the customer's reply (linked), the active hour banks with their bar."""

from __future__ import annotations

from typing import Any

import pytest

from d365portal.emulator.seed import DEMO_CASE_NUMBER
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser

WORDS = {
    "es-ES": ("Lo que le espera", "Casos abiertos:", "Esperando su respuesta", "Sus bolsas de horas activas"),
    "en-US": ("What is waiting for you", "Open cases:", "Awaiting your reply", "Your active hour banks"),
}


@pytest.mark.parametrize("lang", ["es-ES", "en-US"])
def test_home_shows_what_waits_and_links_to_it(page: Any, lang: str) -> None:
    from playwright.sync_api import expect

    heading, count, awaiting, banks = WORDS[lang]
    sign_in(page, lang=lang)
    region = page.get_by_role("region", name=heading)
    expect(region).to_contain_text(count)
    expect(region.get_by_role("heading", name=banks)).to_be_visible()
    expect(region.locator("meter").first).to_be_visible()
    expect(region.get_by_role("heading", name=awaiting)).to_be_visible()
    region.get_by_role("link", name=DEMO_CASE_NUMBER).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(DEMO_CASE_NUMBER)
