"""Opaque, URL-safe cursors for the UI's "next page" links.

A cursor carries only the `$skiptoken` of Dataverse's `@odata.nextLink`; the rest of the query is
rebuilt on the server from validated parameters and the visitor's scope, so editing a cursor can at
worst move within the visitor's own results, never widen them.
"""

from __future__ import annotations

import base64
import binascii
from urllib.parse import parse_qs, urlsplit

from d365portal.dataverse.errors import InvalidQuery

MAX_CURSOR_LENGTH = 4096


def cursor_from_next_link(next_link: str | None) -> str | None:
    """The cursor for the page after this one (None on the last page)."""
    if not next_link:
        return None
    values = parse_qs(urlsplit(next_link).query).get("$skiptoken")
    if not values:
        return None
    return base64.urlsafe_b64encode(values[0].encode("utf-8")).decode("ascii").rstrip("=")


def skiptoken_from_cursor(cursor: str | None) -> str | None:
    """The `$skiptoken` a cursor stands for; `InvalidQuery` when it was not made by this module."""
    if not cursor:
        return None
    if len(cursor) > MAX_CURSOR_LENGTH:
        raise InvalidQuery("the page cursor is too long")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        token = raw.decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise InvalidQuery("the page cursor is not valid") from exc
    if not token or not token.isprintable():
        raise InvalidQuery("the page cursor is not valid")
    return token
