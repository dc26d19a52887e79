"""Password hashes: argon2id for everything new, and the ASP.NET Identity v2/v3 hashes that Power Pages
left on contacts (DESIGN.md decision 7), verified so their users sign in with their old password and
get upgraded to argon2id on the way in.

ASP.NET Identity formats (base64 of):
- v2: 0x00 | salt (16) | subkey (32); PBKDF2-HMAC-SHA1, 1000 iterations.
- v3: 0x01 | PRF (uint32 BE: 0 SHA1, 1 SHA256, 2 SHA512) | iterations (uint32 BE) | salt length
  (uint32 BE) | salt | subkey.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import struct

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# OWASP's argon2id baseline (19 MiB, 2 passes): ~60 ms per hash here, 97 characters encoded, which
# fits the 128-character adx_identity_passwordhash column.
_HASHER = PasswordHasher(
    time_cost=2, memory_cost=19456, parallelism=1, hash_len=32, salt_len=16, type=Type.ID
)
MAX_HASH_LENGTH = 128

_V2_ITERATIONS = 1000
_V3_PRFS = {0: "sha1", 1: "sha256", 2: "sha512"}
# Refuse absurd iteration counts from a corrupted column instead of burning a CPU for minutes.
_V3_MAX_ITERATIONS = 2_000_000

# A real argon2id hash of a random string, verified when the user does not exist so that a wrong
# username costs the same time as a wrong password.
_DUMMY_HASH = _HASHER.hash("dummy password for equal timing")


def hash_password(password: str) -> str:
    """A new argon2id hash (PHC string) for `password`."""
    encoded = _HASHER.hash(password)
    assert len(encoded) <= MAX_HASH_LENGTH  # noqa: S101 - parameters are fixed above
    return encoded


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True when `password` matches the stored hash (argon2id, ASP.NET Identity v2 or v3).

    A missing or unreadable hash verifies against a dummy hash and returns False (equal timing)."""
    if not stored_hash:
        dummy_verify(password)
        return False
    if stored_hash.startswith("$argon2"):
        try:
            return bool(_HASHER.verify(stored_hash, password))
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
    return _verify_aspnet(stored_hash, password)


def dummy_verify(password: str) -> None:
    """Spend the time of one verification, for sign-ins of unknown or disabled users."""
    try:
        _HASHER.verify(_DUMMY_HASH, password)
    except VerificationError:
        pass


def needs_upgrade(stored_hash: str | None) -> bool:
    """True when the hash is not argon2id with the current parameters (re-hash after sign-in)."""
    if not stored_hash or not stored_hash.startswith("$argon2id$"):
        return True
    try:
        return _HASHER.check_needs_rehash(stored_hash)
    except InvalidHashError:
        return True


def hash_kind(stored_hash: str | None) -> str:
    """A label for logs: "argon2id", "aspnet-v2", "aspnet-v3" or "unknown" (never the hash itself)."""
    if not stored_hash:
        return "none"
    if stored_hash.startswith("$argon2id$"):
        return "argon2id"
    raw = _decode(stored_hash)
    if raw and raw[0] == 0x00:
        return "aspnet-v2"
    if raw and raw[0] == 0x01:
        return "aspnet-v3"
    return "unknown"


def _decode(stored_hash: str) -> bytes | None:
    try:
        return base64.b64decode(stored_hash, validate=True)
    except (binascii.Error, ValueError):
        return None


def _verify_aspnet(stored_hash: str, password: str) -> bool:
    raw = _decode(stored_hash)
    if not raw:
        dummy_verify(password)
        return False
    if raw[0] == 0x00 and len(raw) == 1 + 16 + 32:
        salt, expected = raw[1:17], raw[17:]
        actual = hashlib.pbkdf2_hmac("sha1", password.encode("utf-8"), salt, _V2_ITERATIONS, len(expected))
        return hmac.compare_digest(actual, expected)
    if raw[0] == 0x01 and len(raw) >= 13:
        prf, iterations, salt_length = struct.unpack(">III", raw[1:13])
        salt, expected = raw[13 : 13 + salt_length], raw[13 + salt_length :]
        digest = _V3_PRFS.get(prf)
        if (
            digest is None
            or salt_length < 16
            or len(salt) != salt_length
            or len(expected) < 16
            or not 0 < iterations <= _V3_MAX_ITERATIONS
        ):
            dummy_verify(password)
            return False
        actual = hashlib.pbkdf2_hmac(digest, password.encode("utf-8"), salt, iterations, len(expected))
        return hmac.compare_digest(actual, expected)
    dummy_verify(password)
    return False


def aspnet_v2_hash(password: str, salt: bytes) -> str:
    """An ASP.NET Identity v2 hash (for tests and migrations; never stored by the portal)."""
    subkey = hashlib.pbkdf2_hmac("sha1", password.encode("utf-8"), salt, _V2_ITERATIONS, 32)
    return base64.b64encode(b"\x00" + salt + subkey).decode("ascii")


def aspnet_v3_hash(password: str, salt: bytes, *, prf: int = 1, iterations: int = 10000) -> str:
    """An ASP.NET Identity v3 hash (for tests and migrations; never stored by the portal)."""
    subkey = hashlib.pbkdf2_hmac(_V3_PRFS[prf], password.encode("utf-8"), salt, iterations, 32)
    header = b"\x01" + struct.pack(">III", prf, iterations, len(salt))
    return base64.b64encode(header + salt + subkey).decode("ascii")
