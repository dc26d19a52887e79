"""The "Asociado" lookup: a plain page without JavaScript, an HTML fragment for the dialog."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from d365portal.emulator.seed import DEMO_ASSOCIATE_ID, DEMO_ASSOCIATE_NAME, OTHER_ASSOCIATE_ID
from tests.web.support_helpers import hidden, requests_for, rows_of, sign_in, text

FORM = "/es-ES/support/create-case/"
LOOKUP = "/es-ES/support/create-case/associates"
RESULTS = "/es-ES/support/create-case/associates/results"


@pytest.fixture()
def user(client: FlaskClient) -> FlaskClient:
    """A client signed in as the manual's user."""
    return sign_in(client)


@pytest.fixture()
def draft(user: FlaskClient) -> dict[str, str]:
    """What the new-case form posts when "Buscar asociado" is pressed without JavaScript."""
    body = user.get(FORM).get_data(as_text=True)
    return {
        "csrf_token": hidden(body, "csrf_token"),
        "case_token": hidden(body, "case_token"),
        "title": "Borrador del título",
        "description": "Borrador de la descripción",
        "associate_id": "",
        "associate_name": "",
        "intent": "lookup",
    }


def test_lookup_page_lists_the_accounts_associates_and_keeps_the_draft(
    user: FlaskClient, emulator: Any, draft: dict[str, str]
) -> None:
    response, calls = requests_for(emulator, lambda: user.post(LOOKUP, data=draft))
    body = text(response)
    assert response.status_code == 200 and calls == 1
    assert "<h1>Buscar registros</h1>" in body and 'for="q">Búsqueda' in body
    for header in ("Nombre de cuenta", "Correo electrónico", "Número de centralita", "Número de cuenta",
                   "Contacto principal", "Dirección 1: ciudad"):  # fmt: skip
        assert header in body
    row = next(r for r in rows_of(body) if r[1] == DEMO_ASSOCIATE_NAME)
    assert row[3:6] == ["+57161", "86001", "Sonia"]
    assert "Distribuidora Cóndor" not in body  # another account's associate
    assert "INOVAIT SAS" not in [r[1] for r in rows_of(body)]  # the account itself is not an associate
    assert hidden(response.get_data(as_text=True), "title") == "Borrador del título"
    assert hidden(response.get_data(as_text=True), "description") == "Borrador de la descripción"
    assert ">Seleccionar</button>" in body and ">Quitar valor</button>" in body


def test_lookup_search_narrows_the_rows(user: FlaskClient, draft: dict[str, str]) -> None:
    body = text(user.post(LOOKUP, data={**draft, "q": "asociado"}))
    assert [r[1] for r in rows_of(body)] == [DEMO_ASSOCIATE_NAME]
    none = text(user.post(LOOKUP, data={**draft, "q": "zzzz"}))
    assert "No se encontraron registros." in none


def test_lookup_search_ignores_pasted_control_characters(user: FlaskClient, draft: dict[str, str]) -> None:
    body = text(user.post(LOOKUP, data={**draft, "q": "asociado\x00"}))
    assert [r[1] for r in rows_of(body)] == [DEMO_ASSOCIATE_NAME]
    fragment = text(user.get(RESULTS, query_string={"q": "\tNombre\x00"}))
    assert [r[1] for r in rows_of(fragment)] == [DEMO_ASSOCIATE_NAME]


def test_lookup_works_as_a_plain_get_page_too(user: FlaskClient) -> None:
    body = text(user.get(LOOKUP, query_string={"q": "Nombre"}))
    assert [r[1] for r in rows_of(body)] == [DEMO_ASSOCIATE_NAME]


def test_seleccionar_returns_to_the_form_with_the_associate_and_the_draft(
    user: FlaskClient, emulator: Any, draft: dict[str, str]
) -> None:
    data = {**draft, "intent": "select", "associate": str(DEMO_ASSOCIATE_ID)}
    response, calls = requests_for(emulator, lambda: user.post(FORM, data=data))
    body = text(response)
    assert response.status_code == 200 and calls == 1
    assert "<h1>Abrir un caso nuevo</h1>" in body
    assert 'value="Borrador del título"' in body and "Borrador de la descripción</textarea>" in body
    assert f'value="{DEMO_ASSOCIATE_NAME}"' in body and f'value="{DEMO_ASSOCIATE_ID}"' in body
    assert hidden(response.get_data(as_text=True), "case_token") == draft["case_token"]


def test_quitar_valor_empties_the_associate_and_keeps_the_draft(
    user: FlaskClient, emulator: Any, draft: dict[str, str]
) -> None:
    data = {**draft, "intent": "clear", "associate_id": str(DEMO_ASSOCIATE_ID), "associate_name": "X"}
    response, calls = requests_for(emulator, lambda: user.post(FORM, data=data))
    body = text(response)
    assert calls == 0
    assert 'id="associate_id" name="associate_id" type="hidden" value=""' in body
    assert 'value="Borrador del título"' in body


def test_seleccionar_without_a_row_asks_for_one(user: FlaskClient, draft: dict[str, str]) -> None:
    response = user.post(FORM, data={**draft, "intent": "select"})
    body = text(response)
    assert response.status_code == 400
    assert "Seleccione un registro de la tabla." in body and "Buscar registros" in body
    assert hidden(response.get_data(as_text=True), "title") == "Borrador del título"


def test_selecting_another_accounts_associate_is_not_found(user: FlaskClient, draft: dict[str, str]) -> None:
    response = user.post(FORM, data={**draft, "intent": "select", "associate": str(OTHER_ASSOCIATE_ID)})
    body = text(response)
    assert response.status_code == 404
    assert "El asociado elegido no es uno de los clientes asociados a su cuenta." in body
    assert "Distribuidora Cóndor" not in body
    assert 'value="Borrador del título"' in body


def test_lookup_when_dataverse_is_down_keeps_the_draft(
    user: FlaskClient, emulator: Any, draft: dict[str, str]
) -> None:
    emulator.faults.unavailable_ratio = 1.0
    response = user.post(LOOKUP, data=draft)
    assert response.status_code == 503
    assert "Servicio no disponible, intente de nuevo." in text(response)
    assert hidden(response.get_data(as_text=True), "title") == "Borrador del título"


def test_dialog_fragment_is_one_request_and_marks_the_current_choice(
    user: FlaskClient, emulator: Any
) -> None:
    response, calls = requests_for(
        emulator, lambda: user.get(RESULTS, query_string={"q": "nombre", "selected": str(DEMO_ASSOCIATE_ID)})
    )
    body = response.get_data(as_text=True)
    assert calls == 1
    assert response.headers["X-Fragment"] == "associates"
    assert "<html" not in body
    assert f'value="{DEMO_ASSOCIATE_ID}"' in body and "checked" in body
    assert f'data-name="{DEMO_ASSOCIATE_NAME}"' in body
    assert f'<label for="associate-{DEMO_ASSOCIATE_ID}">{DEMO_ASSOCIATE_NAME}</label>' in body


def test_dialog_fragment_needs_a_signed_in_user(client: FlaskClient) -> None:
    response = client.get(RESULTS)
    assert response.status_code == 302 and "X-Fragment" not in response.headers


def test_lookup_paging_cursor_cannot_be_forged(user: FlaskClient) -> None:
    response = user.get(RESULTS, query_string={"q": "", "cursor": "forged"})
    assert response.status_code == 200
    assert DEMO_ASSOCIATE_NAME in text(response)  # a forged cursor means the first page


def test_dialog_fragment_when_dataverse_is_down_is_not_a_fragment(user: FlaskClient, emulator: Any) -> None:
    # The dialog's script only shows answers marked as a fragment; anything else becomes its message.
    emulator.faults.unavailable_ratio = 1.0
    response = user.get(RESULTS, query_string={"q": "nombre"})
    assert response.status_code == 503
    assert "X-Fragment" not in response.headers
    assert "Traceback" not in text(response)


def test_lookup_pages_with_a_signed_cursor(
    user: FlaskClient, draft: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import html
    import re

    from d365portal.web import support_new

    monkeypatch.setattr(support_new, "LOOKUP_PAGE_SIZE", 2)
    first = user.get(RESULTS).get_data(as_text=True)
    token = html.unescape(re.search(r'data-cursor="([^"]+)"', first).group(1))  # type: ignore[union-attr]
    second = text(user.get(RESULTS, query_string={"cursor": token}))
    names = [r[1] for r in rows_of(text(user.get(RESULTS))) + rows_of(second)]
    assert names == ["Clínica San Rafael", DEMO_ASSOCIATE_NAME, "Transportes del Valle"]
    assert "data-cursor" not in second
    # The same cursor on the plain page ("Más resultados"), with the draft still carried.
    page = user.post(LOOKUP, data={**draft, "cursor": token})
    assert [r[1] for r in rows_of(text(page))] == ["Transportes del Valle"]
    assert hidden(page.get_data(as_text=True), "title") == "Borrador del título"
    # A cursor made for another search starts that search over.
    other = text(user.get(RESULTS, query_string={"cursor": token, "q": "a"}))
    assert "Clínica San Rafael" in other
