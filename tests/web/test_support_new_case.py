"""Abrir un caso nuevo (manual "Creación de Incidentes"): create once, keep the input on every failure."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from d365portal.emulator.seed import (
    DEMO_ACCOUNT_ID,
    DEMO_ACTIVE_ENTITLEMENT_ID,
    DEMO_ASSOCIATE_ENTITLEMENT_ID,
    DEMO_ASSOCIATE_ID,
    DEMO_ASSOCIATE_NAME,
    DEMO_CONTACT_ID,
    OTHER_ASSOCIATE_ID,
)
from tests.web.support_helpers import hidden, requests_for, sign_in, text

FORM = "/es-ES/support/create-case/"


@pytest.fixture()
def user(client: FlaskClient) -> FlaskClient:
    """A client signed in as the manual's user."""
    return sign_in(client)


def open_form(client: FlaskClient) -> dict[str, str]:
    """GET the form; the hidden values a browser would send back."""
    body = client.get(FORM).get_data(as_text=True)
    return {"csrf_token": hidden(body, "csrf_token"), "case_token": hidden(body, "case_token")}


def cases_titled(emulator: Any, title: str) -> list[dict[str, Any]]:
    """The stored incidents with this title."""
    return [row for row in emulator.store.query("incidents") if row["title"] == title]


def test_form_has_the_manuals_fields_prefilled_without_any_request(user: FlaskClient, emulator: Any) -> None:
    response, calls = requests_for(emulator, lambda: user.get(FORM))
    body = text(response)
    assert calls == 0
    assert "Página principal" in body and "Soporte técnico" in body and "Abrir un caso nuevo" in body
    assert "Información general" in body
    for label in ('for="title">Título <span class="required"', 'for="customer">Cliente <span',
                  'for="associate_name">Asociado</label>', 'for="contact">Contacto <span',
                  'for="description">Descripción'):  # fmt: skip
        assert label in body
    assert 'value="INOVAIT SAS" readonly' in body and 'value="Lorena Melo Hernandez" readonly' in body
    assert 'maxlength="200"' in body and ">Enviar</button>" in body
    assert 'src="/static/js/lookup.js"' in body and "<script>" not in body


def test_send_creates_the_case_with_customer_contact_associate_origin_and_entitlement(
    user: FlaskClient, emulator: Any
) -> None:
    data = {
        **open_form(user),
        "title": "Impresora sin conexión",
        "description": "La impresora del piso 3\nno responde.",
        "associate_id": str(DEMO_ASSOCIATE_ID),
        "associate_name": DEMO_ASSOCIATE_NAME,
        "intent": "send",
    }
    response, calls = requests_for(emulator, lambda: user.post(FORM, data=data))
    assert calls == 2
    assert response.status_code == 302
    [row] = cases_titled(emulator, "Impresora sin conexión")
    assert response.headers["Location"].endswith(f"/es-ES/support/case/{row['incidentid']}")
    assert row["_customerid_value"] == str(DEMO_ACCOUNT_ID)
    assert row["_primarycontactid_value"] == str(DEMO_CONTACT_ID)
    assert row["_ino_asociado_value"] == str(DEMO_ASSOCIATE_ID)
    assert row["caseorigincode"] == 3
    assert row["_entitlementid_value"] == str(DEMO_ASSOCIATE_ENTITLEMENT_ID)  # the associate's default
    assert row["description"].replace("\r\n", "\n") == "La impresora del piso 3\nno responde."
    page = text(user.get(response.headers["Location"]))
    assert f"Se creó el caso {row['ticketnumber']}." in page


def test_without_associate_the_accounts_default_entitlement_applies(user: FlaskClient, emulator: Any) -> None:
    data = {**open_form(user), "title": "Sin asociado", "intent": "send"}
    assert user.post(FORM, data=data).status_code == 302
    [row] = cases_titled(emulator, "Sin asociado")
    assert row["_ino_asociado_value"] is None
    assert row["_entitlementid_value"] == str(DEMO_ACTIVE_ENTITLEMENT_ID)


def test_pressing_send_again_never_creates_a_second_case(user: FlaskClient, emulator: Any) -> None:
    data = {**open_form(user), "title": "Doble clic", "intent": "send"}
    first = user.post(FORM, data=data)
    second = user.post(FORM, data=data)
    assert len(cases_titled(emulator, "Doble clic")) == 1
    assert first.headers["Location"] == second.headers["Location"]


def test_back_edit_and_send_again_says_it_was_sent_and_keeps_the_new_text(
    user: FlaskClient, emulator: Any
) -> None:
    """Browser Back after "Enviar", the title edited, "Enviar" again: no silent redirect to the first
    case; the page names it, keeps what was typed, and "Enviar como caso nuevo" sends it as a second."""
    hidden_values = open_form(user)
    first = user.post(
        FORM, data={**hidden_values, "title": "Primera versión", "description": "uno", "intent": "send"}
    )
    assert first.status_code == 302
    (case,) = cases_titled(emulator, "Primera versión")
    again = user.post(
        FORM, data={**hidden_values, "title": "Segunda versión", "description": "dos", "intent": "send"}
    )
    page = text(again)
    assert again.status_code == 409
    assert f"Este formulario ya se envió como {case['ticketnumber']}" in page
    assert 'value="Segunda versión"' in page and "dos</textarea>" in page
    assert "Enviar como caso nuevo" in page and cases_titled(emulator, "Segunda versión") == []
    body = again.get_data(as_text=True)
    resend = {"csrf_token": hidden(body, "csrf_token"), "case_token": hidden(body, "case_token"),
              "title": "Segunda versión", "description": "dos", "intent": "new"}  # fmt: skip
    created = user.post(FORM, data=resend)
    assert user.post(FORM, data=resend).headers["Location"] == created.headers["Location"]  # double click
    assert created.status_code == 302
    (second,) = cases_titled(emulator, "Segunda versión")
    assert second["incidentid"] != case["incidentid"]
    assert len(cases_titled(emulator, "Primera versión")) == 1


def test_a_new_form_is_a_new_case(user: FlaskClient, emulator: Any) -> None:
    for _ in range(2):
        data = {**open_form(user), "title": "Dos casos", "intent": "send"}
        assert user.post(FORM, data=data).status_code == 302
    assert len(cases_titled(emulator, "Dos casos")) == 2


def test_validation_errors_keep_everything_typed(user: FlaskClient, emulator: Any) -> None:
    data = {
        **open_form(user),
        "title": "   ",
        "description": "Descripción escrita",
        "associate_id": str(DEMO_ASSOCIATE_ID),
        "associate_name": DEMO_ASSOCIATE_NAME,
        "intent": "send",
    }
    response, calls = requests_for(emulator, lambda: user.post(FORM, data=data))
    body = text(response)
    assert calls == 0
    assert response.status_code == 400
    assert "Escriba el título del caso." in body and 'aria-invalid="true"' in body
    assert "Descripción escrita</textarea>" in body
    assert f'value="{DEMO_ASSOCIATE_NAME}"' in body and f'value="{DEMO_ASSOCIATE_ID}"' in body
    too_long = user.post(FORM, data={**data, "title": "x" * 201, "description": "y" * 2001})
    assert "El título admite como máximo 200 caracteres." in text(too_long)
    assert "La descripción admite como máximo 2000 caracteres." in text(too_long)
    assert not cases_titled(emulator, "x" * 201)


def test_an_associate_of_another_account_is_refused(user: FlaskClient, emulator: Any) -> None:
    before = len(emulator.store.query("incidents"))
    for associate in (str(OTHER_ASSOCIATE_ID), str(DEMO_ACCOUNT_ID), "not-a-guid"):
        data = {
            **open_form(user),
            "title": "Caso con asociado ajeno",
            "description": "Texto",
            "associate_id": associate,
            "associate_name": "Distribuidora Cóndor",
            "intent": "send",
        }
        response = user.post(FORM, data=data)
        body = text(response)
        assert response.status_code == 404
        assert "El asociado elegido no es uno de los clientes asociados a su cuenta." in body
        assert 'value="Caso con asociado ajeno"' in body and "Texto</textarea>" in body
    assert len(emulator.store.query("incidents")) == before


def test_dataverse_down_keeps_the_input_and_a_retry_creates_one_case(
    user: FlaskClient, emulator: Any
) -> None:
    data = {**open_form(user), "title": "Durante la caída", "description": "Detalle", "intent": "send"}
    emulator.faults.unavailable_ratio = 1.0
    response = user.post(FORM, data=data)
    body = text(response)
    assert response.status_code == 503
    assert "Servicio no disponible, intente de nuevo." in body
    assert 'value="Durante la caída"' in body and "Detalle</textarea>" in body
    assert hidden(response.get_data(as_text=True), "case_token") == data["case_token"]
    emulator.faults.clear()
    again = user.post(FORM, data=data)
    assert again.status_code == 302
    assert len(cases_titled(emulator, "Durante la caída")) == 1


def test_a_lost_answer_then_a_retry_still_makes_one_case(user: FlaskClient, emulator: Any) -> None:
    data = {**open_form(user), "title": "Respuesta perdida", "intent": "send"}
    emulator.faults.drop_response_ratio = 1.0  # the write commits, the answer never arrives
    first = user.post(FORM, data=data)
    emulator.faults.clear()
    assert first.status_code in (302, 503)
    second = user.post(FORM, data=data)
    assert second.status_code == 302
    assert len(cases_titled(emulator, "Respuesta perdida")) == 1


def test_a_forged_case_id_is_not_used(user: FlaskClient, emulator: Any) -> None:
    data = {**open_form(user), "title": "Id inventado", "intent": "send", "case_token": "forged"}
    response = user.post(FORM, data=data)
    assert response.status_code == 400
    assert "El formulario caducó." in text(response) and 'value="Id inventado"' in text(response)
    assert not cases_titled(emulator, "Id inventado")
    fresh = hidden(response.get_data(as_text=True), "case_token")
    retry = user.post(FORM, data={**data, "case_token": fresh})
    assert retry.status_code == 302 and len(cases_titled(emulator, "Id inventado")) == 1


def test_english_form(user: FlaskClient) -> None:
    body = text(user.get("/en-US/support/create-case/"))
    assert "Open a new case" in body and "General information" in body and ">Send</button>" in body


def test_a_dataverse_refusal_keeps_the_input_with_a_clear_message(tmp_path: Any, emulator: Any) -> None:
    # A tenant whose "Asociado" navigation property is misconfigured: Dataverse answers 400.
    from d365portal import create_app
    from d365portal.settings import FieldMap
    from tests.conftest import make_settings

    settings = make_settings(
        tmp_path, emulator.url, fieldmap=FieldMap(incident_associate_navigation="ino_NoExiste")
    )
    app = create_app(settings)
    app.testing = True
    client = sign_in(app.test_client())
    data = {
        **open_form(client),
        "title": "Rechazado",
        "description": "Se conserva",
        "associate_id": str(DEMO_ASSOCIATE_ID),
        "associate_name": DEMO_ASSOCIATE_NAME,
        "intent": "send",
    }
    response = client.post(FORM, data=data)
    body = text(response)
    assert response.status_code == 400
    assert "Dynamics 365 rechazó el caso." in body
    assert 'value="Rechazado"' in body and "Se conserva</textarea>" in body
    assert f'value="{DEMO_ASSOCIATE_NAME}"' in body
    assert "ino_NoExiste" not in body  # no internals on the page
    assert not cases_titled(emulator, "Rechazado")


def test_dataverse_busy_keeps_the_input(user: FlaskClient, emulator: Any) -> None:
    emulator.faults.throttle_ratio = 1.0
    emulator.faults.throttle_retry_after = 1
    data = {**open_form(user), "title": "Ocupado", "description": "Texto", "intent": "send"}
    response = user.post(FORM, data=data)
    assert response.status_code == 503
    assert "Servicio no disponible, intente de nuevo." in text(response)
    assert 'value="Ocupado"' in text(response)
    assert not cases_titled(emulator, "Ocupado")


def test_a_case_id_taken_by_someone_elses_case_is_refused_without_showing_it(
    app: Any, user: FlaskClient, emulator: Any
) -> None:
    from d365portal.emulator.seed import OTHER_ACCOUNT_ID, OTHER_CONTACT_ID
    from d365portal.web.forms_support import read_case_token
    from tests.web.support_helpers import DEMO_PRINCIPAL

    data = {**open_form(user), "title": "Id ocupado", "intent": "send"}
    with app.test_request_context():
        case_id = read_case_token(data["case_token"], DEMO_PRINCIPAL)
    emulator.store.insert(
        "incidents",
        {
            "incidentid": case_id,
            "title": "Caso secreto de otra cuenta",
            "customerid_account@odata.bind": f"/accounts({OTHER_ACCOUNT_ID})",
            "primarycontactid@odata.bind": f"/contacts({OTHER_CONTACT_ID})",
        },
    )
    response = user.post(FORM, data=data)
    body = text(response)
    assert response.status_code == 409
    assert "Dynamics 365 rechazó el caso." in body and 'value="Id ocupado"' in body
    assert "Caso secreto de otra cuenta" not in body
    assert emulator.store.get("incidents", case_id)["title"] == "Caso secreto de otra cuenta"


def test_line_breaks_count_as_one_character_as_the_browser_counts_them(
    user: FlaskClient, emulator: Any
) -> None:
    """A browser allows 2000 characters in the textarea counting a line break as one, then sends each
    as CRLF: the portal must accept what the browser let the user type."""
    lines = ["x" * 199] * 10
    typed = "\r\n".join(lines) + "z"  # 1990 + 9 breaks + 1 = 2000 as counted, 2009 as sent
    assert len(typed.replace("\r\n", "\n")) == 2000 < len(typed)
    response = user.post(FORM, data={**open_form(user), "title": "Saltos de línea", "description": typed})
    assert response.status_code == 302, text(response)
    (stored,) = cases_titled(emulator, "Saltos de línea")
    assert stored["description"] == typed.replace("\r\n", "\n")


@pytest.mark.parametrize("field", ["title", "description"])
def test_control_characters_are_refused_with_a_clear_message_and_the_input_kept(
    user: FlaskClient, emulator: Any, field: str
) -> None:
    data = {**open_form(user), "title": "Título bueno", "description": "Descripción\tbuena\r\nsegunda línea"}
    data[field] = "Con un NUL\x00 y un escape\x1b"
    response, calls = requests_for(emulator, lambda: user.post(FORM, data=data))
    assert calls == 0 and response.status_code == 400
    body = text(response)
    assert "El texto contiene caracteres de control que no se pueden guardar" in body
    assert "Con un NUL" in body and ("Título bueno" in body or "Descripción\tbuena" in body)
    assert not [row for row in emulator.store.query("incidents") if "NUL" in (row.get(field) or "")]


def test_a_case_typed_while_the_session_ended_is_kept_through_signing_in_again(
    client: FlaskClient, emulator: Any
) -> None:
    """Idle timeout while typing a long description: "Enviar" asks to sign in again, and the form
    comes back with everything typed."""
    from tests.web import account_helpers

    account_helpers.sign_in(client)
    data = {
        **open_form(client),
        "title": "Escrito con calma",
        "description": "Línea uno\nLínea dos" * 50,
        "associate_id": str(DEMO_ASSOCIATE_ID),
        "associate_name": DEMO_ASSOCIATE_NAME,
    }
    client.delete_cookie(account_helpers.COOKIE)  # the session ended on the server meanwhile
    refused = client.post(FORM, data=data)
    assert refused.status_code == 400
    assert "Su sesión terminó antes de enviar el caso. Inicie sesión de nuevo" in text(refused)
    assert not cases_titled(emulator, "Escrito con calma")
    signed_in = account_helpers.sign_in(client, next_url=FORM)
    assert signed_in.headers["Location"] == FORM
    page = client.get(FORM)
    body = text(page)
    assert "Recuperamos lo que escribió" in body
    assert 'value="Escrito con calma"' in body and "Línea uno\nLínea dos" in body
    assert f'value="{DEMO_ASSOCIATE_NAME}"' in body
    resent = client.post(
        FORM,
        data={
            **data,
            "csrf_token": hidden(page.get_data(as_text=True), "csrf_token"),
            "case_token": hidden(page.get_data(as_text=True), "case_token"),
        },
    )
    assert resent.status_code == 302
    assert len(cases_titled(emulator, "Escrito con calma")) == 1
    assert "Recuperamos" not in text(client.get(FORM))  # given back once


def test_a_form_from_an_earlier_session_comes_back_as_typed(client: FlaskClient, emulator: Any) -> None:
    from tests.web import account_helpers

    account_helpers.sign_in(client)
    data = {**open_form(client), "title": "De otra pestaña", "description": "Texto largo"}
    client.delete_cookie(account_helpers.COOKIE)  # the session ended; signed in again in another tab:
    account_helpers.sign_in(client)  # a new session with a new CSRF token
    refused = client.post(FORM, data=data)
    body = text(refused)
    assert refused.status_code == 400
    assert "El formulario caducó. Revise los datos y pulse «Enviar» de nuevo." in body
    assert 'value="De otra pestaña"' in body and "Texto largo</textarea>" in body
    fresh = hidden(refused.get_data(as_text=True), "csrf_token")
    again = client.post(FORM, data={**data, "csrf_token": fresh})
    assert again.status_code == 302
    assert len(cases_titled(emulator, "De otra pestaña")) == 1


@pytest.mark.parametrize("headers", [{"Sec-Fetch-Site": "cross-site"}, {"Origin": "https://evil.example"}])
def test_a_forged_cross_site_post_keeps_no_draft_and_writes_no_session(
    client: FlaskClient, emulator: Any, headers: dict[str, str]
) -> None:
    """A page elsewhere posting to the form (no session cookie with SameSite=Lax) gets the plain
    'page expired' error: no new session cookie that would sign the visitor out, no planted draft."""
    response = client.post(FORM, data={"title": "Plantado", "description": "x"}, headers=headers)
    assert response.status_code == 400
    assert "La página caducó" in text(response)
    assert "Set-Cookie" not in response.headers
    assert not cases_titled(emulator, "Plantado")
