"""Sign-in, sign-out, forgot and reset password (the manual's "Ingresar al Portal" and
"Recuperación de contraseña").

No page tells whether a username or an address exists: a failed sign-in has one message, and the
forgot-password page always answers the same text in about the same time (mail goes out in the
background). Sign-in gives the session a new id; the reset link's token is checked on every view.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Callable
from datetime import timedelta
from email.message import EmailMessage
from urllib.parse import urlsplit

from flask import Blueprint, Flask, current_app, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from d365portal.crm.models import Contact
from d365portal.dataverse.errors import DataverseError
from d365portal.i18n import current_language, gettext
from d365portal.identity import identity, issue_reset_link
from d365portal.identity.accounts import AFTER_THE_ANSWER
from d365portal.mail import mailer
from d365portal.mail.messages import reset_password_message
from d365portal.web import two_factor
from d365portal.web.account_forms import ForgotPasswordForm, LoginForm, ResetPasswordForm
from d365portal.web.auth_context import current_principal
from d365portal.web.budget import Priority, spends_dataverse
from d365portal.web.errors import TRANSIENT, unavailable_form
from d365portal.web.security import CONTENT_SECURITY_POLICY, client_ip, safe_next
from d365portal.web.signin import server_session, start_session

bp = Blueprint("auth", __name__, url_prefix="/<lang>/Account/Login")
log = logging.getLogger(__name__)


def _too_many(template: str, **context: object) -> tuple[str, int]:
    log.warning("rate limit hit on %s from %s", request.endpoint, client_ip())
    return render_template(template, too_many=True, **context), 429


def _reset_mail(app: Flask, lang: str, contact: Contact) -> Callable[[], EmailMessage]:
    """A function that issues the reset link and renders its mail, in a context of its own."""

    def build() -> EmailMessage:
        settings = app.config["SETTINGS"]
        with app.test_request_context(base_url=str(settings.public_base_url)):
            g.lang = lang
            link = issue_reset_link(contact, lifetime=timedelta(minutes=settings.reset_token_minutes))
            return reset_password_message(contact, link)

    return build


def _wait_for_the_floor(started: float) -> None:
    """Answer no sooner than `account_answer_floor_ms` after `started`: the time tells nothing."""
    floor = current_app.config["SETTINGS"].account_answer_floor_ms / 1000
    time.sleep(max(0.0, floor - (time.monotonic() - started)))


def username_hash(text: str) -> str:
    """`user#<12 hex>`: an HMAC of what was typed, keyed with the portal's secret key."""
    key = str(current_app.config["SECRET_KEY"]).encode()
    digest = hmac.new(key, text.casefold().encode(), hashlib.sha256).hexdigest()[:12]
    return f"user#{digest}"


def _anonymous_post() -> Priority | None:
    return "anonymous" if request.method == "POST" else None


def _busy_login() -> str:
    return render_template("auth/login.html", form=LoginForm(), failed=False, busy=True)


def _busy_forgot() -> str:
    return render_template("auth/forgot_password.html", form=ForgotPasswordForm(), sent=False, busy=True)


@bp.route("/Login", methods=["GET", "POST"])
@spends_dataverse(_anonymous_post, _busy_login)
def login() -> Response | str | tuple[str, int]:
    """Iniciar Sesión: Usuario + Contraseña; success lands on the home page (or a safe `next`)."""
    form = LoginForm()
    if request.method == "GET":
        if current_principal() is not None:
            return redirect(safe_next(request.args.get("next")) or url_for("main.home"))
        form.next.data = safe_next(request.args.get("next")) or ""
    if not current_app.config["SETTINGS"].local_signin_enabled and request.method == "POST":
        return render_template("auth/login.html", form=form, failed=False), 403
    failed = False
    started = time.monotonic()
    if form.validate_on_submit():
        ip = client_ip()
        if not identity().limiter.hit("signin", ip):
            return _too_many("auth/login.html", form=form)
        try:
            result = identity().accounts.sign_in(
                form.username.data or "", form.password.data or "", second_factor=two_factor.asked
            )
        except TRANSIENT as exc:
            return unavailable_form("auth/login.html", exc, form=form, failed=False)
        contact = result.contact
        if contact is not None and contact.parent_account is not None:
            username = contact.username or form.username.data or ""
            if result.upgraded_from:
                log.info("password hash of contact %s upgraded from %s to argon2id",
                         contact.id, result.upgraded_from)
            if result.pending:
                return two_factor.challenge(contact, username, result, safe_next(form.next.data))
            start_session(contact, username, via="password")
            return redirect(safe_next(form.next.data) or url_for("main.home"))
        # An unknown username may be a password typed into the wrong box: the log gets a short keyed
        # hash of it (the same text always gives the same hash, so repeated attempts still show).
        attempted = (form.username.data or "").strip()[:100]
        shown = repr(attempted) if result.contact_id else username_hash(attempted)
        log.warning("sign-in failed: username=%s contact=%s reason=%s ip=%s",
                    shown, result.contact_id or "-", result.reason, ip)
        failed = True
        _wait_for_the_floor(started)
    ended = request.method == "GET" and request.args.get("ended") == "1"
    signed_out = request.method == "GET" and request.args.get("signed_out") == "1"
    return render_template("auth/login.html", form=form, failed=failed, ended=ended, signed_out=signed_out)


@bp.post("/LogOff")
def logout() -> Response:
    """Sign out: the session is deleted from the store, so a copied cookie stops working."""
    principal = current_principal()
    server_session().end()
    if principal is None:
        return redirect(url_for("auth.login"))
    log.info("sign-out: username=%r contact=%s ip=%s", principal.username, principal.contact_id, client_ip())
    provider = identity().providers.get(principal.provider) if principal.provider else None
    back = url_for("auth.login", signed_out=1, _external=True)
    away = provider.end_session_url(back) if provider is not None else None
    if away is None:
        return redirect(url_for("auth.login", signed_out=1))
    # Front-channel sign-out at the provider: the form's target moves off the portal, which the
    # page's `form-action 'self'` would stop; this answer allows that one address.
    response = redirect(away)
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(away))
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY.replace(
        "form-action 'self'", f"form-action 'self' {origin}"
    )
    return response


@bp.route("/ForgotPassword", methods=["GET", "POST"])
@spends_dataverse(_anonymous_post, _busy_forgot)
def forgot_password() -> Response | str | tuple[str, int]:
    """¿Ha olvidado la contraseña?: always the same answer, whether or not the address is a user's."""
    form = ForgotPasswordForm()
    started = time.monotonic()
    if not current_app.config["SETTINGS"].local_signin_enabled:  # no passwords to forget
        return render_template("auth/forgot_password.html", form=form, sent=False, local_off=True), (
            200 if request.method == "GET" else 403
        )
    if request.method == "GET" and request.args.get("sent"):
        return render_template("auth/forgot_password.html", form=form, sent=True)
    if form.validate_on_submit():
        if not identity().limiter.hit("forgot", client_ip()):
            return _too_many("auth/forgot_password.html", form=form)
        try:
            users = identity().accounts.find_for_reset(form.email.data or "")
        except TRANSIENT as exc:
            return unavailable_form("auth/forgot_password.html", exc, form=form, sent=False)
        for contact in users:
            # The link and the message are made off the response path: the page answers a known and
            # an unknown address in the same time (one Dataverse read each).
            app = current_app._get_current_object()  # type: ignore[attr-defined]
            answered = started + identity().accounts.answer_seconds + AFTER_THE_ANSWER
            mailer().send_later(_reset_mail(app, current_language(), contact), not_before=answered)
            log.info("password reset link sent: contact=%s ip=%s", contact.id, client_ip())
        if not users:
            log.info("password reset asked for an address with no portal user, ip=%s", client_ip())
        _wait_for_the_floor(started)
        return redirect(url_for("auth.forgot_password", sent=1))
    return render_template("auth/forgot_password.html", form=form, sent=False)


@bp.route("/ResetPassword", methods=["GET", "POST"])
@spends_dataverse(_anonymous_post)
def reset_password() -> Response | str | tuple[str, int]:
    """Restablecer contraseña from the emailed link; afterwards the user signs in (not automatic)."""
    if request.method == "GET" and request.args.get("done"):
        return render_template("auth/reset_password.html", done=True)
    form = ResetPasswordForm()
    accounts = identity().accounts
    code = request.args.get("code", "")
    if not current_app.config["SETTINGS"].local_signin_enabled:
        # No passwords here: an invitation's link is redeemed by signing in with a provider.
        query = {"userId": request.args.get("userId", "")[:40], "code": code[:200]}
        return render_template("auth/reset_password.html", local_off=True, done=False, invalid=False,
                               invite=query), (200 if request.method == "GET" else 403)  # fmt: skip
    # Opening a link reads the contact from Dataverse: a flood of made-up links (GET or POST) is
    # limited per address, so it cannot spend the portal's shared Dataverse request allowance.
    if (request.method == "POST" or accounts.tokens.plausible(code)) and not identity().limiter.hit(
        "reset", client_ip()
    ):
        return _too_many("auth/reset_password.html", form=form, done=False)
    checked = accounts.check_reset(request.args.get("userId", ""), code)
    if checked is None:
        if request.method == "POST":
            log.warning("password reset with an invalid or used link, ip=%s", client_ip())
        return render_template("auth/reset_password.html", invalid=True, done=False), 400
    contact, token = checked
    if form.validate_on_submit():
        violation = accounts.policy_violation(contact, form.password.data or "")
        if violation is not None:
            form.password.errors = [gettext(f"auth.{violation.key}", **violation.params)]
        elif not identity().tokens.consume(token):
            return render_template("auth/reset_password.html", invalid=True, done=False), 400
        else:
            try:
                accounts.set_password(contact, form.password.data or "", after_reset=True)
            except DataverseError as exc:
                identity().tokens.release(token)  # nothing changed: the link may be used again
                if isinstance(exc, TRANSIENT):
                    return unavailable_form("auth/reset_password.html", exc, form=form, done=False,
                                            invalid=False)
                raise
            ended = identity().sessions.end_user_sessions(str(contact.id))
            principal = current_principal()
            if principal is not None and principal.contact_id == contact.id:
                server_session().end()
            log.info("password reset: contact=%s sessions_ended=%d ip=%s", contact.id, ended, client_ip())
            return redirect(url_for("auth.reset_password", done=1))
    return render_template("auth/reset_password.html", form=form, done=False, invalid=False)
