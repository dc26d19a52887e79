"""Mail: the file outbox, SMTP against a real aiosmtpd server on loopback, rendered messages."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from d365portal.mail import Mailer, build_sender
from d365portal.mail.senders import MailError, OutboxSender, SmtpSender


def _message(to: str = "lmelo@inovait.co") -> EmailMessage:
    message = EmailMessage()
    message["To"] = to
    message["Subject"] = "Prueba"
    message.set_content("Hola")
    return message


def test_outbox_writes_one_eml_per_message(tmp_path: Path) -> None:
    mailer = Mailer(OutboxSender(tmp_path / "outbox"), "Soporte <soporte@localhost>")
    mailer.send(_message())
    files = list((tmp_path / "outbox").glob("*.eml"))
    assert len(files) == 1
    parsed = message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert parsed["From"] == "Soporte <soporte@localhost>"
    assert parsed["To"] == "lmelo@inovait.co"


def test_settings_choose_the_sender(tmp_path: Path) -> None:
    assert isinstance(build_sender(None, tmp_path), OutboxSender)
    smtp = build_sender("smtps://user%40x:p%40ss@mail.example:2465", tmp_path)
    assert isinstance(smtp, SmtpSender)
    assert (smtp.host, smtp.port, smtp.ssl, smtp.username) == ("mail.example", 2465, True, "user@x")
    assert "p@ss" not in smtp.describe()
    with pytest.raises(ValueError):
        SmtpSender("http://mail.example")


class _Recorder:
    """An aiosmtpd handler that keeps what it received."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture()
def smtp_server() -> Iterator[tuple[str, int, _Recorder]]:
    from aiosmtpd.controller import Controller

    recorder = _Recorder()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    yield "127.0.0.1", port, recorder
    controller.stop()


@pytest.mark.smtp
def test_smtp_delivers_to_a_real_server(smtp_server: tuple[str, int, _Recorder]) -> None:
    host, port, recorder = smtp_server
    mailer = Mailer(SmtpSender(f"smtp://{host}:{port}"), "Soporte <soporte@localhost>")
    mailer.send(_message())
    assert len(recorder.messages) == 1
    envelope = recorder.messages[0]
    assert envelope.rcpt_tos == ["lmelo@inovait.co"]
    assert b"Subject: Prueba" in envelope.content


@pytest.mark.smtp
def test_smtp_failure_is_a_mail_error_without_the_password(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens here once the socket closes
    sender = SmtpSender(f"smtp://user:s3cr3t-pw@127.0.0.1:{port}", timeout=2)
    with pytest.raises(MailError) as raised:
        sender.send(_message())
    assert "s3cr3t-pw" not in str(raised.value)
    mailer = Mailer(sender, "Soporte <soporte@localhost>")
    with caplog.at_level(logging.ERROR, logger="d365portal.mail"):
        mailer.send_later(_message())
        mailer.wait()
    assert "not sent" in caplog.text
    assert "s3cr3t-pw" not in caplog.text


def test_reset_email_has_the_manuals_text_in_html_and_plain_text(app: Flask) -> None:
    from d365portal.crm.models import Contact
    from d365portal.emulator.seed import DEMO_CONTACT_ID, DEMO_CONTACT_NAME, DEMO_EMAIL
    from d365portal.mail.messages import reset_password_message

    contact = Contact(id=DEMO_CONTACT_ID, full_name=DEMO_CONTACT_NAME, email=DEMO_EMAIL)
    link = f"http://portal.test/es-ES/Account/Login/ResetPassword?userId={DEMO_CONTACT_ID}&code=abc"
    with app.test_request_context("/es-ES/"):
        app.preprocess_request()
        message = reset_password_message(contact, link)
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    for body in (text, html):
        assert "CAMBIO DE CONTRASEÑA" in body
        assert "Estimado(a) Lorena Melo Hernandez" in body
        assert "Restablecer contraseña" in body
        assert "Si cree que recibió este correo electrónico por error" in body
        assert "O puede copiar y pegar el siguiente enlace" in body
    assert html.count(link.replace("&", "&amp;")) == 3  # button href, written-out link href and text
    assert link in text
    assert message["To"] == "Lorena Melo Hernandez <lmelo@inovait.co>"


def test_a_name_with_a_line_break_still_gets_its_reset_email(app: Flask) -> None:
    """A full name stored with CR/LF (typed or imported in Dynamics) never breaks or injects a header."""
    from d365portal.crm.models import Contact
    from d365portal.emulator.seed import DEMO_CONTACT_ID, DEMO_EMAIL
    from d365portal.mail.messages import email_changed_message, invitation_message, reset_password_message

    name = "Lorena\r\nBcc: intruso@example.com\tMelo"
    contact = Contact(id=DEMO_CONTACT_ID, full_name=name, email=DEMO_EMAIL)
    with app.test_request_context("/es-ES/"):
        app.preprocess_request()
        messages = [reset_password_message(contact, "http://portal.test/x"),
                    email_changed_message(contact, DEMO_EMAIL, "nuevo@inovait.co"),
                    invitation_message(contact, username="lmelo", link="http://portal.test/x", days=7)]
    for message in messages:
        (recipient,) = message["To"].addresses
        assert recipient.display_name == "Lorena Bcc: intruso@example.com Melo"
        assert recipient.addr_spec == DEMO_EMAIL
        assert "Bcc" not in message.keys()
