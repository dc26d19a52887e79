"""Thin handlers of the Web API routes: parse the request, ask the store, shape the answer.

Each takes the app and the `Call` the route table resolved (`routes.py`); errors are raised as
`errors.EmulatorError` and answered by the app with Dataverse's own codes.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from d365portal.emulator import conditional, errors, tracking
from d365portal.emulator.formatting import Annotations
from d365portal.emulator.privileges import role_privileges
from d365portal.emulator.query import (
    COUNT_LIMIT,
    MAX_PAGE_SIZE,
    Options,
    check_parameter,
    is_number,
    linked_through,
    next_link,
    page_from_index,
    read_skiptoken,
    resume_at,
    select_rows,
    serialize,
    sort_rows,
)
from d365portal.emulator.responses import JSON_TYPE, json_response, no_content, odata_headers
from d365portal.emulator.schema import READ_ONLY_SETS, ManyToMany, Table
from d365portal.emulator.seed import APPLICATION_USER_ID, ORGANIZATION_ID

if TYPE_CHECKING:  # pragma: no cover
    from d365portal.emulator.app import EmulatorApp
    from d365portal.emulator.routes import Call

WHOAMI = {
    "BusinessUnitId": "6f7e1d2c-0b9a-ea11-a812-000d3a1b2c3d",
    "UserId": str(APPLICATION_USER_ID),
    "OrganizationId": str(ORGANIZATION_ID),
}


# --- request parsing -------------------------------------------------------------------------
def preferences(request: Request) -> dict[str, str]:
    """The `Prefer` header(s) as name → value (comma-separated or repeated)."""
    prefs: dict[str, str] = {}
    for header in request.headers.getlist("Prefer"):
        for part in re.split(r',(?=(?:[^"]*"[^"]*")*[^"]*$)', header):
            name, _, value = part.strip().partition("=")
            if name:
                prefs[name.strip().lower()] = value.strip()
    return prefs


def options(app: EmulatorApp, request: Request, table: Table, *, tracking: bool = False) -> Options:
    """The query options ($select, $filter, …) of the request, checked against the table. A delta
    token belongs to a collection read only (`$count` on a delta link, a row or a related set with
    one: not implemented, so 501 rather than an answer that ignores it)."""
    if "$deltatoken" in request.args and not tracking:
        raise errors.not_implemented("$deltatoken here (only a collection read follows a delta link)")
    return app.parser.parse(table, {k: v for k, v in request.args.items(multi=False)})


def _no_constant(name: str) -> Any:
    """`json.loads` hook: NaN and Infinity are not JSON (Python accepts them by default)."""
    raise ValueError(f"'{name}' is not a valid JSON value.")


def body(request: Request, entity_set: str) -> Any:
    """The JSON body; what could not be stored and answered again is refused with 400."""
    raw = request.get_data(cache=True)
    try:
        parsed = json.loads(raw.decode("utf-8"), parse_constant=_no_constant) if raw.strip() else {}
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise errors.payload_error(entity_set, f"Invalid JSON. {getattr(exc, 'msg', exc)}") from None
    except ValueError as exc:  # NaN / Infinity
        raise errors.payload_error(entity_set, f"Invalid JSON. {exc}") from None
    try:  # what could not be answered later must not be stored: lone surrogates, 1e999
        json.dumps(parsed, ensure_ascii=False, allow_nan=False).encode("utf-8")
    except ValueError:
        raise errors.payload_error(
            entity_set, "Invalid JSON. A string or number in the payload is not valid."
        ) from None
    return parsed


def _context(app: EmulatorApp, request: Request, table: Table, opts: Options) -> str:
    select = f"({','.join(opts.select)})" if opts.select else ""
    return f"{app.base(request)}$metadata#{table.entity_set}{select}"


def no_options(call: Call) -> None:
    """Functions and actions take no query options: each one is refused, none ignored."""
    for name in call.request.args:
        check_parameter(name)
        raise errors.not_implemented(f"the query option '{name}' on '{call.name}'")


# --- functions and actions -------------------------------------------------------------------
def whoami(app: EmulatorApp, call: Call) -> Response:
    """GET /WhoAmI."""
    no_options(call)
    context = f"{app.base(call.request)}$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse"
    return json_response({"@odata.context": context, **WHOAMI})


def user_privileges(app: EmulatorApp, call: Call) -> Response:
    """`systemusers(<id>)/Microsoft.Dynamics.CRM.RetrieveUserPrivileges()` for the application user."""
    no_options(call)
    user_id = call.row_id
    if user_id != WHOAMI["UserId"]:
        raise errors.record_not_found("systemuser", user_id)
    return json_response(
        {
            "@odata.context": f"{app.base(call.request)}$metadata"
            "#Microsoft.Dynamics.CRM.RetrieveUserPrivilegesResponse",
            "RolePrivileges": role_privileges(app.privileges, WHOAMI["BusinessUnitId"]),
        }
    )


def close_incident(app: EmulatorApp, call: Call) -> Response:
    """POST /CloseIncident: resolve a case with an incidentresolution."""
    no_options(call)
    app.writer.close_incident(body(call.request, "CloseIncident"))
    return no_content(odata_headers())


# --- reads -----------------------------------------------------------------------------------
def get_collection(app: EmulatorApp, call: Call) -> Response:
    """GET /<set>: filtered, ordered, paged rows with the annotations asked for."""
    request, table = call.request, call.table_or_fail
    opts = options(app, request, table, tracking=True)
    prefs = preferences(request)
    applied = []
    notes = Annotations.from_preference(prefs.get("odata.include-annotations"))
    if tracking.requested(request, prefs):
        return tracking.collection(app, request, table, opts, prefs, notes)
    if notes.any:
        applied.append(f"odata.include-annotations={prefs['odata.include-annotations']}")
    page_size = None
    if "odata.maxpagesize" in prefs:
        text = prefs["odata.maxpagesize"].strip('"')
        if not is_number(text) or int(text) < 1:
            raise errors.query_syntax(f"The odata.maxpagesize preference '{text}' is not valid.")
        page_size = min(int(text), MAX_PAGE_SIZE)
        applied.append(f"odata.maxpagesize={page_size}")
    page, offset, last_id = 1, 0, None
    if "$skiptoken" in request.args:
        page, offset, last_id = read_skiptoken(request.args["$skiptoken"])
    limit = page_size or MAX_PAGE_SIZE
    if page_size is None and opts.top is not None:
        limit = min(opts.top, MAX_PAGE_SIZE)
    answer: dict[str, Any] = {"@odata.context": _context(app, request, table, opts)}
    fast = None if notes.counts else page_from_index(app.store, table, opts, last_id, offset, limit)
    if fast is not None:
        chunk, more = fast
    else:
        rows = select_rows(app.store, table, opts, app.cache)
        if opts.count:
            answer["@odata.count"] = min(len(rows), COUNT_LIMIT)
        if notes.counts:
            answer["@Microsoft.Dynamics.CRM.totalrecordcount"] = (
                min(len(rows), COUNT_LIMIT) if opts.count else -1
            )
            answer["@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"] = len(rows) > COUNT_LIMIT
        if page_size is None and opts.top is not None:
            rows = rows[: opts.top]
        offset = resume_at(rows, table.primary_key, offset, last_id)
        chunk = rows[offset : offset + limit]
        more = offset + limit < len(rows)
    link_base = app.base(request)
    answer["value"] = [
        serialize(app.store, app.formatter, table, r, opts, notes, link_base, in_collection=True)
        for r in chunk
    ]
    if chunk and more and not (page_size is None and opts.top is not None):
        raw = [(k, v) for k, v in request.args.items(multi=True)]
        last = chunk[-1][table.primary_key]
        answer["@odata.nextLink"] = next_link(
            app.base(request), table.entity_set, raw, page + 1, offset + limit, last
        )
    return json_response(answer, applied)


def count_rows(app: EmulatorApp, call: Call) -> Response:
    """GET /<set>/$count: the number of (filtered) rows as text/plain, up to 5000."""
    table = call.table_or_fail
    opts = options(app, call.request, table)
    total = min(len(select_rows(app.store, table, opts, app.cache)), COUNT_LIMIT)
    return Response(str(total), headers=odata_headers(), content_type="text/plain")


def get_row(app: EmulatorApp, call: Call) -> Response:
    """GET /<set>(<id>): one row; 304 when `If-None-Match` is its current ETag."""
    request, table, row_id = call.request, call.table_or_fail, call.row_id
    opts = options(app, request, table)
    if opts.predicate or opts.orderby or opts.top is not None:
        raise errors.query_syntax(
            "Query options $filter, $orderby and $top are not allowed on a single entity."
        )
    row = app.store.rows(table.entity_set).get(row_id)
    if row is None:
        raise errors.record_not_found(table.logical_name, row_id)
    prefs = preferences(request)
    notes = Annotations.from_preference(prefs.get("odata.include-annotations"))
    if conditional.not_modified(request.headers, row) and not notes.any and not opts.expand:
        response = Response(status=304, headers=odata_headers())
        response.headers["Content-Type"] = JSON_TYPE
        return response
    answer = {"@odata.context": _context(app, request, table, opts) + "/$entity"}
    answer.update(serialize(app.store, app.formatter, table, row, opts, notes, app.base(request)))
    applied = [f"odata.include-annotations={prefs['odata.include-annotations']}"] if notes.any else []
    return json_response(answer, applied)


def get_related(app: EmulatorApp, call: Call) -> Response:
    """GET /<set>(<id>)/<collection navigation>: the related rows (the URL in `<nav>@odata.nextLink`),
    with $select/$filter/$orderby/$top and paging like any collection."""
    request, table, row_id = call.request, call.table_or_fail, call.row_id
    nav = table.collections.get(call.tail or "") or table.many_to_many.get(call.tail or "")
    if nav is None:
        raise errors.not_implemented(f"the path segment '{call.tail}' (properties, $ref, bound operations)")
    if row_id not in app.store.rows(table.entity_set):
        raise errors.record_not_found(table.logical_name, row_id)
    other = app.store.tables[nav.entity_set]
    opts = options(app, request, other)
    prefs = preferences(request)
    notes = Annotations.from_preference(prefs.get("odata.include-annotations"))
    rows = app.store.rows(other.entity_set)
    if isinstance(nav, ManyToMany):
        ids = linked_through(app.store, nav, row_id)
    else:
        ids = app.store.index(other.entity_set, f"_{nav.column}_value").get(row_id, set())
    linked = [rows[i] for i in ids if i in rows]
    linked = [r for r in linked if opts.predicate is None or opts.predicate(r)]
    linked = sort_rows(app.store, linked, other, opts.orderby)
    if opts.top is not None:
        linked = linked[: opts.top]
    size = prefs.get("odata.maxpagesize", "").strip('"')
    limit = min(int(size), MAX_PAGE_SIZE) if is_number(size) and int(size) > 0 else MAX_PAGE_SIZE
    page, offset, last_id = 1, 0, None
    if "$skiptoken" in request.args:
        page, offset, last_id = read_skiptoken(request.args["$skiptoken"])
    offset = resume_at(linked, other.primary_key, offset, last_id)
    chunk = linked[offset : offset + limit]
    select = f"({','.join(opts.select)})" if opts.select else ""
    answer: dict[str, Any] = {"@odata.context": f"{app.base(request)}$metadata#{other.entity_set}{select}"}
    answer["value"] = [serialize(app.store, app.formatter, other, r, opts, notes) for r in chunk]
    if offset + limit < len(linked) and chunk:
        raw = [(k, v) for k, v in request.args.items(multi=True)]
        answer["@odata.nextLink"] = next_link(
            app.base(request), f"{table.entity_set}({row_id})/{nav.name}", raw, page + 1, offset + limit,
            chunk[-1][other.primary_key],
        )  # fmt: skip
    applied = [f"odata.include-annotations={prefs['odata.include-annotations']}"] if notes.any else []
    if is_number(size):
        applied.append(f"odata.maxpagesize={limit}")
    return json_response(answer, applied)


# --- writes ----------------------------------------------------------------------------------
def caller_id(app: EmulatorApp, request: Request) -> str:
    """Who writes: the application user, or the system user named by `MSCRMCallerID` (Web API
    "Impersonate another user"; an agent's writes in tests and the README). `CallerObjectId` is 501."""
    if request.headers.get("CallerObjectId"):
        raise errors.not_implemented("impersonation by CallerObjectId (use MSCRMCallerID)")
    named = (request.headers.get("MSCRMCallerID") or "").strip().strip("{}").lower()
    if not named:
        return WHOAMI["UserId"]
    if named not in app.store.rows("systemusers"):
        raise errors.record_not_found("systemuser", named)
    return named


def create(app: EmulatorApp, call: Call) -> Response:
    """POST /<set>: 204 + OData-EntityId, or 201 + the row with return=representation. Collection
    properties in the body create related rows in the same transaction (deep insert)."""
    table = call.table_or_fail
    row = app.writer.create_deep(
        table, body(call.request, table.entity_set), caller=caller_id(app, call.request)
    )
    return _written(app, call.request, table, row, created=True)


def upsert(app: EmulatorApp, call: Call) -> Response:
    """PATCH /<set>(<id>): update, or create when missing, honouring If-Match / If-None-Match."""
    request, table, row_id = call.request, call.table_or_fail, call.row_id
    payload = body(request, table.entity_set)
    existing = app.store.rows(table.entity_set).get(row_id)
    conditional.check_write(request.headers, existing, table.logical_name, row_id)
    changes = app.writer.changes(table, payload)
    if changes.get(table.primary_key) not in (None, row_id):
        raise errors.invalid_argument("The primary key in the body does not match the one in the URL.")
    if existing is None:
        row = app.writer.create(table, changes, row_id=row_id, caller=caller_id(app, request))
        return _written(app, request, table, row, created=True)
    row = app.writer.update(table, row_id, changes)
    return _written(app, request, table, row, created=False)


def delete(app: EmulatorApp, call: Call) -> Response:
    """DELETE /<set>(<id>): 404 when missing, 412 when `If-Match` names an older version."""
    table, row_id = call.table_or_fail, call.row_id
    if table.entity_set in READ_ONLY_SETS:
        raise errors.method_not_allowed("DELETE", table.entity_set)
    existing = app.store.rows(table.entity_set).get(row_id)
    if existing is None:
        raise errors.record_not_found(table.logical_name, row_id)
    conditional.check_write(call.request.headers, existing, table.logical_name, row_id)
    app.store.delete(table.entity_set, row_id)
    return no_content(odata_headers())


def _written(
    app: EmulatorApp, request: Request, table: Table, row: dict[str, Any], created: bool
) -> Response:
    entity_url = f"{app.base(request)}{table.entity_set}({row[table.primary_key]})"
    prefs = preferences(request)
    if prefs.get("return") == "representation":
        opts = options(app, request, table)
        notes = Annotations.from_preference(prefs.get("odata.include-annotations"))
        stored = app.store.rows(table.entity_set)[row[table.primary_key]]
        answer = {"@odata.context": _context(app, request, table, opts) + "/$entity"}
        answer.update(serialize(app.store, app.formatter, table, stored, opts, notes))
        response = json_response(answer, ["return=representation"], status=201 if created else 200)
        response.headers["OData-EntityId"] = entity_url
        return response
    headers = odata_headers()
    headers["OData-EntityId"] = entity_url
    return no_content(headers)
