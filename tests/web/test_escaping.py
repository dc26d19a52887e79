"""Script written straight into Dataverse (a case's title and description, an account's name, an hour
bank's name, as an agent or an import could) is shown escaped on every page that shows it."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient
from markupsafe import escape

from d365portal.emulator.seed import DEMO_ASSOCIATE_ID, DEMO_CASE_ID, DEMO_ENTITLEMENT_ID
from tests.web.support_helpers import sign_in

PAYLOADS = {
    "title": "<script>alert('t')</script>",
    "description": '<img src=x onerror="alert(1)">',
    "account": "<svg onload=alert(2)>",
    "bank": "\"><script>alert(3)</script>",
}
PAGES = [
    "/es-ES/",
    "/es-ES/support/?which=all&size=50",
    f"/es-ES/support/case/{DEMO_CASE_ID}",
    "/es-ES/support/?q=script",
    "/es-ES/vigencia-soporte/",
    f"/es-ES/vigencia-soporte/{DEMO_ENTITLEMENT_ID}",
    "/es-ES/support/create-case/associates?q=svg",
    "/es-ES/support/create-case/associates/results?q=svg",
]


def test_script_from_dataverse_is_escaped_on_every_page(client: FlaskClient, emulator: Any) -> None:
    emulator.store.update(
        "incidents", str(DEMO_CASE_ID), {"title": PAYLOADS["title"], "description": PAYLOADS["description"]}
    )
    emulator.store.update("accounts", str(DEMO_ASSOCIATE_ID), {"name": PAYLOADS["account"]})
    emulator.store.update("entitlements", str(DEMO_ENTITLEMENT_ID), {"name": PAYLOADS["bank"]})
    sign_in(client)
    shown = set()
    for page in PAGES:
        response = client.get(page)
        assert response.status_code == 200, page
        body = response.get_data(as_text=True)
        for name, payload in PAYLOADS.items():
            assert payload not in body, f"{page} shows {name} unescaped"
            if str(escape(payload)) in body:
                shown.add(name)
        assert "<script>alert" not in body and "onerror=\"alert" not in body and "<svg onload" not in body
    assert shown == set(PAYLOADS)  # every payload really was on some page (escaped)
