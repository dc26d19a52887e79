"""ETags and conditional requests, as Dataverse applies them (the one place they are spelled).

A row's ETag is its version number as a weak tag, `W/"<n>"`. Writes honour `If-Match` (`*`: the row
must exist, else 404; a tag: it must be current, else 412 0x80060882) and `If-None-Match: *` (the row
must not exist, else 412: how the portal creates with a GUID of its own). A read whose
`If-None-Match` names the current tag answers 304.
"""

from __future__ import annotations

from typing import Any

from werkzeug.datastructures import Headers

from d365portal.emulator import errors


def etag(row: dict[str, Any]) -> str:
    """The row's weak ETag."""
    return f'W/"{row["versionnumber"]}"'


def check_write(headers: Headers, existing: dict[str, Any] | None, logical_name: str, row_id: str) -> None:
    """Refuse a write its `If-Match` / `If-None-Match` headers do not allow."""
    if_none = headers.get("If-None-Match")
    if if_none is not None and if_none.strip() == "*" and existing is not None:
        raise errors.duplicate_record()
    if_match = headers.get("If-Match")
    if if_match is None:
        return
    if existing is None:
        raise errors.record_not_found(logical_name, row_id)
    wanted = if_match.strip()
    if wanted != "*" and wanted != etag(existing):
        raise errors.version_mismatch()


def not_modified(headers: Headers, row: dict[str, Any]) -> bool:
    """Whether a read may answer 304: its `If-None-Match` is the row's current tag."""
    return headers.get("If-None-Match", "").strip() == etag(row)
