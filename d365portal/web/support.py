"""Soporte técnico: the user's cases (search, filter, sort, pages).

Each page view is one Dataverse request; labels of priority and status reason are Dataverse's own
formatted values. The new-case form and the associate lookup live in `support_new.py`, the case page
with its conversation in `case_activity.py`; both add their views to this module's blueprint.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request

from d365portal.crm import crm
from d365portal.crm.models import Level
from d365portal.web.access import rights_checked, user_scope
from d365portal.web.auth_context import login_required, signed_in
from d365portal.web.budget import Priority, spends_dataverse
from d365portal.web.listing import FILTERS, PAGE_SIZES, SORTS, WHOSE, ListState, parse_state

bp = Blueprint("support", __name__, url_prefix="/<lang>/support")

# Column headers of the case list, in the manual's order: (sort key, message key).
COLUMNS = (
    ("ticket_number", "support.col_number"),
    ("title", "support.col_title"),
    ("customer", "support.col_customer"),
    ("priority", "support.col_priority"),
    ("status_reason", "support.col_status"),
    ("created_on", "support.col_created"),
)
_HEADINGS = {"open": "support.list_open", "resolved": "support.list_resolved", "all": "support.list_all"}


def _list_priority() -> Priority:
    return "search" if request.args.get("q") else "page"


@bp.get("/")
@login_required
@spends_dataverse(_list_priority)
@rights_checked
def cases() -> str:
    """Mis casos: one page of the user's cases, as the query string asks; users above Contacto
    choose between their own cases and the company's ("Mostrar")."""
    state: ListState = parse_state(request.args)
    company_view = signed_in().rights >= Level.COMPANY
    page = crm().cases.list_for(
        user_scope(mine=state.whose == "mine"),
        search=state.search or None,
        which=state.which,
        sort=state.sort,
        direction=state.direction,
        page_size=state.size,
        cursor=state.cursor,
    )
    context: dict[str, Any] = {
        "state": state,
        "page": page,
        "columns": COLUMNS,
        "heading": _HEADINGS[state.which],
        "filters": FILTERS,
        "page_sizes": PAGE_SIZES,
        "sorts": SORTS,
        "company_view": company_view,
        "whose_choices": WHOSE if company_view else (),
    }
    return render_template("support/cases.html", **context)
