"""The second factor of local accounts (issue 17, DESIGN.md decision 22).

- An authenticator app (TOTP, RFC 6238, `pyotp`), with ten one-time recovery codes. Its secret and the
  recovery codes' hashes are sealed (Fernet: AES-128-CBC + HMAC-SHA256) with a key from the settings
  and stored on the contact (`fieldmap.identity_secondfactor`): the CRM stays the system of record,
  a cache flush loses nothing, a Dynamics admin sees ciphertext only.
- An email code: 6 digits, 10 minutes, single use, kept (hashed) in the shared store.
- A remembered device: a signed cookie carrying the contact and the contact's device epoch; raising the
  epoch (the user's "forget devices", a reset) makes every earlier cookie worthless.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, replace
from uuid import UUID

import pyotp
import segno
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from itsdangerous import BadSignature, URLSafeTimedSerializer

from d365portal.identity.store import Store

RECOVERY_CODES = 10
EMAIL_CODE_SECONDS = 600
TOTP_WINDOW = 1  # one 30-second step either side (clock drift)
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i


class UnreadableSecondFactor(Exception):
    """The sealed second factor does not open with the configured key (the key was changed)."""


@dataclass(frozen=True)
class SecondFactor:
    """What is sealed on the contact."""

    totp_secret: str | None = None
    recovery: tuple[str, ...] = ()  # hashes of the unused recovery codes
    devices: int = 0  # remembered-device epoch: cookies of an older epoch are refused
    enrolled_at: int = 0

    @property
    def app(self) -> bool:
        """An authenticator app is set up."""
        return bool(self.totp_secret)

    def to_json(self) -> str:
        data = {"v": 1, "totp": self.totp_secret, "recovery": list(self.recovery), "devices": self.devices,
                "enrolled": self.enrolled_at}  # fmt: skip
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> SecondFactor:
        data = json.loads(text)
        return cls(data.get("totp"), tuple(data.get("recovery") or ()), int(data.get("devices") or 0),
                   int(data.get("enrolled") or 0))  # fmt: skip


def derive_key(secret_key: str) -> bytes:
    """A Fernet key derived from the portal's secret key (HKDF-SHA256, its own label)."""
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"d365portal second factor").derive(
        secret_key.encode()
    )
    return base64.urlsafe_b64encode(raw)


class Sealer:
    """Seals and opens the contact's second factor."""

    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    def seal(self, factor: SecondFactor) -> str:
        return self._fernet.encrypt(factor.to_json().encode()).decode()

    def open(self, sealed: str | None) -> SecondFactor:
        """The second factor (an empty one when nothing is stored)."""
        if not sealed:
            return SecondFactor()
        try:
            return SecondFactor.from_json(self._fernet.decrypt(sealed.encode()).decode())
        except (InvalidToken, ValueError) as exc:
            raise UnreadableSecondFactor(type(exc).__name__) from None


# --- the authenticator app --------------------------------------------------------------------
def new_secret() -> str:
    """A fresh TOTP secret (160 bits, base32)."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, account: str, issuer: str) -> str:
    """The otpauth:// URI the QR code carries."""
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=issuer)


def qr_svg(uri: str) -> str:
    """The QR code as an SVG `data:` URI for an <img>, drawn by the portal (no outside service; the
    page's Content-Security-Policy admits `data:` images)."""
    return str(segno.make(uri, error="m").svg_data_uri(scale=5, dark="#000", light="#fff"))


def grouped(secret: str) -> str:
    """The secret in groups of four, for typing it into an app by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def normalize(code: str) -> str:
    """What was typed without spaces and dashes, lower case."""
    return "".join(ch for ch in code.strip().lower() if ch.isalnum())


def verify_totp(secret: str, code: str, contact_id: UUID, store: Store, now: float | None = None) -> bool:
    """The app's current code (one step of drift either side), each code accepted once (a code seen
    over a shoulder or replayed cannot be used again)."""
    code = normalize(code)
    if len(code) != 6 or not code.isdigit():
        return False
    totp = pyotp.TOTP(secret)
    moment = time.time() if now is None else now
    for step in range(-TOTP_WINDOW, TOTP_WINDOW + 1):
        at = moment + step * totp.interval
        if hmac.compare_digest(totp.at(at), code):
            counter = int(at // totp.interval)  # the RFC 6238 step the code belongs to
            ttl = totp.interval * (2 * TOTP_WINDOW + 2)
            return store.add(f"2fa:totp-used:{contact_id}:{counter}", "1", ttl)
    return False


# --- recovery codes ---------------------------------------------------------------------------
def new_recovery_codes() -> list[str]:
    """Ten codes like `k7m2p-x9qtc` (50 bits each), shown once."""
    def one() -> str:
        text = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
        return f"{text[:5]}-{text[5:]}"

    return [one() for _ in range(RECOVERY_CODES)]


def recovery_hash(code: str) -> str:
    """The stored form of a recovery code (random, high-entropy: a plain SHA-256 is enough)."""
    return hashlib.sha256(normalize(code).encode()).hexdigest()[:32]


def enrol(factor: SecondFactor, secret: str, codes: list[str]) -> SecondFactor:
    """The factor with the app's secret and new recovery codes."""
    return replace(factor, totp_secret=secret, recovery=tuple(recovery_hash(c) for c in codes),
                   enrolled_at=int(time.time()))  # fmt: skip


def use_recovery(factor: SecondFactor, code: str) -> SecondFactor | None:
    """The factor without that recovery code, or None when it is not one of the unused codes."""
    digest = recovery_hash(code)
    if len(normalize(code)) != 10 or digest not in factor.recovery:
        return None
    return replace(factor, recovery=tuple(h for h in factor.recovery if h != digest))


def looks_like_recovery(code: str) -> bool:
    """Ten letters and digits (a recovery code), not six digits (an app's or an email code)."""
    return len(normalize(code)) == 10


# --- email codes ------------------------------------------------------------------------------
@dataclass
class EmailCodes:
    """Six-digit codes by email for one pending sign-in; the store keeps only a keyed hash."""

    store: Store
    secret_key: str
    lifetime: int = EMAIL_CODE_SECONDS
    _prefix = "2fa:mail:"

    def _digest(self, pending: str, code: str) -> str:
        return hmac.new(self.secret_key.encode(), f"{pending}:{code}".encode(), hashlib.sha256).hexdigest()

    def issue(self, pending: str) -> str:
        """A new code for this pending sign-in (an earlier one stops working)."""
        code = f"{secrets.randbelow(1_000_000):06d}"
        self.store.set(f"{self._prefix}{pending}", self._digest(pending, code), self.lifetime)
        return code

    def check(self, pending: str, code: str) -> bool:
        """True once for the right code within its 10 minutes."""
        code = normalize(code)
        stored = self.store.get(f"{self._prefix}{pending}")
        if not stored or len(code) != 6 or not hmac.compare_digest(stored, self._digest(pending, code)):
            return False
        if not self.store.add(f"{self._prefix}used:{stored}", "1", self.lifetime):
            return False  # used already (two tabs, a replay)
        self.store.delete(f"{self._prefix}{pending}")
        return True


# --- remembered devices -----------------------------------------------------------------------
class RememberedDevices:
    """The "Recordar este dispositivo" cookie: signed, tied to the contact and its device epoch."""

    COOKIE = "d365_device"

    def __init__(self, secret_key: str) -> None:
        self._serializer = URLSafeTimedSerializer(secret_key, salt="d365portal remembered device")

    def issue(self, contact_id: UUID, epoch: int) -> str:
        return self._serializer.dumps({"c": str(contact_id), "e": epoch, "d": secrets.token_hex(8)})

    def valid(self, cookie: str | None, contact_id: UUID, epoch: int, days: int) -> bool:
        if not cookie or days <= 0:
            return False
        try:
            data = self._serializer.loads(cookie, max_age=days * 86400)
        except BadSignature:
            return False
        return isinstance(data, dict) and data.get("c") == str(contact_id) and data.get("e") == epoch


def reset_second_factor(contact_id: UUID) -> None:
    """Remove the contact's second factor (a company admin, `d365portal users reset-2fa`): the app's
    secret and recovery codes go, Power Pages' flag is cleared, and remembered devices are forgotten
    (a new device epoch is sealed). One PATCH; needs an app context."""
    from flask import current_app

    from d365portal.crm import crm
    from d365portal.identity import identity

    changes: dict[str, object] = {"two_factor_enabled": False}
    if current_app.config["SETTINGS"].two_factor_app:
        changes["second_factor"] = identity().sealer.seal(SecondFactor(devices=int(time.time())))
    crm().contacts.update_identity(contact_id, changes)
