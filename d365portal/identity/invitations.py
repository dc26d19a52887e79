"""Giving a contact portal access: one way for `d365portal users invite` and the company admin page.

An invitation sets the username, enables sign-in, gives a new security stamp (earlier invitation or
reset links stop working) and emails a link to choose a password: the password-reset mechanism with
the longer `invite_token_days` lifetime (DESIGN.md decision 7).
"""

from __future__ import annotations

import re
from datetime import timedelta

from flask import current_app

from d365portal.crm import crm
from d365portal.crm.models import Contact
from d365portal.identity import identity, issue_reset_link
from d365portal.identity.accounts import new_security_stamp
from d365portal.mail import mailer
from d365portal.mail.messages import invitation_message

USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}$")


def username_problem(contact: Contact, username: str) -> str | None:
    """Why `username` cannot be the contact's ("format" or "taken"), or None (one Dataverse read)."""
    if not USERNAME.match(username):
        return "format"
    holder = crm().contacts.find_by_username(username)
    if holder is not None and holder.id != contact.id:
        return "taken"
    return None


def grant_access(contact: Contact, username: str) -> Contact:
    """Set the username, enable sign-in and renew the security stamp (one PATCH); the contact as now."""
    changes = {
        "username": username,
        "logon_enabled": True,
        "lockout_enabled": True,
        "security_stamp": new_security_stamp(),
    }
    crm().contacts.update_identity(contact.id, changes)
    return contact.model_copy(update=changes)


def send_invitation(invited: Contact, lang: str) -> int:
    """Email the invited contact the link to choose a password and, per identity provider, a link to
    sign in with it (one token: the first used links the identity; needs a request context); the days
    the links last. `MailError` when the mail could not be sent."""
    settings = current_app.config["SETTINGS"]
    days = int(settings.invite_token_days)
    link = issue_reset_link(invited, lifetime=timedelta(days=days), lang=lang)
    providers = [(p.label(lang), external_invitation_link(link, p.name)) for p in identity().providers]
    local = link if settings.local_signin_enabled else None
    mailer().send(invitation_message(invited, username=invited.username or "", link=local, days=days,
                                     providers=providers))  # fmt: skip
    return days


def external_invitation_link(reset_link: str, provider: str) -> str:
    """The set-password link's token on the provider's sign-in address: `/<lang>/Account/Login/
    External/<provider>?userId=…&code=…`."""
    path, _, query = reset_link.partition("?")
    return f"{path.rsplit('/', 1)[0]}/External/{provider}?{query}"
