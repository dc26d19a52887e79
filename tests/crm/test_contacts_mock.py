"""ContactRepository against strict `responses` mocks: identity columns from the field map."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit
from uuid import UUID

import pytest
import responses
from responses import matchers

from d365portal.crm import Crm, build_crm
from d365portal.dataverse.client import DataverseClient
from d365portal.dataverse.errors import Conflict, NotFound
from d365portal.settings import FieldMap
from tests.dataverse.shapes import BASE, collection, error, lookup

CONTACT = UUID("a655cdb9-b66b-f011-b4cb-000d3a88c16c")
ACCOUNT = UUID("5b1e6a2c-1f3d-ea11-a812-000d3a1b2c3d")


def query_of(call: responses.Call) -> dict[str, str]:
    """The decoded query options of a recorded request."""
    return {k: v[0] for k, v in parse_qs(urlsplit(call.request.url).query).items()}


def contact_row(prefix: str = "adx_identity_", **extra: object) -> dict:
    row = {
        "@odata.etag": 'W/"3003"',
        "contactid": str(CONTACT),
        "fullname": "Lorena Melo Hernandez",
        "firstname": "Lorena",
        "lastname": "Melo Hernandez",
        "emailaddress1": "lmelo@inovait.co",
        **lookup("parentcustomerid", ACCOUNT, "INOVAIT SAS", nav="parentcustomerid_account"),
        "parentcustomerid_account": {"accountid": str(ACCOUNT), "name": "INOVAIT SAS"},
        f"{prefix}username": "lmelo",
        f"{prefix}securitystamp": "stamp-1",
        f"{prefix}logonenabled": True,
        f"{prefix}lockoutenabled": True,
        f"{prefix}accessfailedcount": 2,
        f"{prefix}lockoutenddate": None,
        f"{prefix}emailaddress1confirmed": True,
        f"{prefix}lastsuccessfullogin": "2026-11-20T10:00:00Z",
    }
    row.update(extra)
    return row


def test_sign_in_read_selects_the_hash_and_expands_the_account_name(
    crm: Crm, mock: responses.RequestsMock
) -> None:
    mock.get(
        f"{BASE}contacts", json=collection("contacts", [contact_row(adx_identity_passwordhash="$argon2id$x")])
    )
    creds = crm.contacts.credentials_by_username("lmelo")
    query = query_of(mock.calls[0])
    assert query["$filter"] == "adx_identity_username eq 'lmelo'"
    assert "adx_identity_passwordhash" in query["$select"].split(",")
    assert query["$expand"] == (
        "parentcustomerid_account($select=name),"
        "adx_webrole_contact($select=adx_webroleid,adx_name;$filter=statecode eq 0)"
    )  # the web roles come with the sign-in's own read (issue 15)
    assert creds.password_hash == "$argon2id$x"
    assert creds.contact.parent_account.name == "INOVAIT SAS" and creds.contact.access_failed_count == 2
    assert len(mock.calls) == 1


def test_other_reads_never_select_the_hash(crm: Crm, mock: responses.RequestsMock) -> None:
    mock.get(f"{BASE}contacts", json=collection("contacts", [contact_row()]))
    mock.get(f"{BASE}contacts", json=collection("contacts", [contact_row()]))
    mock.get(f"{BASE}contacts", json=collection("contacts", []))
    assert crm.contacts.find_by_email("LMelo@Inovait.co")[0].username == "lmelo"
    assert crm.contacts.get(CONTACT).email_confirmed is True
    with pytest.raises(NotFound):
        crm.contacts.get(CONTACT)
    for call in mock.calls:
        assert "passwordhash" not in call.request.url
    assert query_of(mock.calls[0])["$filter"] == "emailaddress1 eq 'LMelo@Inovait.co'"


def test_update_identity_maps_fields_to_the_field_maps_columns(
    dv: DataverseClient, mock: responses.RequestsMock
) -> None:
    crm = build_crm(
        dv, FieldMap(identity_accessfailedcount="cr1_failures", identity_lockoutenddate="cr1_lockout")
    )
    until = datetime(2026, 11, 28, 1, 15, tzinfo=UTC)
    mock.patch(
        f"{BASE}contacts({CONTACT})",
        status=204,
        match=[
            matchers.json_params_matcher({"cr1_failures": 5, "cr1_lockout": "2026-11-28T01:15:00Z"}),
            matchers.header_matcher({"If-Match": 'W/"3003"'}),
        ],
    )
    mock.patch(
        f"{BASE}contacts({CONTACT})",
        status=412,
        json=error("0x80060882", "The version of the record changed."),
    )
    crm.contacts.update_identity(CONTACT, {"access_failed_count": 5, "lockout_end": until}, etag='W/"3003"')
    with pytest.raises(Conflict):
        crm.contacts.update_identity(CONTACT, {"access_failed_count": 6}, etag='W/"3003"')
    with pytest.raises(ValueError):
        crm.contacts.update_identity(CONTACT, {"fullname": "x"})
    assert len(mock.calls) == 2


def test_update_email_and_list_portal_users(crm: Crm, mock: responses.RequestsMock) -> None:
    mock.patch(
        f"{BASE}contacts({CONTACT})",
        status=204,
        match=[matchers.json_params_matcher({"emailaddress1": "a@b.co"})],
    )
    mock.get(f"{BASE}contacts", json=collection("contacts", [contact_row()]))
    crm.contacts.update_email(CONTACT, "a@b.co")
    [user] = crm.contacts.list_portal_users()
    assert user.username == "lmelo"
    assert query_of(mock.calls[1])["$filter"] == "adx_identity_username ne null"
