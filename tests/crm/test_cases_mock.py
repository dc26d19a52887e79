"""CaseRepository against strict `responses` mocks: exact requests, one per operation."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit
from uuid import UUID, uuid4

import pytest
import requests
import responses
from responses import matchers

from d365portal.crm import Crm
from d365portal.crm.models import NewCase, Scope
from d365portal.dataverse.errors import Conflict, NotFound
from tests.dataverse.shapes import BASE, JSON_MINIMAL, collection, error, incident, lookup, next_link

ACCOUNT = UUID("5b1e6a2c-1f3d-ea11-a812-000d3a1b2c3d")
CONTACT = UUID("a655cdb9-b66b-f011-b4cb-000d3a88c16c")
CASE = UUID("0c7a1f4e-8d2b-ea11-a813-000d3a1b2c3d")
SCOPE = Scope(contact_id=CONTACT, account_id=ACCOUNT)
SCOPE_FILTER = f"(_customerid_value eq {ACCOUNT}) or (customerid_account/_parentaccountid_value eq {ACCOUNT})"


def query_of(call: responses.Call) -> dict[str, str]:
    """The decoded query options of a recorded request."""
    return {k: v[0] for k, v in parse_qs(urlsplit(call.request.url).query).items()}


def test_list_sends_scope_search_sort_and_page_size_and_maps_labels(
    crm: Crm, mock: responses.RequestsMock
) -> None:
    mock.get(
        f"{BASE}incidents",
        json=collection("incidents", [incident(CASE)], next_link("incidents")),
        content_type=JSON_MINIMAL,
        match=[
            matchers.header_matcher(
                {"Prefer": 'odata.include-annotations="*",odata.maxpagesize=10', "OData-Version": "4.0"}
            )
        ],
    )
    page = crm.cases.list_for(SCOPE, search="O'Brien & co", sort="created_on", direction="asc")
    assert len(mock.calls) == 1
    query = query_of(mock.calls[0])
    assert query["$filter"] == (
        f"({SCOPE_FILTER}) and (statecode eq 0) and "
        "((contains(ticketnumber,'O''Brien & co')) or (contains(title,'O''Brien & co')))"
    )
    assert query["$orderby"] == "createdon asc,ticketnumber asc"
    assert "_ino_asociado_value" in query["$select"].split(",")
    assert "%26" in mock.calls[0].request.url  # the & of the search cannot start another option
    case = page.items[0]
    assert (case.ticket_number, case.priority.label, case.status_reason.label) == (
        "CAS-01202-B2K8P0",
        "Moderado",
        "En Revisión",
    )
    assert case.customer.name == "INOVAIT SAS"
    assert case.created_on.isoformat() == "2019-12-26T16:24:00+00:00"
    assert page.next_cursor and all(c.isalnum() or c in "-_" for c in page.next_cursor)


def test_cursor_sends_back_only_the_skiptoken_with_the_rebuilt_query(
    crm: Crm, mock: responses.RequestsMock
) -> None:
    link = next_link("incidents", page=2)
    mock.get(f"{BASE}incidents", json=collection("incidents", [incident(CASE)], link))
    mock.get(f"{BASE}incidents", json=collection("incidents", [incident(uuid4(), number="CAS-00001-AAAAAA")]))
    first = crm.cases.list_for(SCOPE, which="all")
    second = crm.cases.list_for(SCOPE, which="all", cursor=first.next_cursor)
    sent = query_of(mock.calls[1])
    assert sent["$skiptoken"] == parse_qs(urlsplit(link).query)["$skiptoken"][0]
    assert sent["$filter"] == SCOPE_FILTER  # rebuilt from the scope, not taken from the link
    assert second.next_cursor is None and second.items[0].ticket_number == "CAS-00001-AAAAAA"


def test_get_for_filters_by_id_and_scope_and_out_of_scope_is_not_found(
    crm: Crm, mock: responses.RequestsMock
) -> None:
    mock.get(f"{BASE}incidents", json=collection("incidents", [incident(CASE, description="Detalle")]))
    mock.get(f"{BASE}incidents", json=collection("incidents", []))
    assert crm.cases.get_for(SCOPE, CASE).description == "Detalle"
    assert query_of(mock.calls[0])["$filter"] == f"(incidentid eq {CASE}) and ({SCOPE_FILTER})"
    with pytest.raises(NotFound):
        crm.cases.get_for(SCOPE, uuid4())
    assert len(mock.calls) == 2


def _new_case(associate: UUID | None = None) -> NewCase:
    return NewCase(
        id=uuid4(),
        title="No imprime",
        description="La impresora del piso 3",
        customer_id=ACCOUNT,
        contact_id=CONTACT,
        associate_id=associate,
        entitlement_id=UUID("3e9c4d5f-6a7b-ea11-a812-000d3a1b2c3d"),
    )


def test_create_is_one_patch_with_if_none_match_and_returns_the_ticket_number(
    crm: Crm, mock: responses.RequestsMock
) -> None:
    new = _new_case(associate=UUID("7d2f8b3e-2a4e-ea11-a812-000d3a1b2c3d"))
    mock.patch(
        f"{BASE}incidents({new.id})",
        status=201,
        json=incident(new.id, number="CAS-01203-X1Y2Z3", title=new.title),
        match=[
            matchers.header_matcher({"If-None-Match": "*"}),
            matchers.json_params_matcher(
                {
                    "title": "No imprime",
                    "description": "La impresora del piso 3",
                    "customerid_account@odata.bind": f"/accounts({ACCOUNT})",
                    "primarycontactid@odata.bind": f"/contacts({CONTACT})",
                    "ino_Asociado@odata.bind": "/accounts(7d2f8b3e-2a4e-ea11-a812-000d3a1b2c3d)",
                    "entitlementid@odata.bind": "/entitlements(3e9c4d5f-6a7b-ea11-a812-000d3a1b2c3d)",
                    "caseorigincode": 3,
                }
            ),
        ],
    )
    case = crm.cases.create(new)
    assert case.ticket_number == "CAS-01203-X1Y2Z3"
    assert "return=representation" in mock.calls[0].request.headers["Prefer"]
    assert len(mock.calls) == 1


def test_timeout_then_412_on_create_yields_the_one_case(crm: Crm, mock: responses.RequestsMock) -> None:
    new = _new_case()
    url = f"{BASE}incidents({new.id})"
    mock.patch(url, body=requests.exceptions.ReadTimeout("read timed out"))
    mock.patch(url, status=412, json=error("0x80040237", "A record with matching key values already exists."))
    mock.get(
        f"{BASE}incidents",
        json=collection(
            "incidents",
            [
                incident(
                    new.id,
                    number="CAS-01204-Q9W8E7",
                    **lookup("primarycontactid", CONTACT, "Lorena", "contact"),
                )
            ],
        ),
    )
    case = crm.cases.create(new)
    assert case.id == new.id and case.ticket_number == "CAS-01204-Q9W8E7"
    assert [c.request.method for c in mock.calls] == ["PATCH", "PATCH", "GET"]
    assert query_of(mock.calls[2])["$filter"] == (
        f"(incidentid eq {new.id}) and (_primarycontactid_value eq {CONTACT})"
        f" and (_customerid_value eq {ACCOUNT})"
    )


def test_412_for_someone_elses_case_id_stays_a_conflict(crm: Crm, mock: responses.RequestsMock) -> None:
    new = _new_case()
    mock.patch(f"{BASE}incidents({new.id})", status=412, json=error("0x80040237", "Duplicate"))
    mock.get(f"{BASE}incidents", json=collection("incidents", []))
    with pytest.raises(Conflict):
        crm.cases.create(new)


def test_resolve_cancel_reopen(crm: Crm, mock: responses.RequestsMock) -> None:
    mock.post(
        f"{BASE}CloseIncident",
        status=204,
        match=[
            matchers.json_params_matcher(
                {
                    "IncidentResolution": {
                        "subject": "Solucionado",
                        "incidentid@odata.bind": f"/incidents({CASE})",
                    },
                    "Status": 5,
                }
            )
        ],
    )
    mock.patch(
        f"{BASE}incidents({CASE})",
        status=204,
        match=[
            matchers.json_params_matcher({"statecode": 2, "statuscode": 6}),
            matchers.header_matcher({"If-Match": "*"}),
        ],
    )
    mock.patch(
        f"{BASE}incidents({CASE})",
        status=204,
        match=[matchers.json_params_matcher({"statecode": 0, "statuscode": 1})],
    )
    crm.cases.resolve(CASE, "Solucionado")
    crm.cases.cancel(CASE)
    crm.cases.reopen(CASE)
    assert len(mock.calls) == 3
