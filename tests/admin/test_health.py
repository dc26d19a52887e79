"""/healthz answers without Dataverse; /readyz checks the token and WhoAmI, cached, 503 when unusable."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import responses

from d365portal import create_app
from d365portal.emulator import create_emulator_app
from d365portal.web.health import Readiness
from tests.conftest import ServedApp, make_settings

CLOSED = "http://127.0.0.1:9"  # the discard port: nothing listens there


def whoami_calls(emulator: Any) -> int:
    return int(emulator.stats.snapshot()["requests"].get("GET WhoAmI", 0))


@pytest.fixture()
def own_emulator() -> Iterator[ServedApp]:
    """An emulator of this test's own, so stopping it leaves the shared one alone."""
    served = ServedApp(create_emulator_app(seed="empty"))
    yield served
    try:
        served.stop()
    except OSError:
        pass


def test_healthz_answers_without_dataverse(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path, CLOSED))
    response = app.test_client().get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


def test_readyz_checks_whoami_and_caches_the_answer(tmp_path: Path, emulator: Any) -> None:
    client = create_app(make_settings(tmp_path, emulator.url)).test_client()
    first = client.get("/readyz")
    assert first.status_code == 200 and first.get_json()["status"] == "ready"
    assert whoami_calls(emulator) == 1
    for _ in range(5):
        assert client.get("/readyz").status_code == 200
    assert whoami_calls(emulator) == 1  # cached for a few seconds


def test_readyz_is_503_while_dataverse_is_down_and_recovers(tmp_path: Path, own_emulator: ServedApp) -> None:
    app = create_app(make_settings(tmp_path, own_emulator.url))
    app.extensions["readiness"] = Readiness(app, ttl=0)  # no caching: every probe asks Dataverse
    client = app.test_client()
    assert client.get("/readyz").status_code == 200
    own_emulator.stop()
    started = time.monotonic()
    down = client.get("/readyz")
    assert down.status_code == 503
    answer = down.get_json()
    assert {k: answer[k] for k in ("status", "dataverse")} == {
        "status": "unavailable", "dataverse": "dataverse unreachable"
    }
    assert set(answer["dataverse_budget"]) == {
        "requests_remaining", "time_remaining_s", "observed_seconds_ago", "throttled_for_s"
    }
    assert time.monotonic() - started < 5
    assert client.get("/healthz").status_code == 200  # liveness does not depend on Dataverse
    own_emulator.restart()
    assert client.get("/readyz").status_code == 200


def test_readyz_is_503_when_dataverse_refuses_the_application_user(tmp_path: Path) -> None:
    org = "https://contoso.crm.dynamics.com"
    app = create_app(make_settings(tmp_path, org))
    body = {"error": {"code": "0x80072560", "message": "The user is not a member of the organization."}}
    with responses.RequestsMock() as mock:
        mock.get(f"{org}/api/data/v9.2/WhoAmI", status=403, json=body)
        response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["dataverse"] == "dataverse refused the credentials"


def test_readyz_is_503_when_no_token_is_issued(tmp_path: Path) -> None:
    authority, tenant = "https://login.microsoftonline.com", "11111111-2222-3333-4444-555555555555"
    settings = make_settings(tmp_path, "https://contoso.crm.dynamics.com", auth="client_secret",
                             tenant_id=tenant, client_id="c", client_secret="Kx8Q~secret-value")
    app = create_app(settings)
    refusal = {"error": "invalid_client", "error_description": "AADSTS7000222: expired.",
               "error_codes": [7000222]}
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        token_endpoint = f"{authority}/{tenant}/oauth2/v2.0/token"
        mock.get(f"{authority}/{tenant}/v2.0/.well-known/openid-configuration",
                 json={"token_endpoint": token_endpoint, "issuer": f"{authority}/{tenant}/v2.0",
                       "authorization_endpoint": f"{authority}/{tenant}/oauth2/v2.0/authorize"})
        mock.post(token_endpoint, status=401, json=refusal)
        response = app.test_client().get("/readyz")
    assert response.status_code == 503 and response.get_json()["dataverse"] == "token"
    assert "Kx8Q~secret-value" not in response.get_data(as_text=True)
