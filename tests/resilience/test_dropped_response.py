"""Dataverse commits the new case but the answer never arrives: the portal retries the idempotent
create, the customer sees one success, and exactly one case exists (also after "Enviar" again)."""

from __future__ import annotations

from bench import html
from bench.journey import LANG
from d365portal.emulator.seed import DEMO_PASSWORD, DEMO_USERNAME
from tests.resilience.conftest import Dataverse, Visitor, no_stack_trace

TITLE = "Caso enviado cuando se cayó la respuesta"


def test_a_create_whose_response_is_dropped_makes_one_case(dataverse: Dataverse, portal_url: str) -> None:
    visitor = Visitor(portal_url, DEMO_USERNAME, DEMO_PASSWORD)
    visitor.sign_in()
    form_page = visitor.fetch("GET", f"/{LANG}/support/create-case/")
    form = html.form_with(form_page.text, field_name="case_token")
    assert form is not None
    dataverse.recorder.clear()
    dataverse.emulator.faults.set(drop_response_ratio=1.0)  # every successful write: committed, then cut

    result = visitor.submit(
        form,
        form_page.url,
        {"title": TITLE, "description": "Detalle."},
        button=("intent", "send"),
        page="submit",
    )

    # The first PATCH committed and lost its answer; the retry was told "already exists" (412).
    assert dataverse.statuses("PATCH", "incidents") == [0, 412]
    cases = [row for row in dataverse.emulator.store.query("incidents") if row["title"] == TITLE]
    assert len(cases) == 1
    text = result.text
    assert cases[0]["ticketnumber"] in text  # the customer lands on the case itself
    successes = text.count("Se creó el caso") + text.count("Este caso ya se había creado")
    assert successes == 1
    assert "Servicio no disponible" not in text and no_stack_trace(text)

    # Pressing "Enviar" again with the same form (browser back, double click) makes no second case.
    dataverse.emulator.faults.clear()
    again = visitor.submit(
        form,
        form_page.url,
        {"title": TITLE, "description": "Detalle."},
        button=("intent", "send"),
        page="submit",
    )
    assert cases[0]["ticketnumber"] in again.text
    assert len([row for row in dataverse.emulator.store.query("incidents") if row["title"] == TITLE]) == 1
    assert all(sample.ok for sample in visitor.seen)
