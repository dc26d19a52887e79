"""Perfil and its "Seguridad" section: Cambiar contraseña, Cambiar correo electrónico (the manual's
"Cambio de contraseña"), and "Notificaciones" (which notices the notifier sends).

A password change gives this session a new id and ends the user's other sessions; an email change
notifies the old address.
"""

from __future__ import annotations

import logging

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import BooleanField

from d365portal.i18n import gettext
from d365portal.identity import identity
from d365portal.identity.accounts import new_security_stamp
from d365portal.identity.sessions import ServerSession
from d365portal.mail import mailer
from d365portal.mail.messages import email_changed_message
from d365portal.web.account_forms import ChangeEmailForm, ChangePasswordForm
from d365portal.web.auth_context import SESSION_KEY, Principal, login_required, signed_in
from d365portal.web.budget import Priority, spends_dataverse
from d365portal.web.errors import TRANSIENT, unavailable_form
from d365portal.web.security import client_ip

bp = Blueprint("profile", __name__, url_prefix="/<lang>/profile")
log = logging.getLogger(__name__)


@bp.get("/")
@login_required
def index() -> str:
    """Perfil: who is signed in (from the session, no Dataverse call) and the Seguridad options."""
    return render_template("profile/index.html", section="profile")


def _on_post() -> Priority | None:
    return "page" if request.method == "POST" else None


@bp.route("/ChangePassword", methods=["GET", "POST"])
@login_required
@spends_dataverse(_on_post)
def change_password() -> Response | str | tuple[str, int]:
    """Cambiar contraseña: current, new and confirmation → "Su contraseña se ha cambiado correctamente"."""
    form = ChangePasswordForm()
    page = {"form": form, "section": "password"}
    if form.validate_on_submit():
        if not identity().limiter.hit("signin", client_ip()):
            return render_template("profile/change_password.html", too_many=True, **page), 429
        try:
            if _change_password(form, signed_in()):
                flash(gettext("profile.password_changed"), "success")
                return redirect(url_for("profile.change_password"))
        except TRANSIENT as exc:
            return unavailable_form("profile/change_password.html", exc, **page)
    return render_template("profile/change_password.html", **page)


def _change_password(form: ChangePasswordForm, principal: Principal) -> bool:
    """Check the current password and the policy, then store the new one; False with form errors."""
    accounts = identity().accounts
    credentials = accounts.check_current_password(principal.contact_id, form.current.data or "")
    if credentials is None:
        form.current.errors = [gettext("profile.current_wrong")]
        log.warning("password change refused (wrong current password): contact=%s ip=%s",
                    principal.contact_id, client_ip())
        return False
    violation = accounts.policy_violation(credentials.contact, form.password.data or "")
    if violation is not None:
        form.password.errors = [gettext(f"auth.{violation.key}", **violation.params)]
        return False
    accounts.set_password(credentials.contact, form.password.data or "")
    assert isinstance(session, ServerSession)  # noqa: S101
    session.rotate()  # this browser keeps going under a new id
    ended = identity().sessions.end_user_sessions(str(principal.contact_id))
    log.info("password changed: contact=%s other_sessions_ended=%d ip=%s",
             principal.contact_id, ended, client_ip())
    return True


@bp.route("/ChangeEmail", methods=["GET", "POST"])
@login_required
@spends_dataverse(_on_post)
def change_email() -> Response | str | tuple[str, int]:
    """Cambiar correo electrónico: new address + current password; the old address is notified."""
    form = ChangeEmailForm()
    page = {"form": form, "section": "email"}
    if form.validate_on_submit():
        if not identity().limiter.hit("signin", client_ip()):
            return render_template("profile/change_email.html", too_many=True, **page), 429
        try:
            if _change_email(form, signed_in()):
                flash(gettext("profile.email_changed"), "success")
                return redirect(url_for("profile.index"))
        except TRANSIENT as exc:
            return unavailable_form("profile/change_email.html", exc, **page)
    return render_template("profile/change_email.html", **page)


def _change_email(form: ChangeEmailForm, principal: Principal) -> bool:
    """Check the current password, set the new address and tell the old one; False with form errors."""
    new_address = (form.email.data or "").strip()
    accounts = identity().accounts
    credentials = accounts.check_current_password(principal.contact_id, form.current.data or "")
    if credentials is None:
        form.current.errors = [gettext("profile.current_wrong")]
        return False
    contact = credentials.contact
    if contact.email and contact.email.lower() == new_address.lower():
        form.email.errors = [gettext("profile.email_same")]
        return False
    # A new security stamp kills reset links already mailed to the old address; the new address
    # is not confirmed until a reset link sent to it is used. One request for all of it.
    accounts.contacts.update_email(
        contact.id, new_address, {"security_stamp": new_security_stamp(), "email_confirmed": False}
    )
    if contact.email:
        message = email_changed_message(contact, contact.email, new_address)
        mailer().send_later(message)
    session[SESSION_KEY] = {**session[SESSION_KEY], "email": new_address}
    log.info("email changed: contact=%s ip=%s", contact.id, client_ip())
    return True


class NotificationsForm(FlaskForm):
    """Notificaciones: a switch per kind of notice."""

    cases = BooleanField()
    hours = BooleanField()


@bp.route("/notifications", methods=["GET", "POST"])
@login_required
def notifications() -> Response | str:
    """Notificaciones: which notices the notifier sends this user (kept in the shared store)."""
    from d365portal.notify.deliver import preferences, save_preferences

    user = signed_in()
    store = identity().store
    form = NotificationsForm()
    if form.validate_on_submit():
        cases, hours = bool(form.cases.data), bool(form.hours.data)
        save_preferences(store, str(user.contact_id), cases=cases, hours=hours)
        flash(gettext("profile.notifications_saved"), "success")
        return redirect(url_for("profile.notifications"))
    if request.method == "GET":
        current = preferences(store, str(user.contact_id))
        form.cases.data, form.hours.data = current["cases"], current["hours"]
    return render_template("profile/notifications.html", form=form, section="notifications")
