"""Password hashes: argon2id for new ones, Power Pages' ASP.NET Identity v2/v3 verified and upgraded."""

from __future__ import annotations

import time

import pytest

from d365portal.identity import passwords

# Vectors from ASP.NET Core Identity's own PasswordHasherTest (password "my password").
PLAIN = "my password"
V2 = "AAABAgMEBQYHCAkKCwwNDg+ukCEMDf0yyQ29NYubggHIVY0sdEUfdyeM+E1LtH1uJg=="
V3_SHA1_250 = "AQAAAAAAAAD6AAAAEAhftMyfTJylOlZT+eEotFXd1elee8ih5WsjXaR3PA9M"
V3_SHA512_50 = "AQAAAAIAAAAyAAAAEOMwvh3+FZxqkdMBz2ekgGhwQ4B6pZWND6zgESBuWiHw"
V3_SHA256_250000 = (
    "AQAAAAEAA9CQAAAAIESkQuj2Du8Y+kbc5lcN/W/3NiAZFEm11P27nrSN5/tId+bR1SwV8CO1Jd72r4C08OLvplNlCDc3oQZ8efcW+jQ="
)


@pytest.fixture(scope="module")
def argon_hash() -> str:
    return passwords.hash_password("Una frase bastante larga 2026")


def test_new_hashes_are_argon2id_and_fit_the_column(argon_hash: str) -> None:
    assert argon_hash.startswith("$argon2id$")
    assert len(argon_hash) <= 128
    assert passwords.verify_password(argon_hash, "Una frase bastante larga 2026")
    assert not passwords.verify_password(argon_hash, "una frase bastante larga 2026")
    assert not passwords.needs_upgrade(argon_hash)


def test_hashing_takes_tens_of_milliseconds_not_seconds() -> None:
    started = time.perf_counter()
    passwords.hash_password("x" * 20)
    assert time.perf_counter() - started < 1.0  # ~60 ms on an idle core; generous for a busy CI


@pytest.mark.parametrize("stored", [V2, V3_SHA1_250, V3_SHA512_50, V3_SHA256_250000])
def test_aspnet_identity_vectors_verify_and_need_upgrade(stored: str) -> None:
    assert passwords.verify_password(stored, PLAIN)
    assert not passwords.verify_password(stored, "my passwore")
    assert passwords.needs_upgrade(stored)


def test_our_v2_and_v3_builders_match_the_format() -> None:
    salt = bytes(range(16))
    assert passwords.aspnet_v2_hash(PLAIN, salt) == V2
    v3 = passwords.aspnet_v3_hash("Soporte-Demo-2026", salt, prf=2, iterations=10000)
    assert passwords.verify_password(v3, "Soporte-Demo-2026")
    assert passwords.hash_kind(v3) == "aspnet-v3"
    assert passwords.hash_kind(V2) == "aspnet-v2"


@pytest.mark.parametrize(
    "garbage", [None, "", "not base64 !!", "AAAA", "$argon2id$v=19$broken", "AQAAAAMAAAAyAAAAEA=="]
)
def test_missing_or_corrupt_hashes_never_verify(garbage: str | None) -> None:
    assert not passwords.verify_password(garbage, "anything at all")
    assert passwords.needs_upgrade(garbage)


def test_older_argon2_parameters_need_an_upgrade() -> None:
    from argon2 import PasswordHasher

    old = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash("Soporte-Demo-2026")
    assert passwords.verify_password(old, "Soporte-Demo-2026")
    assert passwords.needs_upgrade(old)


def test_unknown_user_costs_about_as_much_as_a_wrong_password(argon_hash: str) -> None:
    def timed(action) -> float:  # type: ignore[no-untyped-def]
        best = 10.0
        for _ in range(3):
            started = time.perf_counter()
            action()
            best = min(best, time.perf_counter() - started)
        return best

    wrong = timed(lambda: passwords.verify_password(argon_hash, "wrong password here"))
    missing = timed(lambda: passwords.verify_password(None, "wrong password here"))
    assert missing > wrong * 0.5
