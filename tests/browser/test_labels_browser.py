"""Option labels in the page's language (from Dataverse's metadata), in Debian's Chromium: no Spanish
label on the English pages, and the manual's Spanish labels on the Spanish ones."""

from __future__ import annotations

from typing import Any

import pytest

from d365portal.emulator.metadata import EN, ES
from d365portal.emulator.seed import DEMO_CASE_ID, DEMO_ENTITLEMENT_ID
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser

SPANISH = {label for columns in ES.values() for labels in columns.values() for label in labels.values()}
ENGLISH = {label for columns in EN.values() for labels in columns.values() for label in labels.values()}
PAGES = (
    "support/?which=all&size=50",
    f"support/case/{DEMO_CASE_ID}",
    "vigencia-soporte/",
    f"vigencia-soporte/{DEMO_ENTITLEMENT_ID}",
)


def _cells(page: Any) -> list[str]:
    """The texts of the table cells and definition values, where option labels are shown."""
    return [text.strip() for text in page.locator("main td, main dd").all_inner_texts()]


def test_english_pages_show_no_spanish_option_label(page: Any) -> None:
    sign_in(page, lang="en-US")
    seen: set[str] = set()
    for path in PAGES:
        page.goto(f"/en-US/{path}")
        cells = _cells(page)
        spanish = [cell for cell in cells if cell in SPANISH - ENGLISH]
        assert spanish == [], f"/en-US/{path} shows Spanish labels: {spanish}"
        seen |= set(cells) & ENGLISH
    # The English labels are really there (not merely absent Spanish ones).
    assert {"Normal", "In Progress", "Number of hours", "Waiting"} <= seen, seen


def test_spanish_pages_show_the_manuals_labels(page: Any) -> None:
    sign_in(page)
    seen: set[str] = set()
    for path in PAGES:
        page.goto(f"/es-ES/{path}")
        cells = _cells(page)
        english = [cell for cell in cells if cell in ENGLISH - SPANISH]
        assert english == [], f"/es-ES/{path} shows English labels: {english}"
        seen |= set(cells)
    assert {"Moderado", "En Revisión", "En espera", "Número de horas"} <= seen, seen
