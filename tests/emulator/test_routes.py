"""The route table: every Web API path is one (method, shape) entry, and the answers for what is not
in it follow Dataverse (404 unknown segment, 405 wrong method, 501 what the emulator lacks)."""

from __future__ import annotations

from typing import Any

import pytest
from werkzeug.test import Client
from werkzeug.wrappers import Response

from d365portal.emulator import create_emulator_app, routes
from d365portal.emulator.handlers import WHOAMI
from d365portal.emulator.responses import json_response

HEADERS = {"Authorization": "Bearer t", "Accept": "application/json"}


@pytest.fixture()
def client() -> Client:
    return Client(create_emulator_app(seed="demo"))


def test_a_new_route_is_one_entry_of_the_table(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    """A function added with one line (and its handler) answers; its table reaches the call's parts."""

    def echo(app: Any, call: routes.Call) -> Response:
        return json_response({"name": call.name, "id": call.row_id, "set": call.table_or_fail.entity_set})

    monkeypatch.setitem(routes.ROUTES, ("GET", "<set>(<id>)/Microsoft.Dynamics.CRM.Echo()"), echo)
    response = client.get(
        "/api/data/v9.2/incidents(0C7A1F4E-8D2B-EA11-A813-000D3A1B2C3D)/Microsoft.Dynamics.CRM.Echo()",
        headers=HEADERS,
    )
    assert response.status_code == 200
    case_id = "0c7a1f4e-8d2b-ea11-a813-000d3a1b2c3d"
    assert response.json == {"name": "incidents", "id": case_id, "set": "incidents"}


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "WhoAmI", 200, None),
        ("POST", "WhoAmI", 405, "0x80060888"),
        ("GET", "CloseIncident", 405, "0x80060888"),
        ("GET", "nosuchthing", 404, "0x8006088a"),
        ("PUT", "incidents(0c7a1f4e-8d2b-ea11-a813-000d3a1b2c3d)", 501, "0x80060000"),
        ("POST", "incidents(0c7a1f4e-8d2b-ea11-a813-000d3a1b2c3d)", 405, "0x80060888"),
        ("GET", "incidents(0c7a1f4e-8d2b-ea11-a813-000d3a1b2c3d)/title", 501, "0x80060000"),
        ("GET", "$batch", 501, "0x80060000"),
        ("GET", f"systemusers({WHOAMI['UserId']})/Microsoft.Dynamics.CRM.Other()", 501, "0x80060000"),
    ],
)
def test_paths_outside_the_table_answer_as_dataverse_does(
    client: Client, method: str, path: str, status: int, code: str | None
) -> None:
    response = client.open(f"/api/data/v9.2/{path}", method=method, headers=HEADERS)
    assert response.status_code == status
    if code is not None:
        assert response.json["error"]["code"] == code
