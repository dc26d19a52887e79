"""AccountRepository and EntitlementRepository against strict `responses` mocks."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit
from uuid import UUID, uuid4

import pytest
import responses

from d365portal.crm import Crm
from d365portal.crm.entitlements import entitlement_from_row
from d365portal.crm.models import Scope
from d365portal.dataverse.errors import NotFound
from d365portal.settings import FieldMap
from tests.dataverse.shapes import BASE, choice, collection, incident, lookup, next_link

ACCOUNT = UUID("5b1e6a2c-1f3d-ea11-a812-000d3a1b2c3d")
ASSOCIATE = UUID("7d2f8b3e-2a4e-ea11-a812-000d3a1b2c3d")
CONTACT = UUID("a655cdb9-b66b-f011-b4cb-000d3a88c16c")
ENTITLEMENT = UUID("3e9c4d5f-6a7b-ea11-a812-000d3a1b2c3d")
SCOPE = Scope(contact_id=CONTACT, account_id=ACCOUNT)


def query_of(call: responses.Call) -> dict[str, str]:
    """The decoded query options of a recorded request."""
    return {k: v[0] for k, v in parse_qs(urlsplit(call.request.url).query).items()}


def associate_row() -> dict:
    return {
        "@odata.etag": 'W/"1001"',
        "accountid": str(ASSOCIATE),
        "name": "Nombre ASociado",
        "accountnumber": "86001",
        "emailaddress1": None,
        "telephone1": "+57161",
        "address1_city": None,
        **lookup("primarycontactid", uuid4(), "Sonia", "contact"),
        **lookup("parentaccountid", ACCOUNT, "INOVAIT SAS"),
    }


def entitlement_row(**extra: object) -> dict:
    row = {
        "@odata.etag": 'W/"2002"',
        "entitlementid": str(ENTITLEMENT),
        "name": "Bolsa de horas 2020",
        **lookup("customerid", ACCOUNT, "INOVAIT SAS", nav="customerid_account"),
        "startdate@OData.Community.Display.V1.FormattedValue": "1/02/2020",
        "startdate": "2020-02-01T00:00:00Z",
        "enddate": "2021-02-01T00:00:00Z",
        **choice("allocationtypecode", 1, "Número de horas"),
        "totalterms": 40.0,
        "remainingterms": 25.0,
        **choice("statecode", 4, "En espera"),
        **choice("statuscode", 1200, "En espera"),
        "isdefault": True,
        "restrictcasecreation": False,
    }
    row.update(extra)
    return row


def test_associates_search_columns_and_lookup_labels(crm: Crm, mock: responses.RequestsMock) -> None:
    mock.get(f"{BASE}accounts", json=collection("accounts", [associate_row()], next_link("accounts")))
    page = crm.accounts.associates_of(ACCOUNT, search="86001")
    query = query_of(mock.calls[0])
    assert query["$filter"] == (
        f"(_parentaccountid_value eq {ACCOUNT}) and ((contains(name,'86001'))"
        " or (contains(accountnumber,'86001')) or (contains(emailaddress1,'86001'))"
        " or (contains(address1_city,'86001')))"
    )
    assert set(query["$select"].split(",")) >= {
        "name", "emailaddress1", "telephone1", "accountnumber", "_primarycontactid_value", "address1_city"
    }  # fmt: skip
    found = page.items[0]
    assert (found.name, found.telephone, found.account_number, found.primary_contact.name) == (
        "Nombre ASociado", "+57161", "86001", "Sonia"
    )  # fmt: skip
    assert page.next_cursor
    assert len(mock.calls) == 1


def test_get_associate_outside_the_account_is_not_found(crm: Crm, mock: responses.RequestsMock) -> None:
    mock.get(f"{BASE}accounts", json=collection("accounts", [associate_row()]))
    mock.get(f"{BASE}accounts", json=collection("accounts", []))
    assert crm.accounts.get_associate(ACCOUNT, ASSOCIATE).id == ASSOCIATE
    with pytest.raises(NotFound):
        crm.accounts.get_associate(ACCOUNT, uuid4())
    assert len(mock.calls) == 2


def test_entitlement_list_dates_are_not_shifted_and_labels_kept(
    crm: Crm, mock: responses.RequestsMock
) -> None:
    mock.get(f"{BASE}entitlements", json=collection("entitlements", [entitlement_row()]))
    [hours] = crm.entitlements.list_for(SCOPE)
    query = query_of(mock.calls[0])
    assert query["$orderby"] == "statecode asc,name asc"
    assert "customerid_account/_parentaccountid_value" in query["$filter"]
    assert (hours.start_date, hours.end_date) == (date(2020, 2, 1), date(2021, 2, 1))
    assert hours.state.label == "En espera" and hours.allocation_type.label == "Número de horas"
    assert hours.remaining_terms == Decimal("25.0") and hours.used_terms == Decimal("15.0")


def test_entitlement_detail_expands_its_cases_in_one_request(crm: Crm, mock: responses.RequestsMock) -> None:
    cases = [incident(uuid4(), state=(1, "Resuelto"), status=(5, "Problema resuelto"), billedserviceunits=90)]
    mock.get(
        f"{BASE}entitlements", json=collection("entitlements", [entitlement_row(entitlement_cases=cases)])
    )
    detail = crm.entitlements.get_for(SCOPE, ENTITLEMENT)
    query = query_of(mock.calls[0])
    assert query["$expand"] == (
        "entitlement_cases($select=incidentid,ticketnumber,title,statecode,statuscode,billedserviceunits,createdon;"
        "$orderby=createdon desc)"
    )
    assert detail.cases[0].billed_minutes == 90 and detail.cases[0].status_reason.label == "Problema resuelto"
    assert len(mock.calls) == 1


def test_entitlement_out_of_scope_is_not_found(crm: Crm, mock: responses.RequestsMock) -> None:
    mock.get(f"{BASE}entitlements", json=collection("entitlements", []))
    with pytest.raises(NotFound):
        crm.entitlements.get_for(SCOPE, uuid4())


def test_default_entitlement_prefers_the_associates_and_validates_it(
    crm: Crm, mock: responses.RequestsMock
) -> None:
    own, theirs = uuid4(), uuid4()
    rows = [
        {"accountid": str(ACCOUNT), "account_entitlement_Customer": [{"entitlementid": str(own)}]},
        {"accountid": str(ASSOCIATE), "account_entitlement_Customer": [{"entitlementid": str(theirs)}]},
    ]
    mock.get(f"{BASE}accounts", json=collection("accounts", rows))
    mock.get(f"{BASE}accounts", json=collection("accounts", rows[:1]))
    mock.get(
        f"{BASE}accounts", json=collection("accounts", [{**rows[0], "account_entitlement_Customer": []}])
    )
    assert crm.entitlements.default_for_new_case(ACCOUNT, ASSOCIATE) == theirs
    query = query_of(mock.calls[0])
    assert query["$filter"] == (
        f"(accountid eq {ACCOUNT}) or ((accountid eq {ASSOCIATE}) and (_parentaccountid_value eq {ACCOUNT}))"
    )
    assert query["$expand"] == (
        "account_entitlement_Customer($select=entitlementid;"
        "$filter=(statecode eq 1) and (isdefault eq true);$orderby=createdon desc)"
    )
    with pytest.raises(NotFound):  # not an associate of this account: the row does not come back
        crm.entitlements.default_for_new_case(ACCOUNT, ASSOCIATE)
    assert crm.entitlements.default_for_new_case(ACCOUNT, None) is None
    assert len(mock.calls) == 3


@pytest.mark.parametrize(
    "sent",
    [
        "2020-02-01T00:00:00Z",  # entered in UTC (and the emulator's form)
        "2020-02-01T05:00:00Z",  # entered in Bogotá (UTC-5)
        "2020-01-31T23:00:00Z",  # entered in Madrid (UTC+1): the UTC date is the day before
        "2020-01-31T15:00:00Z",  # entered in Tokyo (UTC+9)
        "2020-02-01",
    ],
)
def test_hour_bank_dates_are_the_day_the_agent_entered(sent: str) -> None:
    # entitlement.startdate/enddate are UserLocal date-only columns: the local midnight, sent in UTC.
    bank = entitlement_from_row(entitlement_row(startdate=sent, enddate=sent), FieldMap())
    assert bank.start_date == bank.end_date == date(2020, 2, 1)
