"""Starting a portal session: after a password (and its second step) or an identity provider's answer.

One place for what every route does on success (DESIGN.md decisions 20 and 22), and the sign-in
buttons of the providers.
"""

from __future__ import annotations

import logging
import time

from flask import session

from d365portal.crm import crm
from d365portal.crm.models import Contact
from d365portal.i18n import current_language
from d365portal.identity import identity
from d365portal.identity.sessions import ServerSession
from d365portal.web import drafts
from d365portal.web.auth_context import SESSION_KEY, Principal
from d365portal.web.security import client_ip

log = logging.getLogger("d365portal.web.auth")


def server_session() -> ServerSession:
    """The server-side session (identity.init_app installs it)."""
    assert isinstance(session, ServerSession)  # noqa: S101 - identity.init_app installs it
    return session


def start_session(contact: Contact, username: str, *, via: str, provider: str | None = None) -> Principal:
    """Sign the contact in: a new session id (a cookie planted before sign-in is worthless), the
    principal with the level from the sign-in's own read (DESIGN.md decision 20), a new case typed
    before the session ended carried over."""
    account = contact.parent_account
    assert account is not None  # noqa: S101 - every route refuses a contact without a company
    principal = Principal(
        contact_id=contact.id,
        account_id=account.id,
        account_name=account.name or "",
        full_name=contact.full_name,
        username=username,
        email=contact.email,
        level=int(crm().roles.names.level_for(contact.web_roles)),
        rights_checked_at=time.time(),
        provider=provider,
    )
    current = server_session()
    draft = drafts.carry(current)
    current.rotate()
    current.clear()
    current[SESSION_KEY] = principal.to_session()
    drafts.put_back(current, draft)
    log.info("sign-in succeeded: username=%r contact=%s via=%s ip=%s",
             principal.username, contact.id, provider or via, client_ip())
    return principal


def providers_for_page() -> list[tuple[str, str]]:
    """The "Iniciar sesión con …" buttons: (provider name, label in the page's language)."""
    lang = current_language()
    return [(p.name, p.label(lang)) for p in identity().providers]
