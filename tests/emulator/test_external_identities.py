"""Power Pages' external logins as Dataverse documents them (issue 17's table; the sign-in itself is
not built yet), in-process and standalone: `adx_externalidentities` linked to a contact, found by
provider and key, listed from the contact, with Dataverse's refusals."""

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
