"""The threaded server under concurrent writes: no lost update, no second create, unique tickets."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import requests

from d365portal.emulator.seed import DEMO_ACCOUNT_ID, DEMO_CONTACT_ID
from tests.emulator.conftest import API, Api

THREADS = 12


def _case(title: str) -> dict[str, object]:
    return {
        "title": title,
        "customerid_account@odata.bind": f"/accounts({DEMO_ACCOUNT_ID})",
        "primarycontactid@odata.bind": f"/contacts({DEMO_CONTACT_ID})",
    }


def _together(api: Api, calls: list[tuple[str, str, dict[str, object], dict[str, str]]]) -> list[int]:
    """Send the calls at once, each on its own connection; their status codes."""

    def send(call: tuple[str, str, dict[str, object], dict[str, str]]) -> int:
        method, path, body, extra = call
        with requests.Session() as http:
            headers = {**api.headers(), "Content-Type": "application/json", **extra}
            return http.request(
                method, api.url + API + path, json=body, headers=headers, timeout=10
            ).status_code

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        return list(pool.map(send, calls))


def test_concurrent_idempotent_creates_make_one_case(api: Api) -> None:
    new_id = uuid.uuid4()
    calls = [
        ("PATCH", f"incidents({new_id})", _case(f"intento {i}"), {"If-None-Match": "*"})
        for i in range(THREADS)
    ]
    statuses = _together(api, calls)
    assert sorted(statuses) == [204] + [412] * (THREADS - 1)
    found = api.get("incidents", {"$select": "title", "$filter": f"incidentid eq {new_id}"}).json()["value"]
    assert len(found) == 1


def test_concurrent_updates_with_one_etag_let_exactly_one_win(api: Api) -> None:
    created = api.send(
        "POST", "incidents", _case("original"), headers={**api.headers(), "Prefer": "return=representation"}
    )
    row = created.json()
    etag, case_id = row["@odata.etag"], row["incidentid"]
    calls = [
        ("PATCH", f"incidents({case_id})", {"title": f"cambio {i}"}, {"If-Match": etag})
        for i in range(THREADS)
    ]
    statuses = _together(api, calls)
    assert sorted(statuses) == [204] + [412] * (THREADS - 1)


def test_concurrent_creates_get_distinct_ticket_numbers(api: Api) -> None:
    calls = [("POST", "incidents", _case(f"caso {i}"), {}) for i in range(THREADS)]
    assert _together(api, calls) == [204] * THREADS
    rows = api.get(
        "incidents", {"$select": "ticketnumber,title", "$filter": "startswith(title,'caso ')"}
    ).json()
    numbers = [r["ticketnumber"] for r in rows["value"]]
    assert len(numbers) == THREADS and len(set(numbers)) == THREADS
