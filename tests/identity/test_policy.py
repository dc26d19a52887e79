"""The password policy: length, common passwords, personal words; no composition rules."""

from __future__ import annotations

import pytest

from d365portal.identity.policy import check_password, common_passwords

PERSONAL = ("Lorena Melo Hernandez", "Lorena", "Melo Hernandez", "lmelo", "lmelo@inovait.co")


def reason(password: str, min_length: int = 12) -> str | None:
    violation = check_password(password, min_length=min_length, personal=PERSONAL)
    return violation.key if violation else None


def test_the_shipped_list_has_ten_thousand_common_passwords() -> None:
    words = common_passwords()
    assert len(words) == 10_000
    assert {"123456", "password", "qwerty"} <= words


def test_length_is_configurable_and_64_characters_are_allowed() -> None:
    assert reason("corto") == "password_too_short"
    assert reason("una frase larga") is None
    assert reason("una frase", min_length=8) is None
    assert reason("palabras sueltas " * 4) is None  # 68 characters
    assert reason("x1" * 65) == "password_too_long"
    violation = check_password("corto", min_length=14)
    assert violation is not None and violation.params == {"min": 14}


def test_no_composition_rules() -> None:
    assert reason("caballo correcto bateria grapa") is None  # lowercase only
    assert reason("1987 2003 4411 9020") is None  # digits and spaces


@pytest.mark.parametrize(
    "password", ["password1234", "Password1234", "qwertyuiop12", "iloveyou2026!", "aaaaaaaaaaaaaa"]
)
def test_common_passwords_and_decorated_forms_are_refused(password: str) -> None:
    assert reason(password) == "password_common"


@pytest.mark.parametrize(
    "password",
    ["Lorena Melo Hernandez", "lmelo@inovait.co", "lmelo2026!!!!", "LorenaMeloHernández", "MeloHernandez12"],
)
def test_the_users_own_name_username_and_email_are_refused(password: str) -> None:
    assert reason(password) == "password_personal"


def test_a_long_phrase_that_merely_contains_a_short_name_part_is_fine() -> None:
    assert reason("melo come tortas de arequipe los domingos") is None
