"""¿Ha olvidado la contraseña? and Restablecer contraseña: no enumeration, single-use expiring links."""

from __future__ import annotations

import logging
import re
import time
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from d365portal.emulator.seed import DEMO_CONTACT_ID, DEMO_EMAIL, DEMO_PASSWORD, DEMO_USERNAME
from tests.browser.conftest import text_body, wait_for_mail
from tests.web.account_helpers import (
    FORGOT,
    RESET,
    contact_row,
    csrf_token,
    interleaved_medians,
    post_form,
    sign_in,
    text,
)

SENT = "Consulte su correo electrónico para restablecer la contraseña."
NEW_PASSWORD = "caballo correcto bateria grapa"


def outbox(app: Flask) -> Path:
    return Path(app.config["SETTINGS"].mail_outbox)


def request_link(app: Flask, client: FlaskClient, email: str = DEMO_EMAIL) -> str:
    """Ask for a reset and read the link out of the email."""
    before = len(list(outbox(app).glob("*.eml"))) if outbox(app).is_dir() else 0
    response = post_form(client, FORGOT, {"email": email})
    assert SENT in text(client.get(response.headers["Location"]))
    message = wait_for_mail(outbox(app), before + 1)[-1]
    match = re.search(r"http://portal\.test/\S+", text_body(message))
    assert match
    return match.group(0)


def local(link: str) -> str:
    parts = urlsplit(link)
    return f"{parts.path}?{parts.query}"


def reset(client: FlaskClient, link: str, password: str = NEW_PASSWORD, confirm: str | None = None) -> Any:
    data = {"password": password, "confirm": confirm or password}
    return post_form(client, local(link), data, form_url=FORGOT)  # one CSRF token serves the session


def test_forgot_page_has_the_manuals_texts(client: FlaskClient) -> None:
    page = text(client.get(FORGOT))
    hint = "Escriba su dirección de correo electrónico para solicitar un restablecimiento de contraseña."
    for label in ("¿Ha olvidado la contraseña?", "Correo electrónico", "Enviar", hint):
        assert label in page
    # The manual's field reads "* Correo electrónico": the required mark comes first.
    label = re.search(r'<label for="email">(.*?)</label>', page, re.S)
    assert label and re.sub(r"<[^>]+>", "", label.group(1)).strip() == "* Correo electrónico"


def test_known_and_unknown_addresses_get_the_same_answer_only_one_gets_mail(
    app: Flask, client: FlaskClient
) -> None:
    known = post_form(client, FORGOT, {"email": DEMO_EMAIL})
    unknown = post_form(client, FORGOT, {"email": "nadie@ejemplo.co"})
    assert known.headers["Location"] == unknown.headers["Location"]
    assert SENT in text(client.get(unknown.headers["Location"]))
    messages = wait_for_mail(outbox(app), 1)
    app.extensions["mailer"].wait()
    assert len(list(outbox(app).glob("*.eml"))) == 1
    assert messages[0]["To"].addresses[0].addr_spec == DEMO_EMAIL


def test_known_and_unknown_addresses_take_about_the_same_time(settings: Any) -> None:
    """Medians of 40 interleaved posts each differ by under 2 ms: a known address costs the same one
    Dataverse read as an unknown one; its link and mail are made off the response path."""
    from d365portal import create_app
    from d365portal.crm import option_labels
    from d365portal.mail import mailer

    app = create_app(settings.model_copy(update={"forgot_rate_per_ip": 1000, "account_answer_floor_ms": 300}))
    app.testing = True
    option_labels(app).refresh_now()
    client = app.test_client()
    token = csrf_token(client, FORGOT)

    def timed(email: str) -> float:
        started = time.perf_counter()
        response = client.post(FORGOT, data={"email": email, "csrf_token": token})
        elapsed = time.perf_counter() - started
        assert response.status_code == 302
        with app.app_context():
            mailer().wait()  # the background mail must not slow the next sample
        return elapsed

    known, unknown = interleaved_medians(lambda: timed(DEMO_EMAIL), lambda: timed("nadie@ejemplo.co"))
    assert abs(known - unknown) < 0.002, (known, unknown)


def test_the_email_has_the_manuals_text_and_a_link_on_the_public_base_url(
    app: Flask, client: FlaskClient
) -> None:
    client.environ_base["HTTP_HOST"] = "127.0.0.1:8080"  # answered (loopback), yet not the public URL
    link = request_link(app, client)
    assert link.startswith("http://portal.test/es-ES/Account/Login/ResetPassword?")
    query = parse_qs(urlsplit(link).query)
    assert query["userId"] == [str(DEMO_CONTACT_ID)]
    assert len(query["code"][0]) >= 22  # ≥ 128 bits in base64url
    body = text_body(wait_for_mail(outbox(app))[0])
    for line in (
        "CAMBIO DE CONTRASEÑA",
        "Estimado(a) Lorena Melo Hernandez",
        "Restablecer contraseña",
        "Si cree que recibió este correo electrónico por error",
    ):
        assert line in body


def test_english_request_gets_an_english_link(app: Flask, client: FlaskClient) -> None:
    post_form(client, "/en-US/Account/Login/ForgotPassword", {"email": DEMO_EMAIL})
    message = wait_for_mail(outbox(app))[0]
    assert "/en-US/Account/Login/ResetPassword?" in text_body(message)
    assert "PASSWORD CHANGE" in text_body(message)


def test_a_reset_link_works_once(app: Flask, client: FlaskClient, emulator: Any) -> None:
    link = request_link(app, client)
    page = text(client.get(local(link)))
    assert "Contraseña nueva" in page and "Confirmar nueva contraseña" in page and "Restablecer" in page
    done = client.get(reset(client, link).headers["Location"])
    assert "Su contraseña se ha restablecido." in text(done) and "Iniciar sesión" in text(done)
    assert client.get("/es-ES/").status_code == 302  # not signed in automatically
    assert contact_row(emulator, DEMO_CONTACT_ID)["adx_identity_passwordhash"].startswith("$argon2id$")
    assert "no es válido" in text(client.get(local(link)))
    assert reset(client, link, "otra frase secreta bastante larga").status_code == 400
    assert "incorrectos" in text(sign_in(client, DEMO_USERNAME, DEMO_PASSWORD))
    assert sign_in(client, DEMO_USERNAME, NEW_PASSWORD).headers["Location"] == "/es-ES/"


def test_an_expired_link_is_refused(app: Flask, client: FlaskClient, emulator: Any) -> None:
    from d365portal.identity import issue_reset_link

    contact = app.extensions["crm"].contacts.get(DEMO_CONTACT_ID)
    with app.test_request_context("/es-ES/"):
        link = issue_reset_link(contact, lifetime=timedelta(seconds=-1))
    assert "no es válido" in text(client.get(local(link)))
    assert reset(client, link).status_code == 400


def test_a_password_change_kills_an_outstanding_link(app: Flask, client: FlaskClient) -> None:
    link = request_link(app, client)
    sign_in(client)
    response = post_form(
        client,
        "/es-ES/profile/ChangePassword",
        {"current": DEMO_PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert "no es válido" in text(app.test_client().get(local(link)))


def test_reset_refuses_weak_or_mismatched_passwords_and_says_why(app: Flask, client: FlaskClient) -> None:
    link = request_link(app, client)
    assert "al menos 12 caracteres" in text(reset(client, link, "corta"))
    assert "demasiado común" in text(reset(client, link, "password12345"))
    assert "su nombre, su usuario ni su correo" in text(reset(client, link, "Lorena Melo Hernandez"))
    assert "no coinciden" in text(reset(client, link, NEW_PASSWORD, "otra cosa distinta"))
    assert reset(client, link).status_code == 302  # the link still works after refusals


def test_a_reset_ends_every_session_of_the_user(app: Flask, client: FlaskClient) -> None:
    signed_in = app.test_client()
    sign_in(signed_in)
    assert signed_in.get("/es-ES/").status_code == 200
    reset(client, request_link(app, client))
    assert signed_in.get("/es-ES/").headers["Location"].startswith("/es-ES/Account/Login/Login")


def test_a_reset_clears_a_lockout(app: Flask, client: FlaskClient, emulator: Any) -> None:
    for _ in range(5):
        sign_in(client, DEMO_USERNAME, "wrong password!")
    assert contact_row(emulator, DEMO_CONTACT_ID)["adx_identity_lockoutenddate"] is not None
    reset(client, request_link(app, client))
    assert sign_in(client, DEMO_USERNAME, NEW_PASSWORD).headers["Location"] == "/es-ES/"


def test_forgot_and_reset_are_rate_limited(settings: Any) -> None:
    from d365portal import create_app

    app = create_app(settings.model_copy(update={"forgot_rate_per_ip": 2, "reset_rate_per_ip": 2}))
    app.testing = True
    client = app.test_client()
    statuses = [post_form(client, FORGOT, {"email": "nadie@ejemplo.co"}).status_code for _ in range(3)]
    assert statuses == [302, 302, 429]
    bogus = f"/es-ES/Account/Login/ResetPassword?userId={DEMO_CONTACT_ID}&code=nope"
    statuses = [reset(client, "http://portal.test" + bogus).status_code for _ in range(3)]
    assert statuses == [400, 400, 429]


def test_a_mail_failure_shows_only_the_generic_message_and_is_logged(
    settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    import socket

    from d365portal import create_app

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    from pydantic import SecretStr

    smtp_url = SecretStr(f"smtp://user:pw-s3cret@127.0.0.1:{port}")
    app = create_app(settings.model_copy(update={"smtp_url": smtp_url}))
    app.testing = True
    client = app.test_client()
    with caplog.at_level(logging.INFO):
        response = post_form(client, FORGOT, {"email": DEMO_EMAIL})
        assert SENT in text(client.get(response.headers["Location"]))
        app.extensions["mailer"].wait()
    assert "not sent" in caplog.text
    assert "pw-s3cret" not in caplog.text
    assert "code=" not in caplog.text  # the token never reaches the log


def _forged_code() -> str:
    """A well-formed, unexpired code with a made-up MAC (what an attacker can mint at will)."""
    import base64
    import os
    import struct
    import time

    raw = os.urandom(16) + struct.pack(">I", int(time.time()) + 3600) + os.urandom(32)
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def test_garbled_or_expired_links_cost_no_dataverse_request(client: FlaskClient, emulator: Any) -> None:
    import base64
    import struct

    expired = base64.urlsafe_b64encode(bytes(16) + struct.pack(">I", 1_000_000) + bytes(32)).decode()
    emulator.stats.reset()
    for code in ("nope", "A" * 70, expired):
        page = client.get(f"{RESET}?userId={DEMO_CONTACT_ID}&code={code}")
        assert page.status_code == 400
        assert "El enlace para restablecer la contraseña no es válido" in text(page)
    assert emulator.stats.snapshot()["total"] == 0


def test_opening_made_up_links_is_rate_limited(settings: Any, emulator: Any) -> None:
    """Each plausible link costs a Dataverse read, so GETs count against the reset limit too: a
    flood cannot spend the portal's shared Dataverse allowance."""
    from d365portal import create_app
    from d365portal.crm import option_labels

    app = create_app(settings.model_copy(update={"reset_rate_per_ip": 2}))
    app.testing = True
    option_labels(app).refresh_now()  # else the first request starts the background label load
    client = app.test_client()
    emulator.stats.reset()
    statuses = [
        client.get(f"{RESET}?userId={DEMO_CONTACT_ID}&code={_forged_code()}").status_code for _ in range(4)
    ]
    assert statuses == [400, 400, 429, 429]
    assert emulator.stats.snapshot()["total"] == 2
