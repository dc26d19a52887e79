"""Every setting is documented in config/portal.example.toml and docs/CONFIGURATION.md, with its real
default: uncommenting the whole example gives a valid configuration equal to the defaults."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from d365portal.settings import FieldMap, Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "config" / "portal.example.toml"
DOC = ROOT / "docs" / "CONFIGURATION.md"
SETTING_LINE = re.compile(r"^# (\w+) = (.+)$")


def every_setting() -> list[str]:
    top = [name for name in Settings.model_fields if name != "fieldmap"]
    return top + [f"fieldmap.{name}" for name in FieldMap.model_fields]


def documented_in_example() -> list[str]:
    names, section = [], ""
    for line in EXAMPLE.read_text(encoding="utf-8").splitlines():
        if line == "[fieldmap]":
            section = "fieldmap."
        elif found := SETTING_LINE.match(line):
            names.append(section + found.group(1))
    return names


def test_the_example_lists_every_setting_once() -> None:
    documented = documented_in_example()
    assert sorted(documented) == sorted(every_setting())


def test_the_table_lists_every_setting_with_its_variable() -> None:
    table = DOC.read_text(encoding="utf-8")
    for name in every_setting():
        variable = "D365_" + name.upper().replace(".", "__")
        assert f"| `{name}` | `{variable}` |" in table, name


def test_the_uncommented_example_loads_and_its_defaults_are_the_real_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in list(os.environ):
        if name.upper().startswith("D365_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("D365_SECRETS_DIR", str(tmp_path))
    uncommented = [
        line[2:] if SETTING_LINE.match(line) else line
        for line in EXAMPLE.read_text(encoding="utf-8").splitlines()
    ]
    config = tmp_path / "portal.toml"
    config.write_text("\n".join(uncommented), encoding="utf-8")
    monkeypatch.setenv("D365_CONFIG", str(config))
    loaded, defaults = load_settings(), Settings.model_construct()
    for name, field in Settings.model_fields.items():
        if field.default is not None:
            assert getattr(loaded, name) == getattr(defaults, name), name
