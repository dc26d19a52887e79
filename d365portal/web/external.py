"""Sign-in with Microsoft Entra ID / Entra External ID (issue 17, DESIGN.md decision 22).

`/<lang>/Account/Login/External/<provider>` starts MSAL's auth-code flow (the flow is kept in the
server-side session) and sends the browser to the provider; the provider sends it back to
`/signin-<provider>` (the redirect URI registered in Entra), where the code is redeemed, the ID token
validated, and the identity found in Power Pages' `adx_externalidentity`. An unknown identity is
linked through an invitation's link, or by a verified address where the provider's settings allow it;
anyone else gets "Su cuenta de Microsoft no tiene acceso a este portal". The same rules as a password
sign-in hold: rate limits per address, a disabled or locked-out contact is refused, a new session id.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from d365portal.crm import crm
from d365portal.crm.models import Contact
from d365portal.identity import identity
from d365portal.identity.external import ExternalSignInError, ExternalUser, Provider
from d365portal.web.auth_context import current_principal
from d365portal.web.budget import spends_dataverse
from d365portal.web.errors import TRANSIENT
from d365portal.web.security import client_ip, csrf, safe_next
from d365portal.web.signin import start_session

bp = Blueprint("external", __name__)
log = logging.getLogger(__name__)

FLOW_KEY = "external_flow"
FLOW_SECONDS = 900  # a sign-in at the provider must come back within 15 minutes


def _provider(name: str) -> Provider:
    provider = identity().providers.get(name)
    if provider is None:
        abort(404)
    return provider


def redirect_uri(provider: Provider) -> str:
    """`<public_base_url>/signin-<name>`: what is registered as the app's redirect URI in Entra."""
    return f"{str(current_app.config['SETTINGS'].public_base_url).rstrip('/')}/signin-{provider.name}"


def _failed(reason: str, provider: Provider | None, status: int = 400) -> tuple[str, int]:
    log.warning("external sign-in failed: provider=%s reason=%s ip=%s",
                provider.name if provider else "-", reason, client_ip())  # fmt: skip
    return render_template("auth/external_failed.html", reason=reason, provider=provider), status


@bp.get("/<lang>/Account/Login/External/<name>")
def start(name: str) -> Response | tuple[str, int]:
    """"Iniciar sesión con Microsoft": a new flow (state, nonce, PKCE) and off to the provider. An
    invitation's `userId` and `code` ride along, checked when the user comes back."""
    provider = _provider(name)
    if current_principal() is not None and not request.args.get("code"):
        return redirect(url_for("main.home"))
    if not identity().limiter.hit("signin", client_ip()):
        log.warning("rate limit hit on external sign-in from %s", client_ip())
        return render_template("auth/external_failed.html", reason="too_many", provider=provider), 429
    invite = None
    user_id, code = request.args.get("userId", ""), request.args.get("code", "")
    if user_id and code and len(code) <= 200 and identity().tokens.plausible(code):
        invite = {"userId": user_id[:40], "code": code}
    try:
        flow = provider.begin(redirect_uri(provider))
    except ExternalSignInError as exc:
        log.warning("provider %s unavailable: %s", provider.name, exc.detail)
        return _failed("unavailable", provider, 503)
    session[FLOW_KEY] = {
        "provider": provider.name, "flow": flow, "lang": g.get("lang"), "invite": invite,
        "next": safe_next(request.args.get("next")) or "", "expires": time.time() + FLOW_SECONDS,
    }  # fmt: skip
    return redirect(str(flow["auth_uri"]))


def _take_flow(provider: Provider) -> dict[str, Any] | None:
    """This browser's flow for the provider, once (a replayed answer finds none)."""
    kept = session.pop(FLOW_KEY, None)
    if not isinstance(kept, dict) or kept.get("provider") != provider.name:
        return None
    if float(kept.get("expires") or 0) < time.time():
        return None
    return kept


def _by_invitation(user: ExternalUser, invite: dict[str, str] | None) -> Contact | None:
    """The invited contact, its identity linked and the invitation used up; None when the link is not
    valid (expired, used, the stamp changed)."""
    if not invite:
        return None
    accounts = identity().accounts
    checked = accounts.check_reset(invite.get("userId", ""), invite.get("code", ""))
    if checked is None:
        return None
    contact, token = checked
    if not identity().tokens.consume(token):
        return None
    try:
        crm().external.link(contact.id, user.issuer, user.key)
    except Exception:
        identity().tokens.release(token)  # nothing was linked: the invitation may be used again
        raise
    log.info("external identity linked by invitation: contact=%s provider=%s", contact.id, user.provider)
    return contact.model_copy(update={"email_confirmed": True})


def _by_verified_email(provider: Provider, user: ExternalUser) -> Contact | None:
    """The one portal contact with the provider-verified address, linked now (only where allowed)."""
    if not (provider.config.match_verified_email and user.email_verified and user.email):
        return None
    # As Power Pages: an address two contacts share identifies no one.
    candidates = crm().contacts.find_by_email(user.email)
    if len(candidates) != 1 or not candidates[0].logon_enabled or candidates[0].parent_account is None:
        return None
    crm().external.link(candidates[0].id, user.issuer, user.key)
    log.info("external identity linked by verified email: contact=%s provider=%s",
             candidates[0].id, user.provider)  # fmt: skip
    return candidates[0]


RELAY_FIELD = "d365_relay"
ANSWER_FIELDS = ("code", "state", "error", "error_description", "error_uri", "client_info", "session_state")


@bp.route("/signin-<name>", methods=["GET", "POST"])
@csrf.exempt  # the provider's answer carries MSAL's state, checked against this browser's flow
@spends_dataverse("anonymous")
def callback(name: str) -> Response | str | tuple[str, int]:
    """The provider's answer (form_post): code → tokens → validated ID token → the linked contact →
    signed in. The provider's page posts here from its own site, so the browser leaves out the
    session cookie (SameSite=Lax); the answer is then relayed once by a page of the portal's own,
    whose same-site POST carries it."""
    provider = _provider(name)
    answer = {k: v for k, v in (request.form if request.method == "POST" else request.args).items()
              if k in ANSWER_FIELDS}  # fmt: skip
    if request.method == "POST" and FLOW_KEY not in session and not request.form.get(RELAY_FIELD):
        return render_template("auth/external_relay.html", answer=answer, relay_field=RELAY_FIELD,
                               action=request.path)  # fmt: skip
    if not identity().limiter.hit("signin", client_ip()):
        return _failed("too_many", provider, 429)
    kept = _take_flow(provider)
    g.lang = (kept or {}).get("lang") or g.get("lang") or _default_language()
    if kept is None:
        return _failed("state", provider)
    try:
        user = provider.finish(kept["flow"], answer)
    except ExternalSignInError as exc:
        log.warning("external sign-in refused: provider=%s reason=%s detail=%s",
                    provider.name, exc.reason, exc.detail)  # fmt: skip
        status = 503 if exc.reason == "unavailable" else 400
        return _failed("cancelled" if exc.reason == "cancelled" else exc.reason, provider, status)
    try:
        contact = crm().external.find_contact(user.issuer, user.key)
        contact = contact or _by_invitation(user, kept.get("invite")) or _by_verified_email(provider, user)
    except TRANSIENT:
        return _failed("unavailable", provider, 503)
    if contact is None:
        log.warning("external identity without access: provider=%s tenant=%s ip=%s",
                    provider.name, user.tenant or "-", client_ip())  # fmt: skip
        return render_template("auth/no_access.html", provider=provider, user=user), 403
    refusal = identity().accounts.refusal(contact)
    if refusal is not None:
        log.warning("external sign-in refused: contact=%s reason=%s ip=%s", contact.id, refusal, client_ip())
        return render_template("auth/no_access.html", provider=provider, user=user, refusal=refusal), 403
    try:
        identity().accounts.complete_sign_in(contact)
    except TRANSIENT:
        return _failed("unavailable", provider, 503)
    start_session(contact, contact.username or user.email or contact.full_name, via="external",
                  provider=provider.name)  # fmt: skip
    return redirect(safe_next(str(kept.get("next") or "")) or url_for("main.home"))


def _default_language() -> str:
    return str(current_app.config["SETTINGS"].default_language)
