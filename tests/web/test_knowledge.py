"""The knowledge base (issue 16): search, the article page (sanitized), rating, suggestions on the
new-case form (with and without JavaScript), case deflection, the report — each with its Dataverse
budget."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from d365portal.crm.knowledge import KnowledgeRepository
from d365portal.emulator.seed import (
    DEMO_CONTACT_ID,
    KB_DANGEROUS_ID,
    KB_DRAFT_VPN_ID,
    KB_INTERNAL_VPN_ID,
    KB_VPN_EN_ID,
    KB_VPN_EN_TITLE,
    KB_VPN_ES_ID,
    KB_VPN_ES_TITLE,
)
from tests.web.support_helpers import hidden, requests_for, sign_in, text

SEARCH = "/es-ES/knowledgebase/"


@pytest.fixture()
def user(client: FlaskClient) -> FlaskClient:
    return sign_in(client)


def _wait_for(check: Any, timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def test_search_finds_the_published_spanish_article_in_one_request(user: FlaskClient, emulator: Any) -> None:
    response, calls = requests_for(emulator, lambda: user.get(SEARCH, query_string={"q": "VPN"}))
    body = text(response)
    assert response.status_code == 200 and calls == 1
    assert KB_VPN_ES_TITLE in body and "KA-01001" in body
    assert "<mark>VPN</mark>" in response.get_data(as_text=True)  # the matched word highlighted
    assert "concentrador" not in body  # internal
    assert "doble factor" not in body  # draft
    assert "Windows 7" not in body  # expired
    assert KB_VPN_EN_TITLE not in body  # its English translation: the Spanish one is shown
    # An article only in English is shown, marked with its language.
    assert "Enrol a mobile device for company mail" in body and "En inglés" in body


def test_the_english_page_shows_the_english_translation(user: FlaskClient) -> None:
    body = text(user.get("/en-US/knowledgebase/", query_string={"q": "VPN"}))
    assert KB_VPN_EN_TITLE in body and KB_VPN_ES_TITLE not in body
    assert "In Spanish" in body  # Spanish-only articles about the VPN, marked


def test_search_text_never_reaches_an_odata_url(user: FlaskClient, emulator: Any) -> None:
    nasty = "vpn') or (1 eq 1"
    response = user.get(SEARCH, query_string={"q": nasty})
    # The text is the action's JSON parameter: its quotes and parentheses are only words to search.
    assert response.status_code == 200 and KB_VPN_ES_TITLE in text(response)
    assert "concentrador" not in text(response)  # the filters still hold


def test_the_article_page_is_sanitized_and_counts_a_view_after_answering(
    user: FlaskClient, emulator: Any
) -> None:
    response, calls = requests_for(emulator, lambda: user.get(f"{SEARCH}{KB_DANGEROUS_ID}"))
    raw = response.get_data(as_text=True)
    assert response.status_code == 200 and 1 <= calls <= 2  # its read; the view count may follow it
    for gone in ("<script", "pwned", "onerror", "onclick", "<iframe", "javascript:", "tracker.example.net",
                 '<form action="https://evil', 'style="background'):  # fmt: skip
        assert gone not in raw, gone
    assert "<h2>Informes en un minuto</h2>" in raw and "<table>" in raw and "<code>Export-Report" in raw
    assert 'class="external" href="https://learn.microsoft.com/power-bi/" rel="noopener noreferrer"' in raw
    assert "sin imágenes ni contenido incrustado" in text(response)
    assert _wait_for(
        lambda: emulator.store.get("knowledgearticles", str(KB_DANGEROUS_ID))["knowledgearticleviews"] == 1
    )


@pytest.mark.parametrize("article", [KB_INTERNAL_VPN_ID, KB_DRAFT_VPN_ID], ids=["internal", "draft"])
def test_internal_and_draft_articles_are_not_found(user: FlaskClient, article: Any) -> None:
    assert user.get(f"{SEARCH}{article}").status_code == 404


def test_anonymous_visitors_sign_in_first_unless_the_setting_opens_it(
    client: FlaskClient, app: Flask
) -> None:
    assert client.get(SEARCH).status_code == 302
    app.config["SETTINGS"] = app.config["SETTINGS"].model_copy(update={"knowledge_base_anonymous": True})
    page = client.get(f"{SEARCH}{KB_VPN_ES_ID}")
    assert page.status_code == 200 and KB_VPN_ES_TITLE in text(page)
    assert "¿Le resultó útil?" not in text(page)  # rating needs a portal user


def test_yes_records_one_rating_for_the_user(user: FlaskClient, emulator: Any) -> None:
    page = user.get(f"{SEARCH}{KB_VPN_ES_ID}").get_data(as_text=True)
    data = {"csrf_token": hidden(page, "csrf_token"), "article_token": hidden(page, "article_token"),
            "helpful": "yes"}  # fmt: skip
    first = user.post(f"{SEARCH}{KB_VPN_ES_ID}/rate", data=data)
    assert first.status_code == 303
    assert "registramos su opinión" in text(user.get(first.headers["Location"]))
    again = user.post(f"{SEARCH}{KB_VPN_ES_ID}/rate", data=dict(data, helpful="no"))
    assert "Ya nos había dado su opinión" in text(user.get(again.headers["Location"]))
    rows = [
        r for r in emulator.store.query("feedback") if r.get("_regardingobjectid_value") == str(KB_VPN_ES_ID)
    ]
    assert len(rows) == 1
    (row,) = rows
    assert row["rating"] == 1 and row["maxrating"] == 1 and row["source"] == 1
    assert row["_createdbycontact_value"] == str(DEMO_CONTACT_ID)
    assert row["feedbackid"] == str(KnowledgeRepository.rating_id(DEMO_CONTACT_ID, KB_VPN_ES_ID))
    forged = user.post(f"{SEARCH}{KB_VPN_EN_ID}/rate", data=data)  # a token for another article
    assert forged.status_code == 404


def test_suggestions_come_in_one_request_and_opening_one_records_the_deflection(
    user: FlaskClient, emulator: Any
) -> None:
    suggest = "/es-ES/knowledgebase/suggest"
    response, calls = requests_for(
        emulator, lambda: user.get(suggest, query_string={"q": "no conecta la vpn"})
    )
    fragment = response.get_data(as_text=True)
    assert calls == 1 and "Artículos que pueden ayudarle" in fragment and KB_VPN_ES_TITLE in fragment
    assert fragment.count('class="suggestion"') <= 5
    assert (
        text(user.get("/es-ES/knowledgebase/suggest", query_string={"q": "vp"})).strip() == ""
    )  # < 3 letters
    link = next(part.split('"')[0] for part in fragment.split('href="')[1:] if str(KB_VPN_ES_ID) in part)
    before = len(emulator.store.query("adx_casedeflections"))
    assert user.get(link.replace("&amp;", "&")).status_code == 200
    rows = _wait_for(lambda: [r for r in emulator.store.query("adx_casedeflections")][before:])
    assert rows and rows[0]["adx_casetitle"] == "no conecta la vpn"
    assert rows[0]["_adx_knowledgearticle_value"] == str(KB_VPN_ES_ID)
    assert rows[0]["_adx_contact_value"] == str(DEMO_CONTACT_ID)


def test_without_javascript_find_articles_keeps_the_draft(user: FlaskClient) -> None:
    form = user.get("/es-ES/support/create-case/").get_data(as_text=True)
    data = {"csrf_token": hidden(form, "csrf_token"), "case_token": hidden(form, "case_token"),
            "title": "La VPN se corta", "description": "Desde el lunes, cada cinco minutos.",
            "intent": "articles"}  # fmt: skip
    page = user.post("/es-ES/support/create-case/", data=data)
    body = text(page)
    assert page.status_code == 200 and "Artículos que pueden ayudarle" in body
    assert "La VPN se desconecta cada pocos minutos" in body
    assert 'value="La VPN se corta"' in body and "Desde el lunes, cada cinco minutos." in body
    back = text(user.get("/es-ES/support/create-case/"))  # back from the article: the form as typed
    assert 'value="La VPN se corta"' in back and "Desde el lunes, cada cinco minutos." in back


def test_results_are_paged_like_the_case_list(user: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from d365portal.web import knowledge

    monkeypatch.setattr(knowledge, "PAGE_SIZE", 2)
    first = user.get(SEARCH, query_string={"q": "vpn"}).get_data(as_text=True)
    # At most a page; translations of one article found together show once (in the page's language).
    assert 1 <= first.count('class="kb-result"') <= 2 and 'rel="next"' in first and 'rel="prev"' not in first
    second = user.get(SEARCH, query_string={"q": "vpn", "page": "2"}).get_data(as_text=True)
    assert 'rel="prev"' in second and "Página 2" in second
    titles_first = set(re.findall(r'<h3><a href="[^"]+">([^<]+)</a>', first))
    titles_second = set(re.findall(r'<h3><a href="[^"]+">([^<]+)</a>', second))
    assert titles_second and not titles_first & titles_second


def test_searches_and_suggestions_count_against_the_contacts_limit(tmp_path: Any, emulator: Any) -> None:
    from d365portal import create_app
    from d365portal.crm import option_labels
    from tests.conftest import make_settings

    app = create_app(make_settings(tmp_path, emulator.url, contact_burst=2, contact_rate_per_second=0.1))
    app.testing = True
    option_labels(app).refresh_now()  # no background label read in the counts below
    client = sign_in(app.test_client())
    assert client.get(SEARCH, query_string={"q": "vpn"}).status_code == 200
    assert client.get("/es-ES/knowledgebase/suggest", query_string={"q": "vpn corta"}).status_code == 200
    emulator.stats.reset()
    refused = client.get("/es-ES/knowledgebase/suggest", query_string={"q": "vpn se corta"})
    assert refused.status_code == 429 and emulator.stats.snapshot()["total"] == 0
    assert client.get(SEARCH, query_string={"q": "vpn"}).status_code == 429
