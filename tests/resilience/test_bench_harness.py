"""The benchmark's own parts that can be checked without a running portal: HTML reading,
percentiles, budget verdicts, and the loopback identity provider with the real MSAL client."""

from __future__ import annotations

from pathlib import Path

import msal
import pytest
import requests

from bench import html, idp, report
from bench.journey import classify
from bench.stats import percentile

PAGE = """
<form method="post" action="/es-ES/Account/Login/LogOff"><input type="hidden" name="csrf_token" value="tok1">
<button type="submit">Cerrar sesión</button></form>
<form method="post" action="">
  <input type="hidden" name="csrf_token" value="tok2">
  <input name="title" value="Impresora &amp; red"><textarea name="description">Línea 1</textarea>
  <select name="priority"><option value="1">Alta</option><option value="2" selected>Moderado</option></select>
  <input type="radio" name="associate" value="a1"><input type="radio" name="associate" value="a2" checked>
  <button type="submit" name="action" value="send">Enviar</button>
  <button type="submit" name="intent" value="lookup"
          formaction="/es-ES/support/create-case/associates">Buscar</button>
</form>
<a href="/es-ES/support/case/0c7a1f4e-8d2b-ea11-a813-000d3a1b2c3d">CAS-01202-B2K8P0</a>
<a href="/es-ES/support/case/0c7a1f4e-8d2b-ea11-a813-000d3a1b2c3d">again</a>
"""


def test_forms_keep_csrf_tokens_and_current_values() -> None:
    forms, _ = html.parse(PAGE)
    logoff, case = forms
    assert logoff.action.endswith("/LogOff") and logoff.fields == {"csrf_token": "tok1"}
    assert case.fields == {
        "csrf_token": "tok2",
        "title": "Impresora & red",
        "description": "Línea 1",
        "priority": "2",
        "associate": "a2",
    }
    assert case.buttons == [
        ("action", "send", ""),
        ("intent", "lookup", "/es-ES/support/create-case/associates"),
    ]
    assert case.button("intent", "lookup") == ("intent", "lookup", "/es-ES/support/create-case/associates")
    found = html.form_with(PAGE, field_name="title")
    assert found is not None and found.fields["csrf_token"] == "tok2"
    assert html.form_with(PAGE, action_part="/nowhere") is None


def test_links_are_absolute_and_not_repeated() -> None:
    links = html.links_matching(PAGE, "http://127.0.0.1:5000/es-ES/support/", "/support/case/")
    assert links == ["http://127.0.0.1:5000/es-ES/support/case/0c7a1f4e-8d2b-ea11-a813-000d3a1b2c3d"]


@pytest.mark.parametrize(
    ("method", "url", "page"),
    [
        ("GET", "/es-ES/Account/Login/Login", "login_form"),
        ("POST", "/es-ES/Account/Login/Login?next=/es-ES/support/", "sign_in"),
        ("GET", "/es-ES/support/", "case_list"),
        ("GET", "/es-ES/support/?q=vpn", "search"),
        ("GET", "/es-ES/support/case/0c7a1f4e-8d2b-ea11-a813-000d3a1b2c3d", "case"),
        ("GET", "/es-ES/support/create-case/associates?q=Nombre", "associates"),
        ("POST", "/es-ES/support/create-case/", "submit"),
        ("GET", "/es-ES/vigencia-soporte/", "hour_banks"),
        ("GET", "/es-ES/vigencia-soporte/3e9c4d5f-6a7b-ea11-a812-000d3a1b2c3d", "hour_bank"),
        ("POST", "/es-ES/Account/Login/LogOff", "sign_out"),
        ("GET", "/es-ES/", "home"),
    ],
)
def test_page_kinds(method: str, url: str, page: str) -> None:
    assert classify(method, "http://127.0.0.1:5000" + url) == page


def test_percentiles_interpolate() -> None:
    assert percentile([], 50) is None
    assert percentile([7.0], 99) == 7.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile(list(map(float, range(1, 101))), 95) == pytest.approx(95.05)


def _report(calls: dict[str, int], overhead_ms: float, errors: int, tokens: int | None) -> dict[str, object]:
    return {
        "parameters": {"workers": 2},
        "dataverse_calls_per_page": {p: {"max": n, "requests": ["GET incidents"]} for p, n in calls.items()},
        "overhead": {
            p: {"overhead_ms": overhead_ms, "page_p50_ms": 60.0, "dataverse_direct_p50_ms": 55.0}
            for p in report.LIST_PAGES
        },
        "load": {"overall": {"errors": errors}, "failures": {"submit: HTTP 503": errors} if errors else {}},
        "token_requests": {"count": tokens, "note": "no token path"},
    }


def test_budgets_hold_and_fail_with_a_reason() -> None:
    good = report.budgets(_report({"case_list": 1, "sign_in": 2, "hour_bank": 2}, 3.0, 0, 2))
    assert all(b["ok"] for b in good)
    bad = {b["name"]: b for b in report.budgets(_report({"case_list": 2, "sign_in": 3}, 9.5, 4, 3))}
    assert not bad["dataverse calls per view: case_list"]["ok"]
    assert not bad["dataverse calls per view: sign_in"]["ok"]
    assert not bad["overhead_ms p50: case_list"]["ok"]
    assert "page p50 60.0 ms" in bad["overhead_ms p50: case_list"]["why"]
    assert "submit: HTTP 503" in bad["errors"]["why"]
    assert not bad["token requests"]["ok"]
    unmeasured = {b["name"]: b for b in report.budgets(_report({}, 0.0, 0, None))}
    assert not unmeasured["token requests"]["ok"]


def test_identity_provider_issues_tokens_to_msal_over_https(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider = idp.FakeIdentityProvider(tmp_path).start()
    try:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(provider.cert_path))
        app = msal.ConfidentialClientApplication(
            idp.CLIENT_ID,
            authority=f"{provider.url}/{idp.TENANT}",
            client_credential=idp.CLIENT_SECRET,
            instance_discovery=False,
            http_client=requests.Session(),
        )
        scopes = ["http://127.0.0.1:5001/.default"]
        assert app.acquire_token_for_client(scopes=scopes)["access_token"] == idp.ACCESS_TOKEN
        assert app.acquire_token_for_client(scopes=scopes)["access_token"] == idp.ACCESS_TOKEN
        assert provider.token_requests == 1  # the second came from MSAL's cache
        wrong = msal.ConfidentialClientApplication(
            idp.CLIENT_ID,
            authority=f"{provider.url}/{idp.TENANT}",
            client_credential="wrong",
            instance_discovery=False,
            http_client=requests.Session(),
        )
        assert "access_token" not in wrong.acquire_token_for_client(scopes=scopes)
        assert provider.refused == 1
    finally:
        provider.stop()


def test_time_inside_the_app_comes_from_the_request_log() -> None:
    from bench.measure import time_inside_app

    log = "\n".join(
        [
            "2026-11-27T22:49:39.863+00:00 INFO d365portal.request: GET /es-ES/support/ 200 70.0ms "
            "dataverse=1/61.0ms request_id=a",
            "2026-11-27T22:49:39.981+00:00 INFO d365portal.request: GET /es-ES/support/?q=vpn 200 66.5ms "
            "dataverse=1/60.0ms request_id=b",
            "2026-11-27T22:49:40.100+00:00 INFO d365portal.request: GET /es-ES/support/ 200 64.0ms "
            "dataverse=1/57.0ms request_id=c",
            "2026-11-27T22:49:40.200+00:00 INFO gunicorn.error: Booting worker with pid: 872",
        ]
    )
    assert time_inside_app(log) == {"case_list": 8.0, "search": 6.5}


def test_request_log_splits_a_page_into_before_flask_inside_and_dataverse() -> None:
    from bench.measure import request_log_figures

    log = "\n".join(
        [
            "2026-11-27T22:49:39.863+00:00 INFO d365portal.request: GET /es-ES/support/ 200 70.0ms "
            "dataverse=1/61.0ms request_id=a",
            "2026-11-27T22:49:40.100+00:00 INFO d365portal.request: GET /es-ES/support/ 200 64.0ms "
            "dataverse=1/57.0ms request_id=c",
            "2026-11-27T22:49:40.200+00:00 INFO d365portal.request: GET /es-ES/ 200 1.0ms "
            "dataverse=0/0.0ms request_id=d",
        ]
    )
    assert request_log_figures(log) == {
        "case_list": {"request_log_p50_ms": 67.0, "portal_dataverse_p50_ms": 59.0},
        "home": {"request_log_p50_ms": 1.0, "portal_dataverse_p50_ms": 0.0},
    }
    data = _report({"case_list": 1}, 9.5, 0, 2)
    data["overhead"]["case_list"].update(  # type: ignore[index]
        inside_app_p50_ms=8.0, request_log_p50_ms=67.0, portal_dataverse_p50_ms=59.0, page_p50_ms=70.0
    )
    why = {b["name"]: b for b in report.budgets(data)}["overhead_ms p50: case_list"]["why"]
    assert "8.0 ms of it inside the app, 3.0 ms outside Flask's request" in why
    assert "its own Dataverse calls at 59.0 ms" in why
