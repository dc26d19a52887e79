"""Messages rendered from `templates/emails/<name>.html` and `.txt`, in the request's language."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formataddr, make_msgid

from flask import render_template

from d365portal.crm.models import Contact
from d365portal.i18n import gettext


def render_message(name: str, *, to: str, subject: str, **context: object) -> EmailMessage:
    """A multipart message (plain text + HTML) from the `emails/<name>` templates."""
    message = EmailMessage()
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="d365portal")
    message.set_content(render_template(f"emails/{name}.txt", **context))
    message.add_alternative(render_template(f"emails/{name}.html", **context), subtype="html")
    return message


def display_name(name: str | None) -> str:
    """A name fit for a header: line breaks and other control characters from Dataverse (a name typed
    or imported with a newline) would make the header invalid, so runs of them become one space."""
    return " ".join("".join(c if c.isprintable() else " " for c in name or "").split())


def _recipient(contact: Contact, address: str | None = None) -> str:
    return formataddr((display_name(contact.full_name), address or contact.email or ""))


def reset_password_message(contact: Contact, link: str) -> EmailMessage:
    """The manual's "CAMBIO DE CONTRASEÑA" email with the reset link (button and written out)."""
    return render_message(
        "reset_password",
        to=_recipient(contact),
        subject=gettext("mail.reset_subject"),
        full_name=contact.full_name,
        link=link,
    )


def email_changed_message(contact: Contact, old_address: str, new_address: str) -> EmailMessage:
    """The notice sent to the OLD address when a user changes their email address."""
    return render_message(
        "email_changed",
        to=_recipient(contact, old_address),
        subject=gettext("mail.email_changed_subject"),
        full_name=contact.full_name,
        new_address=new_address,
    )


def invitation_message(contact: Contact, *, username: str, link: str, days: int) -> EmailMessage:
    """"Acceso al Portal de Soporte": username, a "Elegir contraseña" button, the link written out."""
    return render_message(
        "invitation",
        to=_recipient(contact),
        subject=gettext("admin.invite_subject"),
        full_name=contact.full_name,
        username=username,
        link=link,
        days=days,
    )
