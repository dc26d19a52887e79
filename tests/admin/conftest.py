"""Admin command fixtures: a clean D365_* environment pointed at the test emulator, a CLI runner."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from d365portal.cli import main
from tests.conftest import TEST_TOKEN


@pytest.fixture()
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """No D365_* from outside; an empty portal.toml and secrets dir; a var/ of the test's own."""
    for name in list(os.environ):
        if name.upper().startswith("D365_"):
            monkeypatch.delenv(name)
    config = tmp_path / "portal.toml"
    config.write_text("")
    (tmp_path / "secrets").mkdir()
    return {
        "D365_CONFIG": str(config),
        "D365_SECRETS_DIR": str(tmp_path / "secrets"),
        "D365_VAR_DIR": str(tmp_path / "var"),
        "D365_SECRET_KEY": "admin-test-secret-key-0123456789-abcdefghij",
        "D365_PUBLIC_BASE_URL": "http://portal.test",
        "D365_RETRY_BUDGET_SECONDS": "2",
    }


@pytest.fixture()
def emulator_env(clean_env: dict[str, str], emulator: Any) -> dict[str, str]:
    """Settings (as environment variables) for a portal on the test emulator."""
    return {
        **clean_env,
        "D365_DATAVERSE_URL": emulator.url,
        "D365_AUTH": "static",
        "D365_STATIC_TOKEN": TEST_TOKEN,
    }


def invoke(env: dict[str, str], *args: str) -> Result:
    """Run `d365portal <args>` with these environment variables."""
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
