"""N:N relationships through the Web API (Microsoft's "Associate and disassociate table rows"):

- associate: `POST /<set>(<id>)/<nav>/$ref` with `{"@odata.id": "<the other row's URI>"}` → 204;
  an association that already exists is Dataverse's 0x80040237 "Cannot insert duplicate key.";
- disassociate: `DELETE /<set>(<id>)/<nav>(<other id>)/$ref`, or `DELETE /<set>(<id>)/<nav>/$ref?$id=<URI>`
  → 204 (a pair that was not linked is already in the wanted state: 204 as well);
- a missing row on either side is 404 0x80040217.

Collection-valued 1:N properties can also be written this way in Dataverse; the portal never does,
so the emulator answers 501 for them rather than pretending.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import TYPE_CHECKING

from werkzeug.wrappers import Response

from d365portal.emulator import errors
from d365portal.emulator.responses import no_content, odata_headers
from d365portal.emulator.schema import ManyToMany, Table

if TYPE_CHECKING:  # pragma: no cover
    from d365portal.emulator.app import EmulatorApp
    from d365portal.emulator.routes import Call

_REF_TAIL = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?:\(([^)]*)\))?/\$ref$")
_ROW_URI = re.compile(r"(?:^|/)([A-Za-z_][A-Za-z0-9_]*)\(([0-9a-fA-F-]{36})\)$")


def duplicate_association() -> errors.EmulatorError:
    """400 0x80040237: the pair is already associated."""
    return errors.EmulatorError(400, "0x80040237", "Cannot insert duplicate key.")


def _relationship(app: EmulatorApp, call: Call) -> tuple[Table, str, ManyToMany, str | None]:
    """The table, row id, N:N property and (for `<nav>(<id>)/$ref`) the other id of a `$ref` call."""
    table, row_id = call.table_or_fail, call.row_id
    match = _REF_TAIL.match(call.tail or "")
    if not match:
        raise errors.not_implemented(f"the path segment '{call.tail}' (properties, $ref, bound operations)")
    name, other_key = match.group(1), match.group(2)
    link = table.many_to_many.get(name)
    if link is None:
        if name in table.collections or name in table.navigations:
            raise errors.not_implemented(
                f"$ref on the one-to-many property '{name}' (set the lookup instead)"
            )
        raise errors.unknown_property(name, table.logical_name)
    if row_id not in app.store.rows(table.entity_set):
        raise errors.record_not_found(table.logical_name, row_id)
    return table, row_id, link, other_key


def _other_id(app: EmulatorApp, link: ManyToMany, uri: str) -> str:
    """The id of the row `uri` names, which must be a row of the relationship's other table."""
    match = _ROW_URI.search(uri.strip())
    other = app.store.tables[link.entity_set]
    if not match or match.group(1) != link.entity_set:
        raise errors.invalid_argument(f"The @odata.id must name a row of {link.entity_set}.")
    try:
        other_id = str(uuid.UUID(match.group(2)))
    except ValueError:
        raise errors.query_syntax("Bad Request - Error in query syntax.") from None
    if other_id not in app.store.rows(link.entity_set):
        raise errors.record_not_found(other.logical_name, other_id)
    return other_id


def _links(app: EmulatorApp, link: ManyToMany, row_id: str, other_id: str) -> list[str]:
    """The intersect rows linking the pair (at most one)."""
    intersect = app.store.rows(link.intersect_set)
    ids = app.store.index(link.intersect_set, link.this_column).get(row_id, set())
    return [i for i in ids if i in intersect and str(intersect[i][link.other_column]) == other_id]


def associate(app: EmulatorApp, call: Call) -> Response:
    """POST /<set>(<id>)/<nav>/$ref: link the row named by the body's `@odata.id`."""
    _, row_id, link, other_key = _relationship(app, call)
    if other_key is not None:
        raise errors.method_not_allowed("POST", call.name)
    try:
        payload = json.loads(call.request.get_data(as_text=True) or "{}")
    except ValueError:
        raise errors.invalid_argument("The request body is not valid JSON.") from None
    uri = payload.get("@odata.id") if isinstance(payload, dict) else None
    if not isinstance(uri, str):
        raise errors.invalid_argument("The body of a $ref request must have an @odata.id.")
    other_id = _other_id(app, link, uri)

    def work() -> None:
        if _links(app, link, row_id, other_id):
            raise duplicate_association()
        app.store.insert(link.intersect_set, {
            app.store.tables[link.intersect_set].primary_key: str(uuid.uuid4()),
            link.this_column: row_id,
            link.other_column: other_id,
        })  # fmt: skip

    app.store.transaction(work)
    return no_content(odata_headers())


def disassociate(app: EmulatorApp, call: Call) -> Response:
    """DELETE /<set>(<id>)/<nav>(<other id>)/$ref or /<nav>/$ref?$id=<URI>: remove the link."""
    table, row_id, link, other_key = _relationship(app, call)
    if other_key is not None:
        other_id = _other_id(app, link, f"{link.entity_set}({other_key})")
    elif call.request.args.get("$id"):
        other_id = _other_id(app, link, call.request.args["$id"])
    else:
        raise errors.invalid_argument(
            "Disassociating a collection-valued property needs the related row's id."
        )

    def work() -> None:
        for intersect_id in _links(app, link, row_id, other_id):
            app.store.delete(link.intersect_set, intersect_id)

    app.store.transaction(work)
    return no_content(odata_headers())
