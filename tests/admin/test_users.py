"""`d365portal users …`: an invitation end to end (username, email, link, password, sign-in), the
failures an admin meets, and disable/enable/unlock/list."""

from __future__ import annotations

import email
import email.policy
import html
import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient

from d365portal import create_app
from d365portal.emulator.seed import (
    DEMO_ACCOUNT_ID,
    DEMO_CONTACT_ID,
    DEMO_PASSWORD,
    DEMO_USERNAME,
    OTHER_USERNAME,
)
from tests.admin.conftest import invoke
from tests.conftest import make_settings

INVITEE_EMAIL = "agomez@inovait.co"  # Andrés Gómez, INOVAIT SAS, no portal username in the demo seed
CHOSEN_PASSWORD = "Tornado-Brisa-8841"


def contact_by_email(emulator: Any, address: str) -> dict[str, Any]:
    return next(row for row in emulator.store.query("contacts") if row.get("emailaddress1") == address)


def add_contact(emulator: Any, address: str, *, parent: uuid.UUID | None = DEMO_ACCOUNT_ID) -> None:
    row: dict[str, Any] = {"contactid": str(uuid.uuid4()), "firstname": "Ana", "lastname": "Prueba",
                           "emailaddress1": address}
    if parent:
        row["parentcustomerid_account@odata.bind"] = f"/accounts({parent})"
    emulator.store.insert("contacts", row)


def outbox(tmp_path: Path) -> list[email.message.EmailMessage]:
    files = sorted((tmp_path / "var" / "outbox").glob("*.eml"))
    parse = email.message_from_bytes
    return [parse(f.read_bytes(), policy=email.policy.default) for f in files]  # type: ignore[misc]


def post_with_csrf(client: FlaskClient, url: str, data: dict[str, str]) -> Any:
    page = client.get(url)
    assert page.status_code == 200, page.status_code
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.get_data(as_text=True))
    assert token, f"no form on {url}"
    return client.post(url, data={**data, "csrf_token": token.group(1)})


def test_invite_end_to_end(emulator: Any, emulator_env: dict[str, str], tmp_path: Path) -> None:
    result = invoke(emulator_env, "users", "invite", "--email", INVITEE_EMAIL)
    assert result.exit_code == 0, result.output
    assert "Invited Andrés Gómez" in result.output and "'agomez'" in result.output
    assert "expires in 7 days" in result.output

    row = contact_by_email(emulator, INVITEE_EMAIL)
    assert row["adx_identity_username"] == "agomez"
    assert row["adx_identity_logonenabled"] is True

    (message,) = outbox(tmp_path)
    assert INVITEE_EMAIL in message["To"]
    assert message["Subject"] == "Acceso al Portal de Soporte"
    body = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Estimado(a) Andrés Gómez" in body and "Su usuario es: agomez" in body
    found = re.search(r"http://portal\.test(/es-ES/Account/Login/ResetPassword\?\S+)", body)
    assert found, body
    link = found.group(1)
    assert f"userId={row['contactid']}" in link
    html_body = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "Elegir contraseña" in html_body and html.escape(link) in html_body

    # The link sets a password through the portal's reset page, then the user signs in.
    settings = make_settings(tmp_path, emulator.url, secret_key=emulator_env["D365_SECRET_KEY"])
    portal = create_app(settings)
    client = portal.test_client()
    done = post_with_csrf(client, link, {"password": CHOSEN_PASSWORD, "confirm": CHOSEN_PASSWORD})
    assert done.status_code == 302, html.unescape(done.get_data(as_text=True))
    confirmation = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "Su contraseña se ha restablecido." in html.unescape(confirmation)
    signed_in = post_with_csrf(
        client, "/es-ES/Account/Login/Login", {"username": "agomez", "password": CHOSEN_PASSWORD, "next": ""}
    )
    assert signed_in.status_code == 302
    home = html.unescape(client.get(signed_in.headers["Location"]).get_data(as_text=True))
    assert "Andrés Gómez" in home
    # The link was for one use only.
    assert client.get(link).status_code == 400


def test_invite_with_a_chosen_username_and_in_english(
    emulator: Any, emulator_env: dict[str, str], tmp_path: Path
) -> None:
    result = invoke(emulator_env, "users", "invite", "--email", INVITEE_EMAIL, "--username", "andres.gomez",
                    "--language", "en-US")
    assert result.exit_code == 0, result.output
    assert contact_by_email(emulator, INVITEE_EMAIL)["adx_identity_username"] == "andres.gomez"
    (message,) = outbox(tmp_path)
    assert message["Subject"] == "Access to the Support Portal"
    assert "/en-US/Account/Login/ResetPassword?" in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def test_inviting_an_existing_user_again_renames_and_says_so(
    emulator: Any, emulator_env: dict[str, str]
) -> None:
    args = ["users", "invite", "--email", "lmelo@inovait.co", "--username", "lorena.melo"]
    result = invoke(emulator_env, *args)
    assert result.exit_code == 0, result.output
    assert "Note: the username was 'lmelo' until now." in result.output
    assert emulator.store.get("contacts", DEMO_CONTACT_ID)["adx_identity_username"] == "lorena.melo"


def test_invite_fails_clearly_when_no_contact_has_the_address(
    emulator_env: dict[str, str], tmp_path: Path
) -> None:
    result = invoke(emulator_env, "users", "invite", "--email", "nadie@example.com")
    assert result.exit_code == 1
    assert result.output.strip() == (
        "Error: no contact has the email address nadie@example.com — create the contact in Dynamics 365 first"
    )
    assert outbox(tmp_path) == []


def test_invite_fails_clearly_when_several_contacts_have_the_address(
    emulator: Any, emulator_env: dict[str, str], tmp_path: Path
) -> None:
    add_contact(emulator, INVITEE_EMAIL)
    result = invoke(emulator_env, "users", "invite", "--email", INVITEE_EMAIL)
    assert result.exit_code == 1
    assert "2 contacts have the email address agomez@inovait.co" in result.output
    assert "Andrés Gómez" in result.output and "Ana Prueba" in result.output
    assert outbox(tmp_path) == []


def test_invite_fails_clearly_without_a_parent_account(
    emulator: Any, emulator_env: dict[str, str], tmp_path: Path
) -> None:
    add_contact(emulator, "suelta@example.com", parent=None)
    result = invoke(emulator_env, "users", "invite", "--email", "suelta@example.com")
    assert result.exit_code == 1
    assert "the contact Ana Prueba has no parent account" in result.output
    assert contact_by_email(emulator, "suelta@example.com").get("adx_identity_username") is None


def test_invite_refuses_a_username_another_contact_has(emulator: Any, emulator_env: dict[str, str]) -> None:
    result = invoke(emulator_env, "users", "invite", "--email", INVITEE_EMAIL, "--username", DEMO_USERNAME)
    assert result.exit_code == 1
    assert "already belongs to Lorena Melo Hernandez" in result.output
    assert contact_by_email(emulator, INVITEE_EMAIL).get("adx_identity_username") is None


def test_disable_enable_and_unlock(emulator: Any, emulator_env: dict[str, str], tmp_path: Path) -> None:
    # Lorena is signed in on the portal (same var/ store and key as the command) when she is disabled.
    portal = create_app(make_settings(tmp_path, emulator.url, secret_key=emulator_env["D365_SECRET_KEY"]))
    browser = portal.test_client()
    signed_in = post_with_csrf(browser, "/es-ES/Account/Login/Login",
                               {"username": DEMO_USERNAME, "password": DEMO_PASSWORD, "next": ""})
    assert signed_in.status_code == 302 and browser.get("/es-ES/").status_code == 200

    result = invoke(emulator_env, "users", "disable", "--username", DEMO_USERNAME)
    assert result.exit_code == 0 and "can no longer sign in" in result.output
    assert emulator.store.get("contacts", DEMO_CONTACT_ID)["adx_identity_logonenabled"] is False
    assert browser.get("/es-ES/").status_code == 302  # her open session ended: back to sign-in

    assert invoke(emulator_env, "users", "enable", "--username", DEMO_USERNAME).exit_code == 0
    assert emulator.store.get("contacts", DEMO_CONTACT_ID)["adx_identity_logonenabled"] is True

    locked_until = (datetime.now(UTC) + timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
    emulator.store.update("contacts", DEMO_CONTACT_ID, {"adx_identity_accessfailedcount": 5,
                                                        "adx_identity_lockoutenddate": locked_until})
    listed = invoke(emulator_env, "users", "list")
    lorena = next(line for line in listed.output.splitlines() if line.startswith(DEMO_USERNAME))
    assert "Lorena Melo Hernandez" in lorena and "INOVAIT SAS" in lorena and "until " in lorena

    assert invoke(emulator_env, "users", "unlock", "--username", DEMO_USERNAME).exit_code == 0
    row = emulator.store.get("contacts", DEMO_CONTACT_ID)
    assert row["adx_identity_accessfailedcount"] == 0 and row.get("adx_identity_lockoutenddate") is None


def test_list_shows_every_portal_user(emulator_env: dict[str, str]) -> None:
    result = invoke(emulator_env, "users", "list")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].split() == ["USERNAME", "NAME", "ACCOUNT", "LOCKED", "ENABLED", "LAST", "SIGN-IN"]
    assert any(line.startswith(DEMO_USERNAME) for line in lines)
    assert any(line.startswith(OTHER_USERNAME) and "Andes Logística S.A.S." in line for line in lines)


def test_an_unknown_username_is_said_plainly(emulator_env: dict[str, str]) -> None:
    result = invoke(emulator_env, "users", "unlock", "--username", "nadie")
    assert result.exit_code == 1
    assert result.output.strip() == "Error: no portal user has the username 'nadie'"


def test_reset_2fa_removes_the_app_and_the_flag(
    emulator: Any, emulator_env: dict[str, str], tmp_path: Path
) -> None:
    from d365portal.identity import twofactor as tf

    sealer = tf.Sealer(tf.derive_key(emulator_env["D365_SECRET_KEY"]))
    enrolled = sealer.seal(tf.enrol(tf.SecondFactor(devices=3), tf.new_secret(), tf.new_recovery_codes()))
    emulator.store.update("contacts", DEMO_CONTACT_ID, {"d365p_secondfactor": enrolled,
                                                        "adx_identity_twofactorenabled": True})
    result = invoke(emulator_env, "users", "reset-2fa", "--username", DEMO_USERNAME)
    assert result.exit_code == 0 and "two-step verification removed" in result.output
    row = emulator.store.get("contacts", DEMO_CONTACT_ID)
    assert row["adx_identity_twofactorenabled"] is False
    factor = sealer.open(row["d365p_secondfactor"])
    assert not factor.app and not factor.recovery and factor.devices > 3  # remembered devices forgotten
    # She signs in with her password alone again.
    portal = create_app(make_settings(tmp_path, emulator.url, secret_key=emulator_env["D365_SECRET_KEY"]))
    signed_in = post_with_csrf(portal.test_client(), "/es-ES/Account/Login/Login",
                               {"username": DEMO_USERNAME, "password": DEMO_PASSWORD, "next": ""})
    assert signed_in.status_code == 302 and signed_in.headers["Location"] == "/es-ES/"


def test_an_invitation_on_a_portal_without_passwords_offers_only_the_provider(
    emulator: Any, emulator_env: dict[str, str], tmp_path: Path
) -> None:
    provider = {"name": "entra", "authority": "https://login.microsoftonline.com/organizations",
                "client_id": "4a3b2c1d-0000-4111-8222-333344445555", "client_secret": "x"}  # fmt: skip
    env = {**emulator_env, "D365_IDENTITY_PROVIDERS": json.dumps([provider]),
           "D365_LOCAL_SIGNIN_ENABLED": "false"}  # fmt: skip
    result = invoke(env, "users", "invite", "--email", INVITEE_EMAIL)
    assert result.exit_code == 0, result.output
    assert "the link to sign in with entra was emailed" in result.output
    (message,) = outbox(tmp_path)
    body = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Elegir contraseña" not in body and "ResetPassword" not in body
    assert "Inicie sesión con su cuenta de Microsoft de trabajo" in body
    external = r"Iniciar sesión con Microsoft: http://portal\.test/es-ES/Account/Login/External/entra\?userId="
    assert re.search(external, body)
