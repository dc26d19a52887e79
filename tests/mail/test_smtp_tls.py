"""SMTP with STARTTLS + AUTH and with implicit TLS (smtps://), against aiosmtpd on loopback, with a
certificate the client really verifies (a throwaway CA trusted through SSL_CERT_FILE)."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from bench.idp import write_self_signed
from d365portal.mail.senders import MailError, SmtpSender

pytestmark = pytest.mark.smtp


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (cert.pem doubles as the trusted CA)."""
    folder = tmp_path_factory.mktemp("tls")
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    write_self_signed(cert_path, key_path)  # the bench's loopback identity provider uses the same
    return cert_path, key_path


class Recorder:
    def __init__(self) -> None:
        self.messages: list[Any] = []
        self.logins: list[tuple[str, str]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(envelope)
        return "250 OK"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> Any:
        from aiosmtpd.smtp import AuthResult, LoginPassword

        if isinstance(auth_data, LoginPassword):
            login, password = auth_data.login.decode(), auth_data.password.decode()
            self.logins.append((login, password))
            return AuthResult(success=password == "c0rrect-pw")
        return AuthResult(success=False)


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture()
def tls_server(
    request: pytest.FixtureRequest, certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[int, Recorder]]:
    from aiosmtpd.controller import Controller

    cert_path, key_path = certificate
    monkeypatch.setenv("SSL_CERT_FILE", str(cert_path))  # the client trusts our throwaway CA
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    recorder = Recorder()
    port = _port()
    if request.param == "starttls":
        controller = Controller(
            recorder, hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True,
            authenticator=recorder.authenticate, auth_required=True,
        )
    else:
        # aiosmtpd offers AUTH only after its own STARTTLS, so implicit TLS is tested without login.
        controller = Controller(recorder, hostname="127.0.0.1", port=port, ssl_context=context)
    controller.start()
    yield port, recorder
    controller.stop()


def _message() -> EmailMessage:
    message = EmailMessage()
    message["From"] = "soporte@localhost"
    message["To"] = "lmelo@inovait.co"
    message["Subject"] = "TLS"
    message.set_content("Hola")
    return message


@pytest.mark.parametrize("tls_server", ["starttls"], indirect=True)
def test_starttls_with_login(tls_server: tuple[int, Recorder]) -> None:
    port, recorder = tls_server
    SmtpSender(f"smtp://soporte:c0rrect-pw@127.0.0.1:{port}?starttls=1").send(_message())
    assert recorder.logins == [("soporte", "c0rrect-pw")]
    assert len(recorder.messages) == 1


@pytest.mark.parametrize("tls_server", ["ssl"], indirect=True)
def test_implicit_tls(tls_server: tuple[int, Recorder]) -> None:
    port, recorder = tls_server
    SmtpSender(f"smtps://127.0.0.1:{port}").send(_message())
    assert len(recorder.messages) == 1


@pytest.mark.parametrize("tls_server", ["starttls"], indirect=True)
def test_a_refused_login_is_a_mail_error_without_the_password(tls_server: tuple[int, Recorder]) -> None:
    port, recorder = tls_server
    with pytest.raises(MailError) as raised:
        # (after the 535, smtplib tries its next mechanism and aiosmtpd never answers: hence the timeout)
        SmtpSender(f"smtp://soporte:wr0ng-pw@127.0.0.1:{port}?starttls=1", timeout=1).send(_message())
    assert "wr0ng-pw" not in str(raised.value)
    assert recorder.logins == [("soporte", "wr0ng-pw")]
    assert recorder.messages == []


@pytest.mark.parametrize("tls_server", ["ssl"], indirect=True)
def test_an_untrusted_certificate_is_refused(
    tls_server: tuple[int, Recorder], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    port, recorder = tls_server
    empty = tmp_path / "empty.pem"
    empty.write_text("")
    monkeypatch.setenv("SSL_CERT_FILE", str(empty))
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path))
    with pytest.raises(MailError):
        SmtpSender(f"smtps://127.0.0.1:{port}").send(_message())
    assert recorder.messages == []
