"""Company roles (issue 15): what each level sees, on every route, and rights that follow Dynamics.

Users sign in through the real form (the level comes with the sign-in's own read of the web roles);
role changes in Dynamics are made through the emulator's Web API (`$ref` associate / disassociate),
as an agent or a flow would.
"""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

import pytest
import requests
from flask.testing import FlaskClient

from d365portal.emulator.seed import (
    DEMO_ACCOUNT_ID,
    DEMO_ACTIVE_ENTITLEMENT_ID,
    DEMO_CASE_ID,
    DEMO_COMPANY_LEVEL_ID,
    DEMO_COMPANY_LEVEL_USERNAME,
    DEMO_CONTACT_ID,
    DEMO_CONTACT_LEVEL_CASE_ID,
    DEMO_CONTACT_LEVEL_CASE_NUMBER,
    DEMO_CONTACT_LEVEL_ID,
    DEMO_CONTACT_LEVEL_USERNAME,
    DEMO_PASSWORD,
    DEMO_USERNAME,
    DEMO_WEB_NOTE_ID,
    OTHER_CONTACT_ID,
    OTHER_USERNAME,
    WEB_ROLE_COMPANY,
    WEB_ROLE_COMPANY_ADMIN,
    WEB_ROLE_CONTACT,
    WEB_ROLE_IDS,
)
from tests.conftest import TEST_TOKEN
from tests.web.support_helpers import hidden, rows_of, text

API = "/api/data/v9.2"
HEADERS = {"Authorization": f"Bearer {TEST_TOKEN}", "Content-Type": "application/json"}
LEVEL_USERS = {
    "contact": DEMO_CONTACT_LEVEL_USERNAME,
    "company": DEMO_COMPANY_LEVEL_USERNAME,
    "admin": DEMO_USERNAME,
}


def sign_in_as(client: FlaskClient, username: str, password: str = DEMO_PASSWORD) -> FlaskClient:
    """The manual's "Ingresar al Portal" through the real form."""
    page = client.get("/es-ES/Account/Login/Login").get_data(as_text=True)
    answer = client.post(
        "/es-ES/Account/Login/Login",
        data={"csrf_token": hidden(page, "csrf_token"), "username": username, "password": password},
    )
    assert answer.status_code == 302, text(answer)
    return client


def link_role(emulator: Any, contact_id: UUID, role: str, *, on: bool) -> None:
    """Add or remove a web role in Dynamics, through the Web API."""
    role_url = f"{emulator.url}{API}/adx_webroles({WEB_ROLE_IDS[role]})/adx_webrole_contact"
    if on:
        body = {"@odata.id": f"{emulator.url}{API}/contacts({contact_id})"}
        answer = requests.post(f"{role_url}/$ref", json=body, headers=HEADERS, timeout=5)
    else:
        answer = requests.delete(f"{role_url}({contact_id})/$ref", headers=HEADERS, timeout=5)
    assert answer.status_code == 204, answer.text


def case_numbers(body: str) -> list[str]:
    return [row[0] for row in rows_of(body)]


# --- what each level sees ------------------------------------------------------------------------
def test_a_contacto_user_sees_only_their_own_cases_and_no_hour_banks(client: FlaskClient) -> None:
    sign_in_as(client, DEMO_CONTACT_LEVEL_USERNAME)
    listing = text(client.get("/es-ES/support/?which=all"))
    assert sorted(case_numbers(listing)) == ["CAS-02388-DPARR2", DEMO_CONTACT_LEVEL_CASE_NUMBER]
    assert 'id="case-whose"' not in listing and '<th scope="col">Contacto</th>' not in listing
    assert client.get(f"/es-ES/support/case/{DEMO_CONTACT_LEVEL_CASE_ID}").status_code == 200
    assert client.get(f"/es-ES/support/case/{DEMO_CASE_ID}").status_code == 404  # a colleague's, by id
    assert client.get("/es-ES/vigencia-soporte/").status_code == 404
    assert client.get(f"/es-ES/vigencia-soporte/{DEMO_ACTIVE_ENTITLEMENT_ID}").status_code == 404
    home = text(client.get("/es-ES/"))
    assert "Vigencia de Soporte" not in home and "Usuarios de la empresa" not in home
    assert "Casos abiertos: 1" in home  # her one open case, not the company's


def test_company_users_choose_between_the_company_and_their_own_cases(client: FlaskClient) -> None:
    sign_in_as(client, DEMO_USERNAME)
    company = text(client.get("/es-ES/support/?which=all&size=50"))
    assert 'id="case-whose"' in company and "Casos de la empresa" in company and "Mis casos" in company
    assert DEMO_CONTACT_LEVEL_CASE_NUMBER in company  # Diana's case: the company's
    assert "Diana Parra Ruiz" in company  # the Contacto column
    mine = text(client.get("/es-ES/support/?which=all&size=50&whose=mine"))
    rows = rows_of(mine)
    assert rows and all(row[3] == "Lorena Melo Hernandez" for row in rows)
    assert DEMO_CONTACT_LEVEL_CASE_NUMBER not in mine


# Every route that takes an id or shows company data, and what each level gets.
ROUTES = [
    ("own case", "/es-ES/support/case/{own}", {"contact": 200, "company": 200, "admin": 200}),
    ("colleague's case", f"/es-ES/support/case/{DEMO_CASE_ID}",
     {"contact": 404, "company": 200, "admin": 200}),
    ("colleague's file", f"/es-ES/support/case/{DEMO_CASE_ID}/files/{DEMO_WEB_NOTE_ID}",
     {"contact": 404, "company": 200, "admin": 200}),
    ("close a colleague's case", f"/es-ES/support/case/{DEMO_CASE_ID}/close",
     {"contact": 404, "company": 200, "admin": 200}),
    ("hour banks", "/es-ES/vigencia-soporte/", {"contact": 404, "company": 200, "admin": 200}),
    ("an hour bank", f"/es-ES/vigencia-soporte/{DEMO_ACTIVE_ENTITLEMENT_ID}",
     {"contact": 404, "company": 200, "admin": 200}),
    ("company users", "/es-ES/company/users", {"contact": 404, "company": 404, "admin": 200}),
    ("invite", "/es-ES/company/users/invite", {"contact": 404, "company": 404, "admin": 200}),
    ("change a level", f"/es-ES/company/users/{DEMO_CONTACT_LEVEL_ID}/level",
     {"contact": 404, "company": 404, "admin": 200}),
    ("disable", f"/es-ES/company/users/{DEMO_COMPANY_LEVEL_ID}/disable",
     {"contact": 404, "company": 404, "admin": 200}),
    ("reset a colleague's second factor", f"/es-ES/company/users/{DEMO_COMPANY_LEVEL_ID}/reset2fa",
     {"contact": 404, "company": 404, "admin": 200}),
    ("another company's contact", f"/es-ES/company/users/{OTHER_CONTACT_ID}/reset2fa",
     {"contact": 404, "company": 404, "admin": 404}),
    ("one's own two-step verification", "/es-ES/profile/security/",
     {"contact": 200, "company": 200, "admin": 200}),
]  # fmt: skip
OWN_CASE = {"contact": DEMO_CONTACT_LEVEL_CASE_ID, "company": None, "admin": DEMO_CASE_ID}


@pytest.mark.parametrize("level", ["contact", "company", "admin"])
def test_every_route_answers_by_level(client: FlaskClient, emulator: Any, level: str) -> None:
    sign_in_as(client, LEVEL_USERS[level])
    for name, url, expected in ROUTES:
        own = OWN_CASE[level]
        if "{own}" in url:
            if own is None:
                continue
            url = url.format(own=own)
        answer = client.get(url)
        assert answer.status_code == expected[level], (name, level, answer.status_code)


def test_the_case_list_never_shows_a_colleagues_case_at_contacto_level_even_searched(
    client: FlaskClient,
) -> None:
    sign_in_as(client, DEMO_CONTACT_LEVEL_USERNAME)
    found = text(client.get("/es-ES/support/?which=all&q=CAS-01202&whose=company"))  # asks for more
    assert case_numbers(found) == []


# --- rights follow Dynamics ---------------------------------------------------------------------------
def test_a_role_removed_in_dynamics_takes_effect_at_the_next_page_view(
    client: FlaskClient, emulator: Any
) -> None:
    sign_in_as(client, DEMO_COMPANY_LEVEL_USERNAME)
    assert client.get(f"/es-ES/support/case/{DEMO_CASE_ID}").status_code == 200  # Empresa: a colleague's
    link_role(emulator, DEMO_COMPANY_LEVEL_ID, WEB_ROLE_COMPANY, on=False)
    link_role(emulator, DEMO_COMPANY_LEVEL_ID, WEB_ROLE_CONTACT, on=True)
    assert client.get(f"/es-ES/support/case/{DEMO_CASE_ID}").status_code == 404  # the very next view
    listing = text(client.get("/es-ES/support/?which=all"))
    assert 'id="case-whose"' not in listing
    own = {row["ticketnumber"] for row in emulator.store.query("incidents")
           if row.get("_primarycontactid_value") == str(DEMO_COMPANY_LEVEL_ID)}  # fmt: skip
    assert set(case_numbers(listing)) == own  # only his own now


def test_an_admin_role_removed_in_dynamics_closes_the_company_page_at_once(
    client: FlaskClient, emulator: Any
) -> None:
    sign_in_as(client, DEMO_USERNAME)
    assert client.get("/es-ES/company/users").status_code == 200
    link_role(emulator, DEMO_CONTACT_ID, WEB_ROLE_COMPANY_ADMIN, on=False)
    assert client.get("/es-ES/company/users").status_code == 404
    assert "Usuarios de la empresa" not in text(client.get("/es-ES/"))  # the session learnt it


def test_a_sign_in_disabled_in_dynamics_ends_the_session_at_the_next_page_view(
    client: FlaskClient, emulator: Any
) -> None:
    sign_in_as(client, DEMO_COMPANY_LEVEL_USERNAME)
    answer = requests.patch(
        f"{emulator.url}{API}/contacts({DEMO_COMPANY_LEVEL_ID})",
        json={"adx_identity_logonenabled": False}, headers={**HEADERS, "If-Match": "*"}, timeout=5,
    )  # fmt: skip
    assert answer.status_code == 204
    ended = client.get("/es-ES/support/")
    assert ended.status_code == 302 and "/Account/Login/Login?ended=1" in ended.headers["Location"]
    assert "Su sesión terminó" in text(client.get(ended.headers["Location"]))
    assert client.get("/es-ES/support/").status_code == 302  # still signed out


def test_a_promotion_in_dynamics_shows_at_the_next_page_view(client: FlaskClient, emulator: Any) -> None:
    sign_in_as(client, DEMO_CONTACT_LEVEL_USERNAME)
    assert client.get(f"/es-ES/support/case/{DEMO_CASE_ID}").status_code == 404
    link_role(emulator, DEMO_CONTACT_LEVEL_ID, WEB_ROLE_CONTACT, on=False)
    link_role(emulator, DEMO_CONTACT_LEVEL_ID, WEB_ROLE_COMPANY, on=True)
    assert client.get(f"/es-ES/support/case/{DEMO_CASE_ID}").status_code == 200


# --- the company admin ----------------------------------------------------------------------------
def _confirm(client: FlaskClient, contact_id: UUID, action: str, **data: str) -> Any:
    url = f"/es-ES/company/users/{contact_id}/{action}"
    page = client.get(url)
    assert page.status_code == 200, (action, page.status_code)
    token = hidden(page.get_data(as_text=True), "csrf_token")
    return client.post(url, data={"csrf_token": token, **data})


def notes_on(emulator: Any, contact_id: UUID) -> list[str]:
    return [
        str(row.get("notetext"))
        for row in emulator.store.query("annotations")
        if row.get("_objectid_value") == str(contact_id)
    ]


def roles_of(emulator: Any, contact_id: UUID) -> set[str]:
    names = {str(v): k for k, v in WEB_ROLE_IDS.items()}
    return {
        names[str(row["adx_webroleid"])]
        for row in emulator.store.query("adx_webrole_contactset")
        if row["contactid"] == str(contact_id)
    }


def test_the_company_page_lists_the_accounts_people_in_one_request(
    client: FlaskClient, emulator: Any
) -> None:
    sign_in_as(client, DEMO_USERNAME)
    emulator.stats.reset()
    page = text(client.get("/es-ES/company/users"))
    assert emulator.stats.snapshot()["total"] == 1  # the list proves the visitor is its admin too
    for expected in ("Usuarios de la empresa", "Diana Parra Ruiz", "dparra@inovait.co", "Contacto",
                     "Julián Rojas Vega", "Empresa", "Administrador de la empresa", "Andrés Gómez",
                     "Sin acceso", "Invitado", "Invitar a un colega"):  # fmt: skip
        assert expected in page, expected
    assert "Carlos" not in page  # another account's


def test_the_admin_changes_a_level_in_dataverse_with_an_audit_note(
    client: FlaskClient, emulator: Any
) -> None:
    sign_in_as(client, DEMO_USERNAME)
    done = _confirm(client, DEMO_CONTACT_LEVEL_ID, "level", level="company")
    assert done.status_code == 303
    assert roles_of(emulator, DEMO_CONTACT_LEVEL_ID) >= {WEB_ROLE_COMPANY}
    assert WEB_ROLE_CONTACT not in roles_of(emulator, DEMO_CONTACT_LEVEL_ID)
    assert "Diana Parra Ruiz tiene ahora el nivel Empresa." in text(client.get(done.headers["Location"]))
    (note,) = notes_on(emulator, DEMO_CONTACT_LEVEL_ID)
    assert re.fullmatch(
        r"Nivel en el portal cambiado a Empresa por Lorena Melo Hernandez el \d\d/\d\d/\d{4} \d\d:\d\d", note
    )


def test_disabling_ends_the_colleagues_open_session_and_enabling_lets_them_back(
    app: Any, client: FlaskClient, emulator: Any
) -> None:
    colleague = sign_in_as(app.test_client(), DEMO_COMPANY_LEVEL_USERNAME)
    assert colleague.get("/es-ES/support/").status_code == 200
    sign_in_as(client, DEMO_USERNAME)
    assert _confirm(client, DEMO_COMPANY_LEVEL_ID, "disable").status_code == 303
    assert emulator.store.get("contacts", str(DEMO_COMPANY_LEVEL_ID))["adx_identity_logonenabled"] is False
    assert colleague.get("/es-ES/support/").status_code == 302  # its next request: signed out
    login = colleague.get("/es-ES/Account/Login/Login").get_data(as_text=True)
    refused = colleague.post("/es-ES/Account/Login/Login", data={
        "csrf_token": hidden(login, "csrf_token"),
        "username": DEMO_COMPANY_LEVEL_USERNAME, "password": DEMO_PASSWORD,
    })  # fmt: skip
    assert refused.status_code == 200 and "incorrectos" in text(refused)
    assert "Deshabilitado" in text(client.get("/es-ES/company/users"))
    assert _confirm(client, DEMO_COMPANY_LEVEL_ID, "enable").status_code == 303
    sign_in_as(colleague, DEMO_COMPANY_LEVEL_USERNAME)
    notes = notes_on(emulator, DEMO_COMPANY_LEVEL_ID)
    assert any(n.startswith("Acceso al portal deshabilitado por Lorena Melo Hernandez el ") for n in notes)
    assert any(n.startswith("Acceso al portal habilitado por Lorena Melo Hernandez el ") for n in notes)


def test_an_admin_cannot_demote_themselves_nor_the_last_admin(client: FlaskClient, emulator: Any) -> None:
    sign_in_as(client, DEMO_USERNAME)
    refused = _confirm(client, DEMO_CONTACT_ID, "level", level="company")
    assert refused.status_code == 409
    assert "último administrador de la empresa" in text(refused)
    assert WEB_ROLE_COMPANY_ADMIN in roles_of(emulator, DEMO_CONTACT_ID)
    assert _confirm(client, DEMO_COMPANY_LEVEL_ID, "level", level="admin").status_code == 303
    refused = _confirm(client, DEMO_CONTACT_ID, "level", level="contact")
    assert refused.status_code == 409 and "No puede quitarse a sí mismo el nivel de administrador" in text(
        refused
    )
    assert _confirm(client, DEMO_CONTACT_ID, "disable").status_code == 409
    assert WEB_ROLE_COMPANY_ADMIN in roles_of(emulator, DEMO_CONTACT_ID)
    assert notes_on(emulator, DEMO_CONTACT_ID) == []


def test_an_admin_of_another_account_cannot_touch_our_people(client: FlaskClient, emulator: Any) -> None:
    sign_in_as(client, OTHER_USERNAME)
    assert client.get("/es-ES/company/users").status_code == 200  # Carlos administers Andes
    before = emulator.store.get("contacts", str(DEMO_CONTACT_LEVEL_ID))
    for action in ("level", "disable", "enable", "unlock", "reset2fa"):
        url = f"/es-ES/company/users/{DEMO_CONTACT_LEVEL_ID}/{action}"
        assert client.get(url).status_code == 404
        token = hidden(client.get("/es-ES/company/users/invite").get_data(as_text=True), "csrf_token")
        assert client.post(url, data={"csrf_token": token, "level": "admin"}).status_code == 404
    assert roles_of(emulator, DEMO_CONTACT_LEVEL_ID) >= {WEB_ROLE_CONTACT}
    assert notes_on(emulator, DEMO_CONTACT_LEVEL_ID) == []
    assert emulator.store.get("contacts", str(OTHER_CONTACT_ID)) is not None
    assert emulator.store.get("contacts", str(DEMO_CONTACT_LEVEL_ID)) == before  # no second factor reset


def test_inviting_a_new_colleague_creates_the_contact_under_the_account_and_mails_the_link(
    app: Any, client: FlaskClient, emulator: Any
) -> None:
    from pathlib import Path

    sign_in_as(client, DEMO_USERNAME)
    form = client.get("/es-ES/company/users/invite").get_data(as_text=True)
    data = {"csrf_token": hidden(form, "csrf_token"), "new_id": hidden(form, "new_id"), "who": "new",
            "first_name": "Marta", "last_name": "Suárez Díaz", "email": "msuarez@inovait.co",
            "username": "", "level": "company"}  # fmt: skip
    done = client.post("/es-ES/company/users/invite", data=data)
    assert done.status_code == 303, text(done)
    again = client.post("/es-ES/company/users/invite", data=data)  # a double post: still one contact
    assert again.status_code in (303, 400)
    created = [
        row for row in emulator.store.query("contacts") if row.get("emailaddress1") == "msuarez@inovait.co"
    ]
    assert len(created) == 1
    row = created[0]
    assert (
        row["_parentcustomerid_value"] == str(DEMO_ACCOUNT_ID) and row["adx_identity_username"] == "msuarez"
    )
    assert row["adx_identity_logonenabled"] is True
    assert roles_of(emulator, UUID(row["contactid"])) == {WEB_ROLE_COMPANY}
    assert any(n.startswith("Acceso al portal concedido por Lorena Melo Hernandez") and "Empresa" in n
               for n in notes_on(emulator, UUID(row["contactid"])))  # fmt: skip
    outbox = Path(app.config["SETTINGS"].mail_outbox)
    mails = sorted(outbox.glob("*.eml"))
    assert mails and "msuarez@inovait.co" in mails[-1].read_text(errors="replace")


def test_an_invitation_form_that_fails_keeps_what_was_typed(client: FlaskClient) -> None:
    sign_in_as(client, DEMO_USERNAME)
    form = client.get("/es-ES/company/users/invite").get_data(as_text=True)
    data = {"csrf_token": hidden(form, "csrf_token"), "new_id": hidden(form, "new_id"), "who": "new",
            "first_name": "Pedro", "last_name": "", "email": "lmelo@inovait.co", "username": "p edro",
            "level": "contact"}  # fmt: skip
    refused = client.post("/es-ES/company/users/invite", data=data)
    body = text(refused)
    assert refused.status_code == 400
    assert 'value="Pedro"' in body and 'value="lmelo@inovait.co"' in body and 'value="p edro"' in body
    assert "Este campo es obligatorio" in body or "obligatorio" in body


def test_a_company_user_follows_a_colleagues_case_and_stops(app: Any, client: FlaskClient) -> None:
    from d365portal.identity import identity
    from d365portal.notify.deliver import followers

    sign_in_as(client, DEMO_COMPANY_LEVEL_USERNAME)
    page = client.get(f"/es-ES/support/case/{DEMO_CASE_ID}").get_data(as_text=True)
    assert "Seguir este caso" in page
    data = {"csrf_token": hidden(page, "csrf_token"), "form_token": hidden(page, "form_token"), "follow": "1"}
    # The case page has two form tokens (comment, follow): take the follow form's own.
    token = re.search(r'id="follow-form".*?name="form_token" value="([^"]+)"', page, re.S)
    assert token is not None
    data["form_token"] = token.group(1)
    done = client.post(f"/es-ES/support/case/{DEMO_CASE_ID}/follow", data=data)
    assert done.status_code == 303
    assert str(DEMO_COMPANY_LEVEL_ID) in followers(identity(app).store, str(DEMO_CASE_ID))
    page = text(client.get(done.headers["Location"]))
    assert "Ahora sigue este caso" in page and "Dejar de seguir este caso" in page
    forged = dict(data, form_token="x", follow="0")
    assert client.post(f"/es-ES/support/case/{DEMO_CASE_ID}/follow", data=forged).status_code == 404
    stop = client.post(f"/es-ES/support/case/{DEMO_CASE_ID}/follow", data=dict(data, follow="0"))
    assert stop.status_code == 303
    assert str(DEMO_COMPANY_LEVEL_ID) not in followers(identity(app).store, str(DEMO_CASE_ID))
    # The case's own contact needs no button.
    own = sign_in_as(app.test_client(), DEMO_USERNAME)
    assert "Seguir este caso" not in text(own.get(f"/es-ES/support/case/{DEMO_CASE_ID}"))


def test_a_form_drawn_with_company_rights_cannot_be_posted_after_a_demotion(
    client: FlaskClient, emulator: Any
) -> None:
    """The comment form on a colleague's case carries a token signed with company rights; demoted in
    Dynamics meanwhile, its post writes nothing (the rights are re-read before a POST)."""
    sign_in_as(client, DEMO_COMPANY_LEVEL_USERNAME)
    page = client.get(f"/es-ES/support/case/{DEMO_CASE_ID}").get_data(as_text=True)
    comment_form = re.search(r'id="comment-form".*?</form>', page, re.S)
    assert comment_form is not None
    token = re.search(r'name="form_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="form_token"',
                      comment_form.group(0))  # fmt: skip
    assert token is not None
    link_role(emulator, DEMO_COMPANY_LEVEL_ID, WEB_ROLE_COMPANY, on=False)
    link_role(emulator, DEMO_COMPANY_LEVEL_ID, WEB_ROLE_CONTACT, on=True)
    before = len(emulator.store.query("adx_portalcomments"))
    posted = client.post(f"/es-ES/support/case/{DEMO_CASE_ID}/comment", data={
        "csrf_token": hidden(page, "csrf_token"), "form_token": token.group(1) or token.group(2),
        "comment": "Sigo aquí",
    })  # fmt: skip
    assert posted.status_code in (400, 404)
    assert len(emulator.store.query("adx_portalcomments")) == before
    close = client.get(f"/es-ES/support/case/{DEMO_CASE_ID}/close")
    assert close.status_code == 404


def test_inviting_an_existing_contact_and_unlocking_a_locked_colleague(
    app: Any, client: FlaskClient, emulator: Any
) -> None:
    from datetime import UTC, datetime, timedelta
    from pathlib import Path

    from d365portal.emulator.seed import DEMO_SECOND_CONTACT_ID

    sign_in_as(client, DEMO_USERNAME)
    form = client.get("/es-ES/company/users/invite").get_data(as_text=True)
    assert "Andrés Gómez &lt;agomez@inovait.co&gt;" in form  # a contact of the account without access
    done = client.post("/es-ES/company/users/invite", data={
        "csrf_token": hidden(form, "csrf_token"), "new_id": hidden(form, "new_id"), "who": "existing",
        "contact_id": str(DEMO_SECOND_CONTACT_ID), "username": "", "level": "contact",
    })  # fmt: skip
    assert done.status_code == 303, text(done)
    andres = emulator.store.get("contacts", str(DEMO_SECOND_CONTACT_ID))
    assert andres["adx_identity_username"] == "agomez" and andres["adx_identity_logonenabled"] is True
    assert roles_of(emulator, DEMO_SECOND_CONTACT_ID) == {WEB_ROLE_CONTACT}
    mails = sorted(Path(app.config["SETTINGS"].mail_outbox).glob("*.eml"))
    assert mails and "agomez@inovait.co" in mails[-1].read_text(errors="replace")
    # Locked out (too many wrong passwords, as Dynamics records it): "Bloqueado", then unlocked.
    until = (datetime.now(UTC) + timedelta(minutes=20)).strftime("%Y-%m-%dT%H:%M:%SZ")
    answer = requests.patch(
        f"{emulator.url}{API}/contacts({DEMO_COMPANY_LEVEL_ID})",
        json={"adx_identity_lockoutenddate": until, "adx_identity_accessfailedcount": 5},
        headers={**HEADERS, "If-Match": "*"}, timeout=5,
    )  # fmt: skip
    assert answer.status_code == 204
    assert "Bloqueado" in text(client.get("/es-ES/company/users"))
    assert _confirm(client, DEMO_COMPANY_LEVEL_ID, "unlock").status_code == 303
    jrojas = emulator.store.get("contacts", str(DEMO_COMPANY_LEVEL_ID))
    assert jrojas["adx_identity_lockoutenddate"] is None and jrojas["adx_identity_accessfailedcount"] == 0
    assert any(
        n.startswith("Acceso al portal desbloqueado por Lorena")
        for n in notes_on(emulator, DEMO_COMPANY_LEVEL_ID)
    )
    sign_in_as(app.test_client(), DEMO_COMPANY_LEVEL_USERNAME)  # can sign in again


def test_a_recheck_interval_trades_the_rights_read_for_a_delay(tmp_path: Any, emulator: Any) -> None:
    """`rights_recheck_seconds`: the sign-in's own read counts as the check; within the interval a page
    makes its one request alone, once it has passed the rights are read again beside it."""
    from d365portal import create_app
    from tests.conftest import make_settings

    app = create_app(make_settings(tmp_path, emulator.url, rights_recheck_seconds=60))
    app.testing = True
    client = sign_in_as(app.test_client(), DEMO_COMPANY_LEVEL_USERNAME)
    emulator.stats.reset()
    assert client.get("/es-ES/support/").status_code == 200
    assert emulator.stats.snapshot()["total"] == 1  # checked at sign-in, a moment ago
    with client.session_transaction() as session:
        session["principal"] = {**session["principal"], "rights_checked_at": 0.0}  # the interval passed
    emulator.stats.reset()
    assert client.get("/es-ES/support/").status_code == 200
    assert emulator.stats.snapshot()["total"] == 2
    emulator.stats.reset()
    assert client.get("/es-ES/support/").status_code == 200
    assert emulator.stats.snapshot()["total"] == 1  # the new check was remembered
