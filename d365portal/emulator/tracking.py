"""Change tracking as the Web API documents it ("Use change tracking to synchronize data with external
systems"): `Prefer: odata.track-changes` on a table whose `ChangeTrackingEnabled` is true answers every
row and, on the last page, an `@odata.deltaLink` with a `$deltatoken`; following it answers the rows
created or changed since (in version order) and then each deleted row as a `$deletedEntity` entry,
with a new delta link. `$filter`, `$orderby` and `$top` are refused with track-changes; a token older
than the organization's retention (or than `expire()` in tests) is Dataverse's `ExpiredVersionStamp`
(0x80044352), a token the emulator never issued is a 400.

The token reads like Dataverse's (`919042!08/22/2017 08:10:44`): the store's row version when it was
issued, then the UTC time.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from d365portal.emulator import errors
from d365portal.emulator.definitions import CHANGE_TRACKED
from d365portal.emulator.formatting import Annotations
from d365portal.emulator.query import (
    MAX_PAGE_SIZE,
    Options,
    is_number,
    make_skiptoken,
    read_skiptoken,
    serialize,
)
from d365portal.emulator.responses import json_response
from d365portal.emulator.schema import Table

if TYPE_CHECKING:  # pragma: no cover
    from werkzeug.wrappers import Request, Response

    from d365portal.emulator.app import EmulatorApp

RETENTION_DAYS = 90  # Organization.ExpireChangeTrackingInDays' default
_TOKEN = re.compile(r"^(\d+)!(\d{2}/\d{2}/\d{4} \d{2}:\d{2}:\d{2})$")
EXPIRED = "Version stamp associated with the client has expired. Please perform a full sync."


def requested(request: Request, prefs: dict[str, str]) -> bool:
    """Whether this collection read asks for changes (the preference, or a delta token)."""
    return "odata.track-changes" in prefs or "$deltatoken" in request.args


def make_token(version: int, now: datetime | None = None) -> str:
    """A delta token for the changes after `version`."""
    stamp = (now or datetime.now(UTC)).strftime("%m/%d/%Y %H:%M:%S")
    return f"{version}!{stamp}"


def read_token(app: EmulatorApp, text: str) -> int:
    """The version a token carries; 400 when garbled, `ExpiredVersionStamp` when too old."""
    match = _TOKEN.match(text.strip())
    if not match:
        raise errors.query_syntax(f"The delta token '{text}' is not valid.")
    version = int(match.group(1))
    issued = datetime.strptime(match.group(2), "%m/%d/%Y %H:%M:%S").replace(tzinfo=UTC)
    if version > app.store.current_version():
        raise errors.query_syntax(f"The delta token '{text}' is not valid.")
    if version < app.store.tracking_floor or datetime.now(UTC) - issued > timedelta(days=RETENTION_DAYS):
        raise errors.EmulatorError(400, "0x80044352", EXPIRED)
    return version


def collection(
    app: EmulatorApp, request: Request, table: Table, opts: Options, prefs: dict[str, str], notes: Annotations
) -> Response:
    """The answer to a change-tracking read of `table` (initial, or after a delta token)."""
    if table.logical_name not in CHANGE_TRACKED:
        raise errors.invalid_argument(
            f"Change tracking is not enabled for the entity '{table.logical_name}' (ChangeTrackingEnabled)."
        )
    for option in ("$filter", "$orderby", "$top"):
        if option in request.args:
            raise errors.query_syntax(
                f"The query parameter {option} is not supported when change tracking is enabled."
            )
    if opts.expand:
        raise errors.not_implemented("$expand with change tracking")
    since = read_token(app, request.args["$deltatoken"]) if "$deltatoken" in request.args else None
    size_text = prefs.get("odata.maxpagesize", "").strip('"')
    limit = (
        min(int(size_text), MAX_PAGE_SIZE) if is_number(size_text) and int(size_text) > 0 else MAX_PAGE_SIZE
    )
    offset = read_skiptoken(request.args["$skiptoken"])[1] if "$skiptoken" in request.args else 0
    with app.store.lock:
        current = app.store.current_version()
        rows = app.store.changed_since(table.entity_set, since or 0)
        deleted = app.store.deleted_since(table.entity_set, since) if since is not None else []
        entries: list[dict[str, Any]] = [
            serialize(app.store, app.formatter, table, row, opts, notes) for row in rows
        ]
    base = app.base(request)
    select = f"({','.join(opts.select)})" if opts.select else ""
    for row_id in deleted:
        entries.append(
            {
                "@odata.context": f"{base}$metadata#{table.entity_set}/$deletedEntity",
                "id": row_id,
                "reason": "deleted",
            }
        )
    chunk = entries[offset : offset + limit]
    context = f"{base}$metadata#{table.entity_set}{select}" + ("/$delta" if since is not None else "")
    answer: dict[str, Any] = {"@odata.context": context, "value": chunk}
    keep = [f"{quote(k, safe='$')}={quote(v, safe=',()/$=')}" for k, v in request.args.items()
            if k not in ("$skiptoken", "$deltatoken")]  # fmt: skip
    if since is not None:
        keep.append("$deltatoken=" + quote(request.args["$deltatoken"], safe=""))
    if offset + limit < len(entries):
        last = chunk[-1].get(table.primary_key) or chunk[-1].get("id") or ""
        keep.append("$skiptoken=" + quote(make_skiptoken(1, offset + limit, str(last)), safe=""))
        answer["@odata.nextLink"] = f"{base}{table.entity_set}?" + "&".join(keep)
    else:
        delta = [part for part in keep if not part.startswith("$deltatoken=")]
        delta.append("$deltatoken=" + quote(make_token(current), safe=""))
        answer["@odata.deltaLink"] = f"{base}{table.entity_set}?" + "&".join(delta)
    applied = ["odata.track-changes"]
    if notes.any:
        applied.append(f"odata.include-annotations={prefs['odata.include-annotations']}")
    if is_number(size_text):
        applied.append(f"odata.maxpagesize={limit}")
    return json_response(answer, applied)
