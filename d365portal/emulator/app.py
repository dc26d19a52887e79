"""The emulator's WSGI app: routes → thin request parsing → the store; control endpoints under /_emulator."""

from __future__ import annotations

import hmac
import json
import logging
import re
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from werkzeug.wrappers import Request, Response

from d365portal.emulator import errors
from d365portal.emulator.controls import control
from d365portal.emulator.faults import Faults, Stats
from d365portal.emulator.formatting import Annotations, Formatter
from d365portal.emulator.metadata import DEMO_METADATA, SeedMetadata
from d365portal.emulator.privileges import PORTAL_ROLE, role_privileges
from d365portal.emulator.query import (
    COUNT_LIMIT,
    MAX_PAGE_SIZE,
    Options,
    QueryParser,
    ResultCache,
    next_link,
    page_from_index,
    read_skiptoken,
    resume_at,
    select_rows,
    serialize,
)
from d365portal.emulator.responses import (
    JSON_TYPE,
    drop_connection,
    error_response,
    json_response,
    no_content,
    odata_headers,
)
from d365portal.emulator.schema import Table
from d365portal.emulator.store import Store
from d365portal.emulator.writes import Writer

log = logging.getLogger(__name__)
API_PREFIX = "/api/data/v9.2/"
_SEGMENT = re.compile(r"^([A-Za-z_$][A-Za-z0-9_.$]*)(?:\(([^)]*)\))?(?:/(.*))?$")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
WHOAMI = {
    "BusinessUnitId": "6f7e1d2c-0b9a-ea11-a812-000d3a1b2c3d",
    "UserId": "8e2d4c6b-1a3f-ea11-a812-000d3a1b2c3d",
    "OrganizationId": "1d3c5b7a-9e8f-4d2c-b1a0-0f9e8d7c6b5a",
}


def _no_constant(name: str) -> Any:
    """`json.loads` hook: NaN and Infinity are not JSON (Python accepts them by default)."""
    raise ValueError(f"'{name}' is not a valid JSON value.")


class DroppedResponse(ConnectionResetError):
    """Raised after a committed write when the response is to be dropped (fault injection)."""


class EmulatorApp:
    """A local Dataverse Web API (WSGI), with `.store`, `.faults` and `.stats`."""

    def __init__(
        self,
        seed: str = "demo",
        language: str = "es-ES",
        require_token: str | None = None,
        db_path: str | Path | None = None,
        latency_ms: int = 0,
        reset: bool = False,
        metadata: SeedMetadata = DEMO_METADATA,
        **faults: float,
    ) -> None:
        self.store = Store(seed=seed, metadata=metadata, db_path=db_path, reset=reset)
        self.faults = Faults(latency_ms=latency_ms, **faults)
        self.stats = Stats()
        self.language = language
        self.require_token = require_token
        self.url: str | None = None  # set by whoever serves it
        self.formatter = Formatter(self.store, language)
        self.parser = QueryParser(self.store)
        self.cache = ResultCache()
        self.writer = Writer(self.store)
        # What the application user's role grants (RetrieveUserPrivileges); tests may remove some.
        self.privileges: list[str] = list(PORTAL_ROLE)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        try:
            response = self.dispatch(request)
        except DroppedResponse:
            drop_connection(environ)
            raise
        return response(environ, start_response)

    # --- dispatch -------------------------------------------------------------------------
    def dispatch(self, request: Request) -> Response:
        """Route one request (never raises an EmulatorError; a bug answers 500 without a trace)."""
        path = request.path
        if path.startswith("/_emulator/"):
            return control(self, request, path[len("/_emulator/") :])
        if not path.startswith(API_PREFIX):
            return error_response(errors.unknown_segment(path.strip("/").split("/")[0] or "/"))
        rest = path[len(API_PREFIX) :]
        match = _SEGMENT.match(rest)
        segment = match.group(1) if match else rest.split("/")[0]
        self.stats.count(f"{request.method} {segment}")
        try:
            self._authorize(request)
            if self.faults.latency_ms:
                time.sleep(self.faults.latency_ms / 1000)
            if self.faults.hit("throttle"):
                raise errors.throttled(int(self.faults.throttle_retry_after))
            if self.faults.hit("unavailable"):
                raise errors.unavailable()
            with self.store.lock:
                response = self.route(request, match, rest)
            if request.method in ("POST", "PATCH", "DELETE") and response.status_code < 300:
                if self.faults.hit("drop_response"):
                    raise DroppedResponse("fault injection: response dropped after commit")
            return response
        except errors.EmulatorError as exc:
            return error_response(exc)
        except DroppedResponse:
            raise
        except Exception:  # a bug in the emulator: answer 500, log it, never show a trace
            log.exception("emulator error on %s %s", request.method, path)
            return error_response(errors.EmulatorError(500, "0x80040216", "An unexpected error occurred."))

    def _authorize(self, request: Request) -> None:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise errors.unauthorized()
        if self.require_token is not None and not hmac.compare_digest(
            token.strip().encode(), self.require_token.encode()
        ):
            raise errors.unauthorized()

    def route(self, request: Request, match: re.Match[str] | None, rest: str) -> Response:
        """Web API routes: entity sets, single rows, WhoAmI and CloseIncident."""
        if not match:
            raise errors.unknown_segment(rest.split("/")[0] or rest)
        name, key, tail = match.group(1), match.group(2), match.group(3)
        method = request.method
        if name in ("$metadata", "$batch", "EntityDefinitions", "GlobalOptionSetDefinitions"):
            raise errors.not_implemented(f"'{name}'")
        if name == "WhoAmI":
            if method != "GET":
                raise errors.method_not_allowed(method, name)
            return json_response(
                {
                    "@odata.context": f"{self.base(request)}$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse",
                    **WHOAMI,
                }
            )
        if name == "systemusers":
            return self.user_privileges(request, key, tail)
        if name == "CloseIncident":
            if method != "POST":
                raise errors.method_not_allowed(method, name)
            self.writer.close_incident(self._body(request, "CloseIncident"))
            return no_content(odata_headers())
        table = self.store.tables.get(name)
        if table is None:
            raise errors.unknown_segment(name)
        if tail == "$count" and key is None and method == "GET":
            return self.count_rows(request, table)
        if tail:
            raise errors.not_implemented(f"the path segment '{tail}' (properties, $ref, bound operations)")
        if key is None:
            if method == "GET":
                return self.get_collection(request, table)
            if method == "POST":
                return self.create(request, table)
            raise errors.method_not_allowed(method, name)
        row_id = self._key(table, key)
        if method == "GET":
            return self.get_row(request, table, row_id)
        if method == "PATCH":
            return self.upsert(request, table, row_id)
        if method == "DELETE":
            existing = self.store.rows(table.entity_set).get(row_id)
            if existing is None:
                raise errors.record_not_found(table.logical_name, row_id)
            wanted = (request.headers.get("If-Match") or "*").strip()
            if wanted != "*" and wanted != f'W/"{existing["versionnumber"]}"':
                raise errors.version_mismatch()
            self.store.delete(table.entity_set, row_id)
            return no_content(odata_headers())
        if method == "PUT":
            raise errors.not_implemented("PUT (single-property updates)")
        raise errors.method_not_allowed(method, name)

    def user_privileges(self, request: Request, key: str | None, tail: str | None) -> Response:
        """`systemusers(<id>)/Microsoft.Dynamics.CRM.RetrieveUserPrivileges()` for the application user."""
        if tail != "Microsoft.Dynamics.CRM.RetrieveUserPrivileges()" or key is None:
            raise errors.not_implemented("systemusers other than RetrieveUserPrivileges")
        if request.method != "GET":
            raise errors.method_not_allowed(request.method, "RetrieveUserPrivileges")
        user_id = key.strip().lower()
        if user_id != WHOAMI["UserId"]:
            raise errors.record_not_found("systemuser", user_id)
        return json_response(
            {
                "@odata.context": f"{self.base(request)}$metadata"
                "#Microsoft.Dynamics.CRM.RetrieveUserPrivilegesResponse",
                "RolePrivileges": role_privileges(self.privileges, WHOAMI["BusinessUnitId"]),
            }
        )

    @staticmethod
    def _key(table: Table, key: str) -> str:
        key = key.strip()
        if _GUID.match(key):
            return key.lower()
        if "=" in key:
            raise errors.not_implemented("alternate keys")
        raise errors.query_syntax("Bad Request - Error in query syntax.")

    def base(self, request: Request) -> str:
        """The Web API root as the client addressed it (next links and ids use it)."""
        return request.host_url.rstrip("/") + API_PREFIX

    # --- reads ----------------------------------------------------------------------------
    def _preferences(self, request: Request) -> dict[str, str]:
        prefs: dict[str, str] = {}
        for header in request.headers.getlist("Prefer"):
            for part in re.split(r',(?=(?:[^"]*"[^"]*")*[^"]*$)', header):
                name, _, value = part.strip().partition("=")
                if name:
                    prefs[name.strip().lower()] = value.strip()
        return prefs

    def _options(self, request: Request, table: Table) -> Options:
        return self.parser.parse(table, {k: v for k, v in request.args.items(multi=False)})

    def get_collection(self, request: Request, table: Table) -> Response:
        """GET /<set>: filtered, ordered, paged rows with the annotations asked for."""
        options = self._options(request, table)
        prefs = self._preferences(request)
        applied = []
        notes = Annotations.from_preference(prefs.get("odata.include-annotations"))
        if notes.any:
            applied.append(f"odata.include-annotations={prefs['odata.include-annotations']}")
        page_size = None
        if "odata.maxpagesize" in prefs:
            text = prefs["odata.maxpagesize"].strip('"')
            if not text.isdigit() or int(text) < 1:
                raise errors.query_syntax(f"The odata.maxpagesize preference '{text}' is not valid.")
            page_size = min(int(text), MAX_PAGE_SIZE)
            applied.append(f"odata.maxpagesize={page_size}")
        page, offset, last_id = 1, 0, None
        if "$skiptoken" in request.args:
            page, offset, last_id = read_skiptoken(request.args["$skiptoken"])
        limit = page_size or MAX_PAGE_SIZE
        if page_size is None and options.top is not None:
            limit = min(options.top, MAX_PAGE_SIZE)
        body: dict[str, Any] = {"@odata.context": self._context(request, table, options)}
        fast = None if notes.counts else page_from_index(self.store, table, options, last_id, offset, limit)
        if fast is not None:
            chunk, more = fast
        else:
            rows = select_rows(self.store, table, options, self.cache)
            if options.count:
                body["@odata.count"] = min(len(rows), COUNT_LIMIT)
            if notes.counts:
                body["@Microsoft.Dynamics.CRM.totalrecordcount"] = (
                    min(len(rows), COUNT_LIMIT) if options.count else -1
                )
                body["@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"] = len(rows) > COUNT_LIMIT
            if page_size is None and options.top is not None:
                rows = rows[: options.top]
            offset = resume_at(rows, table.primary_key, offset, last_id)
            chunk = rows[offset : offset + limit]
            more = offset + limit < len(rows)
        body["value"] = [serialize(self.store, self.formatter, table, r, options, notes) for r in chunk]
        if chunk and more and not (page_size is None and options.top is not None):
            raw = [(k, v) for k, v in request.args.items(multi=True)]
            last = chunk[-1][table.primary_key]
            body["@odata.nextLink"] = next_link(
                self.base(request), table.entity_set, raw, page + 1, offset + limit, last
            )
        return json_response(body, applied)

    def count_rows(self, request: Request, table: Table) -> Response:
        """GET /<set>/$count: the number of (filtered) rows as text/plain, up to 5000."""
        options = self._options(request, table)
        total = min(len(select_rows(self.store, table, options, self.cache)), COUNT_LIMIT)
        response = Response(str(total), headers=odata_headers(), content_type="text/plain")
        return response

    def get_row(self, request: Request, table: Table, row_id: str) -> Response:
        """GET /<set>(<id>)."""
        options = self._options(request, table)
        if options.predicate or options.orderby or options.top is not None:
            raise errors.query_syntax(
                "Query options $filter, $orderby and $top are not allowed on a single entity."
            )
        row = self.store.rows(table.entity_set).get(row_id)
        if row is None:
            raise errors.record_not_found(table.logical_name, row_id)
        prefs = self._preferences(request)
        notes = Annotations.from_preference(prefs.get("odata.include-annotations"))
        etag = f'W/"{row["versionnumber"]}"'
        if request.headers.get("If-None-Match", "").strip() == etag and not notes.any and not options.expand:
            response = Response(status=304, headers=odata_headers())
            response.headers["Content-Type"] = JSON_TYPE
            return response
        body = {"@odata.context": self._context(request, table, options) + "/$entity"}
        body.update(serialize(self.store, self.formatter, table, row, options, notes))
        applied = [f"odata.include-annotations={prefs['odata.include-annotations']}"] if notes.any else []
        return json_response(body, applied)

    def _context(self, request: Request, table: Table, options: Options) -> str:
        select = f"({','.join(options.select)})" if options.select else ""
        return f"{self.base(request)}$metadata#{table.entity_set}{select}"

    # --- writes ---------------------------------------------------------------------------
    def _body(self, request: Request, entity_set: str) -> Any:
        raw = request.get_data(cache=True)
        try:
            body = json.loads(raw.decode("utf-8"), parse_constant=_no_constant) if raw.strip() else {}
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise errors.payload_error(
                entity_set, f"Invalid JSON. {exc.msg if hasattr(exc, 'msg') else exc}"
            ) from None
        except ValueError as exc:  # NaN / Infinity
            raise errors.payload_error(entity_set, f"Invalid JSON. {exc}") from None
        try:  # what could not be answered later must not be stored: lone surrogates, 1e999
            json.dumps(body, ensure_ascii=False, allow_nan=False).encode("utf-8")
        except ValueError:
            raise errors.payload_error(
                entity_set, "Invalid JSON. A string or number in the payload is not valid."
            ) from None
        return body

    def create(self, request: Request, table: Table) -> Response:
        """POST /<set>: 204 + OData-EntityId, or 201 + the row with return=representation."""
        changes = self.writer.changes(table, self._body(request, table.entity_set))
        row = self.writer.create(table, changes)
        return self._written(request, table, row, created=True)

    def upsert(self, request: Request, table: Table, row_id: str) -> Response:
        """PATCH /<set>(<id>): update, or create when missing, honouring If-Match / If-None-Match."""
        body = self._body(request, table.entity_set)
        existing = self.store.rows(table.entity_set).get(row_id)
        if_none = request.headers.get("If-None-Match")
        if_match = request.headers.get("If-Match")
        if if_none is not None and if_none.strip() == "*" and existing is not None:
            raise errors.duplicate_record()
        if if_match is not None:
            if existing is None:
                raise errors.record_not_found(table.logical_name, row_id)
            wanted = if_match.strip()
            if wanted != "*" and wanted != f'W/"{existing["versionnumber"]}"':
                raise errors.version_mismatch()
        changes = self.writer.changes(table, body)
        if changes.get(table.primary_key) not in (None, row_id):
            raise errors.invalid_argument("The primary key in the body does not match the one in the URL.")
        if existing is None:
            row = self.writer.create(table, changes, row_id=row_id)
            return self._written(request, table, row, created=True)
        row = self.writer.update(table, row_id, changes)
        return self._written(request, table, row, created=False)

    def _written(self, request: Request, table: Table, row: dict[str, Any], created: bool) -> Response:
        entity_url = f"{self.base(request)}{table.entity_set}({row[table.primary_key]})"
        prefs = self._preferences(request)
        if prefs.get("return") == "representation":
            options = self._options(request, table)
            notes = Annotations.from_preference(prefs.get("odata.include-annotations"))
            stored = self.store.rows(table.entity_set)[row[table.primary_key]]
            body = {"@odata.context": self._context(request, table, options) + "/$entity"}
            body.update(serialize(self.store, self.formatter, table, stored, options, notes))
            response = json_response(body, ["return=representation"], status=201 if created else 200)
            response.headers["OData-EntityId"] = entity_url
            return response
        headers = odata_headers()
        headers["OData-EntityId"] = entity_url
        return no_content(headers)

    # --- control --------------------------------------------------------------------------
