"""Writes: create/upsert/delete, ETags, validation errors that change nothing, resolving and hour banks."""

from __future__ import annotations

import re
import uuid

from d365portal.emulator.seed import (
    DEMO_ACCOUNT_ID,
    DEMO_ACTIVE_ENTITLEMENT_ID,
    DEMO_CASE_ID,
    DEMO_CONTACT_ID,
)
from tests.emulator.conftest import Api

CASE_COLUMNS = "title,description,prioritycode,ticketnumber,statecode,statuscode,_customerid_value"


def new_case(**extra: object) -> dict[str, object]:
    """A valid case body for INOVAIT / Lorena."""
    return {
        "title": "Impresora sin conexión",
        "description": "No imprime desde ayer",
        "customerid_account@odata.bind": f"/accounts({DEMO_ACCOUNT_ID})",
        "primarycontactid@odata.bind": f"/contacts({DEMO_CONTACT_ID})",
        "prioritycode": 2,
        "caseorigincode": 3,
        **extra,
    }


def remaining(api: Api, entitlement_id: object) -> float:
    """An entitlement's remaining terms."""
    return api.get(f"entitlements({entitlement_id})", {"$select": "remainingterms"}).json()["remainingterms"]


def case_row(api: Api, case_id: object) -> dict[str, object]:
    """A case as stored (selected columns)."""
    return api.get(f"incidents({case_id})", {"$select": CASE_COLUMNS}).json()


def test_post_returns_204_and_entity_id_and_generates_ticket_number(api: Api) -> None:
    """POST → 204 + OData-EntityId; the case gets a CAS-<5 digits>-<6 alphanumerics> number."""
    response = api.send("POST", "incidents", new_case())
    assert response.status_code == 204
    entity = response.headers["OData-EntityId"]
    match = re.fullmatch(re.escape(api.url) + r"/api/data/v9\.2/incidents\(([0-9a-f-]{36})\)", entity)
    assert match
    row = case_row(api, match.group(1))
    assert re.fullmatch(r"CAS-\d{5}-[A-Z0-9]{6}", str(row["ticketnumber"]))
    assert row["statecode"] == 0 and row["statuscode"] == 1
    assert row["_customerid_value"] == str(DEMO_ACCOUNT_ID)


def test_post_with_return_representation_is_201_with_body(api: Api) -> None:
    """return=representation → 201 with the row (and its ETag)."""
    headers = api.headers(Prefer="return=representation")
    response = api.send("POST", f"incidents?$select={CASE_COLUMNS}", new_case(), headers=headers)
    assert response.status_code == 201
    body = response.json()
    assert body["title"] == "Impresora sin conexión" and body["@odata.etag"].startswith('W/"')


def test_idempotent_create_with_if_none_match(api: Api) -> None:
    """PATCH + If-None-Match: * creates once; the same request again is 412 and changes nothing."""
    case_id = uuid.uuid4()
    headers = api.headers(**{"If-None-Match": "*"})
    first = api.send("PATCH", f"incidents({case_id})", new_case(), headers=headers)
    assert first.status_code == 204
    assert first.headers["OData-EntityId"].endswith(f"incidents({case_id})")
    again = api.send(
        "PATCH",
        f"incidents({case_id})",
        new_case(title="otro"),
        headers=api.headers(**{"If-None-Match": "*"}),
    )
    assert again.status_code == 412 and again.json()["error"]["code"] == "0x80040237"
    assert case_row(api, case_id)["title"] == "Impresora sin conexión"


def test_if_match_star_on_missing_row_is_404_and_stale_etag_is_412(api: Api) -> None:
    """If-Match: * never creates; an old ETag is refused; the current one is accepted and bumped."""
    missing = api.send(
        "PATCH", f"incidents({uuid.uuid4()})", {"title": "x"}, headers=api.headers(**{"If-Match": "*"})
    )
    assert missing.status_code == 404
    etag = api.get(f"incidents({DEMO_CASE_ID})", {"$select": "title"}).json()["@odata.etag"]
    ok = api.send(
        "PATCH",
        f"incidents({DEMO_CASE_ID})",
        {"description": "uno"},
        headers=api.headers(**{"If-Match": etag}),
    )
    assert ok.status_code == 204
    new_etag = api.get(f"incidents({DEMO_CASE_ID})", {"$select": "title"}).json()["@odata.etag"]
    assert new_etag != etag
    stale = api.send(
        "PATCH",
        f"incidents({DEMO_CASE_ID})",
        {"description": "dos"},
        headers=api.headers(**{"If-Match": etag}),
    )
    assert stale.status_code == 412
    assert case_row(api, DEMO_CASE_ID)["description"] == "uno"


def test_required_customer_message(api: Api) -> None:
    """A case without customer is refused with Dataverse's message."""
    body = new_case()
    del body["customerid_account@odata.bind"]
    response = api.send("POST", "incidents", body)
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "You should specify a parent contact or account."


def test_bad_input_gets_400_and_nothing_stored_is_lost(api: Api) -> None:
    """Malformed JSON, wrong types, unknown options, oversize strings, unknown columns: 400, row unchanged."""
    before = case_row(api, DEMO_CASE_ID)
    path = f"incidents({DEMO_CASE_ID})"
    cases = [
        (api.send("PATCH", path, raw=b'{"title": "sin cerrar'), "0x80048d19"),
        (api.send("PATCH", path, {"title": 12}), "0x80048d19"),
        (api.send("PATCH", path, {"prioritycode": "alta"}), "0x80048d19"),
        (api.send("PATCH", path, {"prioritycode": 7}), "0x8004431A"),
        (api.send("PATCH", path, {"title": "x" * 201}), "0x80044331"),
        (api.send("PATCH", path, {"nosuchcolumn": 1}), "0x80048d19"),
        (api.send("PATCH", path, {"_customerid_value": str(DEMO_CONTACT_ID)}), "0x80048d19"),
        (api.send("PATCH", path, {"title": "nuevo", "prioritycode": 9}), "0x8004431A"),
    ]
    for response, code in cases:
        assert response.status_code == 400, response.text
        assert response.json()["error"]["code"] == code
    assert api.send("POST", "incidents", new_case(title="y" * 500)).status_code == 400
    assert case_row(api, DEMO_CASE_ID) == before
    assert api.get("WhoAmI").status_code == 200  # still serving


def test_values_json_cannot_carry_are_refused_and_the_rows_stay_readable(api: Api) -> None:
    """NaN / Infinity / 1e999 decimals and lone surrogates: 400, and the case list keeps working."""
    bank = f"entitlements({DEMO_ACTIVE_ENTITLEMENT_ID})"
    before = remaining(api, DEMO_ACTIVE_ENTITLEMENT_ID)
    for raw in (b'{"remainingterms": NaN}', b'{"remainingterms": 1e999}', b'{"remainingterms": -Infinity}'):
        assert api.send("PATCH", bank, raw=raw).status_code == 400, raw
    for text in ("NaN", "Infinity"):
        assert api.send("PATCH", bank, {"remainingterms": text}).status_code == 400, text
    assert remaining(api, DEMO_ACTIVE_ENTITLEMENT_ID) == before
    title = case_row(api, DEMO_CASE_ID)["title"]
    assert api.send("PATCH", f"incidents({DEMO_CASE_ID})", raw=b'{"title": "a\\ud800b"}').status_code == 400
    assert api.send("POST", "incidents", raw=b'{"title\\udfff": 1}').status_code == 400
    assert case_row(api, DEMO_CASE_ID)["title"] == title
    assert api.get("incidents", {"$select": "title"}).status_code == 200


def test_a_null_primary_key_is_refused_and_the_table_stays_readable(api: Api) -> None:
    """`{"incidentid": null}` used to be merged into the row, and every later list answered 500."""
    response = api.send("PATCH", f"incidents({DEMO_CASE_ID})", {"incidentid": None, "title": "otro"})
    assert response.status_code == 400
    assert api.send("POST", "incidents", new_case(incidentid=None)).status_code == 400
    assert case_row(api, DEMO_CASE_ID)["title"] != "otro"
    listed = api.get("incidents", {"$select": "title", "$orderby": "title"})
    assert listed.status_code == 200
    assert str(DEMO_CASE_ID) in {r["incidentid"] for r in listed.json()["value"]}


def test_patch_to_resolved_is_refused(api: Api) -> None:
    """Resolving is only possible through CloseIncident."""
    response = api.send("PATCH", f"incidents({DEMO_CASE_ID})", {"statecode": 1, "statuscode": 5})
    assert response.status_code == 400
    assert "CloseIncidentRequest" in response.json()["error"]["message"]
    assert case_row(api, DEMO_CASE_ID)["statecode"] == 0


def test_close_incident_deducts_hours_and_reactivation_gives_them_back(api: Api) -> None:
    """Resolving a case linked to an hours entitlement lowers remaining hours; reopening restores them."""
    case_id = uuid.uuid4()
    body = new_case(**{"entitlementid@odata.bind": f"/entitlements({DEMO_ACTIVE_ENTITLEMENT_ID})"})
    assert (
        api.send(
            "PATCH", f"incidents({case_id})", body, headers=api.headers(**{"If-None-Match": "*"})
        ).status_code
        == 204
    )
    start = remaining(api, DEMO_ACTIVE_ENTITLEMENT_ID)
    close = {
        "IncidentResolution": {
            "subject": "Resuelto",
            "incidentid@odata.bind": f"/incidents({case_id})",
            "timespent": 90,
        },
        "Status": 5,
    }
    assert api.send("POST", "CloseIncident", close).status_code == 204
    row = api.get(f"incidents({case_id})", {"$select": "statecode,statuscode,billedserviceunits"}).json()
    assert (row["statecode"], row["statuscode"], row["billedserviceunits"]) == (1, 5, 90)
    assert remaining(api, DEMO_ACTIVE_ENTITLEMENT_ID) == start - 1.5
    resolutions = api.get("incidentresolutions", {"$filter": f"_incidentid_value eq {case_id}"}).json()[
        "value"
    ]
    assert [r["timespent"] for r in resolutions] == [90]
    assert api.send("POST", "CloseIncident", close).status_code == 400  # already resolved
    reopen = api.send("PATCH", f"incidents({case_id})", {"statecode": 0, "statuscode": 1})
    assert reopen.status_code == 204
    assert remaining(api, DEMO_ACTIVE_ENTITLEMENT_ID) == start


def test_no_deduction_when_the_case_says_so(api: Api) -> None:
    """decremententitlementterm = false: resolving leaves the hour bank alone."""
    case_id = uuid.uuid4()
    body = new_case(
        decremententitlementterm=False,
        **{"entitlementid@odata.bind": f"/entitlements({DEMO_ACTIVE_ENTITLEMENT_ID})"},
    )
    api.send("PATCH", f"incidents({case_id})", body)
    start = remaining(api, DEMO_ACTIVE_ENTITLEMENT_ID)
    close = {
        "IncidentResolution": {
            "subject": "ok",
            "incidentid@odata.bind": f"/incidents({case_id})",
            "timespent": 60,
        },
        "Status": 5,
    }
    assert api.send("POST", "CloseIncident", close).status_code == 204
    assert remaining(api, DEMO_ACTIVE_ENTITLEMENT_ID) == start


def test_cancel_and_delete(api: Api) -> None:
    """Cancel is a PATCH to statecode 2; DELETE removes the row (404 afterwards)."""
    response = api.send("POST", "incidents", new_case())
    case_id = response.headers["OData-EntityId"].rsplit("(", 1)[1].rstrip(")")
    assert api.send("PATCH", f"incidents({case_id})", {"statecode": 2, "statuscode": 6}).status_code == 204
    assert case_row(api, case_id)["statecode"] == 2
    assert api.send("PATCH", f"incidents({case_id})", {"statecode": 0, "statuscode": 5}).status_code == 400
    assert api.send("DELETE", f"incidents({case_id})").status_code == 204
    assert api.get(f"incidents({case_id})").status_code == 404
    assert api.send("DELETE", f"incidents({case_id})").status_code == 404


def test_contact_identity_columns_round_trip(api: Api) -> None:
    """The portal's identity columns are writable; the hash column's 128-character limit holds."""
    path = f"contacts({DEMO_CONTACT_ID})"
    assert (
        api.send(
            "PATCH",
            path,
            {"adx_identity_accessfailedcount": 3, "adx_identity_lockoutenddate": "2026-11-28T10:00:00Z"},
        ).status_code
        == 204
    )
    row = api.get(
        path, {"$select": "adx_identity_accessfailedcount,adx_identity_lockoutenddate,fullname"}
    ).json()
    assert row["adx_identity_accessfailedcount"] == 3
    assert row["adx_identity_lockoutenddate"] == "2026-11-28T10:00:00Z"
    assert api.send("PATCH", path, {"adx_identity_passwordhash": "h" * 129}).status_code == 400


def test_conditional_get_and_delete_with_etags(api: Api) -> None:
    """If-None-Match with the current ETag → 304; DELETE with a stale ETag → 412 and the row stays."""
    etag = api.get(f"incidents({DEMO_CASE_ID})", {"$select": "title"}).json()["@odata.etag"]
    not_modified = api.get(
        f"incidents({DEMO_CASE_ID})", {"$select": "title"}, headers=api.headers(**{"If-None-Match": etag})
    )
    assert not_modified.status_code == 304
    api.send("PATCH", f"incidents({DEMO_CASE_ID})", {"description": "cambio"})
    stale = api.send("DELETE", f"incidents({DEMO_CASE_ID})", headers=api.headers(**{"If-Match": etag}))
    assert stale.status_code == 412
    assert stale.json()["error"]["message"] == (
        "The version of the existing record doesn't match the RowVersion property provided."
    )
    assert api.get(f"incidents({DEMO_CASE_ID})").status_code == 200


def test_read_only_columns_are_ignored_on_write(api: Api) -> None:
    """ticketnumber and createdon sent by a client are ignored; the emulator sets them."""
    body = new_case(ticketnumber="CAS-00000-AAAAAA", createdon="2001-01-01T00:00:00Z")
    response = api.send(
        "POST",
        f"incidents?$select={CASE_COLUMNS},createdon",
        body,
        headers=api.headers(Prefer="return=representation"),
    )
    row = response.json()
    assert row["ticketnumber"] != "CAS-00000-AAAAAA" and re.fullmatch(
        r"CAS-\d{5}-[A-Z0-9]{6}", row["ticketnumber"]
    )
    assert not row["createdon"].startswith("2001")
