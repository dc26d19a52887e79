"""The second step of a local sign-in: "Verificación en dos pasos" (issue 17, DESIGN.md decision 22).

After the right password the session holds a *pending* sign-in, not a principal: nothing is signed in
until a code is right. The code is the authenticator app's, an emailed one, or a recovery code; a wrong
code counts towards the lockout like a wrong password, codes are rate-limited per address, and a
pending sign-in lasts 10 minutes. "Recordar este dispositivo" sets a signed cookie that skips the
step for `two_factor_remember_days` until the user (or a reset) forgets the devices.
"""

from __future__ import annotations

import logging
import secrets
import time
from typing import Any

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import BooleanField, HiddenField, StringField

from d365portal.crm import crm
from d365portal.crm.models import Contact, Credentials
from d365portal.dataverse.errors import Conflict
from d365portal.i18n import gettext
from d365portal.identity import identity
from d365portal.identity.accounts import SignInResult
from d365portal.identity.twofactor import (
    SecondFactor,
    UnreadableSecondFactor,
    looks_like_recovery,
    use_recovery,
    verify_totp,
)
from d365portal.mail import MailError, mailer
from d365portal.mail.messages import sign_in_code_message
from d365portal.web.account_forms import LazyText
from d365portal.web.budget import Priority, spends_dataverse
from d365portal.web.errors import TRANSIENT, unavailable_form
from d365portal.web.security import client_ip, safe_next
from d365portal.web.signin import start_session

bp = Blueprint("two_factor", __name__, url_prefix="/<lang>/Account/Login")
log = logging.getLogger(__name__)

PENDING_KEY = "pending_signin"
PENDING_SECONDS = 600


class CodeForm(FlaskForm):
    """Código de verificación (the app's, the email's or a recovery code) and "Recordar"."""

    code = StringField(LazyText("twofactor.code"))  # type: ignore[arg-type]
    remember = BooleanField()
    intent = HiddenField(default="verify")


def _settings() -> Any:
    return current_app.config["SETTINGS"]


def _factor(sealed: str | None) -> SecondFactor:
    return identity().sealer.open(sealed)


def asked(credentials: Credentials) -> bool:
    """Whether this local sign-in needs a second step (an app set up, Power Pages' flag, the setting),
    and this browser is not a remembered device of the contact."""
    contact = credentials.contact
    try:
        factor = _factor(credentials.second_factor)
    except UnreadableSecondFactor:
        log.error("second factor of contact %s does not open with two_factor_key", contact.id)
        return True  # fail closed: the step is asked (an email code still does; an admin can reset it)
    if not (factor.app or contact.two_factor_enabled or _settings().two_factor_required):
        return False
    cookie = request.cookies.get(identity().devices.COOKIE)
    return not identity().devices.valid(cookie, contact.id, factor.devices, _remember_days())


def _method(contact: Contact, sealed: str | None) -> str:
    try:
        return "app" if _factor(sealed).app else "email"
    except UnreadableSecondFactor:
        return "broken"


def challenge(contact: Contact, username: str, result: SignInResult, next_url: str | None) -> Response:
    """Keep the pending sign-in in the session and go to the code page (an email code is sent at once
    when email is the user's only way)."""
    method = _method(contact, result.second_factor)
    pending = {
        "id": secrets.token_urlsafe(16), "contact_id": str(contact.id), "username": username,
        "guess": result.guess, "method": method, "expires": time.time() + PENDING_SECONDS,
        "next": next_url or "", "mail_sent": False,
    }  # fmt: skip
    session[PENDING_KEY] = pending
    log.info("sign-in asks a second factor: contact=%s method=%s ip=%s", contact.id, method, client_ip())
    if method in ("email", "broken"):
        _send_code(contact, pending)
    return redirect(url_for("two_factor.verify"))


def _pending() -> dict[str, Any] | None:
    data = session.get(PENDING_KEY)
    if not isinstance(data, dict) or float(data.get("expires") or 0) < time.time():
        return None
    return data


def _send_code(contact: Contact, pending: dict[str, Any]) -> bool:
    """Email a code for this pending sign-in (at most `two_factor_mail_per_user` per 10 minutes)."""
    if not contact.email:
        return False
    if not identity().limiter.hit("twofactor_mail", str(contact.id)):
        log.warning("email code limit reached: contact=%s ip=%s", contact.id, client_ip())
        return False
    code = identity().email_codes.issue(str(pending["id"]))
    try:
        mailer().send(sign_in_code_message(contact, code, minutes=identity().email_codes.lifetime // 60))
    except MailError:
        log.exception("could not send the sign-in code of contact %s", contact.id)
        return False
    pending["mail_sent"] = True
    session[PENDING_KEY] = pending
    log.info("sign-in code emailed: contact=%s ip=%s", contact.id, client_ip())
    return True


def _on_post() -> Priority | None:
    return "anonymous" if request.method == "POST" else None


def _remember_days() -> int:
    """Days a device is remembered; 0 without the second factor's column (no epoch to revoke with)."""
    settings = _settings()
    return int(settings.two_factor_remember_days) if settings.two_factor_app else 0


def _page(form: CodeForm, pending: dict[str, Any], **context: Any) -> str:
    return render_template("auth/two_factor.html", form=form, method=pending["method"],
                           mail_sent=pending.get("mail_sent"), remember_days=_remember_days(),
                           **context)  # fmt: skip


def _check(credentials: Credentials, pending: dict[str, Any], code: str) -> tuple[bool, str | None]:
    """(right, what it was) for the typed code; a recovery code is crossed off on the contact (with
    If-Match: two tabs cannot both use it)."""
    contact = credentials.contact
    try:
        factor = _factor(credentials.second_factor)
    except UnreadableSecondFactor:  # the key changed: only an email code can still do
        factor = SecondFactor()
    if looks_like_recovery(code):
        left = use_recovery(factor, code)
        if left is None:
            return False, None
        try:
            crm().contacts.update_identity(
                contact.id, {"second_factor": identity().sealer.seal(left)}, etag=contact.etag
            )
        except Conflict:
            return False, None
        log.info("recovery code used: contact=%s left=%d", contact.id, len(left.recovery))
        return True, "recovery"
    secret = factor.totp_secret
    if secret and verify_totp(secret, code, contact.id, identity().store):
        return True, "app"
    if identity().email_codes.check(str(pending["id"]), code):
        return True, "email"
    return False, None


@bp.route("/TwoFactor", methods=["GET", "POST"])
@spends_dataverse(_on_post)
def verify() -> Response | str | tuple[str, int]:
    """Verificación en dos pasos: the code, then the session starts as after a password alone."""
    pending = _pending()
    if pending is None:
        session.pop(PENDING_KEY, None)
        return redirect(url_for("auth.login", expired_code=1))
    form = CodeForm()
    if request.method == "GET" or not form.validate_on_submit():
        return _page(form, pending)
    if not identity().limiter.hit("twofactor", client_ip()):
        log.warning("rate limit hit on the second factor from %s", client_ip())
        return _page(form, pending, too_many=True), 429
    try:
        credentials = crm().contacts.credentials_by_id(pending["contact_id"])
    except TRANSIENT as exc:
        return unavailable_form("auth/two_factor.html", exc, form=form, method=pending["method"],
                                remember_days=_remember_days())  # fmt: skip
    if credentials is None or identity().accounts.refusal(credentials.contact) is not None:
        session.pop(PENDING_KEY, None)
        return redirect(url_for("auth.login", failed=1))
    contact = credentials.contact
    if form.intent.data == "email":
        sent = _send_code(contact, pending)
        form.code.data = ""
        return _page(form, pending, just_sent=sent, not_sent=not sent)
    right, kind = _check(credentials, pending, form.code.data or "")
    if not right:
        locked = identity().accounts.code_failed(credentials)
        log.warning("second factor failed: contact=%s locked=%s ip=%s", contact.id, locked, client_ip())
        if locked:
            session.pop(PENDING_KEY, None)
            return redirect(url_for("auth.login", failed=1))
        form.code.errors = [gettext("twofactor.wrong_code")]
        form.code.data = ""
        return _page(form, pending), 400
    identity().accounts.complete_sign_in(contact, int(pending.get("guess") or 0))
    session.pop(PENDING_KEY, None)
    start_session(contact, str(pending["username"]), via=f"password+{kind}")
    response = redirect(safe_next(str(pending.get("next") or "")) or url_for("main.home"))
    days = _remember_days()
    if form.remember.data and days > 0 and pending["method"] != "broken":
        epoch = _factor(credentials.second_factor).devices
        response.set_cookie(
            identity().devices.COOKIE, identity().devices.issue(contact.id, epoch),
            max_age=days * 86400, httponly=True, samesite="Lax", secure=not _settings().demo,
            path="/",
        )  # fmt: skip
    return response
