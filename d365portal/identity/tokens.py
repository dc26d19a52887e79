"""Password-reset (and invitation) tokens.

A token is `nonce (16 random bytes) | expiry (uint32 BE, Unix time) | HMAC-SHA256 tag`, base64url.
The tag covers the purpose, contact id, security stamp, expiry and nonce under the portal's secret key,
so a token:
- carries 128 bits of entropy (the nonce) and cannot be forged without the key;
- expires (the expiry is inside the MAC);
- dies when the security stamp changes — and every password change or reset sets a new stamp;
- is single use: the nonce is marked used in the shared store when the password is set.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import struct
import time
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode
from uuid import UUID

from d365portal.crm.models import Contact
from d365portal.identity.store import Store

_NONCE = 16
_TAG = 32
_PURPOSE = b"d365portal.reset-password.v1"


@dataclass(frozen=True)
class ParsedToken:
    """A token whose MAC checked out: its nonce and expiry."""

    nonce: str
    expires: int


class ResetTokens:
    """Issues and checks reset tokens with the portal's secret key and the shared store."""

    def __init__(self, secret_key: str, store: Store) -> None:
        self._key = hashlib.sha256(b"reset-tokens|" + secret_key.encode("utf-8")).digest()
        self._store = store

    def _tag(self, contact_id: UUID, stamp: str | None, expires: int, nonce: bytes) -> bytes:
        message = b"|".join(
            [_PURPOSE, str(contact_id).encode(), (stamp or "").encode("utf-8"), str(expires).encode(), nonce]
        )
        return hmac.new(self._key, message, hashlib.sha256).digest()

    def issue(self, contact: Contact, lifetime: timedelta, now: float | None = None) -> str:
        """A new token for `contact`, valid for `lifetime`."""
        expires = int((now if now is not None else time.time()) + lifetime.total_seconds())
        nonce = secrets.token_bytes(_NONCE)
        tag = self._tag(contact.id, contact.security_stamp, expires, nonce)
        return base64.urlsafe_b64encode(nonce + struct.pack(">I", expires) + tag).decode().rstrip("=")

    @staticmethod
    def _decode(token: str, now: float | None = None) -> tuple[bytes, int, bytes] | None:
        """(nonce, expiry, tag) of a well-formed, unexpired token, else None (no MAC check yet)."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (binascii.Error, ValueError):
            return None
        if len(raw) != _NONCE + 4 + _TAG:
            return None
        (expires,) = struct.unpack(">I", raw[_NONCE : _NONCE + 4])
        if expires < (now if now is not None else time.time()):
            return None
        return raw[:_NONCE], expires, raw[_NONCE + 4 :]

    def plausible(self, token: str, now: float | None = None) -> bool:
        """Whether `token` is well formed and unexpired: worth reading the contact to check it
        (a garbled or expired link costs no Dataverse request)."""
        return self._decode(token, now) is not None

    def check(self, contact: Contact, token: str, now: float | None = None) -> ParsedToken | None:
        """The parsed token when it is genuine, unexpired, unused and matches the contact's stamp."""
        decoded = self._decode(token, now)
        if decoded is None:
            return None
        nonce, expires, tag = decoded
        if not hmac.compare_digest(tag, self._tag(contact.id, contact.security_stamp, expires, nonce)):
            return None
        parsed = ParsedToken(nonce=nonce.hex(), expires=expires)
        if self._store.get(f"reset-used:{parsed.nonce}") is not None:
            return None
        return parsed

    def consume(self, parsed: ParsedToken) -> bool:
        """Mark the token used; False when another request used it first."""
        ttl = max(1, parsed.expires - int(time.time()) + 1)
        return self._store.add(f"reset-used:{parsed.nonce}", "1", ttl)

    def release(self, parsed: ParsedToken) -> None:
        """Undo `consume()` when the password could not be saved (the user may try again)."""
        self._store.delete(f"reset-used:{parsed.nonce}")


def reset_link(base_url: str, lang: str, contact_id: UUID, token: str) -> str:
    """The manual's link shape, on the configured public base URL (never the request's Host)."""
    query = urlencode({"userId": str(contact_id), "code": token})
    return f"{base_url.rstrip('/')}/{lang}/Account/Login/ResetPassword?{query}"
