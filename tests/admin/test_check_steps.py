"""`check` steps 6 and 7 on their own: the SMTP server answers (or the outbox is writable), and the
certificate is not within 30 days of expiry."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from d365portal.admin.check_steps import Context, step_certificate, step_mail
from d365portal.settings import Settings
from tests.conftest import free_port

PASSWORD = "right-Pass-0042"



@pytest.fixture(scope="module")
def smtp_server() -> Iterator[int]:
    """A real SMTP server on loopback (aiosmtpd) that accepts one user's login without TLS."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"mailer", PASSWORD.encode())
        return AuthResult(success=ok)

    class Sink:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
            return "250 OK"

    port = free_port()
    controller = Controller(Sink(), hostname="127.0.0.1", port=port, authenticator=authenticate,
                            auth_require_tls=False)
    controller.start()
    yield port
    controller.stop()


def mail_step(**values: Any) -> Any:
    return step_mail(Context(settings=Settings(**values)))


@pytest.mark.smtp
def test_an_smtp_server_that_answers_and_accepts_the_login_passes(smtp_server: int) -> None:
    step = mail_step(smtp_url=f"smtp://mailer:{PASSWORD}@127.0.0.1:{smtp_server}")
    assert step.status == "pass", step.detail
    assert f"SMTP 127.0.0.1:{smtp_server} (plain) answered and accepted the login" == step.detail


@pytest.mark.smtp
def test_a_refused_login_fails_at_login_without_showing_the_password(
    smtp_server: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # smtplib falls back from PLAIN to LOGIN, which aiosmtpd leaves waiting: don't wait 10 s for it.
    monkeypatch.setattr("d365portal.admin.check_steps.SMTP_TIMEOUT", 1.0)
    step = mail_step(smtp_url=f"smtp://mailer:wrong-{PASSWORD}@127.0.0.1:{smtp_server}")
    assert step.status == "fail"
    assert "failed at login" in step.detail
    assert PASSWORD not in step.detail + step.fix


def test_an_smtp_server_that_does_not_answer_fails_at_connect() -> None:
    step = mail_step(smtp_url=f"smtp://127.0.0.1:{free_port()}")
    assert step.status == "fail" and "failed at connect" in step.detail and "D365_SMTP_URL" in step.fix


def test_a_writable_outbox_passes(tmp_path: Path) -> None:
    step = mail_step(outbox_dir=tmp_path / "outbox")
    assert step.status == "pass" and str(tmp_path / "outbox") in step.detail
    assert list((tmp_path / "outbox").iterdir()) == []  # the probe file is gone


def test_an_outbox_that_cannot_be_written_fails(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    step = mail_step(outbox_dir=blocker / "outbox")
    assert step.status == "fail" and "is not writable" in step.detail


# --- step 7 -----------------------------------------------------------------------------------------


def make_certificate(directory: Path, days: int, *, pfx_password: str | None = None) -> Path:
    """A self-signed certificate valid for `days` more days, as PEM (key + cert) or PFX."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "d365portal-check")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=days, hours=1)).sign(key, hashes.SHA256())
    )  # fmt: skip
    if pfx_password is not None:
        path = directory / f"cert-{days}.pfx"
        encryption = serialization.BestAvailableEncryption(pfx_password.encode())
        path.write_bytes(pkcs12.serialize_key_and_certificates(b"portal", key, cert, None, encryption))
        return path
    path = directory / f"cert-{days}.pem"
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path.write_bytes(key_pem + cert.public_bytes(serialization.Encoding.PEM))
    return path


def certificate_step(path: Path, password: str | None = None) -> Any:
    settings = Settings(auth="certificate", tenant_id="t", client_id="c", certificate_path=path,
                        certificate_thumbprint="AB" * 20, certificate_password=password)
    return step_certificate(Context(settings=settings))


def test_a_certificate_expiring_within_30_days_fails(tmp_path: Path) -> None:
    step = certificate_step(make_certificate(tmp_path, 10))
    assert step.status == "fail"
    assert "(10 days left)" in step.detail and "new certificate" in step.fix


def test_a_certificate_with_time_left_passes(tmp_path: Path) -> None:
    step = certificate_step(make_certificate(tmp_path, 90))
    assert step.status == "pass" and "(90 days left)" in step.detail


def test_a_pfx_certificate_is_read_with_its_password(tmp_path: Path) -> None:
    step = certificate_step(make_certificate(tmp_path, 20, pfx_password="pfx-Pass-1"), "pfx-Pass-1")
    assert step.status == "fail" and "(20 days left)" in step.detail


def test_no_certificate_in_use_passes() -> None:
    step = step_certificate(Context(settings=Settings(auth="static")))
    assert step.status == "pass" and "no certificate in use" in step.detail


def test_an_unreadable_certificate_is_named(tmp_path: Path) -> None:
    step = certificate_step(tmp_path / "missing.pem")
    assert step.status == "fail" and "D365_CERTIFICATE_PATH" in step.detail
