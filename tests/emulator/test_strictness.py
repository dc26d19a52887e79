"""Nothing is silently ignored: query parameters, Dataverse messages the emulator lacks, and the
`<nav>@odata.nextLink` of expanded collections (each in-process and against the standalone server)."""

from __future__ import annotations

import pytest

from d365portal.emulator.seed import DEMO_ACCOUNT_ID, DEMO_CASE_ID
from tests.emulator.conftest import Api


@pytest.mark.parametrize("parameter", ["fetchXml", "sql", "savedQuery", "userQuery"])
def test_a_dataverse_parameter_without_dollar_is_501_not_the_whole_table(api: Api, parameter: str) -> None:
    response = api.get("incidents", params={parameter: "<fetch/>", "$select": "title"})
    assert response.status_code == 501
    assert parameter in response.json()["error"]["message"]


def test_an_unknown_parameter_gets_dataverses_own_400(api: Api) -> None:
    response = api.get("incidents", params={"utm_source": "x", "$select": "title"})
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "0x0",
        "message": "The query parameter utm_source is not supported",
    }
    assert api.get("WhoAmI", params={"foo": "1"}).status_code == 400
    assert api.get("WhoAmI", params={"$select": "UserId"}).status_code == 501


@pytest.mark.parametrize(
    "message", ["BulkDelete", "RetrieveVersion()", "RetrieveProvisionedLanguages", "Merge"]
)
def test_known_dataverse_messages_the_emulator_lacks_are_501(api: Api, message: str) -> None:
    method = "POST" if message in ("BulkDelete", "Merge") else "GET"
    response = api.send(method, message, {}) if method == "POST" else api.get(message)
    assert response.status_code == 501, response.text
    assert api.get("NoSuchMessageAtAll").status_code == 404


def test_the_service_document_lists_the_entity_sets(api: Api) -> None:
    response = api.get("")
    assert response.status_code == 200
    names = {entry["name"] for entry in response.json()["value"]}
    assert {"incidents", "accounts", "contacts", "entitlements", "EntityDefinitions"} <= names
    assert all(entry["kind"] == "EntitySet" for entry in response.json()["value"])


def test_retrieve_available_languages(api: Api) -> None:
    for path in ("RetrieveAvailableLanguages", "RetrieveAvailableLanguages()"):
        body = api.get(path).json()
        assert body["LocaleIds"] == [3082, 1033]
        assert body["@odata.context"].endswith("#Microsoft.Dynamics.CRM.RetrieveAvailableLanguagesResponse")


def test_expanded_collections_carry_their_next_link_which_answers_the_same_rows(api: Api) -> None:
    """Microsoft: a single-level collection $expand returns `<nav>@odata.nextLink`, the related rows'
    URL with the nested options; following it returns the same rows (and pages them)."""
    listed = api.get(
        "accounts",
        params={"$select": "name", "$filter": f"accountid eq {DEMO_ACCOUNT_ID}",
                "$expand": "account_entitlement_Customer($select=name;$orderby=name asc)"},
    ).json()["value"]  # fmt: skip
    (account,) = listed
    link = account["account_entitlement_Customer@odata.nextLink"]
    assert link.endswith(
        f"accounts({DEMO_ACCOUNT_ID})/account_entitlement_Customer?$select=name&$orderby=name%20asc"
    )
    followed = api.http.get(link, headers=api.headers(), timeout=10).json()["value"]
    assert [r["name"] for r in followed] == [r["name"] for r in account["account_entitlement_Customer"]]
    assert followed
    paged = api.http.get(link, headers=api.headers(page_size=1), timeout=10).json()
    assert len(paged["value"]) == 1 and ("@odata.nextLink" in paged) == (len(followed) > 1)


def test_one_row_carries_the_next_link_only_when_top_cut_the_collection(api: Api) -> None:
    whole = api.get(
        f"accounts({DEMO_ACCOUNT_ID})",
        params={"$select": "name", "$expand": "account_entitlement_Customer($select=name)"},
    ).json()
    assert "account_entitlement_Customer@odata.nextLink" not in whole
    cut = api.get(
        f"accounts({DEMO_ACCOUNT_ID})",
        params={"$select": "name", "$expand": "account_entitlement_Customer($select=name;$top=1)"},
    ).json()
    if len(whole["account_entitlement_Customer"]) > 1:
        assert "account_entitlement_Customer@odata.nextLink" in cut
    assert api.get(f"incidents({DEMO_CASE_ID})/title").status_code == 501


@pytest.mark.parametrize("value", ["²", "٣", "1²"])
def test_a_non_ascii_digit_in_top_or_a_page_size_is_a_400_not_a_crash(api: Api, value: str) -> None:
    """`str.isdigit()` takes "²" and Arabic-Indic digits, `int()` does not (found by the fuzz test)."""
    top = api.get("incidents", {"$select": "title", "$top": value})
    assert top.status_code == 400 and "Invalid value" in top.json()["error"]["message"]
    if value.isascii() or all(ord(c) < 256 for c in value):  # a header carries Latin-1 only
        headers = {**api.headers(), "Prefer": f"odata.maxpagesize={value}"}
        sized = api.get("incidents", {"$select": "title"}, headers=headers)
        assert sized.status_code == 400
