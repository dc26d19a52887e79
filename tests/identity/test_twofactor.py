"""The second factor's building blocks: sealing, TOTP with replay refusal, recovery and email codes,
remembered-device cookies."""

from __future__ import annotations

import uuid
from pathlib import Path

import pyotp
import pytest
from cryptography.fernet import Fernet

from d365portal.identity.store import SqliteStore
from d365portal.identity.twofactor import (
    EmailCodes,
    RememberedDevices,
    Sealer,
    SecondFactor,
    UnreadableSecondFactor,
    derive_key,
    enrol,
    new_recovery_codes,
    new_secret,
    use_recovery,
    verify_totp,
)

CONTACT = uuid.UUID("a655cdb9-b66b-f011-b4cb-000d3a88c16c")


@pytest.fixture()
def store(tmp_path: Path) -> SqliteStore:
    return SqliteStore(tmp_path / "store.sqlite")


def test_the_sealed_factor_opens_only_with_its_key() -> None:
    factor = enrol(SecondFactor(), new_secret(), new_recovery_codes())
    sealed = Sealer(derive_key("portal-secret-key")).seal(factor)
    assert factor.totp_secret not in sealed
    assert Sealer(derive_key("portal-secret-key")).open(sealed) == factor
    with pytest.raises(UnreadableSecondFactor):
        Sealer(Fernet.generate_key()).open(sealed)
    assert Sealer(derive_key("k")).open(None) == SecondFactor()


def test_a_totp_code_is_accepted_once_and_only_near_now(store: SqliteStore) -> None:
    secret = new_secret()
    totp = pyotp.TOTP(secret)
    now = 1_800_000_000.0
    assert verify_totp(secret, totp.at(now), CONTACT, store, now=now)
    assert not verify_totp(secret, totp.at(now), CONTACT, store, now=now)  # replayed
    assert verify_totp(secret, totp.at(now + 30), CONTACT, store, now=now)  # one step of drift
    assert not verify_totp(secret, totp.at(now + 120), CONTACT, store, now=now)
    assert not verify_totp(secret, "12345", CONTACT, store, now=now)


def test_recovery_codes_are_stored_hashed_and_cross_off_once() -> None:
    codes = new_recovery_codes()
    factor = enrol(SecondFactor(), new_secret(), codes)
    assert not set(codes) & set(factor.recovery)
    left = use_recovery(factor, f"  {codes[0].upper().replace('-', ' ')} ")
    assert left is not None and len(left.recovery) == 9
    assert use_recovery(left, codes[0]) is None


def test_an_email_code_works_once_for_its_own_sign_in(store: SqliteStore) -> None:
    codes = EmailCodes(store, "portal-secret-key")
    code = codes.issue("pending-1")
    assert not codes.check("pending-2", code)
    assert codes.check("pending-1", code)
    assert not codes.check("pending-1", code)
    first = codes.issue("pending-3")
    second = codes.issue("pending-3")
    assert first == second or not codes.check("pending-3", first)  # a new code replaces the old one


def test_a_remembered_device_cookie_is_tied_to_the_contact_and_its_epoch() -> None:
    devices = RememberedDevices("portal-secret-key")
    cookie = devices.issue(CONTACT, 7)
    assert devices.valid(cookie, CONTACT, 7, 30)
    assert not devices.valid(cookie, CONTACT, 8, 30)  # devices forgotten
    assert not devices.valid(cookie, uuid.uuid4(), 7, 30)
    assert not devices.valid(cookie + "x", CONTACT, 7, 30)
    assert not devices.valid(cookie, CONTACT, 7, 0)
    assert not RememberedDevices("another-key").valid(cookie, CONTACT, 7, 30)
