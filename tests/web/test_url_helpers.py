"""The URL shortcuts of list pages build exactly what `url_for` builds (they only skip repeated work)."""

from __future__ import annotations

from uuid import UUID, uuid4

import pytest
from flask import Flask, g, url_for
from werkzeug.routing import BuildError

from d365portal.web import row_url_prefix, with_query
from d365portal.web.listing import ListState


@pytest.mark.parametrize("lang", ["es-ES", "en-US"])
def test_row_url_prefix_plus_id_is_url_for(app: Flask, lang: str) -> None:
    with app.test_request_context(f"/{lang}/support/"):
        g.lang = lang
        for case_id in (uuid4(), UUID(int=0), UUID("ffffffff-ffff-ffff-ffff-ffffffffffff")):
            assert row_url_prefix("support.case", "case_id") + str(case_id) == url_for(
                "support.case", case_id=case_id
            )
            assert row_url_prefix("hours.detail", "entitlement_id") + str(case_id) == url_for(
                "hours.detail", entitlement_id=case_id
            )


def test_row_url_prefix_refuses_an_argument_that_is_not_last(app: Flask) -> None:
    with app.test_request_context("/es-ES/support/"), pytest.raises(ValueError, match="last part"):
        row_url_prefix("support.cases", "case_id")  # becomes ?case_id=… after the path


@pytest.mark.parametrize(
    "values",
    [
        {},
        {"q": "impresora"},
        {"q": "a&b é/?#x\"<'=+ %;:@!$()*,", "which": "all", "size": 25},
        {"sort": "title", "dir": "asc", "skip": None},
    ],
)
def test_with_query_is_url_for_with_arguments(app: Flask, values: dict[str, object]) -> None:
    with app.test_request_context("/es-ES/support/"):
        g.lang = "es-ES"
        assert with_query(url_for("support.cases"), values) == url_for("support.cases", **values)


def test_case_list_links_with_a_signed_page_cursor_match_url_for(app: Flask) -> None:
    state = ListState(search="vpn é&", which="all", size=25, cursor="<cookie pagenumber='2'/>", number=2)
    with app.test_request_context("/en-US/support/"):
        g.lang = "en-US"
        base = url_for("support.cases")
        for query in (state.next_query("c3"), state.previous_query(), state.sort_query("title")):
            assert query is not None
            assert with_query(base, query) == url_for("support.cases", **query)


def test_language_is_added_only_where_the_route_has_one(app: Flask) -> None:
    with app.test_request_context("/en-US/support/"):
        g.lang = "en-US"
        assert url_for("support.cases") == "/en-US/support/"
        assert url_for("support.cases") == "/en-US/support/"  # the remembered answer
        assert url_for("static", filename="css/portal.css") == "/static/css/portal.css"
        assert url_for("health.healthz") == "/healthz"
        with pytest.raises(BuildError):
            url_for("support.no_such_page")
