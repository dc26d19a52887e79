"""Vigencia Soporte (manual "Validar Vigencia del soporte"): the hour banks and their detail."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from flask.testing import FlaskClient

from d365portal.crm.models import Choice, Entitlement
from d365portal.emulator.seed import (
    DEMO_ACTIVE_ENTITLEMENT_ID,
    DEMO_ENTITLEMENT_ID,
    OTHER_ENTITLEMENT_ID,
)
from d365portal.web.hours import usage_of
from tests.web.support_helpers import RIGHTS_CHECK, requests_for, rows_of, sign_in, text

INDEX = "/es-ES/vigencia-soporte/"


@pytest.fixture()
def user(client: FlaskClient) -> FlaskClient:
    """A client signed in as the manual's user."""
    return sign_in(client)


def test_hour_banks_list_matches_the_manual_in_one_request(user: FlaskClient, emulator: Any) -> None:
    response, calls = requests_for(emulator, lambda: user.get(INDEX))
    body = text(response)
    assert response.status_code == 200 and calls == 1 + RIGHTS_CHECK
    assert "Página principal" in body and '<h1 id="hours-heading">Vigencia Soporte</h1>' in body
    headers = ("Estado", "Cliente Final", "Fecha de inicio", "Fecha de finalización", "Tipo de asignación")
    for header in (*headers, "Horas Disponibles"):
        assert header in body
    assert 'aria-sort="ascending">Estado <span aria-hidden="true">↑</span>' in body
    manual = next(row for row in rows_of(body) if "Bolsa de horas 2020" in row[0])
    assert manual[0].startswith("En espera")
    assert manual[1:] == ["INOVAIT SAS", "01/02/2020", "01/02/2021", "Número de horas", "25,00"]
    assert f'href="/es-ES/vigencia-soporte/{DEMO_ENTITLEMENT_ID}"' in body


def test_one_row_per_bank_of_the_account_and_its_associates_only(user: FlaskClient) -> None:
    body = text(user.get(INDEX))
    customers = {row[1] for row in rows_of(body)}
    assert customers == {"INOVAIT SAS", "Nombre ASociado"}
    assert "Andes" not in body


def test_detail_shows_dates_allocation_hours_and_a_bar(user: FlaskClient, emulator: Any) -> None:
    response, calls = requests_for(emulator, lambda: user.get(f"{INDEX}{DEMO_ENTITLEMENT_ID}"))
    body = text(response)
    assert response.status_code == 200 and calls <= 2
    assert "<h1>Bolsa de horas 2020</h1>" in body
    for value in (
        "En espera",
        "01/02/2020",
        "01/02/2021",
        "Número de horas",
        "25,00",
        "0,00 de 25,00 usadas",
    ):
        assert value in body
    assert '<meter id="usage-meter" min="0" max="25' in body
    assert "style=" not in body  # CSP: no inline styles
    assert "No hay casos cargados a esta bolsa." in body


def test_detail_lists_the_charged_cases_with_hours_or_not_deducted(user: FlaskClient, emulator: Any) -> None:
    body = text(user.get(f"{INDEX}{DEMO_ACTIVE_ENTITLEMENT_ID}"))
    rows = rows_of(body.split('id="charged-cases"')[1])
    linked = [
        row
        for row in emulator.store.query("incidents")
        if row["_entitlementid_value"] == str(DEMO_ACTIVE_ENTITLEMENT_ID)
    ]
    assert {row[0] for row in rows} == {case["ticketnumber"] for case in linked}
    by_number = {row[0]: row for row in rows}
    for case in linked:
        hours = by_number[case["ticketnumber"]][3]
        if case["statecode"] == 0:
            assert hours == "no descontado aún"
        elif case["statecode"] == 1:
            expected = f"{Decimal(case['billedserviceunits'] or 0) / 60:.2f}".replace(".", ",")
            assert hours == expected


def test_warnings_for_low_hours_and_near_expiry(user: FlaskClient, emulator: Any) -> None:
    url = f"{INDEX}{DEMO_ENTITLEMENT_ID}"
    assert "Quedan menos del 20 %" not in text(user.get(url))
    soon = date.today() + timedelta(days=10)
    emulator.store.update(
        "entitlements", DEMO_ENTITLEMENT_ID, {"remainingterms": 4, "enddate": f"{soon.isoformat()}T00:00:00Z"}
    )
    body = text(user.get(url))  # an agent's change shows at once
    assert "Quedan menos del 20 % de las horas de esta bolsa." in body
    assert "Esta bolsa vence en" in body
    assert "4,00" in body


def test_another_accounts_bank_is_not_found_like_a_missing_one(user: FlaskClient) -> None:
    other = user.get(f"{INDEX}{OTHER_ENTITLEMENT_ID}")
    missing = user.get(f"{INDEX}{uuid.uuid4()}")
    assert other.status_code == missing.status_code == 404
    assert "Bolsa de horas Andes" not in text(other)


def test_english_hour_banks(user: FlaskClient) -> None:
    body = text(user.get("/en-US/vigencia-soporte/"))
    assert "Support validity" in body and "Available hours" in body and "25.00" in body
    assert "02/01/2020" in body  # date-only, US order, never shifted


def _bank(total: str | None, remaining: str | None, end: date | None) -> Entitlement:
    return Entitlement(
        id=uuid.uuid4(),
        name="x",
        allocation_type=Choice(value=1, label="h"),
        state=Choice(value=1, label="a"),
        status_reason=Choice(value=1, label="a"),
        total_terms=Decimal(total) if total is not None else None,
        remaining_terms=Decimal(remaining) if remaining is not None else None,
        end_date=end,
    )


@pytest.mark.parametrize(
    ("total", "remaining", "low", "empty"),
    [
        ("25", "25", False, False),
        ("25", "5", False, False),
        ("25", "4.99", True, False),
        ("25", "0", True, True),
        ("25", "-2", True, True),
        ("0", "0", False, True),
    ],  # fmt: skip
)
def test_low_and_empty_thresholds(total: str, remaining: str, low: bool, empty: bool) -> None:
    usage = usage_of(_bank(total, remaining, None), date(2026, 1, 1))
    assert (usage.low, usage.empty) == (low, empty)
    assert usage.used == Decimal(total) - Decimal(remaining)
    assert Decimal(0) <= usage.meter_value <= usage.total


@pytest.mark.parametrize(("days", "warned"), [(-1, None), (0, 0), (30, 30), (31, None)])
def test_expiry_window(days: int, warned: int | None) -> None:
    today = date(2026, 11, 27)
    assert usage_of(_bank("10", "10", today + timedelta(days=days)), today).days_left == warned


def test_a_bank_of_cases_counts_cases_not_hours(user: FlaskClient, emulator: Any) -> None:
    from d365portal.emulator.seed import DEMO_CASES_ENTITLEMENT_ID

    body = text(user.get(f"{INDEX}{DEMO_CASES_ENTITLEMENT_ID}"))
    assert "Número de casos" in body and "Casos descontados" in body
    rows = rows_of(body.split('id="charged-cases"')[1])
    stored = {r["ticketnumber"]: r for r in emulator.store.query("incidents")}
    for row in rows:
        if stored[row[0]]["statecode"] == 1:
            assert row[3] == "1"
