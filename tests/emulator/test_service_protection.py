"""Service-protection limits, in-process and against the standalone server: the per-user request
limit in a sliding window, Dataverse's 429 with its code and Retry-After, the remaining headers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.emulator.conftest import Api


@pytest.fixture()
def limited(api: Api) -> Iterator[Api]:
    api.control("POST", "protection", {"requests": 4, "window": 60})
    yield api
    api.control("POST", "protection", {})


def test_the_request_limit_answers_429_with_dataverses_code_and_headers(limited: Api) -> None:
    answers = [limited.get("WhoAmI") for _ in range(5)]
    assert [a.status_code for a in answers] == [200, 200, 200, 200, 429]
    assert [a.headers["x-ms-ratelimit-burst-remaining-xrm-requests"] for a in answers] == [
        "3",
        "2",
        "1",
        "0",
        "0",
    ]
    refused = answers[4].json()["error"]
    assert refused["code"] == "0x80072322"
    assert refused["message"] == "Number of requests exceeded the limit of 4 over time window of 60 seconds."
    assert 1 <= int(answers[4].headers["Retry-After"]) <= 60
    assert limited.control("GET", "protection") == {
        "requests": 4,
        "seconds": None,
        "concurrent": None,
        "window": 60,
    }


def test_limits_count_per_user_and_a_wrong_setting_is_400(limited: Api) -> None:
    for _ in range(4):
        limited.get("WhoAmI")
    someone_else = {**limited.headers(), "Authorization": "Bearer someone-else"}
    other = limited.http.get(f"{limited.url}/api/data/v9.2/WhoAmI", headers=someone_else, timeout=10)
    if limited.mode == "in-process":  # the standalone server here accepts only its own token
        assert other.status_code == 200
    response = limited.http.post(f"{limited.url}/_emulator/protection", json={"requests": -1}, timeout=10)
    assert response.status_code == 400
