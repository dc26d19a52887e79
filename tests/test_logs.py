"""The request log: one line per request with what an operator needs, and never a secret."""

from __future__ import annotations

import json
import logging
import uuid
from pathlib import Path
from typing import Any

import pytest
import responses
from flask import Flask, current_app
from responses import matchers

from d365portal import create_app
from d365portal.logs import RedactingFormatter, configure_logging, incoming_request_id, redact
from d365portal.settings import Settings
from tests.conftest import make_settings

ORG = "https://contoso.crm.dynamics.com"
WHOAMI = f"{ORG}/api/data/v9.2/WhoAmI"
TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL2NvbnRvc28ifQ.c2lnbmF0dXJl"
CLIENT_SECRET = "Kx8Q~client-secret-value-0123"


def portal(tmp_path: Path, **overrides: Any) -> Flask:
    """A portal against a mocked Dataverse, with a test page that makes two Dataverse calls."""
    settings = make_settings(tmp_path, ORG, static_token=TOKEN, **overrides)
    app = create_app(settings)
    app.testing = True

    @app.get("/_test/two-calls")
    def two_calls() -> dict[str, str]:
        client = current_app.extensions["dataverse"]
        client.whoami()
        return client.whoami()

    return app


def whoami_stub(mock: responses.RequestsMock, request_id: str | None = None) -> None:
    match = [matchers.header_matcher({"x-ms-client-request-id": request_id})] if request_id else []
    mock.get(
        WHOAMI, json={"UserId": str(uuid.uuid4()), "BusinessUnitId": "b", "OrganizationId": "o"}, match=match
    )


def request_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if "d365portal.request" in line]


def test_one_text_line_per_request_with_every_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = portal(tmp_path)
    with responses.RequestsMock() as mock:
        whoami_stub(mock)
        whoami_stub(mock)
        response = app.test_client().get("/_test/two-calls?code=reset-token-secret")
    lines = request_lines(capsys.readouterr().out)
    assert len(lines) == 1
    line = lines[0]
    request_id = response.headers["X-Request-ID"]
    assert uuid.UUID(request_id)
    assert " INFO d365portal.request: GET /_test/two-calls 200 " in line
    assert "dataverse=2/" in line and f"request_id={request_id}" in line
    assert "reset-token-secret" not in line  # the query string (reset codes) is never logged


def test_json_lines_carry_the_fields(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    app = portal(tmp_path, log_format="json")
    with responses.RequestsMock() as mock:
        whoami_stub(mock)
        whoami_stub(mock)
        app.test_client().get("/_test/two-calls")
    entries = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    entry = next(e for e in entries if e["logger"] == "d365portal.request")
    assert entry["method"] == "GET" and entry["path"] == "/_test/two-calls" and entry["status"] == 200
    assert entry["dataverse_calls"] == 2 and entry["dataverse_retries"] == 0
    assert entry["duration_ms"] >= entry["dataverse_ms"] >= 0
    assert uuid.UUID(entry["request_id"])


def test_a_guid_request_id_is_kept_and_sent_to_dataverse(tmp_path: Path) -> None:
    app = portal(tmp_path)
    incoming = str(uuid.uuid4())
    with responses.RequestsMock() as mock:
        whoami_stub(mock, request_id=incoming)  # the header matcher fails the call otherwise
        whoami_stub(mock, request_id=incoming)
        response = app.test_client().get("/_test/two-calls", headers={"X-Request-ID": incoming})
    assert response.status_code == 200
    assert response.headers["X-Request-ID"] == incoming


def test_each_request_gets_its_own_id(tmp_path: Path) -> None:
    client = portal(tmp_path).test_client()
    first = client.get("/healthz").headers["X-Request-ID"]
    second = client.get("/healthz").headers["X-Request-ID"]
    assert first != second


@pytest.mark.parametrize("value", ["abc", "x" * 200, "1234\r\nforged: line", "", None])
def test_an_odd_incoming_request_id_is_replaced(value: str | None) -> None:
    replaced = incoming_request_id(value)
    assert uuid.UUID(replaced)
    assert not value or value not in replaced


def test_no_token_or_secret_reaches_the_log(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    app = portal(tmp_path, log_level="DEBUG", client_secret=CLIENT_SECRET)
    with responses.RequestsMock() as mock:
        whoami_stub(mock)
        whoami_stub(mock)
        app.test_client().get("/_test/two-calls")
    log = logging.getLogger("d365portal.test")
    log.info("calling with Authorization: Bearer %s", TOKEN)
    log.info("the configured secret is %s", CLIENT_SECRET)
    log.info("login form %s", {"username": "lmelo", "password": "Soporte-Demo-2026"})
    try:
        raise RuntimeError(f"failed with client_secret={CLIENT_SECRET}")
    except RuntimeError:
        log.exception("unexpected")
    output = capsys.readouterr().out
    assert "calling with Authorization: [REDACTED]" in output
    for secret in (TOKEN, CLIENT_SECRET, "Soporte-Demo-2026", "test-secret-key-that-is-long-enough"):
        assert secret not in output


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("Authorization: Bearer abc.def-ghi", "abc.def-ghi"),
        ("{'Authorization': 'Bearer tok123456'}", "tok123456"),
        ('{"password": "hunter2-long"}', "hunter2-long"),
        ("password=hunter2-long&user=x", "hunter2-long"),
        ("client_secret=Kx8Q~abc", "Kx8Q~abc"),
        ("smtp://mailer:p4ssw0rd@smtp.example.com:587", "p4ssw0rd"),
        ("/es-ES/Account/Login/ResetPassword?userId=1&code=iiBCgUcq9c2R4LB40Q", "iiBCgUcq9c2R4LB40Q"),
        ("hash $argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA", "aGFzaA"),
        ("access_token: eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig", "eyJzdWIiOiIxIn0"),
    ],
)
def test_redact_masks_each_kind_of_secret(text: str, secret: str) -> None:
    assert secret not in redact(text)
    assert "[REDACTED]" in redact(text)


def test_redact_leaves_ordinary_text_alone() -> None:
    text = "GET /es-ES/support/ 200 12.5ms error code 0x80060888 (HTTP 400)"
    assert redact(text) == text


def test_the_formatter_masks_known_secret_values_and_leaves_the_record_alone() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "value %s here", ("plain-Secret-123",), None)
    line = RedactingFormatter(logging.Formatter("%(message)s"), ["plain-Secret-123"]).format(record)
    assert line == "value [REDACTED] here"
    assert record.getMessage() == "value plain-Secret-123 here"  # other handlers see the record as logged


def test_configure_logging_replaces_its_own_handler(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path)
    configure_logging(settings)
    configure_logging(settings)
    ours = [h for h in logging.getLogger().handlers if getattr(h, "_d365portal", False)]
    assert len(ours) == 1


def test_a_real_page_logs_its_one_dataverse_call(
    app: Flask, emulator: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from d365portal.emulator.seed import DEMO_ACCOUNT_ID, DEMO_CONTACT_ID
    from d365portal.web.auth_context import Principal

    client = app.test_client()
    with client.session_transaction() as session:
        session["principal"] = Principal(
            contact_id=DEMO_CONTACT_ID,
            account_id=DEMO_ACCOUNT_ID,
            account_name="INOVAIT SAS",
            full_name="Lorena Melo Hernandez",
            username="lmelo",
            email="lmelo@inovait.co",
            level=3,
        ).to_session()
    capsys.readouterr()
    emulator.stats.reset()
    response = client.get("/es-ES/support/")
    assert response.status_code == 200
    (line,) = request_lines(capsys.readouterr().out)
    assert "GET /es-ES/support/ 200 " in line
    # The list's own request and the re-read of the user's rights (DESIGN.md decision 20).
    assert emulator.stats.snapshot()["total"] == 2 and "dataverse=2/" in line


def test_retries_are_counted_in_the_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    app = portal(tmp_path)
    throttled = {"error": {"code": "0x80072322", "message": "Number of requests exceeded the limit."}}
    with responses.RequestsMock() as mock:
        mock.get(WHOAMI, status=429, json=throttled, headers={"Retry-After": "0"})
        whoami_stub(mock)
        whoami_stub(mock)
        assert app.test_client().get("/_test/two-calls").status_code == 200
    (line,) = request_lines(capsys.readouterr().out)
    assert "dataverse=3/" in line and "retries=1 " in line


def test_a_password_typed_as_a_username_never_reaches_the_log(
    app: Flask, capsys: pytest.CaptureFixture[str]
) -> None:
    """A failed sign-in with an unknown username logs a short keyed hash of it, never the text; a
    known username (an existing user's) is logged as typed, with its contact."""
    from tests.web.account_helpers import post_form

    client = app.test_client()
    secret = "Mi-Clave-Secreta-2026"
    post_form(client, "/es-ES/Account/Login/Login", {"username": secret, "password": "x"})
    post_form(client, "/es-ES/Account/Login/Login", {"username": secret, "password": "y"})
    post_form(client, "/es-ES/Account/Login/Login", {"username": "lmelo", "password": "wrong-password"})
    # The portal's own lines (the in-process emulator's werkzeug access log plays Dataverse's side).
    output = "\n".join(line for line in capsys.readouterr().out.splitlines() if " d365portal" in line)
    assert secret not in output and secret.lower() not in output
    failed = [line for line in output.splitlines() if "sign-in failed" in line]
    hashes = [line.split("username=")[1].split()[0] for line in failed[:2]]
    assert hashes[0] == hashes[1] and hashes[0].startswith("user#") and len(hashes[0]) == 17
    assert "username='lmelo'" in failed[2] and "reason=bad_password" in failed[2]


def test_retry_warnings_carry_the_query_shape_not_what_was_typed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from d365portal.dataverse.wire import url_path

    typed = "https://org.crm.dynamics.com/api/data/v9.2/contacts?$filter=emailaddress1%20eq%20%27ana.o%27%27brien%40x.co%27&$select=fullname"
    logged = url_path(typed)
    assert "brien" not in logged and "ana" not in logged
    assert logged == "/api/data/v9.2/contacts?$filter=emailaddress1 eq '…'&$select=fullname"
    app = portal(tmp_path)
    throttled = {"error": {"code": "0x80072322", "message": "Number of requests exceeded the limit."}}
    caplog.set_level(logging.WARNING, logger="d365portal.dataverse.client")
    with responses.RequestsMock() as mock, app.app_context():
        mock.get(f"{ORG}/api/data/v9.2/contacts", status=429, json=throttled, headers={"Retry-After": "0"})
        mock.get(f"{ORG}/api/data/v9.2/contacts", json={"value": []})
        current_app.extensions["dataverse"].get("contacts", {"$filter": "emailaddress1 eq 'secreto@x.co'"})
    warnings = [r.getMessage() for r in caplog.records if "retry" in r.getMessage()]
    assert warnings and all("secreto" not in w for w in warnings)
