"""Power Pages' external logins as Dataverse documents them (issue 17), in-process and standalone:
`adx_externalidentities` linked to a contact, found by provider and key (with the contact expanded),
listed from the contact, with Dataverse's refusals; and the contact's second-factor columns."""

from __future__ import annotations

import uuid

from d365portal.emulator.seed import DEMO_CONTACT_ID
from tests.emulator.conftest import Api

ISSUER = "https://login.microsoftonline.com/0b1d2c3e-4f50-4a6b-8c7d-9e0f1a2b3c4d/v2.0"


def test_an_identity_linked_to_a_contact_is_found_by_provider_and_key(api: Api) -> None:
    subject = "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ"
    created = api.send("POST", "adx_externalidentities", {
        "adx_username": subject, "adx_identityprovidername": ISSUER,
        "adx_contactid@odata.bind": f"/contacts({DEMO_CONTACT_ID})",
    })  # fmt: skip
    assert created.status_code == 204, created.text
    where = f"adx_username eq '{subject}' and adx_identityprovidername eq '{ISSUER}'"
    found = api.get(
        "adx_externalidentities", {"$select": "adx_username,_adx_contactid_value", "$filter": where}
    )
    (row,) = found.json()["value"]
    assert row["_adx_contactid_value"] == str(DEMO_CONTACT_ID)
    listed = api.get(f"contacts({DEMO_CONTACT_ID})", {
        "$select": "fullname", "$expand": "adx_contact_externalidentity($select=adx_identityprovidername)",
    }).json()  # fmt: skip
    assert [i["adx_identityprovidername"] for i in listed["adx_contact_externalidentity"]] == [ISSUER]


def test_dataverses_refusals(api: Api) -> None:
    long_name = api.send("POST", "adx_externalidentities", {"adx_username": "x" * 101})
    assert long_name.status_code == 400
    missing_contact = api.send("POST", "adx_externalidentities", {
        "adx_username": "k", "adx_contactid@odata.bind": f"/contacts({uuid.uuid4()})",
    })  # fmt: skip
    assert missing_contact.status_code == 404 and missing_contact.json()["error"]["code"] == "0x80040217"
    unknown = api.get("adx_externalidentities", {"$select": "adx_subject"})
    assert unknown.status_code == 400 and unknown.json()["error"]["code"] == "0x80060888"


def test_the_sign_in_read_expands_the_contact_with_its_account_and_roles(api: Api) -> None:
    """Issue 17's one read: the link, its contact, the contact's account and active web roles."""
    ident = str(uuid.uuid4())
    created = api.send("PATCH", f"adx_externalidentities({ident})", {
        "adx_username": "sub-1", "adx_identityprovidername": ISSUER,
        "adx_contactid@odata.bind": f"/contacts({DEMO_CONTACT_ID})",
    }, headers=api.headers(**{"If-None-Match": "*"}))  # fmt: skip
    assert created.status_code == 204, created.text
    again = api.send("PATCH", f"adx_externalidentities({ident})", {"adx_username": "sub-1"},
                     headers=api.headers(**{"If-None-Match": "*"}))  # fmt: skip
    assert again.status_code == 412  # a retried link is not a second row
    found = api.get("adx_externalidentities", {
        "$select": "_adx_contactid_value",
        "$filter": f"adx_username eq 'sub-1' and adx_identityprovidername eq '{ISSUER}' and statecode eq 0",
        "$expand": "adx_contactid($select=fullname,adx_identity_twofactorenabled;$expand="
                   "parentcustomerid_account($select=name),adx_webrole_contact($select=adx_name;"
                   "$filter=statecode eq 0))",
    })  # fmt: skip
    assert found.status_code == 200, found.text
    (row,) = found.json()["value"]
    contact = row["adx_contactid"]
    assert contact["fullname"] and contact["parentcustomerid_account"]["name"]
    assert isinstance(contact["adx_webrole_contact"], list)


def test_the_second_factors_contact_columns(api: Api) -> None:
    """Power Pages' adx_identity_twofactorenabled, and the 4000-character column a tenant adds."""
    ok = api.send("PATCH", f"contacts({DEMO_CONTACT_ID})",
                  {"adx_identity_twofactorenabled": True, "d365p_secondfactor": "g" * 4000})  # fmt: skip
    assert ok.status_code == 204, ok.text
    columns = "adx_identity_twofactorenabled,d365p_secondfactor"
    read = api.get(f"contacts({DEMO_CONTACT_ID})", {"$select": columns}).json()
    assert read["adx_identity_twofactorenabled"] is True and len(read["d365p_secondfactor"]) == 4000
    too_long = api.send("PATCH", f"contacts({DEMO_CONTACT_ID})", {"d365p_secondfactor": "g" * 4001})
    assert too_long.status_code == 400
