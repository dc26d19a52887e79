"""Abrir un caso nuevo, and the "Asociado" lookup (a plain page without JavaScript, a dialog with it).

Submitting costs at most two Dataverse requests: the default entitlement (which also proves the
associate is the user's) and the idempotent create. Every failure re-shows the form with what the
user typed and a clear message; the case GUID in the form stays the same, so "Enviar" again never
creates a second case.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import flash, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from d365portal.crm import crm
from d365portal.crm.models import Case, NewCase
from d365portal.dataverse.errors import Conflict, DataverseError, InvalidQuery, NotFound
from d365portal.i18n import gettext as _
from d365portal.web import drafts
from d365portal.web.auth_context import login_required, signed_in
from d365portal.web.budget import Priority, spends_dataverse
from d365portal.web.forms_support import (
    LookupForm,
    NewCaseForm,
    issue_case_token,
    parse_uuid,
    read_case_token,
    read_lookup_cursor,
    sign_lookup_cursor,
)
from d365portal.web.listing import clean_search
from d365portal.web.support import bp

log = logging.getLogger(__name__)
LOOKUP_PAGE_SIZE = 25
View = str | tuple[str, int] | Response


def _form_page(form: NewCaseForm, alert: str | None = None, status: int = 200) -> tuple[str, int]:
    """The new-case page with `form` as typed and an optional message on top."""
    return render_template("support/new_case.html", form=form, alert=alert), status


def _dataverse_failure(form: NewCaseForm, exc: DataverseError) -> tuple[str, int]:
    """Re-show the form after Dataverse said no (refusal) or could not answer (busy, down)."""
    if isinstance(exc, InvalidQuery):
        log.warning("Dataverse refused a new case: %s", exc)
        return _form_page(form, _("support.refused"), 400)
    log.warning("Dataverse unavailable while opening a case: %s (request id %s)", exc, exc.request_id)
    return _form_page(form, _("errors.unavailable_form"), 503)


def _new_case_priority() -> Priority | None:
    """Sending is the work a customer is in the middle of (shed last); picking an associate reads one."""
    intent = request.form.get("intent", "send") if request.method == "POST" else None
    return {"send": "submit", "new": "submit", "select": "page", "articles": "search"}.get(  # type: ignore[return-value]
        intent or ""
    )


def _busy_form() -> str:
    """The new-case form as typed, saying Dataverse is too busy for now."""
    return render_template("support/new_case.html", form=NewCaseForm().localize(), alert=_("errors.busy"))


@bp.route("/create-case/", methods=["GET", "POST"])
@login_required
@spends_dataverse(_new_case_priority, _busy_form)
def new_case() -> View:
    """Show the form (GET); on POST: send it, or come back from the lookup page (select/clear/back)."""
    user = signed_in()
    form = NewCaseForm().localize()
    if request.method == "GET":
        form.case_token.data = issue_case_token(user)
        if drafts.take(form):  # typed before the session ended: give it back
            return _form_page(form, _("support.draft_restored"))
        return _form_page(form)
    intent = request.form.get("intent", "send")
    if read_case_token(form.case_token.data, user) is None:
        # No GUID of ours: the lookup page was opened directly, or the token was altered.
        form.case_token.data = issue_case_token(user)
        if intent not in ("clear", "back", "select"):
            return _form_page(form, _("support.form_expired"), 400)
    if intent == "clear":
        form.clear_associate()
        return _form_page(form)
    if intent == "back":
        return _form_page(form)
    if intent == "select":
        return _select_associate(form)
    if intent == "articles":
        return _suggest(form)
    return _submit(form)  # "send", or "new" ("Enviar como caso nuevo": the form carries a new GUID)


def _suggest(form: NewCaseForm) -> View:
    """"Buscar artículos" without JavaScript: the form as typed with the articles for its title; the
    draft is kept in the session, so coming back from an article gives the form back as typed."""
    from d365portal.web.knowledge import suggestions_for

    title = (form.title.data or "").strip()
    fields = drafts.DRAFT_FIELDS
    session[drafts.DRAFT_KEY] = {name: str(getattr(form, name).data or "")[:4000] for name in fields}
    try:
        hits, token = suggestions_for(title)
    except DataverseError as exc:
        return _dataverse_failure(form, exc)
    return render_template("support/new_case.html", form=form, suggestions=hits, suggestion_token=token), 200


def _select_associate(form: NewCaseForm) -> View:
    """Take the row picked on the lookup page (one request: it must be one of the account's)."""
    chosen = parse_uuid(request.form.get("associate"))
    if chosen is None:
        return _lookup_page(_lookup_form_from(form), _("support.lookup_pick_one"), 400)
    try:
        associate = crm().accounts.get_associate(signed_in().account_id, chosen)
    except NotFound:
        form.clear_associate()
        return _form_page(form, _("support.associate_refused"), 404)
    except DataverseError as exc:
        return _dataverse_failure(form, exc)
    form.associate_id.data = str(associate.id)
    form.associate_name.data = associate.name
    return _form_page(form)


def _submit(form: NewCaseForm) -> View:
    """Validate, find the entitlement that applies, create the case once, show its number."""
    user = signed_in()
    if not form.validate():
        return _form_page(form, status=400)
    case_id = read_case_token(form.case_token.data, user)
    assert case_id is not None  # noqa: S101 - checked in new_case()
    associate_id = form.associate
    if form.associate_id.data and associate_id is None:  # not even a GUID: same as out of scope
        form.clear_associate()
        return _form_page(form, _("support.associate_refused"), 404)
    try:
        entitlement_id = crm().entitlements.default_for_new_case(user.account_id, associate_id)
    except NotFound:
        form.clear_associate()
        return _form_page(form, _("support.associate_refused"), 404)
    except DataverseError as exc:
        return _dataverse_failure(form, exc)
    new = NewCase(
        id=case_id,
        title=(form.title.data or "").strip(),
        description=(form.description.data or "").strip() or None,
        customer_id=user.account_id,
        contact_id=user.contact_id,
        associate_id=associate_id,
        entitlement_id=entitlement_id,
    )
    try:
        # A retry of a create that already went through comes back as that same case.
        created = crm().cases.create(new)
    except Conflict:  # the GUID is taken by a case that is not this user's: never show it
        log.warning("New case id %s already used by another case", case_id)
        return _form_page(form, _("support.refused"), 409)
    except DataverseError as exc:
        return _dataverse_failure(form, exc)
    if not _same_content(created, new):
        # The form's GUID is an earlier case of this user (browser Back, edited, "Enviar" again):
        # never pass the new text off as sent. Keep it, and offer to send it as a new case (with a
        # new GUID already in the form, so a double click on that button still makes one case).
        form.case_token.data = issue_case_token(user)
        return render_template("support/new_case.html", form=form, alert=None, already_sent=created), 409
    log.info("Case %s created by contact %s", created.ticket_number, user.contact_id)
    flash(_("support.created", number=created.ticket_number or created.id), "success")
    return redirect(url_for("support.case", case_id=created.id))


def _same_content(case: Case, new: NewCase) -> bool:
    """Whether the stored case says what the form says (title, description, associate)."""

    def norm(text: str | None) -> str:
        return (text or "").replace("\r\n", "\n").strip()

    associate = case.associate.id if case.associate else None
    return (
        norm(case.title) == norm(new.title)
        and norm(case.description) == norm(new.description)
        and associate == new.associate_id
    )


def _lookup_form_from(source: NewCaseForm | None = None) -> LookupForm:
    """The lookup page's form, carrying the draft (from the posted form, or empty on a GET)."""
    form = LookupForm() if request.method == "POST" else LookupForm(formdata=request.args)
    if source is not None:
        form.title.data = source.title.data
        form.description.data = source.description.data
        form.associate_id.data = source.associate_id.data
        form.associate_name.data = source.associate_name.data
        form.case_token.data = source.case_token.data
    return form


def _search_associates(search: str, cursor_token: str | None) -> dict[str, Any]:
    """One request: a page of the account's associates matching `search`."""
    user = signed_in()
    cursor = read_lookup_cursor(user, search, cursor_token)
    page = crm().accounts.associates_of(
        user.account_id, search=search or None, page_size=LOOKUP_PAGE_SIZE, cursor=cursor
    )
    return {"associates": page, "next_token": sign_lookup_cursor(user, search, page.next_cursor)}


def _lookup_page(form: LookupForm, alert: str | None = None, status: int = 200) -> tuple[str, int]:
    """Buscar registros as a page: search box, results with radios, Seleccionar / Quitar valor."""
    search = clean_search(form.q.data)
    context: dict[str, Any] = {
        "form": form,
        "alert": alert,
        "search": search,
        "selected": form.associate_id.data,
    }
    try:
        context.update(_search_associates(search, form.cursor.data))
    except DataverseError as exc:  # keep the draft: the user can go back to the form
        log.warning("Dataverse unavailable in the associate lookup: %s", exc)
        context.update(associates=None, next_token=None, alert=_("support.lookup_unavailable"))
        status = 503
    return render_template("support/associates.html", **context), status


@bp.route("/create-case/associates", methods=["GET", "POST"])
@login_required
@spends_dataverse("search")
def associates() -> tuple[str, int]:
    """The associate lookup without JavaScript; the new-case draft rides along in hidden fields."""
    return _lookup_page(_lookup_form_from())


@bp.get("/create-case/associates/results")
@login_required
@spends_dataverse("search")
def associate_results() -> tuple[str, int, dict[str, str]]:
    """The lookup's results as an HTML fragment, for the dialog (one request per search)."""
    search = clean_search(request.args.get("q"))
    context = _search_associates(search, request.args.get("cursor"))
    body = render_template(
        "support/_associate_table.html", search=search, selected=request.args.get("selected"), **context
    )
    return body, 200, {"X-Fragment": "associates", "Cache-Control": "no-store"}
