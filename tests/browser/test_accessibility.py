"""Accessibility and small screens: axe-core finds no serious or critical violation on any page, and no
page overflows sideways at 375 px (wide tables scroll inside their own .table-wrap).

axe-core comes bundled in axe-playwright-python (`axe.min.js`, injected through Playwright), so the check
loads nothing from outside; the `page` fixture fails the test if anything does.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from d365portal.emulator.seed import (
    DEMO_CASE_ID,
    DEMO_COMPANY_LEVEL_ID,
    DEMO_COMPANY_LEVEL_USERNAME,
    DEMO_CONTACT_LEVEL_CASE_ID,
    DEMO_CONTACT_LEVEL_ID,
    DEMO_CONTACT_LEVEL_USERNAME,
    DEMO_ENTITLEMENT_ID,
    KB_DANGEROUS_ID,
    KB_VPN_ES_ID,
)
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser

SERIOUS = {"serious", "critical"}

ANONYMOUS_PAGES = [
    "/es-ES/Account/Login/Login",
    "/es-ES/Account/Login/ForgotPassword",
    "/en-US/Account/Login/Login",
]
SIGNED_IN_PAGES = [
    "/es-ES/",
    "/es-ES/support/",
    "/es-ES/support/?which=all&size=50&sort=title&dir=asc",
    f"/es-ES/support/case/{DEMO_CASE_ID}",
    f"/en-US/support/case/{DEMO_CASE_ID}",
    f"/es-ES/support/case/{DEMO_CASE_ID}/close",
    "/es-ES/support/create-case/",
    "/es-ES/support/create-case/associates",
    "/es-ES/vigencia-soporte/",
    f"/es-ES/vigencia-soporte/{DEMO_ENTITLEMENT_ID}",
    "/es-ES/profile/",
    "/es-ES/profile/ChangePassword",
    "/es-ES/profile/ChangeEmail",
    "/es-ES/support/case/00000000-0000-4000-8000-000000000001",  # the 404 page
    "/en-US/support/",
    "/en-US/",
    "/es-ES/profile/notifications",
    "/es-ES/support/?which=all&whose=mine",
    "/es-ES/company/users",
    "/en-US/company/users",
    "/es-ES/company/users/invite",
    f"/es-ES/company/users/{DEMO_CONTACT_LEVEL_ID}/level",
    f"/en-US/company/users/{DEMO_COMPANY_LEVEL_ID}/disable",
    "/es-ES/knowledgebase/",
    "/es-ES/knowledgebase/?q=VPN",
    "/en-US/knowledgebase/?q=VPN",
    f"/es-ES/knowledgebase/{KB_VPN_ES_ID}",
    f"/es-ES/knowledgebase/{KB_DANGEROUS_ID}",
    "/es-ES/profile/security/",
    "/en-US/profile/security/",
    "/es-ES/profile/security/app",
    f"/es-ES/company/users/{DEMO_COMPANY_LEVEL_ID}/reset2fa",
]


def test_a_contacto_users_and_a_followers_pages_pass_axe_and_fit_375px(page: Any) -> None:
    """Issue 15: the pages of a Contacto-level user, and a colleague's case with "Seguir este caso"."""
    problems: dict[str, list[str]] = {}
    sign_in(page, DEMO_CONTACT_LEVEL_USERNAME)
    for url in ("/es-ES/", "/es-ES/support/?which=all", f"/es-ES/support/case/{DEMO_CONTACT_LEVEL_CASE_ID}"):
        _check(page, url, problems)
    page.context.clear_cookies()
    sign_in(page, DEMO_COMPANY_LEVEL_USERNAME, lang="en-US")
    _check(page, f"/en-US/support/case/{DEMO_CASE_ID}", problems)
    assert page.get_by_role("button", name="Follow this case").is_visible()
    assert not problems, problems


def _serious_violations(page: Any) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v.get("impact") in SERIOUS
    ]


def _overflow(page: Any) -> int:
    """How many CSS pixels the page is wider than the viewport (0 when it fits)."""
    return int(page.evaluate("document.documentElement.scrollWidth - window.innerWidth"))


def _check(page: Any, url: str, problems: dict[str, list[str]]) -> None:
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(url)
    _check_current(page, url, problems)


def test_every_page_passes_axe_and_fits_375px(page: Any) -> None:
    problems: dict[str, list[str]] = {}
    for url in ANONYMOUS_PAGES:
        _check(page, url, problems)
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page)
    for url in SIGNED_IN_PAGES:
        _check(page, url, problems)
    assert not problems, problems


def test_lookup_dialog_open_passes_axe_and_fits_375px(page: Any) -> None:
    from playwright.sync_api import expect

    sign_in(page)
    page.set_viewport_size({"width": 375, "height": 800})
    page.goto("/es-ES/support/create-case/")
    page.get_by_role("button", name="Buscar asociado").click()
    dialog = page.get_by_role("dialog", name="Buscar registros")
    expect(dialog.get_by_role("radio").first).to_be_visible()
    assert _serious_violations(page) == []
    assert _overflow(page) <= 0
    box = dialog.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 375


def test_this_rounds_page_states_pass_axe_and_fit_375px(page: Any, emulator: Any) -> None:
    """"Este formulario ya se envió como …" on the new-case form, and "Demasiadas solicitudes" (the busy
    page, and the sign-in form when Dataverse's budget is low)."""
    from playwright.sync_api import expect

    from d365portal.dataverse.context import budget

    problems: dict[str, list[str]] = {}
    sign_in(page)
    page.goto("/es-ES/support/create-case/")
    fields = ("csrf_token", "case_token")
    form = {name: page.locator(f"#new-case-form input[name={name}]").input_value() for name in fields}
    # The same form sent once already (another tab, or Back on a browser that keeps the page).
    sent = page.request.post("/es-ES/support/create-case/", form={**form, "title": "Primera versión"})
    assert sent.ok
    page.get_by_label("Título").fill("Segunda versión")
    page.get_by_role("button", name="Enviar", exact=True).click()
    expect(page.locator("#already-sent")).to_contain_text("Este formulario ya se envió como")
    _check_current(page, "already sent", problems)
    budget.observe({"x-ms-ratelimit-burst-remaining-xrm-requests": "10"}, 200, None)  # 10 of 6000 left
    page.goto("/es-ES/support/")
    expect(page.get_by_text("Demasiadas solicitudes, espere unos segundos")).to_be_visible()
    _check_current(page, "busy page", problems)
    assert not problems, problems


def _check_current(page: Any, name: str, problems: dict[str, list[str]]) -> None:
    page.set_viewport_size({"width": 1280, "height": 900})
    found = _serious_violations(page)
    page.set_viewport_size({"width": 375, "height": 800})
    if (extra := _overflow(page)) > 0:
        found.append(f"{extra}px horizontal overflow at 375px")
    if found:
        problems[name] = found


def test_the_conversations_states_pass_axe_and_fit_375px(page: Any, emulator: Any) -> None:
    """The comment form refused (its message tied to the field), a resolved case (no form, "Reabrir
    caso"), and the form alone when Dataverse is down, each with a long unbroken comment and file name."""
    from playwright.sync_api import expect

    problems: dict[str, list[str]] = {}
    emulator.store.insert("adx_portalcomments", {
        "description": "x" * 400, "adx_portalcommentdirectioncode": 2,
        "regardingobjectid_incident_adx_portalcomment@odata.bind": f"/incidents({DEMO_CASE_ID})",
    })  # fmt: skip
    sign_in(page)
    page.goto(f"/es-ES/support/case/{DEMO_CASE_ID}")
    page.locator("#comment").evaluate("element => element.removeAttribute('required')")
    page.get_by_role("button", name="Enviar comentario").click()
    expect(page.locator("#comment-alert")).to_have_text("Escriba el comentario antes de enviarlo.")
    _check_current(page, "comment refused", problems)
    emulator.faults.set(unavailable_ratio=1.0)
    page.get_by_label("Comentario").fill("Sin servicio")
    page.get_by_role("button", name="Enviar comentario").click()
    expect(page.locator("#comment-alert")).to_contain_text("Servicio no disponible")
    emulator.faults.clear()
    _check_current(page, "form only", problems)
    page.goto(f"/es-ES/support/case/{DEMO_CASE_ID}/close")
    page.get_by_role("button", name="Sí, cerrar el caso").click()
    expect(page.get_by_text("El caso quedó resuelto.")).to_be_visible()
    _check_current(page, "resolved case", problems)
    assert not problems, problems


def test_the_new_case_form_with_suggestions_passes_axe_and_fits_375px(page: Any) -> None:
    """Issue 16: "Artículos que pueden ayudarle" shown under the typed title."""
    problems: dict[str, list[str]] = {}
    sign_in(page)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto("/es-ES/support/create-case/")
    page.get_by_label(re.compile(r"Título")).press_sequentially("La VPN se corta", delay=20)
    page.locator("#suggestions h2").wait_for()
    _check_current(page, "new case with suggestions", problems)
    assert not problems, problems
