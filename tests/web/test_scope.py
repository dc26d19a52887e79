"""Access: an id outside the user's scope answers exactly like an id that does not exist (404).

One test per route that takes an id: the case page, the hour-bank detail, the associate on submit and
on the lookup's "Seleccionar". The other account's records exist (the seed has them), so a 404 here
means the scope check refused them, not that they are missing.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from flask.testing import FlaskClient

from d365portal.emulator.seed import (
    OTHER_ACCOUNT_ID,
    OTHER_ASSOCIATE_ID,
    OTHER_CASE_ID,
    OTHER_CONTACT_ID,
    OTHER_CONTACT_NAME,
    OTHER_EMAIL,
    OTHER_ENTITLEMENT_ID,
    OTHER_USERNAME,
)
from d365portal.web.auth_context import Principal
from tests.web.support_helpers import hidden, sign_in, text

MISSING = uuid.UUID("00000000-0000-4000-8000-000000000001")


@pytest.fixture()
def user(client: FlaskClient) -> FlaskClient:
    """A client signed in as the manual's user (INOVAIT SAS)."""
    return sign_in(client)


def _form_data(client: FlaskClient, **values: str) -> dict[str, str]:
    body = client.get("/es-ES/support/create-case/").get_data(as_text=True)
    return {
        "csrf_token": hidden(body, "csrf_token"),
        "case_token": hidden(body, "case_token"),
        "title": "Alcance",
        **values,
    }


def test_the_other_accounts_records_exist(emulator: Any) -> None:
    assert emulator.store.get("incidents", OTHER_CASE_ID) is not None
    assert emulator.store.get("entitlements", OTHER_ENTITLEMENT_ID) is not None
    assert emulator.store.get("accounts", OTHER_ASSOCIATE_ID) is not None


@pytest.mark.parametrize(
    "template", ["/es-ES/support/case/{}", "/es-ES/vigencia-soporte/{}", "/en-US/vigencia-soporte/{}"]
)
def test_record_pages_out_of_scope_are_404_like_missing(user: FlaskClient, template: str) -> None:
    record = OTHER_CASE_ID if "support" in template else OTHER_ENTITLEMENT_ID
    outside = user.get(template.format(record))
    missing = user.get(template.format(MISSING))
    assert outside.status_code == missing.status_code == 404

    # The same page word for word, but for the address (the language links repeat it) and the
    # sign-out form's CSRF token (timestamped).
    def page(response: Any, record_id: uuid.UUID) -> str:
        return re.sub(r'name="csrf_token" value="[^"]*"', "", text(response).replace(str(record_id), "ID"))

    assert page(outside, record) == page(missing, MISSING)


def test_associate_on_submit_out_of_scope_is_404_like_missing(user: FlaskClient, emulator: Any) -> None:
    before = len(emulator.store.query("incidents"))
    outside = user.post(
        "/es-ES/support/create-case/",
        data=_form_data(user, associate_id=str(OTHER_ASSOCIATE_ID), intent="send"),
    )
    missing = user.post(
        "/es-ES/support/create-case/", data=_form_data(user, associate_id=str(MISSING), intent="send")
    )
    assert outside.status_code == missing.status_code == 404
    message = "El asociado elegido no es uno de los clientes asociados a su cuenta."
    assert message in text(outside) and message in text(missing)
    assert len(emulator.store.query("incidents")) == before


def test_associate_on_lookup_select_out_of_scope_is_404_like_missing(user: FlaskClient) -> None:
    outside = user.post(
        "/es-ES/support/create-case/",
        data=_form_data(user, associate=str(OTHER_ASSOCIATE_ID), intent="select"),
    )
    missing = user.post(
        "/es-ES/support/create-case/", data=_form_data(user, associate=str(MISSING), intent="select")
    )
    assert outside.status_code == missing.status_code == 404
    assert "Distribuidora Cóndor" not in text(outside)


def test_the_other_user_sees_its_own_records_and_not_ours(client: FlaskClient) -> None:
    other = Principal(
        contact_id=OTHER_CONTACT_ID,
        account_id=OTHER_ACCOUNT_ID,
        account_name="Andes Logística S.A.S.",
        full_name=OTHER_CONTACT_NAME,
        username=OTHER_USERNAME,
        email=OTHER_EMAIL,
    )
    sign_in(client, other)
    assert client.get(f"/es-ES/support/case/{OTHER_CASE_ID}").status_code == 200
    assert client.get(f"/es-ES/vigencia-soporte/{OTHER_ENTITLEMENT_ID}").status_code == 200
    cases = text(client.get("/es-ES/support/", query_string={"which": "all", "size": 50}))
    assert "CAS-03001-ANDES1" in cases and "CAS-01202-B2K8P0" not in cases
    lookup = text(client.get("/es-ES/support/create-case/associates"))
    assert "Distribuidora Cóndor" in lookup and "Nombre ASociado" not in lookup
