"""Reads: query options, annotations, paging and the errors Dataverse gives for bad queries."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from d365portal.emulator.seed import (
    DEMO_ACCOUNT_ID,
    DEMO_ACCOUNT_NAME,
    DEMO_ASSOCIATE_ID,
    DEMO_CASE_ID,
    DEMO_CASE_NUMBER,
    DEMO_CONTACT_ID,
    DEMO_ENTITLEMENT_ID,
    OTHER_ACCOUNT_ID,
)
from tests.emulator.conftest import Api

FORMATTED = "@OData.Community.Display.V1.FormattedValue"
SCOPE = (
    f"_customerid_value eq {DEMO_ACCOUNT_ID} or "
    f"customerid_account/_parentaccountid_value eq {DEMO_ACCOUNT_ID}"
)


def error_of(response) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    """(status, Dataverse error code)."""
    return response.status_code, response.json()["error"]["code"]


def test_unknown_column_in_select_is_0x80060888(api: Api) -> None:
    """$select of a navigation property or an unknown column: 400 0x80060888 with Dataverse's message."""
    response = api.get("incidents", {"$select": "title,customerid"})
    assert error_of(response) == (400, "0x80060888")
    assert response.json()["error"]["message"] == (
        "Could not find a property named 'customerid' on type 'Microsoft.Dynamics.CRM.incident'."
    )
    assert error_of(api.get("incidents", {"$filter": "customeridname eq 'x'"})) == (400, "0x80060888")


def test_skip_is_refused_like_dataverse(api: Api) -> None:
    """$skip does not exist in Dataverse: 400 0x80060888."""
    assert error_of(api.get("incidents", {"$skip": "10"})) == (400, "0x80060888")


def test_unterminated_literal_is_0x80060888(api: Api) -> None:
    """An unterminated literal in $filter: 400 0x80060888 with the message Microsoft documents."""
    response = api.get("incidents", {"$filter": "title eq 'Arreglo"})
    assert error_of(response) == (400, "0x80060888")
    assert response.json()["error"]["message"] == (
        "There is an unterminated literal at position 17 in 'title eq 'Arreglo'."
    )


def test_unknown_entity_set_is_404_0x8006088a(api: Api) -> None:
    """An entity set that does not exist: 404 0x8006088a 'Resource not found for the segment'."""
    response = api.get("incidentz")
    assert error_of(response) == (404, "0x8006088a")
    assert response.json()["error"]["message"] == "Resource not found for the segment 'incidentz'."


def test_unknown_record_is_404_0x80040217(api: Api) -> None:
    """A row that does not exist: 404 0x80040217."""
    assert error_of(api.get("incidents(00000000-0000-0000-0000-000000000001)")) == (404, "0x80040217")


def test_unsupported_things_answer_501(api: Api) -> None:
    """What the emulator does not implement answers 501, never a silent approximation."""
    assert api.get("incidents", {"$apply": "groupby((title))"}).status_code == 501
    assert api.get("$metadata").status_code == 501
    assert api.get("incidents", {"$filter": "tolower(title) eq 'x'"}).status_code == 501
    assert api.get("incidents", {"$filter": "title eq 5 add 1"}).status_code in (400, 501)
    query_function = "Microsoft.Dynamics.CRM.In(PropertyName='statecode',PropertyValues=['0','1'])"
    assert api.get("incidents", {"$filter": query_function}).status_code == 501
    assert api.get("incidents", {"$filter": "statecode in (0,1)"}).status_code == 501


def test_manual_case_with_formatted_values_and_lookup_annotations(api: Api) -> None:
    """Formatted values in es-ES (tenant labels, Bogotá time) and the lookup annotations."""
    response = api.get(
        f"incidents({DEMO_CASE_ID})",
        {"$select": "ticketnumber,title,prioritycode,statuscode,_customerid_value,createdon"},
        annotations=True,
    )
    assert response.status_code == 200
    assert response.headers["OData-Version"] == "4.0"
    assert response.headers["Content-Type"].startswith("application/json; odata.metadata=minimal")
    row = response.json()
    assert row["ticketnumber"] == DEMO_CASE_NUMBER
    assert row["prioritycode" + FORMATTED] == "Moderado"
    assert row["statuscode" + FORMATTED] == "En Revisión"
    assert row["createdon"] == "2019-12-26T16:24:00Z"
    assert row["createdon" + FORMATTED] == "26/12/2019 11:24"
    assert row["_customerid_value"] == str(DEMO_ACCOUNT_ID)
    assert row["_customerid_value" + FORMATTED] == DEMO_ACCOUNT_NAME
    assert row["_customerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] == "account"
    assert (
        row["_customerid_value@Microsoft.Dynamics.CRM.associatednavigationproperty"] == "customerid_account"
    )
    assert row["@odata.etag"].startswith('W/"')
    plain = api.get(f"incidents({DEMO_CASE_ID})", {"$select": "prioritycode"}).json()
    assert "prioritycode" + FORMATTED not in plain


def test_hour_bank_formatted_like_the_manual(api: Api) -> None:
    """The manual's hour bank: En espera, Número de horas, 25,00, dates not shifted."""
    row = api.get(f"entitlements({DEMO_ENTITLEMENT_ID})", annotations=True).json()
    assert row["statecode" + FORMATTED] == "En espera"
    assert row["allocationtypecode" + FORMATTED] == "Número de horas"
    assert row["remainingterms" + FORMATTED] == "25,00"
    assert row["startdate"] == "2020-02-01T00:00:00Z"
    assert row["startdate" + FORMATTED] == "01/02/2020"


def test_filter_functions_null_quotes_and_navigation_path(api: Api) -> None:
    """contains (case-insensitive), doubled quotes, null, not, and a one-level navigation path."""
    found = api.get("incidents", {"$select": "title", "$filter": "contains(title,'ENDPOINT')"}).json()[
        "value"
    ]
    assert {r["title"] for r in found} >= {"Arreglo al reporte Equipos sin Endpoint"}
    assert api.get("accounts", {"$filter": "name eq 'O''Brien'"}).json()["value"] == []
    associates = api.get("accounts", {"$filter": f"_parentaccountid_value eq {DEMO_ACCOUNT_ID}"}).json()[
        "value"
    ]
    assert str(DEMO_ASSOCIATE_ID) in {a["accountid"] for a in associates}
    tops = api.get("accounts", {"$filter": "_parentaccountid_value eq null", "$select": "name"}).json()[
        "value"
    ]
    assert all(a["accountid"] != str(DEMO_ASSOCIATE_ID) for a in tops)
    scoped = api.get("incidents", {"$select": "_customerid_value", "$filter": SCOPE}).json()["value"]
    customers = {r["_customerid_value"] for r in scoped}
    assert str(DEMO_ASSOCIATE_ID) in customers and str(DEMO_ACCOUNT_ID) in customers
    assert str(OTHER_ACCOUNT_ID) not in customers
    active = api.get("incidents", {"$filter": f"({SCOPE}) and not (statecode ne 0)", "$select": "statecode"})
    assert {r["statecode"] for r in active.json()["value"]} == {0}
    recent = api.get("incidents", {"$filter": "createdon ge 2026-01-01", "$select": "createdon"}).json()[
        "value"
    ]
    assert recent and all(r["createdon"] >= "2026-01-01" for r in recent)


def test_orderby_choices_by_value_then_key_and_top_and_count(api: Api) -> None:
    """$orderby sorts choices by value with a second key; $top limits; $count counts all matches."""
    response = api.get(
        "incidents",
        {
            "$select": "prioritycode,ticketnumber",
            "$filter": SCOPE,
            "$orderby": "prioritycode desc,ticketnumber asc",
            "$top": "5",
            "$count": "true",
        },
    )
    body = response.json()
    rows = body["value"]
    assert len(rows) == 5 and "@odata.nextLink" not in body
    keys = [(-r["prioritycode"], r["ticketnumber"]) for r in rows]
    assert keys == sorted(keys)
    assert body["@odata.count"] >= 50


def test_paging_50_plus_cases_returns_each_exactly_once(api: Api) -> None:
    """odata.maxpagesize=10 with @odata.nextLink followed verbatim: every case once, none missing."""
    params = {"$select": "ticketnumber", "$filter": SCOPE, "$orderby": "createdon desc", "$count": "true"}
    first = api.get("incidents", params, page_size=10)
    assert "odata.maxpagesize=10" in first.headers["Preference-Applied"]
    body = first.json()
    total = body["@odata.count"]
    assert total >= 50
    seen: list[str] = []
    pages = 0
    while True:
        assert len(body["value"]) <= 10
        seen += [r["incidentid"] for r in body["value"]]
        pages += 1
        link = body.get("@odata.nextLink")
        if not link:
            break
        assert link.startswith(api.url + "/api/data/v9.2/incidents?")
        assert "$skiptoken" in parse_qs(urlsplit(link).query)
        body = api.http.get(link, headers=api.headers(page_size=10), timeout=10).json()
    assert len(seen) == len(set(seen)) == total
    assert pages == -(-total // 10)


def test_expand_lookup_and_entitlement_cases(api: Api) -> None:
    """$expand of a single-valued lookup and of an entitlement's cases with nested options."""
    contact = api.get(
        f"contacts({DEMO_CONTACT_ID})",
        {"$select": "fullname", "$expand": "parentcustomerid_account($select=name)"},
    ).json()
    assert contact["fullname"] == "Lorena Melo Hernandez"
    assert contact["parentcustomerid_account"]["name"] == DEMO_ACCOUNT_NAME
    banks = api.get(
        "entitlements",
        {
            "$select": "name",
            "$filter": f"_customerid_value eq {DEMO_ACCOUNT_ID}",
            "$expand": "entitlement_cases($select=title,createdon;$filter=statecode eq 1;"
            "$orderby=createdon desc;$top=3)",
        },
    ).json()["value"]
    with_cases = [b for b in banks if b["entitlement_cases"]]
    assert with_cases
    for bank in with_cases:
        dates = [c["createdon"] for c in bank["entitlement_cases"]]
        assert len(dates) <= 3 and dates == sorted(dates, reverse=True)
    account = api.get(
        f"accounts({DEMO_ACCOUNT_ID})",
        {"$select": "name", "$expand": "account_entitlement_Customer($select=name;$filter=statecode eq 1)"},
    ).json()
    assert [e["name"] for e in account["account_entitlement_Customer"]] == ["Bolsa de horas 2026"]


def test_english_labels_when_started_in_en_us() -> None:
    """Started with en-US, the same rows carry the standard English labels."""
    from werkzeug.test import Client

    from d365portal.emulator import create_emulator_app

    client = Client(create_emulator_app(seed="demo", language="en-US"))
    row = client.get(
        f"/api/data/v9.2/incidents({DEMO_CASE_ID})?$select=prioritycode,statuscode,createdon",
        headers={"Authorization": "Bearer t", "Prefer": 'odata.include-annotations="*"'},
    ).json
    assert row["prioritycode" + FORMATTED] == "Normal"
    assert row["statuscode" + FORMATTED] == "In Progress"
    assert row["createdon" + FORMATTED] == "12/26/2019 11:24 AM"


def test_paging_is_stable_when_a_case_is_created_between_pages(api: Api) -> None:
    """A case created while paging (sorting newest first) neither repeats nor hides an older case."""
    params = {"$select": "ticketnumber", "$filter": SCOPE, "$orderby": "createdon desc"}
    body = api.get("incidents", params, page_size=10).json()
    before = [r["incidentid"] for r in api.get("incidents", params).json()["value"]]
    seen = [r["incidentid"] for r in body["value"]]
    created = api.send(
        "POST",
        "incidents",
        {
            "title": "Nuevo durante la paginación",
            "customerid_account@odata.bind": f"/accounts({DEMO_ACCOUNT_ID})",
        },
    )
    assert created.status_code == 204
    while body.get("@odata.nextLink"):
        body = api.http.get(body["@odata.nextLink"], headers=api.headers(page_size=10), timeout=10).json()
        seen += [r["incidentid"] for r in body["value"]]
    assert len(seen) == len(set(seen))
    assert set(before) <= set(seen)


def test_bad_skiptoken_and_bad_page_size_are_400(api: Api) -> None:
    """A $skiptoken the emulator did not issue, or a non-numeric page size: 400."""
    assert api.get("incidents", {"$skiptoken": "garbage"}).status_code == 400
    headers = api.headers(Prefer="odata.maxpagesize=abc")
    assert api.get("incidents", headers=headers).status_code == 400


def test_paging_in_index_order_returns_every_row_once(api: Api) -> None:
    """Without a selective filter the emulator pages in index order: same guarantees, same order."""
    params = {"$select": "ticketnumber", "$orderby": "ticketnumber desc"}
    everything = [r["ticketnumber"] for r in api.get("incidents", params).json()["value"]]
    body = api.get("incidents", params, page_size=7).json()
    seen = [r["ticketnumber"] for r in body["value"]]
    api.send(
        "POST",
        "incidents",
        {"title": "Durante", "customerid_account@odata.bind": f"/accounts({DEMO_ACCOUNT_ID})"},
    )
    while body.get("@odata.nextLink"):
        body = api.http.get(body["@odata.nextLink"], headers=api.headers(page_size=7), timeout=10).json()
        seen += [r["ticketnumber"] for r in body["value"]]
    assert len(seen) == len(set(seen))
    assert [t for t in seen if t in set(everything)] == everything
    assert everything == sorted(everything, reverse=True)


def test_lookup_annotations_only_when_asked_for(api: Api) -> None:
    """FormattedValue alone brings formatted values; lookup annotations need their names or "*"."""
    path, params = f"incidents({DEMO_CASE_ID})", {"$select": "_customerid_value"}
    formatted_only = api.get(
        path,
        params,
        headers=api.headers(Prefer='odata.include-annotations="OData.Community.Display.V1.FormattedValue"'),
    )
    row = formatted_only.json()
    assert row["_customerid_value" + FORMATTED] == DEMO_ACCOUNT_NAME
    assert "_customerid_value@Microsoft.Dynamics.CRM.lookuplogicalname" not in row
    assert "OData.Community.Display.V1.FormattedValue" in formatted_only.headers["Preference-Applied"]
    named = api.get(
        path,
        params,
        headers=api.headers(Prefer='odata.include-annotations="Microsoft.Dynamics.CRM.lookuplogicalname"'),
    ).json()
    assert named["_customerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] == "account"
    assert "_customerid_value" + FORMATTED not in named


def test_count_annotations_and_count_segment(api: Api) -> None:
    """totalrecordcount annotations only when asked for; /$count answers a plain number."""
    params = {"$select": "title", "$filter": SCOPE, "$count": "true"}
    plain = api.get("incidents", params).json()
    assert "@Microsoft.Dynamics.CRM.totalrecordcount" not in plain
    asked = api.get(
        "incidents",
        params,
        headers=api.headers(Prefer='odata.include-annotations="Microsoft.Dynamics.CRM.*"'),
    )
    body = asked.json()
    assert body["@Microsoft.Dynamics.CRM.totalrecordcount"] == body["@odata.count"] == plain["@odata.count"]
    assert body["@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"] is False
    counted = api.get("incidents/$count", {"$filter": SCOPE})
    assert counted.status_code == 200 and counted.headers["Content-Type"].startswith("text/plain")
    assert int(counted.text) == plain["@odata.count"]


def test_lookups_order_by_the_related_name(api: Api) -> None:
    """$orderby on a lookup sorts by the related record's primary name, as Microsoft documents."""
    params = {
        "$select": "_customerid_value",
        "$filter": SCOPE,
        "$orderby": "_customerid_value asc,ticketnumber asc",
    }
    rows = api.get("incidents", params, annotations=True).json()["value"]
    names = [r["_customerid_value" + FORMATTED].casefold() for r in rows]
    assert names == sorted(names) and len(set(names)) > 1


def test_column_comparison_within_a_row(api: Api) -> None:
    """`modifiedon ge createdon` compares two columns of the same row; mismatched types are a 400."""
    rows = api.get("incidents", {"$select": "title", "$filter": "modifiedon ge createdon"}).json()["value"]
    assert len(rows) >= 50
    mismatch = api.get("incidents", {"$filter": "title eq prioritycode"})
    assert mismatch.status_code == 400 and mismatch.json()["error"]["code"] == "0x80060888"


def test_string_functions_use_dataverses_like_wildcards(api: Api) -> None:
    """contains/startswith/endswith are SQL LIKE on Dataverse: % and _ are wildcards, [%] is literal."""

    def titles(flt: str) -> set[str]:
        rows = api.get("incidents", {"$select": "title", "$filter": flt}).json()["value"]
        return {r["title"] for r in rows}

    assert "Arreglo al reporte Equipos sin Endpoint" in titles("contains(title,'reporte_equipos')")
    assert "Arreglo al reporte Equipos sin Endpoint" in titles("startswith(title,'arreglo%endpoint')")
    assert "Arreglo al reporte Equipos sin Endpoint" in titles("endswith(title,'[a-z]ndpoint')")
    assert titles("contains(title,'reporte[_]equipos')") == set()


def test_orderby_or_top_in_a_single_valued_expand_is_refused_like_dataverse(api: Api) -> None:
    """Dataverse allows only $select and $filter when expanding a many-to-one lookup."""
    for nested in ("$select=name;$orderby=name", "$select=name;$top=1"):
        response = api.get(
            "contacts", {"$select": "fullname", "$expand": f"parentcustomerid_account({nested})"}
        )
        assert error_of(response) == (400, "0x80060888")
        assert "Only $select and $filter" in response.json()["error"]["message"]
