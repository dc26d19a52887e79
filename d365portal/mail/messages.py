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


def _message(
    name: str, contact: Contact, subject_key: str, to: str | None = None, **context: object
) -> EmailMessage:
    """`emails/<name>` for `contact` (to their address, or `to`), the subject from the catalogue."""
    return render_message(
        name,
        to=formataddr((display_name(contact.full_name), to or contact.email or "")),
        subject=gettext(subject_key),
        full_name=contact.full_name,
        **context,
    )


def reset_password_message(contact: Contact, link: str) -> EmailMessage:
    """The manual's "CAMBIO DE CONTRASEÑA" email with the reset link (button and written out)."""
    return _message("reset_password", contact, "mail.reset_subject", link=link)


def email_changed_message(contact: Contact, old_address: str, new_address: str) -> EmailMessage:
    """The notice sent to the OLD address when a user changes their email address."""
    return _message(
        "email_changed", contact, "mail.email_changed_subject", old_address, new_address=new_address
    )


def invitation_message(
    contact: Contact, *, username: str, link: str | None, days: int,
    providers: list[tuple[str, str]] | None = None,
) -> EmailMessage:
    """ "Acceso al Portal de Soporte": username, a "Elegir contraseña" button and the link written out
    (unless local sign-in is off), and one "Iniciar sesión con …" link per identity provider."""
    return _message("invitation", contact, "admin.invite_subject", username=username, link=link, days=days,
                    providers=providers or [])  # fmt: skip


def sign_in_code_message(contact: Contact, code: str, *, minutes: int) -> EmailMessage:
    """ "Su código de inicio de sesión": the six digits of a pending sign-in, valid `minutes`."""
    return _message("sign_in_code", contact, "twofactor.mail_subject", code=code, minutes=minutes)
