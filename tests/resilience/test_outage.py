"""Dataverse stops answering: pages say "servicio no disponible, intente de nuevo" (503) within the
retry budget, a half-filled new case keeps its text, nothing shows a 500 or a stack trace; when
Dataverse comes back the same portal process serves again, without a restart."""

from __future__ import annotations

import time

import requests

from bench import html
from bench.journey import LANG
from d365portal.emulator.seed import DEMO_PASSWORD, DEMO_USERNAME
from tests.resilience.conftest import RETRY_BUDGET_SECONDS, Dataverse, Visitor, no_stack_trace

TITLE = "Impresora del tercer piso no imprime"
DESCRIPTION = "Desde ayer la impresora HP del tercer piso\nno responde; ya la reiniciamos."
# The budget plus one request timeout's worth of slack for the last attempt and rendering.
WITHIN = RETRY_BUDGET_SECONDS + 2.0


def _timed(
    session: requests.Session, method: str, url: str, **kwargs: object
) -> tuple[requests.Response, float]:
    started = time.monotonic()
    response = session.request(method, url, allow_redirects=False, timeout=30, **kwargs)  # type: ignore[arg-type]
    return response, time.monotonic() - started


def _assert_unavailable_page(response: requests.Response, elapsed: float) -> None:
    assert response.status_code == 503
    text = response.text
    assert "Servicio no disponible" in text and "intente de nuevo" in text
    assert no_stack_trace(text)
    assert elapsed < WITHIN, f"the 503 page took {elapsed:.1f} s (retry budget {RETRY_BUDGET_SECONDS} s)"


def test_pages_say_unavailable_keep_the_draft_and_recover(dataverse: Dataverse, portal_url: str) -> None:
    visitor = Visitor(portal_url, DEMO_USERNAME, DEMO_PASSWORD)
    visitor.sign_in()
    form_page = visitor.fetch("GET", f"/{LANG}/support/create-case/")
    form = html.form_with(form_page.text, field_name="case_token")
    assert form is not None
    draft = {**form.fields, "title": TITLE, "description": DESCRIPTION, "intent": "send"}

    dataverse.stop()

    for path in (f"/{LANG}/support/", f"/{LANG}/vigencia-soporte/"):
        response, elapsed = _timed(visitor.session, "GET", f"{portal_url}{path}")
        _assert_unavailable_page(response, elapsed)

    response, elapsed = _timed(visitor.session, "POST", form_page.url, data=draft)
    _assert_unavailable_page(response, elapsed)
    kept = html.form_with(response.text, field_name="case_token")
    assert kept is not None, "the new-case form is shown again"
    assert kept.fields["title"] == TITLE
    assert kept.fields["description"].replace("\r\n", "\n").strip() == DESCRIPTION
    assert kept.fields["case_token"] == form.fields["case_token"]  # "Enviar" again is the same case

    dataverse.start()

    # Same process, no restart: the kept form goes through now, once.
    created = visitor.submit(kept, response.url, button=("intent", "send"), page="submit")
    assert "Se creó el caso CAS-" in created.text
    listing = visitor.fetch("GET", f"/{LANG}/support/")
    assert "Mis casos abiertos" in listing.text or "Soporte técnico" in listing.text
    cases = [row for row in dataverse.emulator.store.query("incidents") if row["title"] == TITLE]
    assert len(cases) == 1
    assert cases[0]["description"].replace("\r\n", "\n") == DESCRIPTION
    assert all(sample.status != 500 for sample in visitor.seen)
