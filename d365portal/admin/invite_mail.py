"""The invitation email: the contact's username and a link to choose a password (HTML + text)."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formataddr, make_msgid

from flask import render_template

from d365portal.crm.models import Contact
from d365portal.web.i18n import gettext


def invitation_message(contact: Contact, *, username: str, link: str, days: int) -> EmailMessage:
    """"Acceso al Portal de Soporte": username, a "Elegir contraseña" button, the link written out."""
    context = {"full_name": contact.full_name, "username": username, "link": link, "days": days}
    message = EmailMessage()
    message["To"] = formataddr((contact.full_name, contact.email or ""))
    message["Subject"] = gettext("admin.invite_subject")
    message["Message-ID"] = make_msgid(domain="d365portal")
    message.set_content(render_template("admin/invite_email.txt", **context))
    message.add_alternative(render_template("admin/invite_email.html", **context), subtype="html")
    return message
