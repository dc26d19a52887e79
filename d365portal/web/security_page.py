"""Perfil > Seguridad > "Verificación en dos pasos" (issue 17, DESIGN.md decision 22).

Set up an authenticator app (a QR code drawn by the portal, confirmed by one code; ten recovery codes
shown once), turn the email code on or off (Power Pages' `adx_identity_twofactorenabled`), make new
recovery codes, forget remembered devices, remove the app. Removing the app or making new codes asks
for the password (it counts towards the lockout, like every password check). Each view reads the
contact once and writes it at most once, with If-Match: two tabs cannot overwrite each other.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import HiddenField, PasswordField, StringField

from d365portal.crm import crm
from d365portal.crm.models import Credentials
from d365portal.dataverse.errors import Conflict
from d365portal.i18n import gettext
from d365portal.identity import identity
from d365portal.identity.twofactor import (
    SecondFactor,
    enrol,
    grouped,
    new_recovery_codes,
    new_secret,
    provisioning_uri,
    qr_svg,
    verify_totp,
)
from d365portal.web.account_forms import LazyText
from d365portal.web.auth_context import login_required, signed_in
from d365portal.web.budget import Priority, spends_dataverse
from d365portal.web.errors import TRANSIENT, unavailable_form
from d365portal.web.security import client_ip

bp = Blueprint("security_page", __name__, url_prefix="/<lang>/profile/security")
log = logging.getLogger(__name__)

SETUP_KEY = "totp_setup"
SETUP_SECONDS = 900
CODES_KEY = "recovery_codes_once"


class SetupForm(FlaskForm):
    """The app's first code confirms the set-up."""

    code = StringField(LazyText("twofactor.app_code"))  # type: ignore[arg-type]


class PasswordForm(FlaskForm):
    """Actions that need the current password."""

    current = PasswordField(LazyText("profile.current_password"))  # type: ignore[arg-type]
    action = HiddenField()


class ToggleForm(FlaskForm):
    """Actions that need only the session (and its CSRF token)."""

    action = HiddenField()


def _settings() -> Any:
    return current_app.config["SETTINGS"]


def _on_post() -> Priority | None:
    return "submit" if request.method == "POST" else "page"


def _credentials() -> Credentials:
    credentials = crm().contacts.credentials_by_id(signed_in().contact_id)
    if credentials is None:  # the contact is gone: the rights check of the next page ends the session
        abort(404)
    return credentials


def _save(credentials: Credentials, factor: SecondFactor | None = None, **changes: Any) -> None:
    if factor is not None:
        changes["second_factor"] = identity().sealer.seal(factor)
    crm().contacts.update_identity(credentials.contact.id, changes, etag=credentials.contact.etag)


def _page(credentials: Credentials | None, **context: Any) -> str:
    factor = identity().sealer.open(credentials.second_factor) if credentials else SecondFactor()
    return render_template(
        "profile/security.html", section="two_factor", factor=factor,
        email_on=bool(credentials and credentials.contact.two_factor_enabled),
        enrolled_on=datetime.fromtimestamp(factor.enrolled_at, UTC) if factor.enrolled_at else None,
        password_form=context.pop("password_form", None) or PasswordForm(), toggle_form=ToggleForm(),
        **context,
    )  # fmt: skip


@bp.route("/", methods=["GET", "POST"])
@login_required
@spends_dataverse(_on_post)
def index() -> Response | str | tuple[str, int]:
    """The second factor's state and its actions."""
    try:
        credentials = _credentials()
    except TRANSIENT as exc:
        return unavailable_form("profile/security.html", exc, section="two_factor", factor=SecondFactor(),
                                email_on=False, password_form=PasswordForm(),
                                toggle_form=ToggleForm())  # fmt: skip
    if request.method == "GET":
        return _page(credentials)
    toggle, password_form = ToggleForm(), PasswordForm()
    action = request.form.get("action", "")
    try:
        if action in ("email_on", "email_off", "forget_devices") and toggle.validate_on_submit():
            return _toggle(credentials, action)
        if action in ("remove_app", "new_codes") and password_form.validate_on_submit():
            return _with_password(credentials, action, password_form)
    except Conflict:
        flash(gettext("twofactor.changed_meanwhile"), "error")
        return redirect(url_for("security_page.index"), 303)
    except TRANSIENT as exc:
        return unavailable_form("profile/security.html", exc, section="two_factor",
                                factor=identity().sealer.open(credentials.second_factor),
                                email_on=credentials.contact.two_factor_enabled, password_form=password_form,
                                toggle_form=toggle)  # fmt: skip
    return _page(credentials, expired=True), 400


def _toggle(credentials: Credentials, action: str) -> Response:
    contact = credentials.contact
    if action == "email_on":
        if not contact.email:
            flash(gettext("twofactor.email_needs_address"), "error")
            return redirect(url_for("security_page.index"), 303)
        _save(credentials, two_factor_enabled=True)
        flash(gettext("twofactor.email_turned_on"), "success")
    elif action == "email_off":
        _save(credentials, two_factor_enabled=False)
        flash(gettext("twofactor.email_turned_off"), "success")
    else:
        factor = identity().sealer.open(credentials.second_factor)
        _save(credentials, replace(factor, devices=max(factor.devices + 1, int(time.time()))))
        flash(gettext("twofactor.devices_forgotten"), "success")
    log.info("second factor: %s contact=%s ip=%s", action, contact.id, client_ip())
    return redirect(url_for("security_page.index"), 303)


def _with_password(credentials: Credentials, action: str, form: PasswordForm) -> Response | tuple[str, int]:
    if not identity().limiter.hit("signin", client_ip()):
        return _page(credentials, too_many=True), 429
    checked = identity().accounts.check_current_password(credentials.contact.id, form.current.data or "")
    if checked is None:
        form.current.errors = [gettext("profile.current_wrong")]
        return _page(credentials, password_form=form, password_action=action), 400
    factor = identity().sealer.open(checked.second_factor)
    if action == "remove_app":
        _save(checked, replace(factor, totp_secret=None, recovery=(), devices=factor.devices + 1))
        flash(gettext("twofactor.app_removed"), "success")
        log.info("authenticator app removed: contact=%s ip=%s", checked.contact.id, client_ip())
        return redirect(url_for("security_page.index"), 303)
    if not factor.app:
        return redirect(url_for("security_page.index"), 303)
    codes = new_recovery_codes()
    _save(checked, enrol(factor, factor.totp_secret or "", codes))
    log.info("recovery codes renewed: contact=%s ip=%s", checked.contact.id, client_ip())
    session[CODES_KEY] = codes
    return redirect(url_for("security_page.codes"), 303)


@bp.route("/app", methods=["GET", "POST"])
@login_required
@spends_dataverse(lambda: "submit" if request.method == "POST" else None)
def app_setup() -> Response | str | tuple[str, int]:
    """Configurar la aplicación de autenticación: the QR code (and the key written out), then a code."""
    if not _settings().two_factor_app:
        abort(404)
    user = signed_in()
    setup = session.get(SETUP_KEY)
    if not isinstance(setup, dict) or float(setup.get("expires") or 0) < time.time():
        setup = {"secret": new_secret(), "expires": time.time() + SETUP_SECONDS}
        session[SETUP_KEY] = setup
    secret = str(setup["secret"])
    form = SetupForm()
    issuer = _settings().mail_from.split("<")[0].strip() or "Portal"
    uri = provisioning_uri(secret, user.email or user.username, issuer)
    page = {"form": form, "section": "two_factor", "qr": qr_svg(uri), "secret": grouped(secret)}
    if request.method == "GET" or not form.validate_on_submit():
        return render_template("profile/security_app.html", **page)
    if not identity().limiter.hit("twofactor", client_ip()):
        return render_template("profile/security_app.html", too_many=True, **page), 429
    if not verify_totp(secret, form.code.data or "", user.contact_id, identity().store):
        form.code.errors = [gettext("twofactor.wrong_code")]
        form.code.data = ""
        return render_template("profile/security_app.html", **page), 400
    try:
        credentials = _credentials()
        codes = new_recovery_codes()
        _save(credentials, enrol(identity().sealer.open(credentials.second_factor), secret, codes))
    except Conflict:
        flash(gettext("twofactor.changed_meanwhile"), "error")
        return redirect(url_for("security_page.app_setup"), 303)
    except TRANSIENT as exc:
        return unavailable_form("profile/security_app.html", exc, **page)
    session.pop(SETUP_KEY, None)
    session[CODES_KEY] = codes
    log.info("authenticator app set up: contact=%s ip=%s", user.contact_id, client_ip())
    return redirect(url_for("security_page.codes"), 303)


@bp.get("/codes")
@login_required
def codes() -> Response | str:
    """The recovery codes, shown once (they are gone from the session once this page is drawn)."""
    shown = session.pop(CODES_KEY, None)
    if not isinstance(shown, list):
        return redirect(url_for("security_page.index"))
    return render_template("profile/recovery_codes.html", section="two_factor", codes=shown)
