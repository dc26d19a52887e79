"""A new case typed across the end of a session: nothing the user typed is lost.

A new-case post whose CSRF token no longer matches means the session ended (idle or absolute
timeout, signed out elsewhere) or was replaced. Signed in, the form comes back as typed (same case
GUID, so sending it again never makes two cases). Signed out, the draft waits in the session; the
sign-in carries it across the new session id (`carry()` / `put_back()`) and the form gives it back
(`take()`) filled in. A forged cross-site post writes nothing: the caller answers the plain error.
"""

from __future__ import annotations

from typing import Any

from flask import render_template, request, session, url_for
from flask.sessions import SessionMixin

from d365portal.i18n import gettext as _
from d365portal.web.account_forms import LoginForm
from d365portal.web.auth_context import current_principal
from d365portal.web.forms_support import NewCaseForm
from d365portal.web.security import same_origin

DRAFT_KEY = "case_draft"
DRAFT_FIELDS = ("title", "description", "associate_id", "associate_name")
# The posts whose expired form becomes a kept draft (the new-case form and its lookup page).
DRAFT_ENDPOINTS = frozenset({"support.new_case", "support.associates"})
_MAX_FIELD = 4000


def handles(endpoint: str | None) -> bool:
    """Whether a post to `endpoint` keeps its text as a draft when its form expired."""
    return request.method == "POST" and endpoint in DRAFT_ENDPOINTS


def after_expired_form() -> tuple[str, int] | None:
    """The answer to a new-case post whose form outlived the session; None for a forged post."""
    if not same_origin():
        # A forged cross-site post: no session written (it must neither sign the visitor out by
        # replacing the cookie nor plant a draft).
        return None
    if current_principal() is not None:
        form = NewCaseForm().localize()
        return render_template("support/new_case.html", form=form, alert=_("support.form_expired")), 400
    session[DRAFT_KEY] = {name: request.form.get(name, "")[:_MAX_FIELD] for name in DRAFT_FIELDS}
    login = LoginForm(formdata=None)
    login.next.data = url_for("support.new_case")
    return render_template("auth/login.html", form=login, failed=False, draft_kept=True), 400


def carry(store: SessionMixin) -> dict[str, Any] | None:
    """The draft waiting in a session about to be replaced (at sign-in)."""
    draft = store.get(DRAFT_KEY)
    return draft if isinstance(draft, dict) else None


def put_back(store: SessionMixin, draft: dict[str, Any] | None) -> None:
    """Keep `draft` in the new session."""
    if draft is not None:
        store[DRAFT_KEY] = draft


def take(form: NewCaseForm) -> bool:
    """Fill `form` with the waiting draft, removing it from the session; whether there was one."""
    draft = session.pop(DRAFT_KEY, None)
    if not isinstance(draft, dict):
        return False
    for name in DRAFT_FIELDS:
        getattr(form, name).data = str(draft.get(name) or "")
    return True
