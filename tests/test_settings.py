"""Settings: defaults → portal.toml → D365_* environment → secrets files; wrong values named in one line."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from d365portal.settings import Settings, SettingsError, load_settings

SECRET = "s3cr3t-Value-that-must-never-show"


@pytest.fixture()
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No D365_* from the outside, no config/portal.toml, an empty secrets directory."""
    for name in list(os.environ):
        if name.upper().startswith("D365_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    monkeypatch.setenv("D365_SECRETS_DIR", str(secrets))
    return tmp_path


def write_toml(directory: Path, text: str) -> Path:
    path = directory / "portal.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_apply_without_any_source(clean_env: Path) -> None:
    settings = load_settings()
    assert settings.workers == 2
    assert settings.auth == "static"
    assert settings.mail_outbox == Path("var/outbox")


def test_config_portal_toml_is_read_from_the_working_directory(clean_env: Path) -> None:
    (clean_env / "config").mkdir()
    write_toml(clean_env / "config", "workers = 3\n")
    assert load_settings().workers == 3


def test_d365_config_names_another_file(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    toml = 'workers = 4\nlog_format = "json"\n[fieldmap]\nincident_associate_column = "new_asoc"\n'
    path = write_toml(clean_env, toml)
    monkeypatch.setenv("D365_CONFIG", str(path))
    settings = load_settings()
    assert (settings.workers, settings.log_format) == (4, "json")
    assert settings.fieldmap.incident_associate_column == "new_asoc"
    assert settings.fieldmap.identity_username == "adx_identity_username"


def test_environment_beats_the_file(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("D365_CONFIG", str(write_toml(clean_env, "workers = 4\nthreads = 3\n")))
    monkeypatch.setenv("D365_WORKERS", "6")
    monkeypatch.setenv("D365_FIELDMAP__IDENTITY_USERNAME", "contoso_username")
    settings = load_settings()
    assert (settings.workers, settings.threads) == (6, 3)
    assert settings.fieldmap.identity_username == "contoso_username"


def test_secrets_files_beat_the_environment(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (clean_env / "secrets" / "d365_client_secret").write_text(SECRET)
    monkeypatch.setenv("D365_CLIENT_SECRET", "from-the-environment")
    settings = load_settings()
    assert settings.client_secret is not None
    assert settings.client_secret.get_secret_value() == SECRET
    assert SECRET not in repr(settings) and SECRET not in str(settings.model_dump())


def test_explicit_arguments_beat_everything(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("D365_WORKERS", "6")
    assert load_settings(workers=9).workers == 9


def test_missing_d365_config_file_is_named(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("D365_CONFIG", str(clean_env / "nope.toml"))
    with pytest.raises(SettingsError, match=r"D365_CONFIG: no such file .*nope\.toml"):
        load_settings()


@pytest.mark.parametrize(
    ("toml", "named", "expected"),
    [
        ('workers = "many"\n', "workers (D365_WORKERS)", "whole number"),
        ('log_format = "xml"\n', "log_format (D365_LOG_FORMAT)", "'text' or 'json'"),
        ('dataverse_url = "not a url"\n', "dataverse_url (D365_DATAVERSE_URL)", "URL"),
        ("page_size = 1000\n", "page_size (D365_PAGE_SIZE)", "less than or equal to 100"),
        ('timezone = "Mars/Olympus"\n', "timezone (D365_TIMEZONE)", "IANA time zone"),
        ('[fieldmap]\nidentity_username = "bad name"\n', "fieldmap.identity_username", "column name"),
    ],
)
def test_a_wrong_value_in_the_file_names_the_setting(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, toml: str, named: str, expected: str
) -> None:
    monkeypatch.setenv("D365_CONFIG", str(write_toml(clean_env, toml)))
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert named in message and expected in message
    assert "\n" not in message


def test_an_unknown_key_in_the_file_is_named(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("D365_CONFIG", str(write_toml(clean_env, "wokers = 3\n")))
    with pytest.raises(SettingsError, match="unknown setting wokers"):
        load_settings()


def test_malformed_toml_names_the_file(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("D365_CONFIG", str(write_toml(clean_env, "workers = = 3\n")))
    with pytest.raises(SettingsError, match=r"portal\.toml: not valid TOML"):
        load_settings()


def test_a_wrong_value_in_the_environment_names_the_variable(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("D365_THREADS", "lots")
    with pytest.raises(SettingsError, match=r"threads \(D365_THREADS\): expected a whole number"):
        load_settings()


def test_malformed_json_in_a_nested_variable_is_named(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("D365_FIELDMAP", "{not json")
    with pytest.raises(SettingsError, match=r"D365_FIELDMAP\): expected JSON"):
        load_settings()


def test_a_secret_never_appears_in_an_error(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A secret pasted into the wrong setting, and wrong values elsewhere while secrets are set.
    (clean_env / "secrets" / "d365_smtp_url").write_text(f"smtp://u:{SECRET}@mail:587")
    monkeypatch.setenv("D365_CLIENT_SECRET", SECRET)
    monkeypatch.setenv("D365_WORKERS", SECRET)
    monkeypatch.setenv("D365_AUTH", SECRET)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert "D365_WORKERS" in str(caught.value) and "D365_AUTH" in str(caught.value)
    assert SECRET not in str(caught.value)


def test_settings_render_secrets_masked(clean_env: Path) -> None:
    settings = Settings(client_secret=SECRET, static_token=SECRET, smtp_url=f"smtp://u:{SECRET}@h")
    assert SECRET not in repr(settings)
    assert SECRET not in settings.model_dump_json()


def test_a_retry_budget_that_outlasts_the_worker_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    # Two Dataverse calls a page, each retried up to the budget, must finish before gunicorn's timeout.
    monkeypatch.setenv("D365_WORKER_TIMEOUT", "20")
    monkeypatch.setenv("D365_RETRY_BUDGET_SECONDS", "10")
    with pytest.raises(SettingsError) as refused:
        load_settings()
    assert "retry_budget_seconds (10)" in str(refused.value) and "worker_timeout (20)" in str(refused.value)
    monkeypatch.setenv("D365_RETRY_BUDGET_SECONDS", "8")
    assert load_settings().retry_budget_seconds == 8
