"""The shared Dataverse budget: a per-contact limit, shedding the cheapest work first as Dataverse's
remaining budget falls, the emulator's service-protection limits, and the affinity cookie."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests
import responses
from flask import Flask

from d365portal import create_app
from d365portal.crm import option_labels
from d365portal.dataverse.context import budget
from d365portal.emulator.seed import DEMO_CASE_ID
from tests.conftest import TEST_TOKEN, make_settings
from tests.web.support_helpers import RIGHTS_CHECK, hidden, sign_in, text

BUSY = "Demasiadas solicitudes, espere unos segundos"


def _portal(tmp_path: Path, emulator: Any, **settings: Any) -> Flask:
    app = create_app(make_settings(tmp_path, emulator.url, **settings))
    app.testing = True
    option_labels(app).refresh_now()
    emulator.stats.reset()
    return app


def test_a_contact_past_its_burst_gets_the_friendly_page_and_costs_dataverse_nothing(
    tmp_path: Path, emulator: Any
) -> None:
    app = _portal(tmp_path, emulator, contact_burst=3, contact_rate_per_second=0.2)
    client = sign_in(app.test_client())
    assert [client.get("/es-ES/support/").status_code for _ in range(3)] == [200, 200, 200]
    refused = client.get("/es-ES/support/")
    assert refused.status_code == 429 and BUSY in text(refused)
    assert 1 <= int(refused.headers["Retry-After"]) <= 5
    assert "Traceback" not in text(refused) and "Solicitud no válida" not in text(refused)
    # The refused view never reached Dataverse (each served one: its own request and the rights re-read).
    assert emulator.stats.snapshot()["total"] == 3 * (1 + RIGHTS_CHECK)


def test_a_form_past_the_limit_comes_back_as_typed(tmp_path: Path, emulator: Any) -> None:
    app = _portal(tmp_path, emulator, contact_burst=1, contact_rate_per_second=0.1)
    client = sign_in(app.test_client())
    page = client.get("/es-ES/support/create-case/").get_data(as_text=True)  # no Dataverse call: free
    form = {"csrf_token": hidden(page, "csrf_token"), "case_token": hidden(page, "case_token"),
            "title": "Mucho texto", "description": "escrito con calma", "intent": "send"}  # fmt: skip
    assert client.get("/es-ES/support/").status_code == 200  # the one token
    refused = client.post("/es-ES/support/create-case/", data=form)
    assert refused.status_code == 429 and BUSY in text(refused)
    assert 'value="Mucho texto"' in text(refused) and "escrito con calma" in text(refused)


def test_one_session_in_four_threads_cannot_drain_the_budget(tmp_path: Path, emulator: Any) -> None:
    """The probe of issue 12: one session, 4 threads, 400 case-list views in a few seconds. With the
    defaults (a burst of 30, then 1 a second) Dataverse sees about 30 plus one a second."""
    app = _portal(tmp_path, emulator, contact_burst=30, contact_rate_per_second=1.0)
    client = sign_in(app.test_client())
    cookie = client.get_cookie("d365_session")
    assert cookie is not None
    statuses: list[int] = []
    started = time.monotonic()

    def views() -> None:
        own = app.test_client()
        own.set_cookie("d365_session", cookie.value)
        for _ in range(100):
            statuses.append(own.get("/es-ES/support/").status_code)

    threads = [threading.Thread(target=views) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    took = time.monotonic() - started
    assert len(statuses) == 400 and set(statuses) <= {200, 429}
    served = emulator.stats.snapshot()["total"] / (1 + RIGHTS_CHECK)  # each served view: its page and rights
    assert served <= 30 + int(took) + 1, (emulator.stats.snapshot(), took)
    assert statuses.count(429) >= 400 - (30 + int(took) + 1)


def test_as_dataverses_budget_falls_searches_and_anonymous_pages_go_first(
    tmp_path: Path, emulator: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """The emulator enforces small service-protection limits; what it says is left sheds the cheapest
    work: with 10% left, a search and a sign-in are shed (the typed username kept), a case page and a
    submit are served; /readyz shows the budget."""
    app = _portal(tmp_path, emulator, dataverse_requests_per_window=100)
    emulator.protection.configure(requests=100, seconds=None, concurrent=None, window=300)
    client = sign_in(app.test_client())
    for _ in range(90 // (1 + RIGHTS_CHECK)):  # each view: the case and the rights re-read
        assert client.get(f"/es-ES/support/case/{DEMO_CASE_ID}").status_code == 200
    assert budget.current().requests_remaining == 10
    searched = client.get("/es-ES/support/?q=vpn")
    assert searched.status_code == 429 and BUSY in text(searched)  # a search: shed below 15 %
    visitor = app.test_client()
    login = visitor.get("/es-ES/Account/Login/Login").get_data(as_text=True)
    shed = visitor.post(
        "/es-ES/Account/Login/Login",
        data={"csrf_token": hidden(login, "csrf_token"), "username": "ana.ruiz", "password": "x"},
    )
    assert shed.status_code == 429 and BUSY in text(shed) and 'value="ana.ruiz"' in text(shed)
    assert client.get(f"/es-ES/support/case/{DEMO_CASE_ID}").status_code == 200  # a page: served
    page = client.get("/es-ES/support/create-case/").get_data(as_text=True)
    form = {"csrf_token": hidden(page, "csrf_token"), "case_token": hidden(page, "case_token"),
            "title": "Caso urgente", "intent": "send"}  # fmt: skip
    assert client.post("/es-ES/support/create-case/", data=form).status_code == 302  # a submit: served
    ready = app.test_client().get("/readyz").get_json()
    assert ready["dataverse_budget"]["requests_remaining"] is not None
    caplog.set_level(logging.INFO, logger="d365portal.request")
    client.get(f"/es-ES/support/case/{DEMO_CASE_ID}")
    (line,) = [r.getMessage() for r in caplog.records if r.name == "d365portal.request"][-1:]
    assert " budget=" in line  # the request log shows what Dataverse says is left
    emulator.protection.configure(requests=None, seconds=None, concurrent=None)


def test_the_emulator_enforces_the_three_limits_with_dataverses_codes(emulator: Any) -> None:
    headers = {"Authorization": f"Bearer {TEST_TOKEN}"}
    emulator.protection.configure(requests=3, seconds=None, concurrent=None, window=2)
    answers = [
        requests.get(f"{emulator.url}/api/data/v9.2/WhoAmI", headers=headers, timeout=5) for _ in range(4)
    ]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a.headers["x-ms-ratelimit-burst-remaining-xrm-requests"] for a in answers[:3]] == ["2", "1", "0"]
    assert answers[3].json()["error"]["code"] == "0x80072322" and int(answers[3].headers["Retry-After"]) >= 1
    other = requests.get(f"{emulator.url}/api/data/v9.2/WhoAmI", headers={"Authorization": "Bearer other"},
                         timeout=5)  # fmt: skip
    assert other.status_code == 200  # per user
    time.sleep(2.1)
    assert requests.get(f"{emulator.url}/api/data/v9.2/WhoAmI", headers=headers, timeout=5).status_code == 200
    emulator.protection.configure(requests=None, seconds=0.00001, concurrent=None, window=60)
    emulator.faults.latency_ms = 5
    first = requests.get(f"{emulator.url}/api/data/v9.2/WhoAmI", headers=headers, timeout=5)
    second = requests.get(f"{emulator.url}/api/data/v9.2/WhoAmI", headers=headers, timeout=5)
    assert first.status_code == 200 and second.status_code == 429
    assert second.json()["error"]["code"] == "0x80072321"
    emulator.protection.configure(requests=None, seconds=None, concurrent=1, window=60)
    emulator.faults.latency_ms = 300
    results: list[int] = []
    slow = threading.Thread(
        target=lambda: results.append(
            requests.get(f"{emulator.url}/api/data/v9.2/WhoAmI", headers=headers, timeout=5).status_code
        )
    )
    slow.start()
    time.sleep(0.1)
    crowded = requests.get(f"{emulator.url}/api/data/v9.2/WhoAmI", headers=headers, timeout=5)
    slow.join()
    assert crowded.status_code == 429 and crowded.json()["error"]["code"] == "0x80072326"
    assert results == [200]
    emulator.protection.configure(requests=None, seconds=None, concurrent=None)


@pytest.mark.parametrize("keep", [True, False])
def test_the_affinity_cookie_setting(tmp_path: Path, keep: bool) -> None:
    org = "https://org.crm.dynamics.com"
    app = create_app(make_settings(tmp_path, org, dataverse_affinity_cookie=keep))
    client = app.extensions["dataverse"]
    with responses.RequestsMock() as mock:
        mock.get(f"{org}/api/data/v9.2/WhoAmI", json={"UserId": "u"},
                 headers={"Set-Cookie": "ARRAffinity=abc123; Path=/; HttpOnly; Secure"})  # fmt: skip
        mock.get(f"{org}/api/data/v9.2/WhoAmI", json={"UserId": "u"})
        client.whoami()
        client.whoami()
        second = mock.calls[1].request
    sent = second.headers.get("Cookie") or ""
    assert ("ARRAffinity=abc123" in sent) is keep


def test_a_page_waits_out_a_short_throttle_and_refuses_a_long_one(client: Any) -> None:
    """One 429 with Retry-After: 1 (say, to the background label refresh) must not show the next
    customer a busy page; a long pause still sheds with the friendly 429."""
    sign_in(client)
    budget.observe({}, 429, 1.0)
    assert client.get("/es-ES/support/").status_code == 200
    budget.observe({}, 429, 30.0)
    refused = client.get("/es-ES/support/")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 20
