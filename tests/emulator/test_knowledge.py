"""The knowledge tables and messages as Dataverse documents them (issue 16), in-process and standalone:
FullTextSearchKnowledgeArticle (its parameters, a QueryExpression, its errors and 501s), the bound
IncrementKnowledgeArticleViewCount, feedback and adx_casedeflection writes."""

from __future__ import annotations

import uuid
from typing import Any

from d365portal.emulator.seed import (
    DEMO_CONTACT_ID,
    KB_DRAFT_VPN_ID,
    KB_INTERNAL_VPN_ID,
    KB_VPN_ES_ID,
    KB_VPN_ES_TITLE,
)
from tests.emulator.conftest import Api

COLUMNS = ["title", "articlepublicnumber", "isinternal", "statecode"]
BY_TITLE = [{"AttributeName": "title", "OrderType": "Ascending"}]
VIEW = "Microsoft.Dynamics.CRM.IncrementKnowledgeArticleViewCount"


def search(text: str, *, state: int | None = 3, conditions: list[dict[str, Any]] | None = None,
           **query: Any) -> dict[str, Any]:  # fmt: skip
    body: dict[str, Any] = {
        "SearchText": text, "UseInflection": False, "RemoveDuplicates": True,
        "QueryExpression": {
            "@odata.type": "Microsoft.Dynamics.CRM.QueryExpression", "EntityName": "knowledgearticle",
            "ColumnSet": {"AllColumns": False, "Columns": COLUMNS},
            "Criteria": {"FilterOperator": "And", "Conditions": conditions or []},
            "PageInfo": {"Count": 50, "PageNumber": 1}, **query,
        },
    }  # fmt: skip
    if state is not None:
        body["StateCode"] = state
    return body


def titles(answer: Any) -> list[str]:
    assert answer.status_code == 200, answer.text
    return [row["title"] for row in answer.json()["EntityCollection"]]


def test_full_text_search_finds_published_articles_most_relevant_first(api: Api) -> None:
    answer = api.send("POST", "FullTextSearchKnowledgeArticle", search("vpn"))
    body = answer.json()
    assert body["@odata.context"].endswith(
        "$metadata#Microsoft.Dynamics.CRM.FullTextSearchKnowledgeArticleResponse"
    )
    found = titles(answer)
    assert found[0] in (KB_VPN_ES_TITLE, "Connect to the corporate VPN")  # the title matches weigh most
    assert "VPN con doble factor (borrador)" not in found  # StateCode 3: published only
    assert all(
        row["@odata.type"] == "#Microsoft.Dynamics.CRM.knowledgearticle" for row in body["EntityCollection"]
    )
    external = titles(api.send("POST", "FullTextSearchKnowledgeArticle", search("vpn", conditions=[
        {"AttributeName": "isinternal", "Operator": "Equal", "Values": [False]}])))  # fmt: skip
    assert (
        "VPN: reiniciar el concentrador (interno)" in found
        and "VPN: reiniciar el concentrador (interno)" not in external
    )
    drafts = titles(api.send("POST", "FullTextSearchKnowledgeArticle", search("vpn", state=0)))
    assert drafts == ["VPN con doble factor (borrador)"]


def test_paging_and_orders(api: Api) -> None:
    first = titles(api.send("POST", "FullTextSearchKnowledgeArticle",
                            search("vpn", PageInfo={"Count": 2, "PageNumber": 1})))  # fmt: skip
    second = titles(api.send("POST", "FullTextSearchKnowledgeArticle",
                             search("vpn", PageInfo={"Count": 2, "PageNumber": 2})))  # fmt: skip
    assert len(first) == 2 and len(second) >= 1 and not set(first) & set(second)
    ordered = titles(api.send("POST", "FullTextSearchKnowledgeArticle",
                              search("vpn", Orders=BY_TITLE)))  # fmt: skip
    assert ordered == sorted(ordered)


def test_dataverses_refusals_and_what_the_emulator_does_not_do(api: Api) -> None:
    empty = api.send("POST", "FullTextSearchKnowledgeArticle", search(" "))
    assert empty.status_code == 400
    unknown = api.send("POST", "FullTextSearchKnowledgeArticle", {**search("vpn"), "Top": 3})
    assert unknown.status_code == 400 and "not a valid parameter" in unknown.json()["error"]["message"]
    column = search("vpn")
    column["QueryExpression"]["ColumnSet"]["Columns"] = ["nosuchcolumn"]
    refused = api.send("POST", "FullTextSearchKnowledgeArticle", column)
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "0x80041103"
    like = search("vpn", conditions=[{"AttributeName": "title", "Operator": "Like", "Values": ["%a%"]}])
    assert api.send("POST", "FullTextSearchKnowledgeArticle", like).status_code == 501
    linked = search("vpn", LinkEntities=[{"LinkToEntityName": "languagelocale"}])
    assert api.send("POST", "FullTextSearchKnowledgeArticle", linked).status_code == 501
    assert api.get("FullTextSearchKnowledgeArticle").status_code == 405  # an action: POST


def test_increment_view_count_adds_views_without_touching_modifiedon(api: Api) -> None:
    path = f"knowledgearticles({KB_VPN_ES_ID})"
    before = api.get(path, {"$select": "knowledgearticleviews,modifiedon"}).json()
    source = {
        "@odata.type": "Microsoft.Dynamics.CRM.knowledgearticle",
        "knowledgearticleid": str(KB_VPN_ES_ID),
    }
    body = {"Source": source,
            "ViewDate": "2026-12-01T10:00:00Z", "Location": 2, "Count": 1}  # fmt: skip
    done = api.send("POST", f"{path}/Microsoft.Dynamics.CRM.IncrementKnowledgeArticleViewCount", body)
    assert done.status_code == 204, done.text
    after = api.get(path, {"$select": "knowledgearticleviews,modifiedon"}).json()
    assert after["knowledgearticleviews"] == (before["knowledgearticleviews"] or 0) + 1
    assert after["modifiedon"] == before["modifiedon"]
    missing = api.send(
        "POST",
        f"knowledgearticles({uuid.uuid4()})/Microsoft.Dynamics.CRM.IncrementKnowledgeArticleViewCount",
        body,
    )
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "0x80040217"
    wrong = api.send(
        "POST", f"{path}/Microsoft.Dynamics.CRM.IncrementKnowledgeArticleViewCount", {**body, "Count": 0}
    )
    assert wrong.status_code == 400


def test_feedback_and_case_deflection_rows(api: Api) -> None:
    feedback_id = str(uuid.uuid4())
    rated = api.send("PATCH", f"feedback({feedback_id})", {
        "title": "Valoración", "rating": 1, "minrating": 0, "maxrating": 1, "source": 1,
        "KnowledgeArticleId@odata.bind": f"/knowledgearticles({KB_VPN_ES_ID})",
        "CreatedByContact@odata.bind": f"/contacts({DEMO_CONTACT_ID})",
    }, headers={**api.headers(), "If-None-Match": "*"})  # fmt: skip
    assert rated.status_code == 204, rated.text
    again = api.send("PATCH", f"feedback({feedback_id})", {"title": "otra", "rating": 0},
                     headers={**api.headers(), "If-None-Match": "*"})  # fmt: skip
    assert again.status_code == 412
    expand = {"$select": "title", "$expand": "KnowledgeArticle_Feedback($select=rating)"}
    article = api.get(f"knowledgearticles({KB_VPN_ES_ID})", expand).json()
    assert [f["rating"] for f in article["KnowledgeArticle_Feedback"]] == [1]
    created = api.send("POST", "adx_casedeflections", {
        "adx_name": KB_VPN_ES_TITLE, "adx_casetitle": "No me conecto",
        "adx_contact@odata.bind": f"/contacts({DEMO_CONTACT_ID})",
        "adx_knowledgearticle@odata.bind": f"/knowledgearticles({KB_VPN_ES_ID})",
    })  # fmt: skip
    assert created.status_code == 204, created.text
    rows = api.get(
        "adx_casedeflections", {"$select": "adx_casetitle", "$filter": "adx_casetitle eq 'No me conecto'"}
    )
    assert len(rows.json()["value"]) == 1
    for hidden in (KB_INTERNAL_VPN_ID, KB_DRAFT_VPN_ID):
        row = api.get(f"knowledgearticles({hidden})", {"$select": "isinternal,statecode"}).json()
        assert row["isinternal"] or row["statecode"] == 0
