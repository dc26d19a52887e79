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


@pytest.mark.parametrize(
    ("lang", "other", "expected"),
    [
        ("en-US", SPANISH - ENGLISH, {"Normal", "In Progress", "Number of hours", "Waiting"}),
        ("es-ES", ENGLISH - SPANISH, {"Moderado", "En Revisión", "En espera", "Número de horas"}),
    ],
)
def test_option_labels_are_in_the_pages_language(
    page: Any, lang: str, other: set[str], expected: set[str]
) -> None:
    """No label of the other language on the case list, a case, the hour banks and one hour bank;
    the page's own labels really are there (the manual's wording in Spanish)."""
    sign_in(page, lang=lang)
    seen: set[str] = set()
    for path in PAGES:
        page.goto(f"/{lang}/{path}")
        cells = _cells(page)
        wrong = [cell for cell in cells if cell in other]
        assert wrong == [], f"/{lang}/{path} shows labels of the other language: {wrong}"
        seen |= set(cells)
    assert expected <= seen, seen
