"""The read-only case page: every field and the description, live, and 404 outside scope."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from flask.testing import FlaskClient

from d365portal.emulator.seed import DEMO_CASE_ID, DEMO_CASE_NUMBER, OTHER_CASE_ID
from tests.web.support_helpers import RIGHTS_CHECK, requests_for, sign_in, text


@pytest.fixture()
def user(client: FlaskClient) -> FlaskClient:
    """A client signed in as the manual's user."""
    return sign_in(client)


def test_case_page_shows_every_field_and_the_description_in_one_request(
    user: FlaskClient, emulator: Any
) -> None:
    response, calls = requests_for(emulator, lambda: user.get(f"/es-ES/support/case/{DEMO_CASE_ID}"))
    body = text(response)
    assert response.status_code == 200
    assert calls == 1 + RIGHTS_CHECK
    assert f"Caso {DEMO_CASE_NUMBER}" in body
    for value in (
        "Arreglo al reporte Equipos sin Endpoint",
        "INOVAIT SAS",
        "Lorena Melo Hernandez",
        "Moderado",
        "En Revisión",
        "Web",
        "26/12/2019 11:24",
        "Los equipos sin Endpoint no aparecen en el reporte semanal.",
    ):
        assert value in body
    assert "Página principal" in body and "Soporte técnico" in body  # breadcrumb


def test_the_list_links_each_number_to_its_case_page(user: FlaskClient) -> None:
    body = user.get("/es-ES/support/", query_string={"q": DEMO_CASE_NUMBER}).get_data(as_text=True)
    assert f'href="/es-ES/support/case/{DEMO_CASE_ID}">{DEMO_CASE_NUMBER}</a>' in body


def test_associate_shown_when_the_case_has_one(user: FlaskClient, emulator: Any) -> None:
    rows = emulator.store.query("incidents")
    with_associate = next(row for row in rows if row.get("_ino_asociado_value") and row["statecode"] == 0)
    body = text(user.get(f"/es-ES/support/case/{with_associate['incidentid']}"))
    associate = emulator.store.get("accounts", with_associate["_ino_asociado_value"])
    assert associate["name"] in body


def test_an_agents_status_change_shows_on_the_next_load(user: FlaskClient, emulator: Any) -> None:
    assert "En Revisión" in text(user.get(f"/es-ES/support/case/{DEMO_CASE_ID}"))
    emulator.store.update("incidents", DEMO_CASE_ID, {"statuscode": 3, "description": "Nota del agente"})
    body = text(user.get(f"/es-ES/support/case/{DEMO_CASE_ID}"))
    assert "En Revisión" not in body
    assert "Nota del agente" in body


def test_another_accounts_case_is_not_found_like_a_missing_one(user: FlaskClient) -> None:
    other = user.get(f"/es-ES/support/case/{OTHER_CASE_ID}")
    missing = user.get(f"/es-ES/support/case/{uuid.uuid4()}")
    assert other.status_code == missing.status_code == 404
    assert "Página no encontrada" in text(other) and "Página no encontrada" in text(missing)
    assert "Falla en el rastreo de flota" not in text(other)


def test_english_case_page(user: FlaskClient) -> None:
    body = text(user.get(f"/en-US/support/case/{DEMO_CASE_ID}"))
    assert f"Case {DEMO_CASE_NUMBER}" in body and "Status reason" in body and "12/26/2019 11:24 AM" in body
