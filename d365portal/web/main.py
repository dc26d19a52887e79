"""The home page of options (manual: "Seleccione la opción") and the bare-root redirect."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from contextvars import copy_context
from typing import Any

from flask import Blueprint, current_app, redirect, render_template, url_for
from werkzeug.wrappers import Response

from d365portal.crm import crm
from d365portal.dataverse.errors import DataverseError
from d365portal.web.access import rights_checked, user_scope
from d365portal.web.auth_context import login_required
from d365portal.web.budget import spends_dataverse

# The home page's two reads run side by side (one thread each, shared by every request of the process).
_READS = ThreadPoolExecutor(max_workers=8, thread_name_prefix="home")
AWAITING_SHOWN = 5

bp = Blueprint("main", __name__)


@bp.get("/")
def root() -> Response:
    """Send the bare address to the default language's home page."""
    lang = current_app.config["SETTINGS"].default_language
    return redirect(url_for("main.home", lang=lang))


@bp.get("/<lang>/")
@login_required
@spends_dataverse("page")
@rights_checked
def home() -> str:
    """The options a signed-in customer can choose from, and what waits for them: the open cases,
    those awaiting their reply, and each active hour bank's hours. Two Dataverse requests, made at
    the same time; if Dataverse cannot answer, the options alone (with a note)."""
    from d365portal.web.hours import portal_today, usage_of

    repositories, scope = crm(), user_scope()
    cases = _READS.submit(copy_context().run, repositories.cases.open_summary, scope)
    banks = _READS.submit(copy_context().run, repositories.entitlements.list_for, scope)
    context: dict[str, Any] = {"unavailable": False}
    try:
        open_count, recent = cases.result()
        active = [bank for bank in banks.result() if bank.state.value == 1]
    except DataverseError:
        context["unavailable"] = True
        return render_template("main/home.html", **context)
    today = portal_today()
    context.update(
        open_count=open_count,
        awaiting=[case for case in recent if case.awaiting_reply][:AWAITING_SHOWN],
        banks=[(bank, usage_of(bank, today)) for bank in active],
    )
    return render_template("main/home.html", **context)
