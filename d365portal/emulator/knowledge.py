"""Knowledge articles' two messages (issue 16), as Microsoft's Web API reference describes them:

- `POST FullTextSearchKnowledgeArticle` (an action: the SDK's FullTextSearchKnowledgeArticleRequest)
  with `SearchText`, `UseInflection`, `RemoveDuplicates`, `StateCode` and a `QueryExpression`; the
  answer is `FullTextSearchKnowledgeArticleResponse` with `EntityCollection`, the matching
  `knowledgearticle` rows (each with `@odata.type`). Dataverse runs SQL Server full-text search; the
  emulator matches whole words (with inflection: word prefixes of four letters or more) in the title,
  keywords, description and content (tags stripped), ignores noise words, keeps a row when any word
  matches (as FREETEXT does) and orders by a simple relevance: how many of the words matched, then
  where (title three, keywords two, the rest one). The QueryExpression subset the emulator understands:
  `EntityName` knowledgearticle, `ColumnSet` (`Columns` or `AllColumns`), `Criteria` with
  `FilterOperator` And/Or, `Conditions` (`Equal`, `NotEqual`) and nested `Filters`, `Orders`, `PageInfo`
  (`Count`, `PageNumber`); anything else (link entities, other operators) answers 501.
- `POST knowledgearticles(<id>)/Microsoft.Dynamics.CRM.IncrementKnowledgeArticleViewCount` with
  `Source`, `ViewDate`, `Location` and `Count`: adds to the article's `knowledgearticleviews`; 204.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Response

from d365portal.emulator import errors
from d365portal.emulator.formatting import Annotations
from d365portal.emulator.responses import json_response, no_content, odata_headers
from d365portal.emulator.schema import Table

if TYPE_CHECKING:  # pragma: no cover
    from d365portal.emulator.app import EmulatorApp
    from d365portal.emulator.routes import Call

SEARCH = "FullTextSearchKnowledgeArticle"
PARAMETERS = frozenset({"SearchText", "UseInflection", "RemoveDuplicates", "StateCode", "QueryExpression"})
QUERY_KEYS = frozenset(
    {"@odata.type", "EntityName", "ColumnSet", "Criteria", "Orders", "PageInfo", "Distinct", "NoLock"}
)
MAX_PAGE = 5000
_WORD = re.compile(r"\w+", re.UNICODE)
_TAG = re.compile(r"<[^>]*>")
WEIGHTS = (("title", 3), ("keywords", 2), ("description", 1), ("content", 1))


def _payload(call: Call) -> dict[str, Any]:
    try:
        payload = json.loads(call.request.get_data(as_text=True) or "{}")
    except ValueError:
        raise errors.invalid_argument("The request body is not valid JSON.") from None
    if not isinstance(payload, dict):
        raise errors.invalid_argument("The request body must be a JSON object.")
    return payload


def _words(text: str) -> list[str]:
    return [w.casefold() for w in _WORD.findall(text)]


def _matches(term: str, words: list[str], inflection: bool) -> int:
    if inflection and len(term) >= 4:
        return sum(1 for w in words if w.startswith(term[: max(4, len(term) - 2)]))
    return sum(1 for w in words if w == term)


# Words SQL Server's full-text search ignores (its Spanish and English system stoplists, in part).
NOISE = frozenset("""a al con de del el en es la las lo los me mi no o para por que se su un una y
an and for i in is it my of on or the to with""".split())


def relevance(row: dict[str, Any], terms: list[str], inflection: bool) -> int:
    """How well a row matches (FREETEXT-like: any term counts): distinct terms found first, then
    where they were found (title weighs most); 0 when none is found. Noise words are ignored."""
    found_terms, weight_sum = 0, 0
    for term in terms:
        if term in NOISE:
            continue
        found = 0
        for column, weight in WEIGHTS:
            text = _TAG.sub(" ", str(row.get(column) or ""))
            found += weight * _matches(term, _words(text), inflection)
        if found:
            found_terms += 1
            weight_sum += found
    return found_terms * 1000 + weight_sum if found_terms else 0


def _condition(table: Table, condition: Any) -> Any:
    if not isinstance(condition, dict):
        raise errors.invalid_argument("A condition of the QueryExpression must be an object.")
    name = condition.get("AttributeName")
    column = table.by_read_name.get(str(name)) or table.columns.get(str(name))
    if column is None:
        raise errors.EmulatorError(
            400, "0x80041103", f"'knowledgearticle' entity doesn't contain attribute with Name = '{name}'"
        )
    operator = condition.get("Operator")
    if operator not in ("Equal", "NotEqual"):
        raise errors.not_implemented(f"the condition operator '{operator}' in a QueryExpression")
    values = condition.get("Values")
    if not isinstance(values, list) or len(values) != 1:
        raise errors.invalid_argument(f"The condition on '{name}' needs exactly one value.")
    wanted = values[0]
    if isinstance(wanted, dict):  # typed values: {"Value": …, "Type": "System.Boolean"}
        wanted = wanted.get("Value")
    key = column.read_name

    def same(row: dict[str, Any]) -> bool:
        value = row.get(key)
        if column.kind == "bool":
            return bool(value) == (str(wanted).lower() == "true" if isinstance(wanted, str) else bool(wanted))
        if column.kind in ("int", "choice"):
            return value is not None and int(value) == int(wanted)
        return str(value or "").casefold() == str(wanted or "").casefold()

    return same if operator == "Equal" else (lambda row: not same(row))


def _criteria(table: Table, criteria: Any) -> Any:
    if criteria is None:
        return lambda row: True
    if not isinstance(criteria, dict):
        raise errors.invalid_argument("The Criteria of the QueryExpression must be an object.")
    unknown = set(criteria) - {"@odata.type", "FilterOperator", "Conditions", "Filters"}
    if unknown:
        raise errors.not_implemented(f"the filter expression properties {sorted(unknown)}")
    operator = criteria.get("FilterOperator", "And")
    if operator not in ("And", "Or"):
        raise errors.invalid_argument(f"'{operator}' is not a FilterOperator (And, Or).")
    parts = [_condition(table, c) for c in criteria.get("Conditions") or []]
    parts += [_criteria(table, f) for f in criteria.get("Filters") or []]
    if operator == "And":
        return lambda row: all(p(row) for p in parts)
    return lambda row: any(p(row) for p in parts) if parts else True


def full_text_search(app: EmulatorApp, call: Call) -> Response:
    """POST /FullTextSearchKnowledgeArticle."""
    payload = _payload(call)
    unknown = set(payload) - PARAMETERS
    if unknown:
        name = sorted(unknown)[0]
        raise errors.invalid_argument(
            f"The parameter '{name}' in the request payload is not a valid parameter for the operation "
            f"'{SEARCH}'."
        )
    text = payload.get("SearchText")
    if not isinstance(text, str) or not text.strip():
        raise errors.invalid_argument("SearchText must be a non-empty string.")
    query = payload.get("QueryExpression")
    if not isinstance(query, dict):
        raise errors.invalid_argument("The parameter 'QueryExpression' is missing.")
    if set(query) - QUERY_KEYS:
        raise errors.not_implemented(f"the QueryExpression properties {sorted(set(query) - QUERY_KEYS)}")
    if query.get("EntityName") != "knowledgearticle":
        raise errors.invalid_argument(
            "The QueryExpression of FullTextSearchKnowledgeArticle must be on knowledgearticle."
        )
    table = app.store.tables["knowledgearticles"]
    columns = (query.get("ColumnSet") or {}).get("Columns")
    all_columns = bool((query.get("ColumnSet") or {}).get("AllColumns"))
    select: list[str] | None = None
    if not all_columns:
        if not isinstance(columns, list) or not columns:
            raise errors.invalid_argument("The ColumnSet must list the columns (or ask for AllColumns).")
        select = []
        for name in columns:
            column = table.columns.get(str(name))
            if column is None:
                raise errors.EmulatorError(
                    400,
                    "0x80041103",
                    f"'knowledgearticle' entity doesn't contain attribute with Name = '{name}'",
                )
            select.append(column.read_name)
    keep = _criteria(table, query.get("Criteria"))
    inflection = bool(payload.get("UseInflection"))
    state = payload.get("StateCode")
    terms = _words(text)
    with app.store.lock:
        rows = list(app.store.rows("knowledgearticles").values())
        scored = []
        for row in rows:
            if state is not None and row.get("statecode") != int(state):
                continue
            if payload.get("RemoveDuplicates") and not row.get("islatestversion"):
                continue
            if not keep(row):
                continue
            score = relevance(row, terms, inflection)
            if score:
                scored.append((score, row))
        orders = query.get("Orders") or []
        scored.sort(key=lambda pair: (-pair[0], str(pair[1].get("title") or "")))
        for order in reversed(orders):
            name = str(order.get("AttributeName"))
            if name not in table.columns:
                raise errors.EmulatorError(
                    400,
                    "0x80041103",
                    f"'knowledgearticle' entity doesn't contain attribute with Name = '{name}'",
                )
            read = table.columns[name].read_name

            def by_column(pair: tuple[int, dict[str, Any]], key: str = read) -> str:
                return str(pair[1].get(key) or "")

            scored.sort(key=by_column, reverse=order.get("OrderType") == "Descending")
        page = query.get("PageInfo") or {}
        count = min(int(page.get("Count") or 50), MAX_PAGE)
        number = max(1, int(page.get("PageNumber") or 1))
        chunk = [row for _, row in scored[(number - 1) * count : number * count]]
        notes = Annotations.from_preference(_prefer(call).get("odata.include-annotations"))
        entities = []
        for row in chunk:
            item = {"@odata.type": "#Microsoft.Dynamics.CRM.knowledgearticle"}
            item.update(app.formatter.row(table, row, select, notes))
            entities.append(item)
    body = {
        "@odata.context": f"{app.base(call.request)}$metadata#Microsoft.Dynamics.CRM.{SEARCH}Response",
        "EntityCollection": entities,
    }
    return json_response(body)


def _prefer(call: Call) -> dict[str, str]:
    from d365portal.emulator.handlers import preferences

    return preferences(call.request)


def increment_view_count(app: EmulatorApp, call: Call) -> Response:
    """POST /knowledgearticles(<id>)/Microsoft.Dynamics.CRM.IncrementKnowledgeArticleViewCount."""
    if call.table_or_fail.entity_set != "knowledgearticles":
        raise errors.unknown_segment("Microsoft.Dynamics.CRM.IncrementKnowledgeArticleViewCount")
    row_id = call.row_id
    payload = _payload(call)
    unknown = set(payload) - {"Source", "ViewDate", "Location", "Count"}
    if unknown:
        raise errors.invalid_argument(
            f"The parameter '{sorted(unknown)[0]}' in the request payload is not a valid parameter for the "
            "operation 'IncrementKnowledgeArticleViewCount'."
        )
    count = payload.get("Count")
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise errors.invalid_argument("The parameter 'Count' must be a positive Edm.Int32.")
    if payload.get("Location") not in (1, 2):
        raise errors.invalid_argument("The parameter 'Location' must be 1 (internal) or 2 (web).")
    if row_id not in app.store.rows("knowledgearticles"):
        raise errors.record_not_found("knowledgearticle", row_id)

    def work() -> None:
        row = app.store.rows("knowledgearticles")[row_id]
        views = int(row.get("knowledgearticleviews") or 0) + count
        changes = {"knowledgearticleviews": views, "knowledgearticleviews_date": payload.get("ViewDate")}
        app.store.update("knowledgearticles", row_id, changes, touch=False)

    app.store.transaction(work)
    return no_content(odata_headers())
