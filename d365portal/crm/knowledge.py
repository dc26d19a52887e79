"""The tenant's knowledge base (issue 16): search, read, rate, count views, record case deflections.

Search is Dataverse's `FullTextSearchKnowledgeArticle` action (SQL Server full-text search over the
articles' title, keywords and content), not Dataverse search: it needs no search index to be switched
on and answers at once with what agents published (Dataverse search indexes with a delay and must be
enabled per environment), and the application user only needs Read on Knowledge Article (DESIGN.md
decision 21). The search text travels as the action's `SearchText` parameter, in a JSON body: never
inside an OData URL. Every method is one request.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from d365portal.crm import records as r
from d365portal.dataverse import odata
from d365portal.dataverse.client import DataverseClient
from d365portal.dataverse.errors import Conflict, NotFound

PUBLISHED = 3
LANGUAGES_BY_LCID = {3082: "es-ES", 1033: "en-US"}
SEARCH_COLUMNS = ("knowledgearticleid", "title", "articlepublicnumber", "description", "content",
                  "modifiedon", "languagelocaleidlocaleid", "rootarticleid")  # fmt: skip
ARTICLE_COLUMNS = ("knowledgearticleid", "title", "articlepublicnumber", "content", "modifiedon",
                   "languagelocaleidlocaleid")  # fmt: skip
WEB_LOCATION = 2  # IncrementKnowledgeArticleViewCount: a view on the web (1 is internal)
FEEDBACK_SOURCE_PORTAL = 1
_RATING_NAMESPACE = UUID("3f0d9a52-6c1e-4b7a-9e22-51b0c1d7a4e8")


@dataclass(frozen=True)
class Hit:
    """One search result."""

    id: UUID
    number: str
    title: str
    text: str  # description, else the content (HTML: the web layer makes the plain excerpt)
    modified_on: datetime | None
    language: str | None
    root: UUID | None


@dataclass(frozen=True)
class Article:
    """A published, external article."""

    id: UUID
    number: str
    title: str
    content: str  # HTML as agents wrote it: sanitize before showing
    modified_on: datetime | None
    language: str | None


def _condition(column: str, value: Any) -> dict[str, Any]:
    return {"AttributeName": column, "Operator": "Equal", "Values": [value]}


def search_body(text: str, page: int, page_size: int) -> dict[str, Any]:
    """The action's parameters: published, external, latest versions; one more row than the page
    (so the page knows whether another follows)."""
    return {
        "SearchText": text,
        "UseInflection": True,
        "RemoveDuplicates": True,
        "StateCode": PUBLISHED,
        "QueryExpression": {
            "@odata.type": "Microsoft.Dynamics.CRM.QueryExpression",
            "EntityName": "knowledgearticle",
            "ColumnSet": {"AllColumns": False, "Columns": list(SEARCH_COLUMNS)},
            "Criteria": {"FilterOperator": "And", "Conditions": [
                _condition("isinternal", False), _condition("islatestversion", True),
                _condition("isrootarticle", False),
            ]},  # fmt: skip
            "PageInfo": {"Count": page_size + 1, "PageNumber": max(1, page)},
        },
    }


def _language(row: r.Row) -> str | None:
    return LANGUAGES_BY_LCID.get(r.integer(row, "languagelocaleidlocaleid") or 0)


def _hit(row: r.Row) -> Hit:
    root = r.lookup(row, "rootarticleid")
    return Hit(
        id=r.uuid(row, "knowledgearticleid"), number=r.text(row, "articlepublicnumber") or "",
        title=r.text(row, "title") or "", text=r.text(row, "description") or r.text(row, "content") or "",
        modified_on=r.timestamp(row, "modifiedon"), language=_language(row), root=root.id if root else None,
    )  # fmt: skip


class KnowledgeRepository:
    """Reads and writes the knowledge tables; every method is one Dataverse request."""

    def __init__(self, client: DataverseClient) -> None:
        self._client = client

    def search(self, text: str, *, page: int = 1, page_size: int = 10) -> tuple[list[Hit], bool]:
        """Articles matching `text`, most relevant first; whether another page follows."""
        if not text.strip():
            return [], False
        body = search_body(text.strip(), page, page_size)
        answer = self._client.call_action("FullTextSearchKnowledgeArticle", body, retry_safe=True) or {}
        rows = [row for row in answer.get("EntityCollection") or [] if isinstance(row, dict)]
        hits = [_hit(row) for row in rows]
        return hits[:page_size], len(hits) > page_size

    def get(self, article_id: UUID) -> Article:
        """One published, external, latest article; `NotFound` otherwise (drafts and internal ones too)."""
        where = odata.and_(
            odata.eq("knowledgearticleid", UUID(str(article_id))), odata.eq("statecode", PUBLISHED),
            odata.eq("isinternal", False), odata.eq("islatestversion", True),
        )  # fmt: skip
        rows = self._client.get("knowledgearticles", {"$select": odata.select(ARTICLE_COLUMNS),
                                                      "$filter": where.text}).get("value", [])  # fmt: skip
        if not rows:
            raise NotFound(f"knowledgearticle {article_id} is not a published external article", status=404)
        row = rows[0]
        return Article(
            id=r.uuid(row, "knowledgearticleid"), number=r.text(row, "articlepublicnumber") or "",
            title=r.text(row, "title") or "", content=r.text(row, "content") or "",
            modified_on=r.timestamp(row, "modifiedon"), language=_language(row),
        )  # fmt: skip

    def count_view(self, article_id: UUID) -> None:
        """`IncrementKnowledgeArticleViewCount`: one view on the web, today."""
        article_id = UUID(str(article_id))
        source = {"@odata.type": "Microsoft.Dynamics.CRM.knowledgearticle",
                  "knowledgearticleid": str(article_id)}  # fmt: skip
        body = {"Source": source, "ViewDate": odata.literal(datetime.now(UTC)), "Location": WEB_LOCATION,
                "Count": 1}  # fmt: skip
        name = "IncrementKnowledgeArticleViewCount"
        self._client.call_bound_action("knowledgearticles", article_id, name, body)

    @staticmethod
    def rating_id(contact_id: UUID, article_id: UUID) -> UUID:
        """The id of a contact's one rating of an article: a second vote is the same row."""
        return uuid.uuid5(_RATING_NAMESPACE, f"{contact_id}:{article_id}")

    def rate(self, article_id: UUID, contact_id: UUID, helpful: bool, title: str) -> bool:
        """Record "¿Le resultó útil?" as Power Pages does (a `feedback` regarding the article, by the
        contact, source Portal; Sí = 1, No = 0 of 0–1); False when this contact already rated it."""
        body = {
            "title": title[:500], "rating": 1 if helpful else 0, "minrating": 0, "maxrating": 1,
            "source": FEEDBACK_SOURCE_PORTAL, "adx_approved": True,
            "KnowledgeArticleId@odata.bind": odata.bind("knowledgearticles", UUID(str(article_id))),
            "CreatedByContact@odata.bind": odata.bind("contacts", UUID(str(contact_id))),
        }  # fmt: skip
        try:
            self._client.upsert("feedback", self.rating_id(contact_id, article_id), body, create_only=True)
        except Conflict:
            return False
        return True

    def record_deflection(
        self, article_id: UUID, contact_id: UUID, case_title: str, article_title: str
    ) -> None:
        """Power Pages' `adx_casedeflection`: the title typed on the new-case form and the article opened."""
        self._client.create("adx_casedeflections", {
            "adx_name": article_title[:100], "adx_casetitle": case_title[:200],
            "adx_contact@odata.bind": odata.bind("contacts", UUID(str(contact_id))),
            "adx_knowledgearticle@odata.bind": odata.bind("knowledgearticles", UUID(str(article_id))),
        })  # fmt: skip

    def deflections_since(self, since: datetime) -> list[dict[str, Any]]:
        """The deflections recorded since `since`: article, contact, typed title, when (for the report)."""
        params = {
            "$select": "adx_name,adx_casetitle,_adx_contact_value,_adx_knowledgearticle_value,createdon",
            "$filter": odata.ge("createdon", since).text,
            "$orderby": "createdon asc",
        }
        return list(self._client.iterate("adx_casedeflections", params))

    def web_cases_since(self, since: datetime) -> list[dict[str, Any]]:
        """Cases opened on the portal since `since` (contact, title, when), for the report."""
        where = odata.and_(odata.ge("createdon", since), odata.eq("caseorigincode", 3))
        params = {"$select": "title,_primarycontactid_value,createdon", "$filter": where.text}
        return list(self._client.iterate("incidents", params))
