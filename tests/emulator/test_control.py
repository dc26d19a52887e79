"""Tokens, fault injection and request statistics."""

from __future__ import annotations

import time

import pytest
import requests

from d365portal.emulator.seed import DEMO_CASE_ID
from tests.emulator.conftest import Api


def test_401_without_bearer_token(api: Api) -> None:
    """No token (or not a bearer one): 401 with WWW-Authenticate."""
    response = requests.get(f"{api.url}/api/data/v9.2/WhoAmI", timeout=5)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer authorization_uri=")
    basic = requests.get(
        f"{api.url}/api/data/v9.2/incidents", headers={"Authorization": "Basic eDp5"}, timeout=5
    )
    assert basic.status_code == 401


def test_require_token_accepts_only_that_token() -> None:
    """require_token: the configured token works, any other gets 401."""
    from werkzeug.test import Client

    from d365portal.emulator import create_emulator_app

    client = Client(create_emulator_app(seed="empty", require_token="s3cret"))
    assert client.get("/api/data/v9.2/WhoAmI", headers={"Authorization": "Bearer other"}).status_code == 401
    assert client.get("/api/data/v9.2/WhoAmI", headers={"Authorization": "Bearer s3cret"}).status_code == 200


def test_stats_count_web_api_requests_by_method_and_entity_set(api: Api) -> None:
    """Stats count Web API calls ("GET incidents", "PATCH incidents", …), not control calls; reset zeroes."""
    api.get("incidents", {"$top": "1"})
    api.get(f"incidents({DEMO_CASE_ID})")
    api.send("PATCH", f"incidents({DEMO_CASE_ID})", {"description": "x"})
    api.get("WhoAmI")
    stats = api.control("GET", "stats")
    assert stats["requests"] == {"GET incidents": 2, "PATCH incidents": 1, "GET WhoAmI": 1}
    assert stats["total"] == 4
    api.control("POST", "stats/reset")
    assert api.control("GET", "stats") == {"total": 0, "requests": {}}


def test_throttling_answers_429_with_retry_after(api: Api) -> None:
    """throttle_ratio=0.5: every second request gets 429 0x80072322 with Retry-After."""
    api.control("POST", "faults", {"throttle_ratio": 0.5, "throttle_retry_after": 7})
    statuses = [api.get("WhoAmI") for _ in range(4)]
    throttled = [r for r in statuses if r.status_code == 429]
    assert len(throttled) == 2 and sum(r.status_code == 200 for r in statuses) == 2
    assert throttled[0].headers["Retry-After"] == "7"
    assert throttled[0].json()["error"]["code"] == "0x80072322"
    api.control("POST", "faults", {"clear": True})
    assert api.get("WhoAmI").status_code == 200


def test_unavailable_ratio_answers_503(api: Api) -> None:
    """unavailable_ratio=1: every request gets 503."""
    assert api.control("POST", "faults", {"unavailable_ratio": 1})["unavailable_ratio"] == 1
    assert api.get("WhoAmI").status_code == 503


def test_dropped_response_commits_but_client_sees_a_connection_error(api: Api) -> None:
    """drop_response_ratio=1: the write is stored, the client gets no response (a requests exception)."""
    api.control("POST", "faults", {"drop_response_ratio": 1})
    with pytest.raises(requests.ConnectionError):
        api.send("PATCH", f"incidents({DEMO_CASE_ID})", {"description": "guardado"})
    api.control("POST", "faults", {"clear": True})
    row = api.get(f"incidents({DEMO_CASE_ID})", {"$select": "description"}).json()
    assert row["description"] == "guardado"


def test_latency_is_added(api: Api) -> None:
    """latency_ms delays every Web API answer."""
    api.control("POST", "faults", {"latency_ms": 150})
    start = time.monotonic()
    assert api.get("WhoAmI").status_code == 200
    assert time.monotonic() - start >= 0.15


def test_faults_reject_bad_values(api: Api) -> None:
    """A ratio outside [0, 1] or an unknown fault is a 400 from the control endpoint."""
    response = requests.post(f"{api.url}/_emulator/faults", json={"throttle_ratio": 2}, timeout=5)
    assert response.status_code == 400
    response = requests.post(f"{api.url}/_emulator/faults", json={"explode": 1}, timeout=5)
    assert response.status_code == 400
    before = api.control("GET", "faults")
    for raw in (b'{"latency_ms": 1e999}', b'{"throttle_ratio": 0.5, "latency_ms": NaN}'):
        response = requests.post(f"{api.url}/_emulator/faults", data=raw, timeout=5)
        assert response.status_code == 400, raw
    assert api.control("GET", "faults") == before  # nothing half-applied


def test_control_reset_reseeds(api: Api) -> None:
    """POST /_emulator/reset puts the demo data back."""
    api.send("DELETE", f"incidents({DEMO_CASE_ID})")
    assert api.get(f"incidents({DEMO_CASE_ID})").status_code == 404
    api.control("POST", "reset")
    assert api.get(f"incidents({DEMO_CASE_ID})").status_code == 200


def test_start_up_faults_and_clear_goes_back_to_them() -> None:
    """Faults given to create_emulator_app apply from the first request; clear() returns to them."""
    from werkzeug.test import Client

    from d365portal.emulator import create_emulator_app

    app = create_emulator_app(seed="empty", unavailable_ratio=1.0)
    client = Client(app)
    headers = {"Authorization": "Bearer t"}
    assert client.get("/api/data/v9.2/WhoAmI", headers=headers).status_code == 503
    app.faults.set(unavailable_ratio=0.0)
    assert client.get("/api/data/v9.2/WhoAmI", headers=headers).status_code == 200
    app.faults.clear()
    assert app.faults.unavailable_ratio == 1.0
    assert client.get("/api/data/v9.2/WhoAmI", headers=headers).status_code == 503


def test_retrieve_user_privileges_lists_the_application_users_role(api: Api) -> None:
    """The application user (WhoAmI's UserId) has the portal's role; another user id is not found."""
    user_id = api.get("WhoAmI").json()["UserId"]
    response = api.get(f"systemusers({user_id})/Microsoft.Dynamics.CRM.RetrieveUserPrivileges()")
    assert response.status_code == 200
    held = {p["PrivilegeName"]: p["Depth"] for p in response.json()["RolePrivileges"]}
    assert held["prvCreateIncident"] == "Global" and held["prvReadEntitlement"] == "Global"
    stranger = "00000000-0000-0000-0000-000000000001"
    other = api.get(f"systemusers({stranger})/Microsoft.Dynamics.CRM.RetrieveUserPrivileges()")
    assert other.status_code == 404
    me = api.get(f"systemusers({user_id})?$select=fullname")
    assert me.status_code == 200 and me.json()["fullname"] == "# d365portal"
