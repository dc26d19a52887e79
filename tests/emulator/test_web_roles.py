"""Power Pages' web roles as Dataverse documents them (issue 15), in-process and standalone:
`adx_webroles`, the N:N `adx_webrole_contact` read by `$expand` from both sides and as a related
collection, written with `$ref` (associate / disassociate), with Dataverse's errors; the intersect
entity is read-only; notes on a contact (the admin's audit trail)."""

from __future__ import annotations

import uuid

from d365portal.emulator.seed import (
    DEMO_CONTACT_ID,
    DEMO_CONTACT_LEVEL_ID,
    DEMO_SECOND_CONTACT_ID,
    WEB_ROLE_AUTHENTICATED,
    WEB_ROLE_COMPANY,
    WEB_ROLE_COMPANY_ADMIN,
    WEB_ROLE_CONTACT,
    WEB_ROLE_IDS,
)
from tests.emulator.conftest import Api

ROLES = "adx_webrole_contact"


def role_ref(role: str) -> str:
    return f"adx_webroles({WEB_ROLE_IDS[role]})/{ROLES}"


def roles_of(api: Api, contact_id: uuid.UUID) -> set[str]:
    answer = api.get(
        f"contacts({contact_id})", {"$select": "fullname", "$expand": f"{ROLES}($select=adx_name)"}
    )
    assert answer.status_code == 200, answer.text
    return {row["adx_name"] for row in answer.json()[ROLES]}


def contact_uri(api: Api, contact_id: uuid.UUID) -> str:
    return f"{api.url}/api/data/v9.2/contacts({contact_id})"


def test_the_seeded_roles_and_who_holds_them(api: Api) -> None:
    answer = api.get("adx_webroles", {"$select": "adx_name,statecode", "$orderby": "adx_name asc"})
    assert answer.status_code == 200
    names = [row["adx_name"] for row in answer.json()["value"]]
    assert names == sorted(
        [WEB_ROLE_COMPANY_ADMIN, WEB_ROLE_AUTHENTICATED, WEB_ROLE_CONTACT, WEB_ROLE_COMPANY]
    )
    assert roles_of(api, DEMO_CONTACT_ID) == {WEB_ROLE_COMPANY_ADMIN, WEB_ROLE_AUTHENTICATED}
    assert roles_of(api, DEMO_CONTACT_LEVEL_ID) == {WEB_ROLE_CONTACT, WEB_ROLE_AUTHENTICATED}
    assert roles_of(api, DEMO_SECOND_CONTACT_ID) == set()
    # The other side, and the related collection the nextLink names.
    holders = api.get(f"adx_webroles({WEB_ROLE_IDS[WEB_ROLE_CONTACT]})",
                      {"$select": "adx_name", "$expand": f"{ROLES}($select=fullname)"})  # fmt: skip
    assert [row["fullname"] for row in holders.json()[ROLES]] == ["Diana Parra Ruiz"]
    related = api.get(f"contacts({DEMO_CONTACT_ID})/{ROLES}", {"$select": "adx_name"})
    assert related.status_code == 200
    assert {row["adx_name"] for row in related.json()["value"]} == {
        WEB_ROLE_COMPANY_ADMIN,
        WEB_ROLE_AUTHENTICATED,
    }


def test_associate_and_disassociate_with_ref(api: Api) -> None:
    added = api.send(
        "POST", f"{role_ref(WEB_ROLE_COMPANY)}/$ref", {"@odata.id": contact_uri(api, DEMO_SECOND_CONTACT_ID)}
    )
    assert added.status_code == 204, added.text
    assert roles_of(api, DEMO_SECOND_CONTACT_ID) == {WEB_ROLE_COMPANY}
    # From the contact's side, with a relative URI.
    added = api.send("POST", f"contacts({DEMO_SECOND_CONTACT_ID})/{ROLES}/$ref",
                     {"@odata.id": f"adx_webroles({WEB_ROLE_IDS[WEB_ROLE_CONTACT]})"})  # fmt: skip
    assert added.status_code == 204, added.text
    assert roles_of(api, DEMO_SECOND_CONTACT_ID) == {WEB_ROLE_COMPANY, WEB_ROLE_CONTACT}
    removed = api.send("DELETE", f"{role_ref(WEB_ROLE_COMPANY)}({DEMO_SECOND_CONTACT_ID})/$ref")
    assert removed.status_code == 204
    removed = api.send("DELETE", f"contacts({DEMO_SECOND_CONTACT_ID})/{ROLES}/$ref?$id="
                       f"{api.url}/api/data/v9.2/adx_webroles({WEB_ROLE_IDS[WEB_ROLE_CONTACT]})")  # fmt: skip
    assert removed.status_code == 204
    assert roles_of(api, DEMO_SECOND_CONTACT_ID) == set()
    # Not linked any more: removing again is already done.
    assert (
        api.send("DELETE", f"{role_ref(WEB_ROLE_COMPANY)}({DEMO_SECOND_CONTACT_ID})/$ref").status_code == 204
    )


def test_dataverses_errors_for_a_duplicate_association_and_missing_rows(api: Api) -> None:
    duplicate = api.send(
        "POST", f"{role_ref(WEB_ROLE_CONTACT)}/$ref", {"@odata.id": contact_uri(api, DEMO_CONTACT_LEVEL_ID)}
    )
    assert duplicate.status_code == 400
    assert duplicate.json()["error"] == {"code": "0x80040237", "message": "Cannot insert duplicate key."}
    missing = uuid.uuid4()
    no_contact = api.send(
        "POST", f"{role_ref(WEB_ROLE_CONTACT)}/$ref", {"@odata.id": contact_uri(api, missing)}
    )
    assert no_contact.status_code == 404 and no_contact.json()["error"]["code"] == "0x80040217"
    no_role = api.send(
        "POST", f"adx_webroles({missing})/{ROLES}/$ref", {"@odata.id": contact_uri(api, DEMO_CONTACT_ID)}
    )
    assert no_role.status_code == 404 and no_role.json()["error"]["code"] == "0x80040217"
    wrong_table = api.send(
        "POST", f"{role_ref(WEB_ROLE_CONTACT)}/$ref", {"@odata.id": f"accounts({DEMO_CONTACT_ID})"}
    )
    assert wrong_table.status_code == 400
    no_body = api.send("POST", f"{role_ref(WEB_ROLE_CONTACT)}/$ref", {})
    assert no_body.status_code == 400
    unknown = api.send("POST", f"adx_webroles({WEB_ROLE_IDS[WEB_ROLE_CONTACT]})/adx_nothing/$ref",
                       {"@odata.id": contact_uri(api, DEMO_CONTACT_ID)})  # fmt: skip
    assert unknown.status_code == 400 and unknown.json()["error"]["code"] == "0x80060888"
    one_to_many = api.send(
        "POST", f"contacts({DEMO_CONTACT_ID})/Contact_Annotation/$ref", {"@odata.id": "annotations(x)"}
    )
    assert one_to_many.status_code == 501  # Dataverse has it; the emulator says so instead of pretending


def test_the_intersect_entity_is_read_only(api: Api) -> None:
    read = api.get(
        "adx_webrole_contactset",
        {"$select": "adx_webroleid,contactid", "$filter": f"contactid eq {DEMO_CONTACT_ID}"},
    )
    assert read.status_code == 200 and len(read.json()["value"]) == 2
    link = {"adx_webroleid": str(WEB_ROLE_IDS[WEB_ROLE_CONTACT]), "contactid": str(DEMO_CONTACT_ID)}
    written = api.send("POST", "adx_webrole_contactset", link)
    assert written.status_code == 405


def test_a_note_on_a_contact_is_on_its_timeline(api: Api) -> None:
    created = api.send("POST", "annotations", {
        "subject": "Portal de soporte",
        "notetext": "Acceso al portal deshabilitado por Lorena el 02/12/2026 10:00",
        "objectid_contact@odata.bind": f"/contacts({DEMO_CONTACT_LEVEL_ID})",
    })  # fmt: skip
    assert created.status_code == 204, created.text
    notes = api.get(
        f"contacts({DEMO_CONTACT_LEVEL_ID})",
        {"$select": "fullname", "$expand": "Contact_Annotation($select=notetext)"},
    )
    assert [n["notetext"] for n in notes.json()["Contact_Annotation"]] == [
        "Acceso al portal deshabilitado por Lorena el 02/12/2026 10:00"
    ]
