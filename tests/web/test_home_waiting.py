"""The home page's "what waits" (issue 14): open cases, those awaiting the customer's reply, the active
hour banks with their hours, in two Dataverse requests made together; the options stay if Dataverse
cannot answer."""

from __future__ import annotations

import re
from typing import Any

from flask.testing import FlaskClient

from d365portal.emulator.seed import (
    DEMO_ACCOUNT_ID,
    DEMO_ACTIVE_ENTITLEMENT_ID,
    DEMO_CASE_ID,
    DEMO_CASE_NUMBER,
)
from tests.web.support_helpers import RIGHTS_CHECK, requests_for, sign_in, text


def _open_in_scope(emulator: Any) -> int:
    accounts = {str(DEMO_ACCOUNT_ID)} | {
        row["accountid"]
        for row in emulator.store.query("accounts")
        if row.get("_parentaccountid_value") == str(DEMO_ACCOUNT_ID)
    }
    return sum(
        1
        for row in emulator.store.query("incidents")
        if row["statecode"] == 0 and row["_customerid_value"] in accounts
    )


def test_home_shows_what_waits_in_two_requests(client: FlaskClient, emulator: Any) -> None:
    sign_in(client)
    response, calls = requests_for(emulator, lambda: client.get("/es-ES/"))
    page = text(response)
    assert response.status_code == 200 and calls == 2 + RIGHTS_CHECK
    assert "Bienvenido(a)" in page and "Abrir un caso nuevo" in page  # the four options stay
    assert f"Casos abiertos: {_open_in_scope(emulator)}" in page
    awaiting = re.search(r'<ul class="awaiting" id="awaiting">(.*?)</ul>', page, re.S)
    assert awaiting and DEMO_CASE_NUMBER in awaiting.group(1)  # the web note is its latest entry
    assert awaiting.group(1).count("<li>") <= 5
    assert f"/es-ES/vigencia-soporte/{DEMO_ACTIVE_ENTITLEMENT_ID}" in page and "horas disponibles" in page
    assert "<meter" in page


def test_a_low_bank_shows_the_detail_pages_warning(client: FlaskClient, emulator: Any) -> None:
    bank = emulator.store.get("entitlements", str(DEMO_ACTIVE_ENTITLEMENT_ID))
    emulator.store.update(
        "entitlements", DEMO_ACTIVE_ENTITLEMENT_ID, {"remainingterms": bank["totalterms"] * 0.1}
    )
    page = text(sign_in(client).get("/en-US/"))
    assert "Less than 20% of this bank's hours remain." in page and "Open cases:" in page


def test_a_reply_takes_the_case_off_the_awaiting_list(client: FlaskClient, emulator: Any) -> None:
    emulator.store.insert(
        "adx_portalcomments",
        {
            "description": "respuesta del cliente",
            "adx_portalcommentdirectioncode": 1,
            "regardingobjectid_incident_adx_portalcomment@odata.bind": f"/incidents({DEMO_CASE_ID})",
            "createdon": "2030-01-01T00:00:00Z",
        },
    )
    page = text(sign_in(client).get("/es-ES/"))
    awaiting = re.search(r'<ul class="awaiting" id="awaiting">(.*?)</ul>', page, re.S)
    assert awaiting is None or DEMO_CASE_NUMBER not in awaiting.group(1)


def test_dataverse_down_keeps_the_options(client: FlaskClient, emulator: Any) -> None:
    sign_in(client)
    emulator.faults.set(unavailable_ratio=1.0)
    response = client.get("/es-ES/")
    emulator.faults.clear()
    page = text(response)
    assert response.status_code == 200 and "Abrir un caso nuevo" in page
    assert "No fue posible consultar sus casos" in page and "Traceback" not in page
