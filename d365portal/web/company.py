"""Usuarios de la empresa: a company admin gives and takes away portal access for colleagues (issue 15).

The page is one Dataverse request: the account's contacts with their identity columns and web roles.
That same answer proves the visitor is (still) an admin of the account — their own row and roles are
in it — so no separate rights read is needed, and every action starts with it too: the target must be
one of the rows (another account's contact, or a made-up id, is 404 like everywhere).

Every action has a confirmation page (GET) and is done by its POST (CSRF): change the level (web role
association in Dataverse), disable or enable sign-in (disabling ends the colleague's sessions at once),
unlock, invite (an existing contact, or a new contact created under the account). Each writes an audit
note on the contact in Dynamics, in the portal's default language. An admin cannot lower or disable
their own access, and the account's last admin cannot be demoted or disabled.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import EmailField, HiddenField, RadioField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional, Regexp

from d365portal.crm import crm
from d365portal.crm.models import Contact, Level
from d365portal.i18n import format_datetime_local, gettext
from d365portal.identity import identity
from d365portal.identity.invitations import grant_access, send_invitation, username_problem
from d365portal.identity.twofactor import reset_second_factor
from d365portal.mail import MailError
from d365portal.web.account_forms import EMAIL_PATTERN, LazyText
from d365portal.web.auth_context import SESSION_KEY, login_required, signed_in
from d365portal.web.budget import spends_dataverse
from d365portal.web.errors import TRANSIENT, unavailable_form
from d365portal.web.security import client_ip

bp = Blueprint("company", __name__, url_prefix="/<lang>/company")
log = logging.getLogger(__name__)

ACTIONS = ("level", "disable", "enable", "unlock", "reset2fa")
LEVEL_KEYS = tuple(level.key for level in Level)


@dataclass(frozen=True)
class Person:
    """A contact of the account as the admin page shows them."""

    contact: Contact
    level: Level
    access: str  # none, invited, active, disabled, locked

    @property
    def is_admin(self) -> bool:
        """Holds the admin level and may sign in."""
        return self.level is Level.ADMIN and self.access in ("active", "invited", "locked")


def access_of(contact: Contact, now: datetime | None = None) -> str:
    """The portal access a contact has: none, invited, active, disabled or locked."""
    if not contact.username:
        return "none"
    if not contact.logon_enabled:
        return "disabled"
    if contact.locked_out(now):
        return "locked"
    return "active" if contact.last_successful_login else "invited"


@dataclass(frozen=True)
class Company:
    """The account's people, read in one request, and the admin among them who is asking."""

    people: tuple[Person, ...]
    me: Person

    def find(self, contact_id: UUID) -> Person:
        """A person of this account; 404 otherwise."""
        for person in self.people:
            if person.contact.id == contact_id:
                return person
        abort(404)

    @property
    def admins(self) -> list[Person]:
        """The people who hold the admin level and may sign in."""
        return [p for p in self.people if p.is_admin]

    def invitable(self) -> list[Person]:
        """Contacts without portal access yet."""
        return [p for p in self.people if p.access == "none"]


def _company() -> Company:
    """The account's people; 404 unless the visitor is an admin of it now (the answer says so)."""
    user = signed_in()
    names = crm().roles.names
    contacts = crm().contacts.company_people(user.account_id)
    now = datetime.now(UTC)
    people = tuple(Person(c, names.level_for(c.web_roles), access_of(c, now)) for c in contacts)
    me = next((p for p in people if p.contact.id == user.contact_id), None)
    if me is None or not me.contact.logon_enabled or me.level is not Level.ADMIN:
        if me is not None and int(me.level) != user.level:  # the session learns its level for free
            session[SESSION_KEY] = replace(user, level=int(me.level)).to_session()
        log.warning(
            "company users page refused: contact=%s is not an admin of %s", user.contact_id, user.account_id
        )
        abort(404)
    return Company(people, me)


@contextmanager
def _default_language() -> Iterator[None]:
    """Audit notes are written for agents, in the portal's default language."""
    before = g.get("lang")
    g.lang = current_app.config["SETTINGS"].default_language
    try:
        yield
    finally:
        g.lang = before


def _audit(person: Contact, key: str, level: Level | None = None, **values: Any) -> None:
    """An audit note on the contact in Dataverse: what changed, by whom, when."""
    admin = signed_in()
    with _default_language():
        if level is not None:
            values["level"] = _level_name(level)
        text = gettext(f"company.audit_{key}", admin=admin.full_name or admin.username,
                       when=format_datetime_local(datetime.now(UTC)), **values)  # fmt: skip
        subject = gettext("company.audit_subject")
    crm().contacts.add_note(person.id, subject, text)
    log.info("company admin %s: %s on contact %s ip=%s", admin.contact_id, key, person.id, client_ip())


def _level_name(level: Level) -> str:
    return gettext(f"company.level_{level.key}")


# --- the list -----------------------------------------------------------------------------------
@bp.get("/users")
@login_required
@spends_dataverse("page")
def users() -> str:
    """Usuarios de la empresa: the account's contacts, their level, portal access and last sign-in."""
    company = _company()
    return render_template("company/users.html", company=company)


# --- the actions on one colleague ----------------------------------------------------------------
class ActionForm(FlaskForm):
    """The confirmation of an action; `level` only for a level change."""

    level = SelectField(choices=list(LEVEL_KEYS), validate_choice=False)  # checked for "level" only
    form_id = HiddenField()


def _refusal(company: Company, person: Person, action: str, level: Level | None) -> str | None:
    """Why the action may not be done (a message key), or None."""
    me = company.me
    if action == "level" and level is not None and level is not Level.ADMIN:
        if person.is_admin and len(company.admins) <= 1:
            return "company.refused_last_admin"
        if person.contact.id == me.contact.id:
            return "company.refused_self_demote"
    if action == "disable":
        if person.is_admin and len(company.admins) <= 1:
            return "company.refused_last_admin"
        if person.contact.id == me.contact.id:
            return "company.refused_self_disable"
    if action in ("disable", "enable", "unlock", "reset2fa") and person.access == "none":
        return "company.refused_no_access"
    return None


@bp.route("/users/<uuid:contact_id>/<any(level, disable, enable, unlock, reset2fa):action>",
          methods=["GET", "POST"])
@login_required
@spends_dataverse(lambda: "submit" if request.method == "POST" else "page")
def act(contact_id: UUID, action: str) -> Response | str | tuple[str, int]:
    """Confirm (GET) and do (POST) one action on a colleague of the admin's account."""
    try:
        company = _company()
    except TRANSIENT as exc:
        return unavailable_form("company/action.html", exc, person=None, action=action, form=ActionForm())
    person = company.find(contact_id)
    form = ActionForm()
    if request.method == "GET":
        form.level.data = person.level.key
        return render_template("company/action.html", person=person, action=action, form=form, refused=None)
    if not form.validate():
        return render_template("company/action.html", person=person, action=action, form=form,
                               refused="company.form_expired"), 400  # fmt: skip
    if action == "level" and form.level.data not in LEVEL_KEYS:
        abort(400)
    level = Level.from_key(form.level.data) if action == "level" else None
    refused = _refusal(company, person, action, level)
    if refused:
        return render_template(
            "company/action.html", person=person, action=action, form=form, refused=refused
        ), 409
    try:
        message = _perform(person, action, level)
    except TRANSIENT as exc:
        return unavailable_form(
            "company/action.html", exc, person=person, action=action, form=form, refused=None
        )
    flash(message, "success")
    return redirect(url_for("company.users"), 303)


def _perform(person: Person, action: str, level: Level | None) -> str:
    """Do the action in Dataverse (and on the colleague's sessions); the message for the admin."""
    contact, name = person.contact, person.contact.full_name
    sessions = identity().sessions
    if action == "level" and level is not None:
        if level is person.level:
            return gettext("company.level_unchanged", name=name, level=_level_name(level))
        crm().roles.set_level(contact.id, contact.web_roles, level)
        sessions.update_user_sessions(str(contact.id), {"level": int(level)})
        _audit(contact, "level", level)
        return gettext("company.level_done", name=name, level=_level_name(level))
    if action == "disable":
        crm().contacts.update_identity(contact.id, {"logon_enabled": False})
        ended = sessions.end_user_sessions(str(contact.id))
        log.info("sessions of contact %s ended: %d", contact.id, ended)
        _audit(contact, "disable")
        return gettext("company.disable_done", name=name)
    if action == "enable":
        crm().contacts.update_identity(contact.id, {"logon_enabled": True})
        _audit(contact, "enable")
        return gettext("company.enable_done", name=name)
    if action == "reset2fa":
        reset_second_factor(contact.id)
        _audit(contact, "reset2fa")
        return gettext("company.reset2fa_done", name=name)
    crm().contacts.update_identity(contact.id, {"access_failed_count": 0, "lockout_end": None})
    identity().accounts.forget_guesses(contact)
    _audit(contact, "unlock")
    return gettext("company.unlock_done", name=name)


# --- inviting ------------------------------------------------------------------------------------
class InviteForm(FlaskForm):
    """Invitar a un colega: an existing contact of the account, or a new one."""

    who = RadioField(choices=["existing", "new"], default="existing")
    contact_id = SelectField(label=LazyText("company.invite_existing"), choices=[], validate_choice=False)
    first_name = StringField(LazyText("company.first_name"), validators=[Optional()])
    last_name = StringField(LazyText("company.last_name"), validators=[Optional()])
    email = EmailField(LazyText("company.email"), validators=[
        Optional(), Regexp(EMAIL_PATTERN, message=LazyText("auth.email_invalid")),  # type: ignore[arg-type]
    ])  # fmt: skip
    username = StringField(LazyText("company.username"), validators=[Optional()])
    level = SelectField(
        LazyText("company.level"), choices=list(LEVEL_KEYS), default="contact"
    )
    new_id = HiddenField()


def _invite_page(
    company: Company, form: InviteForm, status: int = 200, alert: str | None = None
) -> tuple[str, int]:
    form.contact_id.choices = [
        SelectChoice(str(p.contact.id), f"{p.contact.full_name} <{p.contact.email or '-'}>")
        for p in company.invitable()
    ]
    form.level.choices = [SelectChoice(key, gettext(f"company.level_{key}")) for key in LEVEL_KEYS]
    if not form.new_id.data:
        form.new_id.data = str(uuid.uuid4())  # the new contact's id: a double post creates one contact
    return render_template("company/invite.html", form=form, company=company, alert=alert), status


@bp.route("/users/invite", methods=["GET", "POST"])
@login_required
@spends_dataverse(lambda: "submit" if request.method == "POST" else "page")
def invite() -> Response | str | tuple[str, int]:
    """Invite a colleague: choose an existing contact or create one, a level, and send the mail."""
    form = InviteForm()
    try:
        company = _company()
    except TRANSIENT as exc:
        return unavailable_form("company/invite.html", exc, form=form, company=None, alert=None)
    if request.method == "GET" or not form.validate():
        return _invite_page(company, form, 200 if request.method == "GET" else 400)
    level = Level.from_key(form.level.data or "contact")
    try:
        contact = _invitee(company, form)
        if contact is None:
            return _invite_page(company, form, 400)
        username = (form.username.data or (contact.email or "").split("@", 1)[0]).strip()
        problem = username_problem(contact, username)
        if problem:
            form.username.errors = [gettext(f"company.username_{problem}", username=username)]
            return _invite_page(company, form, 400)
        invited = grant_access(contact, username)
        crm().roles.set_level(contact.id, contact.web_roles, level)
        _audit(contact, "invite", level)
    except TRANSIENT as exc:
        return unavailable_form("company/invite.html", exc, form=form, company=company, alert=None)
    try:
        send_invitation(invited, g.get("lang") or current_app.config["SETTINGS"].default_language)
    except MailError as exc:
        log.warning("invitation mail to contact %s not sent: %s", contact.id, exc)
        flash(gettext("company.invite_mail_failed", name=contact.full_name, username=username), "error")
        return redirect(url_for("company.users"), 303)
    done = gettext("company.invite_done", name=contact.full_name, email=contact.email or "",
                   username=username)  # fmt: skip
    flash(done, "success")
    return redirect(url_for("company.users"), 303)


def _invitee(company: Company, form: InviteForm) -> Contact | None:
    """The contact to invite: one of the account's without access, or a new one created under the
    account (with the id the form carried, so a repeated post is the same contact)."""
    if form.who.data == "existing":
        try:
            chosen = UUID(str(form.contact_id.data))
        except ValueError:
            chosen = None
        person = next((p for p in company.invitable() if p.contact.id == chosen), None)
        if person is None:
            form.contact_id.errors = [gettext("company.choose_contact")]
            return None
        if not person.contact.email:
            form.contact_id.errors = [gettext("company.contact_without_email")]
            return None
        return person.contact
    missing = False
    for field in (form.first_name, form.last_name, form.email):
        if not (field.data or "").strip():
            field.errors = [gettext("auth.required")]
            missing = True
    if missing:
        return None
    email = (form.email.data or "").strip()
    if any((p.contact.email or "").casefold() == email.casefold() for p in company.people):
        form.email.errors = [gettext("company.email_in_company")]
        return None
    try:
        new_id = UUID(str(form.new_id.data))
    except ValueError:
        new_id = uuid.uuid4()
    account = signed_in().account_id
    first, last = (form.first_name.data or "").strip()[:50], (form.last_name.data or "").strip()[:50]
    crm().contacts.create_in_account(new_id, account, first, last, email)
    return crm().contacts.get(new_id)
