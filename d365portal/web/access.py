"""The signed-in user's rights at each page view (DESIGN.md decision 20).

The level (Contacto, Empresa, Administrador de la empresa) is read with the sign-in and kept in the
session; `crm/` applies it to every list and every id through the `Scope`. A role removed in Dynamics
must not leave stale rights in a session, and Dataverse offers no way to fold "the user's roles now"
into a query of cases (a filter cannot reach the user's contact from a case of an associated end
customer: two-level lookups are refused), so views that show or change company data are wrapped in
`rights_checked`: the contact's roles, sign-in flag and account are re-read once per page view
(`rights_recheck_seconds` = 0) or at most once in that many seconds —

- on a GET, at the same time as the page's own request (no added wait); when the level changed, the
  session takes the new one and the view runs again with it, so the page answers with the rights the
  user has now;
- on a POST, before the view (a write must never run with rights the user lost);
- a contact whose sign-in was disabled, who was deactivated or moved to another account, has the
  session ended and is sent to the sign-in page.

Changes made by a company admin in the portal also rewrite or end the user's sessions at once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextvars import copy_context
from dataclasses import replace
from functools import wraps
from typing import Any, TypeVar, cast

from flask import current_app, g, redirect, request, session, url_for
from werkzeug.wrappers import Response

from d365portal.crm import crm
from d365portal.crm.models import Scope
from d365portal.crm.roles import Rights
from d365portal.dataverse.errors import DataverseError
from d365portal.identity.sessions import ServerSession
from d365portal.web.auth_context import SESSION_KEY, Principal, current_principal, signed_in
from d365portal.web.security import client_ip

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])
_executor = ThreadPoolExecutor(max_workers=8, thread_name_prefix="rights")


def user_scope(*, mine: bool = False) -> Scope:
    """The signed-in user's scope for this request (their level, the tenant's hour-bank rule)."""
    settings = current_app.config["SETTINGS"]
    return signed_in().scope(mine=mine, contact_hour_banks=settings.contact_level_hour_banks)


def _due(principal: Principal) -> bool:
    every = current_app.config["SETTINGS"].rights_recheck_seconds
    return every == 0 or time.time() - principal.rights_checked_at >= every


def _read(principal: Principal) -> Rights | None | DataverseError:
    try:
        return crm().roles.rights_of(principal.contact_id)
    except DataverseError as exc:  # the page's own request says what is wrong with Dataverse
        return exc


def _end(principal: Principal, why: str) -> Response:
    log.warning("session ended: contact=%s reason=%s ip=%s", principal.contact_id, why, client_ip())
    assert isinstance(session, ServerSession)  # noqa: S101 - identity.init_app installs it
    session.end()
    g.principal = None
    return redirect(url_for("auth.login", ended=1))


def _apply(principal: Principal, rights: Rights | None | DataverseError) -> Response | bool:
    """Bring the session in line with Dataverse: a redirect when it ended, True when the level
    changed, False when nothing did (or Dataverse could not say)."""
    if isinstance(rights, DataverseError):
        log.warning("rights of contact %s not re-read: %s", principal.contact_id, rights)
        return False
    if rights is None or not rights.active:
        return _end(principal, "contact missing or inactive")
    if not rights.logon_enabled:
        return _end(principal, "sign-in disabled")
    if rights.account_id != principal.account_id:
        return _end(principal, "contact moved to another account")
    changed = int(rights.level) != principal.level
    if changed:
        log.info("level of contact %s is now %s (was %s)",
                 principal.contact_id, rights.level.key, principal.rights.key)  # fmt: skip
    if changed or current_app.config["SETTINGS"].rights_recheck_seconds:
        # The session is written only when there is something to remember: a new level, or when
        # the check is due again only after `rights_recheck_seconds` (every view writes nothing).
        updated = replace(principal, level=int(rights.level), rights_checked_at=time.time())
        session[SESSION_KEY] = updated.to_session()
        g.principal = updated
    return changed


def rights_checked(view: F) -> F:
    """Re-read the user's rights with this page view (see the module's text); behind `login_required`."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        principal = current_principal()
        if principal is None or not _due(principal):
            return view(*args, **kwargs)
        if request.method not in ("GET", "HEAD"):
            outcome = _apply(principal, _read(principal))
            return outcome if isinstance(outcome, Response) else view(*args, **kwargs)
        future: Future[Rights | None | DataverseError]
        future = _executor.submit(copy_context().run, _read, principal)
        try:
            answer, failure = view(*args, **kwargs), None
        except Exception as exc:  # noqa: BLE001 - re-raised below unless the rights changed
            answer, failure = None, exc
        outcome = _apply(principal, future.result())
        if isinstance(outcome, Response):
            return outcome
        if outcome:  # the level changed while the page was read: answer with the rights held now
            return view(*args, **kwargs)
        if failure is not None:
            raise failure
        return answer

    return cast(F, wrapped)

