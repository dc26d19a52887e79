"""Soporte técnico: the case list (manual "Mi Soporte") against the emulator's demo data."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from flask.testing import FlaskClient

from d365portal.emulator.seed import DEMO_CASE_ID, DEMO_CASE_NUMBER, DEMO_CASE_TITLE, OTHER_ACCOUNT_NAME
from tests.web.support_helpers import RIGHTS_CHECK, link, requests_for, rows_of, sign_in, text

LIST = "/es-ES/support/"


@pytest.fixture()
def user(client: FlaskClient) -> FlaskClient:
    """A client signed in as the manual's user, Lorena Melo Hernandez of INOVAIT SAS."""
    return sign_in(client)


def numbers(body: str) -> list[str]:
    """The case numbers shown, in order."""
    return [row[0] for row in rows_of(body)]


def test_anonymous_visitor_is_sent_to_sign_in(client: FlaskClient) -> None:
    response = client.get(LIST)
    assert response.status_code == 302
    assert "/es-ES/Account/Login/Login" in response.headers["Location"]


def test_list_shows_the_manual_case_with_dataverse_labels_in_one_request(
    user: FlaskClient, emulator: Any
) -> None:
    response, calls = requests_for(emulator, lambda: user.get(LIST))
    body = text(response)
    assert response.status_code == 200
    assert calls == 1 + RIGHTS_CHECK
    assert "Página principal" in body and "Soporte técnico" in body
    assert "Mis casos abiertos" in body
    assert "Abrir un caso nuevo" in body and 'for="case-search">Búsqueda' in body
    for header in ("Número de caso", "Título de caso", "Cliente", "Prioridad", "Razón para el estado"):
        assert header in body
    assert "Fecha de creación" in body
    # The manual's case (2019) is past the first page of open cases: its number finds it.
    found = text(user.get(LIST, query_string={"q": DEMO_CASE_NUMBER}))
    assert rows_of(found) == [
        [
            DEMO_CASE_NUMBER,
            DEMO_CASE_TITLE,
            "INOVAIT SAS",
            "Lorena Melo Hernandez",  # the Contacto column, shown to users above Contacto (issue 15)
            "Moderado",
            "En Revisión Esperando su respuesta",
            "26/12/2019 11:24",
        ]
    ]


def test_default_order_is_case_number_descending_marked_with_an_arrow(user: FlaskClient) -> None:
    body = text(user.get(LIST))
    shown = numbers(body)
    assert len(shown) == 10
    assert shown == sorted(shown, reverse=True)
    assert '<th scope="col" aria-sort="descending">' in body
    assert "↓" in body.split("Título de caso")[0]


def test_search_narrows_the_list_by_number_or_title(user: FlaskClient, emulator: Any) -> None:
    response, calls = requests_for(emulator, lambda: user.get(LIST, query_string={"q": "B2K8P0"}))
    assert calls == 1 + RIGHTS_CHECK
    assert numbers(text(response)) == [DEMO_CASE_NUMBER]
    by_title = rows_of(text(user.get(LIST, query_string={"q": "sin endpoint", "which": "all"})))
    assert by_title and all("sin endpoint" in row[1].lower() for row in by_title)
    nothing = text(user.get(LIST, query_string={"q": "no existe tal caso"}))
    assert rows_of(nothing) == []
    assert "Ningún caso coincide con «no existe tal caso»." in nothing


def test_search_text_is_escaped_not_interpreted(user: FlaskClient) -> None:
    response = user.get(LIST, query_string={"q": "') or (1 eq 1 <script>"})
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<script>" not in body
    assert rows_of(body) == []


def test_a_pasted_control_character_does_not_spoil_the_search(user: FlaskClient) -> None:
    """Text pasted with a NUL or a tab still finds the case (control characters are dropped)."""
    for typed in ("B2K8P0\x00", "\tB2K8P0\x1b"):
        response = user.get(LIST, query_string={"q": typed})
        assert response.status_code == 200
        assert numbers(text(response)) == [DEMO_CASE_NUMBER]


def test_filter_switches_between_open_resolved_and_all(user: FlaskClient, emulator: Any) -> None:
    resolved = text(user.get(LIST, query_string={"which": "resolved", "size": 50}))
    assert "Mis casos resueltos" in resolved
    assert DEMO_CASE_NUMBER not in resolved
    resolved_numbers = set(numbers(resolved))
    assert resolved_numbers
    stored = {row["ticketnumber"]: row["statecode"] for row in emulator.store.query("incidents")}
    assert all(stored[number] == 1 for number in resolved_numbers)
    everything = text(user.get(LIST, query_string={"which": "all", "size": 50, "q": "CAS-0"}))
    assert "Todos mis casos" in everything
    assert {stored[n] for n in numbers(everything)} >= {0, 1}


def test_columns_sort_on_click_and_toggle(user: FlaskClient) -> None:
    body = user.get(LIST).get_data(as_text=True)
    title_link = next(href for href in _header_links(body) if "sort=title" in href)
    ascending = text(user.get(title_link))
    titles = [row[1] for row in rows_of(ascending)]
    assert titles == sorted(titles, key=str.casefold)
    assert '<th scope="col" aria-sort="ascending">' in ascending
    assert "↑" in ascending
    again = user.get(title_link).get_data(as_text=True)
    toggle = next(href for href in _header_links(again) if "sort=title" in href)
    descending = text(user.get(toggle))
    titles_desc = [row[1] for row in rows_of(descending)]
    assert titles_desc == sorted(titles_desc, key=str.casefold, reverse=True)
    assert "dir=desc" in toggle


def _header_links(body: str) -> list[str]:
    thead = re.search(r"<thead>(.*?)</thead>", body, re.S)
    assert thead
    return [html.unescape(h) for h in re.findall(r'href="([^"]+)"', thead.group(1))]


def test_pages_follow_the_cursor_forward_and_back(user: FlaskClient, emulator: Any) -> None:
    first = user.get(LIST, query_string={"which": "all"}).get_data(as_text=True)
    page1 = numbers(first)
    assert len(page1) == 10
    next_url = link(first, "next")
    assert next_url and link(first, "prev") is None
    response, calls = requests_for(emulator, lambda: user.get(next_url))
    second = response.get_data(as_text=True)
    page2 = numbers(second)
    assert calls == 1 + RIGHTS_CHECK
    assert "Página 2" in second
    assert len(page2) == 10 and not set(page1) & set(page2)
    assert max(page2) < min(page1)  # still case number descending across pages
    back = link(second, "prev")
    assert back
    assert numbers(user.get(back).get_data(as_text=True)) == page1


def test_walking_every_page_shows_every_case_once(user: FlaskClient, emulator: Any) -> None:
    seen: list[str] = []
    url: str | None = LIST + "?which=all&size=25"
    while url:
        body = user.get(url).get_data(as_text=True)
        seen += numbers(body)
        url = link(body, "next")
    assert len(seen) == len(set(seen))
    assert DEMO_CASE_NUMBER in seen
    other = {r["ticketnumber"] for r in emulator.store.query("incidents") if "ANDES" in r["ticketnumber"]}
    assert other and not other & set(seen)


def test_page_size_choice(user: FlaskClient) -> None:
    body = user.get(LIST, query_string={"which": "all", "size": 25}).get_data(as_text=True)
    assert len(numbers(body)) == 25
    assert '<option value="25" selected>' in body
    odd = user.get(LIST, query_string={"which": "all", "size": 7}).get_data(as_text=True)
    assert len(numbers(odd)) == 10  # only 10/25/50 are offered


def test_a_tampered_page_token_starts_over(user: FlaskClient) -> None:
    first = numbers(user.get(LIST).get_data(as_text=True))
    forged = numbers(user.get(LIST, query_string={"page": "eyJjIjoiMSJ9.forged"}).get_data(as_text=True))
    assert forged == first


def test_other_accounts_cases_never_listed(user: FlaskClient) -> None:
    body = text(user.get(LIST, query_string={"which": "all", "size": 50, "q": "ANDES"}))
    assert rows_of(body) == []
    assert OTHER_ACCOUNT_NAME not in body


def test_an_agents_change_shows_on_the_next_load(user: FlaskClient, emulator: Any) -> None:
    emulator.store.update("incidents", DEMO_CASE_ID, {"title": "Título cambiado por el agente"})
    body = text(user.get(LIST, query_string={"q": DEMO_CASE_NUMBER}))
    assert rows_of(body)[0][1] == "Título cambiado por el agente"


def test_english_labels_and_date_format(user: FlaskClient) -> None:
    body = text(user.get("/en-US/support/", query_string={"q": DEMO_CASE_NUMBER}))
    assert "My open cases" in body and "Case number" in body and "Open a new case" in body
    assert rows_of(body)[0][6] == "12/26/2019 11:24 AM"  # after the Contacto column


def test_dataverse_down_shows_the_try_again_page(user: FlaskClient, emulator: Any) -> None:
    emulator.faults.unavailable_ratio = 1.0
    response = user.get(LIST)
    body = text(response)
    assert response.status_code == 503
    assert "Servicio no disponible, intente de nuevo en unos momentos." in body
    assert "Traceback" not in body and "Unavailable" not in body
