"""Change tracking as the Web API documents it (issue 14), in-process and standalone: the initial read
with `Prefer: odata.track-changes`, delta links with changed and deleted rows, the refused query
options, an expired and a garbled token, and the `ChangeTrackingEnabled` metadata."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from d365portal.emulator.seed import DEMO_CASE_ID
from tests.emulator.conftest import API, Api

TRACK = "odata.track-changes"


def track(api: Api, path: str, **extra: str) -> Any:
    headers = api.headers(**extra)
    headers["Prefer"] = ",".join(p for p in (headers.get("Prefer"), TRACK) if p)
    return api.http.get(api.url + API + path, headers=headers, timeout=30)


def follow(api: Api, link: str, **extra: Any) -> Any:
    """A next or delta link, sent with the same preferences as the first read (as clients do)."""
    headers = api.headers(**extra)
    headers["Prefer"] = ",".join(p for p in (headers.get("Prefer"), TRACK) if p)
    return api.http.get(link, headers=headers, timeout=30)


def test_an_initial_read_then_the_changes_since_with_deleted_rows(api: Api) -> None:
    first = track(api, "adx_portalcomments?$select=description,adx_portalcommentdirectioncode")
    assert first.status_code == 200, first.text
    assert "odata.track-changes" in first.headers["Preference-Applied"]
    body = first.json()
    assert len(body["value"]) >= 2 and "@odata.nextLink" not in body
    link = body["@odata.deltaLink"]
    token = parse_qs(urlsplit(link).query)["$deltatoken"][0]
    assert "!" in token  # Dataverse's shape: version!MM/dd/yyyy HH:mm:ss
    nothing = follow(api, link).json()
    assert nothing["value"] == [] and nothing["@odata.context"].endswith("/$delta")
    created = api.send(
        "POST",
        "adx_portalcomments",
        {
            "description": "nuevo",
            "adx_portalcommentdirectioncode": 2,
            "regardingobjectid_incident_adx_portalcomment@odata.bind": f"/incidents({DEMO_CASE_ID})",
        },
    )
    new_id = created.headers["OData-EntityId"].rsplit("(", 1)[1].rstrip(")")
    gone = body["value"][0]["activityid"]
    assert api.send("DELETE", f"adx_portalcomments({gone})").status_code == 204
    changes = follow(api, nothing["@odata.deltaLink"]).json()
    kinds = [(e.get("activityid"), e.get("id"), e.get("reason")) for e in changes["value"]]
    assert kinds == [(new_id, None, None), (None, gone, "deleted")]  # changed rows first, then deletions
    assert changes["value"][0]["description"] == "nuevo" and "createdon" not in changes["value"][0]
    assert changes["value"][1]["@odata.context"].endswith("adx_portalcomments/$deletedEntity")
    assert follow(api, changes["@odata.deltaLink"]).json()["value"] == []


def test_an_update_comes_back_once_with_its_new_values(api: Api) -> None:
    link = track(api, "incidents?$select=statecode,statuscode").json()["@odata.deltaLink"]
    api.send(
        "PATCH", f"incidents({DEMO_CASE_ID})", {"statuscode": 3}, headers=api.headers(**{"If-Match": "*"})
    )
    api.send(
        "PATCH", f"incidents({DEMO_CASE_ID})", {"statuscode": 4}, headers=api.headers(**{"If-Match": "*"})
    )
    (row,) = follow(api, link).json()["value"]
    assert row["incidentid"] == str(DEMO_CASE_ID) and row["statuscode"] == 4


def test_pages_of_an_initial_read_end_with_the_delta_link(api: Api) -> None:
    first = track(api, "incidents?$select=title", page_size=20).json()
    assert len(first["value"]) == 20 and "@odata.deltaLink" not in first
    seen = {row["incidentid"] for row in first["value"]}
    page = first
    while "@odata.nextLink" in page:
        page = follow(api, page["@odata.nextLink"], page_size=20).json()
        seen |= {row["incidentid"] for row in page["value"]}
    assert "@odata.deltaLink" in page
    every = api.get("incidents", {"$select": "incidentid"}).json()["value"]
    assert seen == {row["incidentid"] for row in every}


@pytest.mark.parametrize("option", ["$filter=statecode eq 0", "$orderby=title", "$top=5"])
def test_filter_orderby_and_top_are_refused_with_track_changes(api: Api, option: str) -> None:
    response = track(api, f"incidents?$select=title&{option}")
    assert response.status_code == 400
    assert "is not supported when change tracking is enabled" in response.json()["error"]["message"]


def test_a_table_without_change_tracking_is_refused(api: Api) -> None:
    response = track(api, "contacts?$select=fullname")
    assert (
        response.status_code == 400
        and "not enabled for the entity 'contact'" in response.json()["error"]["message"]
    )


def test_an_expired_token_is_expiredversionstamp_and_a_garbled_one_a_400(api: Api) -> None:
    link = track(api, "incidents?$select=title").json()["@odata.deltaLink"]
    api.control("POST", "tracking/expire")
    expired = follow(api, link)
    assert expired.status_code == 400 and expired.json()["error"]["code"] == "0x80044352"
    assert "Please perform a full sync" in expired.json()["error"]["message"]
    fresh = track(api, "incidents?$select=title")
    assert fresh.status_code == 200 and follow(api, fresh.json()["@odata.deltaLink"]).status_code == 200
    garbled = api.get("incidents", {"$select": "title", "$deltatoken": "nonsense"})
    assert garbled.status_code == 400 and garbled.json()["error"]["code"] != "0x80044352"


def test_the_followed_tables_have_change_tracking_enabled_in_their_metadata(api: Api) -> None:
    for name in ("incident", "entitlement", "adx_portalcomment", "annotation"):
        item = api.get(
            f"EntityDefinitions(LogicalName='{name}')", {"$select": "ChangeTrackingEnabled"}
        ).json()
        assert item["ChangeTrackingEnabled"] is True, name
    contact = api.get("EntityDefinitions(LogicalName='contact')", {"$select": "ChangeTrackingEnabled"}).json()
    assert contact["ChangeTrackingEnabled"] is False


def test_a_delta_token_elsewhere_than_a_collection_read_is_501_not_ignored(api: Api) -> None:
    link = track(api, "incidents?$select=title").json()["@odata.deltaLink"]
    token = parse_qs(urlsplit(link).query)["$deltatoken"][0]
    assert api.get("incidents/$count", {"$deltatoken": token}).status_code == 501
    one_row = api.get(f"incidents({DEMO_CASE_ID})", {"$select": "title", "$deltatoken": token})
    assert one_row.status_code == 501
