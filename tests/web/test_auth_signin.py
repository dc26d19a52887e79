"""Iniciar Sesión against the emulator: generic failures, lockout, old hashes, sessions, `next`, CSRF."""

from __future__ import annotations

import logging
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from d365portal.emulator.seed import (
    DEMO_CONTACT_ID,
    DEMO_CONTACT_NAME,
    DEMO_PASSWORD,
    DEMO_USERNAME,
    OTHER_CONTACT_ID,
)
from d365portal.identity.passwords import aspnet_v2_hash, aspnet_v3_hash
from tests.web.account_helpers import (
    COOKIE,
    LOGIN,
    LOGOUT,
    contact_row,
    csrf_token,
    interleaved_medians,
    post_form,
    session_cookie,
    sign_in,
    text,
    with_cookie,
)

FAILED = "Usuario o contraseña incorrectos."


def test_sign_in_page_has_the_manuals_labels(client: FlaskClient) -> None:
    page = text(client.get(LOGIN))
    for label in ("Usuario", "Contraseña", "Iniciar Sesión", "¿Has olvidado la contraseña?"):
        assert label in page
    english = text(client.get("/en-US/Account/Login/Login"))
    for label in ("Username", "Password", "Sign in", "Forgot your password?"):
        assert label in english


def test_sign_in_lands_on_home_with_the_menu_in_two_dataverse_requests(
    client: FlaskClient, emulator: Any
) -> None:
    form = {"username": DEMO_USERNAME, "password": DEMO_PASSWORD, "csrf_token": csrf_token(client, LOGIN)}
    emulator.stats.reset()
    response = client.post(LOGIN, data=form)
    assert emulator.stats.snapshot()["total"] <= 2
    assert response.headers["Location"] == "/es-ES/"
    home = text(client.get("/es-ES/"))
    for item in ("Mi soporte", "Vigencia de Soporte", DEMO_CONTACT_NAME, "Cerrar sesión"):
        assert item in home
    assert contact_row(emulator, DEMO_CONTACT_ID)["adx_identity_lastsuccessfullogin"]


def test_wrong_password_and_unknown_user_get_the_same_message(client: FlaskClient) -> None:
    wrong = sign_in(client, DEMO_USERNAME, "not the password")
    unknown = sign_in(client, "nobody-here", "not the password")
    assert FAILED in text(wrong) and FAILED in text(unknown)
    strip = lambda body: body.split('name="csrf_token"')[0] + body.split("</form>")[-1]  # noqa: E731
    assert strip(text(wrong)).replace("nobody-here", DEMO_USERNAME) == strip(text(unknown)).replace(
        "nobody-here", DEMO_USERNAME
    )
    assert "not the password" not in text(wrong)  # the password is never echoed
    assert DEMO_USERNAME in text(wrong)  # the username is kept


def test_a_wrong_password_answers_as_fast_as_an_unknown_username(settings: Any, emulator: Any) -> None:
    """Medians of 40 interleaved sign-ins each differ by under 2 ms: counting the failure (a PATCH)
    happens after the answer, so timing does not tell which usernames exist; it is still counted."""
    from d365portal import create_app
    from d365portal.crm import option_labels

    app = create_app(
        settings.model_copy(
            update={"signin_rate_per_ip": 1000, "lockout_max_failures": 1000, "account_answer_floor_ms": 300}
        )
    )
    app.testing = True
    option_labels(app).refresh_now()
    client = app.test_client()
    token = csrf_token(client, LOGIN)
    accounts = app.extensions["identity"].accounts

    def answer_time(username: str) -> float:
        form = {"username": username, "password": "wrong password!", "csrf_token": token}
        started = time.perf_counter()
        response = client.post(LOGIN, data=form)
        elapsed = time.perf_counter() - started
        assert FAILED in text(response)
        accounts.wait()  # the background count must not slow the next sample
        return elapsed

    wrong, unknown = interleaved_medians(
        lambda: answer_time(DEMO_USERNAME), lambda: answer_time("nobody-here")
    )
    assert abs(wrong - unknown) < 0.002, f"wrong password {wrong:.4f}s vs unknown user {unknown:.4f}s"
    assert contact_row(emulator, DEMO_CONTACT_ID)["adx_identity_accessfailedcount"] == 43


def test_lockout_after_five_failures_and_its_end(client: FlaskClient, emulator: Any) -> None:
    for _ in range(4):
        assert FAILED in text(sign_in(client, DEMO_USERNAME, "wrong password!"))
    assert contact_row(emulator, DEMO_CONTACT_ID)["adx_identity_accessfailedcount"] == 4
    sign_in(client, DEMO_USERNAME, "wrong password!")  # the fifth
    row = contact_row(emulator, DEMO_CONTACT_ID)
    assert row["adx_identity_lockoutenddate"] is not None
    # Locked: even the right password fails, with the same message.
    assert FAILED in text(sign_in(client, DEMO_USERNAME, DEMO_PASSWORD))
    # The lockout ends (time passes): the right password works again and the count is cleared.
    past = (datetime.now(UTC) - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    emulator.store.update("contacts", DEMO_CONTACT_ID, {"adx_identity_lockoutenddate": past})
    assert sign_in(client, DEMO_USERNAME, DEMO_PASSWORD).headers["Location"] == "/es-ES/"
    row = contact_row(emulator, DEMO_CONTACT_ID)
    assert row["adx_identity_accessfailedcount"] == 0
    assert row["adx_identity_lockoutenddate"] is None


def test_lockout_counts_across_portal_processes(app: Flask, settings: Any, emulator: Any) -> None:
    from d365portal import create_app

    other = create_app(settings.model_copy(update={"var_dir": settings.var_dir.parent / "other-var"}))
    other.testing = True
    clients = [app.test_client(), other.test_client()]
    for attempt in range(5):
        sign_in(clients[attempt % 2], DEMO_USERNAME, "wrong password!")
    assert FAILED in text(sign_in(clients[0], DEMO_USERNAME, DEMO_PASSWORD))
    assert FAILED in text(sign_in(clients[1], DEMO_USERNAME, DEMO_PASSWORD))


def test_contacts_with_logon_disabled_cannot_sign_in(client: FlaskClient, emulator: Any) -> None:
    emulator.store.update("contacts", DEMO_CONTACT_ID, {"adx_identity_logonenabled": False})
    assert FAILED in text(sign_in(client))


@pytest.mark.parametrize("kind", ["v2", "v3"])
def test_power_pages_hashes_sign_in_and_are_upgraded_to_argon2id(
    client: FlaskClient, emulator: Any, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    salt = bytes(range(16))
    old = aspnet_v2_hash(DEMO_PASSWORD, salt) if kind == "v2" else aspnet_v3_hash(DEMO_PASSWORD, salt, prf=2)
    emulator.store.update("contacts", DEMO_CONTACT_ID, {"adx_identity_passwordhash": old})
    assert FAILED in text(sign_in(client, DEMO_USERNAME, "wrong password!"))
    assert contact_row(emulator, DEMO_CONTACT_ID)["adx_identity_passwordhash"] == old
    with caplog.at_level(logging.INFO, logger="d365portal.web.auth"):
        assert sign_in(client).headers["Location"] == "/es-ES/"
    assert f"upgraded from aspnet-{kind} to argon2id" in caplog.text
    upgraded = contact_row(emulator, DEMO_CONTACT_ID)["adx_identity_passwordhash"]
    assert upgraded.startswith("$argon2id$") and len(upgraded) <= 128
    client.post(LOGOUT, data={"csrf_token": csrf_token(client, "/es-ES/")})
    assert sign_in(client).headers["Location"] == "/es-ES/"  # the upgraded hash verifies


def test_sign_in_gives_a_new_session_id_and_sign_out_kills_a_copied_cookie(
    app: Flask, client: FlaskClient
) -> None:
    client.get(LOGIN)
    before = session_cookie(client)
    sign_in(client)
    after = session_cookie(client)
    assert before and after and before != after
    thief = with_cookie(app.test_client(), after)
    assert DEMO_CONTACT_NAME in text(thief.get("/es-ES/"))
    client.post(LOGOUT, data={"csrf_token": csrf_token(client, "/es-ES/")})
    assert client.get("/es-ES/").headers["Location"].startswith("/es-ES/Account/Login/Login")
    assert thief.get("/es-ES/").headers["Location"].startswith("/es-ES/Account/Login/Login")


def test_session_cookie_flags(client: FlaskClient, settings: Any) -> None:
    header = client.get(LOGIN).headers["Set-Cookie"]
    assert "HttpOnly" in header and "SameSite=Lax" in header
    assert "Secure" not in header  # demo over http
    from d365portal import create_app

    production = create_app(settings.model_copy(update={"demo": False}))
    secure = production.test_client().get(LOGIN, base_url="https://portal.test").headers["Set-Cookie"]
    assert "Secure" in secure and "HttpOnly" in secure


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)", "evil"]
)
def test_next_never_leaves_the_portal(client: FlaskClient, target: str) -> None:
    assert sign_in(client, next_url=target).headers["Location"] == "/es-ES/"


def test_next_inside_the_portal_is_honoured(client: FlaskClient) -> None:
    login_url = "/es-ES/Account/Login/Login?next=/es-ES/support/"
    assert client.get("/es-ES/support/").headers["Location"] == login_url
    assert 'value="/es-ES/support/"' in client.get(login_url).get_data(as_text=True)
    assert sign_in(client, next_url="/es-ES/support/?page=2").headers["Location"] == "/es-ES/support/?page=2"


def test_posts_without_csrf_token_are_refused(app: Flask, client: FlaskClient) -> None:
    assert app.config.get("WTF_CSRF_ENABLED", True) is True
    response = client.post(LOGIN, data={"username": DEMO_USERNAME, "password": DEMO_PASSWORD})
    assert response.status_code == 400
    assert session_cookie(client) is None or "principal" not in text(response)
    assert client.get("/es-ES/").status_code == 302  # not signed in
    sign_in(client)
    assert client.post(LOGOUT).status_code == 400  # sign-out needs the token too
    assert DEMO_CONTACT_NAME in text(client.get("/es-ES/"))


def test_sign_out_after_the_session_timed_out_just_lands_on_sign_in(client: FlaskClient) -> None:
    """ "Cerrar sesión" on a page left open past the idle timeout: no "page expired" error."""
    sign_in(client)
    token = csrf_token(client, "/es-ES/profile/")
    client.delete_cookie(COOKIE)  # the server forgot the session meanwhile
    response = client.post(LOGOUT, data={"csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"] == LOGIN


def test_a_sign_in_page_left_open_past_the_timeout_comes_back_as_typed(client: FlaskClient) -> None:
    token = csrf_token(client, LOGIN)
    client.delete_cookie(COOKIE)  # the anonymous session (and its CSRF token) expired meanwhile
    data = {"username": DEMO_USERNAME, "password": DEMO_PASSWORD, "csrf_token": token}
    again = client.post(LOGIN, data=data)
    body = text(again)
    assert again.status_code == 400
    assert "La página caducó. Vuelva a enviar el formulario." in body
    assert f'value="{DEMO_USERNAME}"' in body and DEMO_PASSWORD not in body
    assert client.get("/es-ES/").status_code == 302  # not signed in by the stale post
    fresh = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', again.get_data(as_text=True))
    assert fresh
    signed_in = client.post(LOGIN, data={**data, "csrf_token": fresh.group(1)})
    assert signed_in.headers["Location"] == "/es-ES/"
    cross_site = {"Sec-Fetch-Site": "cross-site"}  # posted from another site: the plain error page
    forged = client.post(LOGIN, data={"username": "x", "password": "y"}, headers=cross_site)
    assert "La página caducó" in text(forged) and 'name="username"' not in forged.get_data(as_text=True)


def test_a_forgot_page_left_open_past_the_timeout_comes_back_as_typed(client: FlaskClient) -> None:
    forgot = "/es-ES/Account/Login/ForgotPassword"
    token = csrf_token(client, forgot)
    client.delete_cookie(COOKIE)
    again = client.post(forgot, data={"email": "lmelo@inovait.co", "csrf_token": token})
    assert again.status_code == 400
    assert "La página caducó. Vuelva a enviar el formulario." in text(again)
    assert 'value="lmelo@inovait.co"' in text(again)


def test_sign_in_is_rate_limited_per_ip(settings: Any) -> None:
    from d365portal import create_app

    app = create_app(settings.model_copy(update={"signin_rate_per_ip": 3}))
    app.testing = True
    client = app.test_client()
    statuses = [sign_in(client, "nobody", "wrong password!").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert "Demasiados intentos" in text(sign_in(client))
    other_ip = app.test_client()
    response = post_form(
        other_ip,
        LOGIN,
        {"username": DEMO_USERNAME, "password": DEMO_PASSWORD},
    )
    assert response.status_code == 429  # the test client always comes from 127.0.0.1
    other_ip.environ_base["REMOTE_ADDR"] = "10.1.2.3"
    assert sign_in(other_ip).headers["Location"] == "/es-ES/"


def test_sign_ins_are_logged_without_passwords(client: FlaskClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="d365portal.web.auth"):
        sign_in(client, DEMO_USERNAME, "wrong password!")
        sign_in(client)
    assert "sign-in failed" in caplog.text and "sign-in succeeded" in caplog.text
    assert str(DEMO_CONTACT_ID) in caplog.text and "127.0.0.1" in caplog.text
    assert "wrong password!" not in caplog.text and DEMO_PASSWORD not in caplog.text


def test_the_other_customers_user_signs_in_to_its_own_account(client: FlaskClient) -> None:
    from d365portal.emulator.seed import OTHER_ACCOUNT_NAME, OTHER_PASSWORD, OTHER_USERNAME

    sign_in(client, OTHER_USERNAME, OTHER_PASSWORD)
    with client.session_transaction() as session:
        assert session["principal"]["contact_id"] == str(OTHER_CONTACT_ID)
        assert session["principal"]["account_name"] == OTHER_ACCOUNT_NAME


def test_knowledge_base_and_forums_show_only_when_configured(settings: Any, client: FlaskClient) -> None:
    from d365portal import create_app

    sign_in(client)  # the portal's own knowledge base is on by default (issue 16)
    menu = text(client.get("/es-ES/")).split('class="menu"')[1].split("</nav>")[0]
    assert 'href="/es-ES/knowledgebase/"' in menu and "Foros" not in menu
    off = create_app(settings.model_copy(update={"knowledge_base_enabled": False}))
    off.testing = True
    bare = off.test_client()
    sign_in(bare)
    menu = text(bare.get("/es-ES/")).split('class="menu"')[1].split("</nav>")[0]
    assert "Knowledge Base" not in menu and "Foros" not in menu
    assert bare.get("/es-ES/knowledgebase/").status_code == 404
    configured = create_app(
        settings.model_copy(
            update={"knowledge_base_url": "https://kb.example/", "forums_url": "https://foros.example/",
                    "knowledge_base_enabled": False}
        )
    )  # fmt: skip
    configured.testing = True
    other = configured.test_client()
    sign_in(other)
    menu = text(other.get("/es-ES/")).split('class="menu"')[1].split("</nav>")[0]
    labels = re.findall(r">([^<>]+)</a>", menu)
    assert labels == ["Knowledge Base", "Foros", "Mi soporte", "Vigencia de Soporte", DEMO_CONTACT_NAME]
    assert 'href="https://kb.example/"' in menu and 'href="https://foros.example/"' in menu


def test_dataverse_down_at_sign_in_is_a_friendly_503(client: FlaskClient, emulator: Any) -> None:
    form = {"username": DEMO_USERNAME, "password": DEMO_PASSWORD, "csrf_token": csrf_token(client, LOGIN)}
    emulator.faults.unavailable_ratio = 1.0
    response = client.post(LOGIN, data=form)
    assert response.status_code == 503
    assert "Servicio no disponible" in text(response) and "Traceback" not in text(response)
    emulator.faults.clear()
    assert sign_in(client).headers["Location"] == "/es-ES/"


@pytest.mark.parametrize(
    "lang,message",
    [
        ("es-ES", "Admite como máximo 100 caracteres."),
        ("en-US", "This field can be at most 100 characters long."),
    ],
)
def test_an_overlong_value_is_refused_in_the_pages_language(
    client: FlaskClient, lang: str, message: str
) -> None:
    login = f"/{lang}/Account/Login/Login"
    forgot = f"/{lang}/Account/Login/ForgotPassword"
    too_long = ((login, {"username": "u" * 101, "password": "x"}), (forgot, {"email": "a" * 95 + "@x.com"}))
    for url, data in too_long:
        body = text(post_form(client, url, data))
        assert message in body
        assert "Field cannot be longer" not in body


def test_parallel_guesses_cannot_outrun_the_lockout(
    live_portal: Any, emulator: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """16 sign-ins for one user at the same moment, 15 wrong and 1 right (the attack of issue 12):
    at most 5 passwords are checked, the rest are answered as locked out, and the contact ends locked
    in Dataverse."""
    import re
    import threading

    import requests

    start = threading.Barrier(16)
    answers: list[str] = []

    def attempt(password: str) -> None:
        with requests.Session() as browser:
            form = browser.get(f"{live_portal.url}/es-ES/Account/Login/Login", timeout=10)
            token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form.text)
            assert token is not None
            start.wait(timeout=20)
            response = browser.post(
                f"{live_portal.url}/es-ES/Account/Login/Login",
                data={"csrf_token": token.group(1), "username": DEMO_USERNAME, "password": password},
                allow_redirects=False, timeout=30,
            )  # fmt: skip
            answers.append("signed-in" if response.status_code == 302 else "refused")

    caplog.set_level(logging.INFO, logger="d365portal.web.auth")
    passwords = ["wrong password!"] * 15 + [DEMO_PASSWORD]
    threads = [threading.Thread(target=attempt, args=(p,)) for p in passwords]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(answers) == 16
    live_portal.wsgi_app.extensions["identity"].accounts.wait()
    row = contact_row(emulator, DEMO_CONTACT_ID)
    assert row["adx_identity_lockoutenddate"] is not None
    lines = [r.getMessage() for r in caplog.records if r.name == "d365portal.web.auth"]
    checked = sum("reason=bad_password" in line for line in lines) + sum(
        "sign-in succeeded" in line for line in lines
    )
    locked = sum("reason=locked_out" in line for line in lines)
    assert checked <= 5 and checked + locked == 16, lines
    assert answers.count("signed-in") <= 1
