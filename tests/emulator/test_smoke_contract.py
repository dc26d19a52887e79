"""First contract checks against the in-process emulator served over HTTP (tests/conftest.py)."""

from __future__ import annotations

from typing import Any

import requests

from d365portal.emulator.seed import DEMO_CASE_ID, DEMO_CASE_NUMBER

AUTH = {"Authorization": "Bearer test-token", "Accept": "application/json"}


def test_demo_case_reads_with_spanish_labels(emulator: Any) -> None:
    """The manual's case comes back with the tenant's labels and the Bogotá-time formatted date."""
    response = requests.get(
        f"{emulator.url}/api/data/v9.2/incidents({DEMO_CASE_ID})",
        params={"$select": "ticketnumber,statuscode,prioritycode,createdon"},
        headers={**AUTH, "Prefer": 'odata.include-annotations="*"'},
        timeout=5,
    )
    assert response.status_code == 200
    body = response.json()
    assert body["ticketnumber"] == DEMO_CASE_NUMBER
    assert body["statuscode@OData.Community.Display.V1.FormattedValue"] == "En Revisión"
    assert body["prioritycode@OData.Community.Display.V1.FormattedValue"] == "Moderado"
    assert body["createdon@OData.Community.Display.V1.FormattedValue"] == "26/12/2019 11:24"


def test_whoami_needs_a_token(emulator: Any) -> None:
    """WhoAmI answers with a bearer token and 401 without one."""
    assert requests.get(f"{emulator.url}/api/data/v9.2/WhoAmI", timeout=5).status_code == 401
    ok = requests.get(f"{emulator.url}/api/data/v9.2/WhoAmI", headers=AUTH, timeout=5)
    assert ok.status_code == 200 and "UserId" in ok.json()
