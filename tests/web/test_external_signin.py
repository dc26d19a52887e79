"""Sign-in with Microsoft Entra ID (issue 17): the portal's real MSAL flow against a loopback OpenID
provider over TLS (tests/oidc_provider.py), links in the emulator's `adx_externalidentities`.

The test client plays the browser: it follows the portal to the provider's authorize page, submits it
(over TLS, as the user's browser would), and brings the provider's answer back to `/signin-entra`.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from d365portal.crm import crm
from d365portal.emulator import seed as S
from d365portal.identity import issue_reset_link
from d365portal.identity.invitations import external_invitation_link, grant_access, send_invitation
from d365portal.settings import Settings
from tests.conftest import make_settings, provider_setting
from tests.oidc_provider import OTHER_TENANT, TENANT, User
from tests.web.account_helpers import LOGIN, LOGOUT, csrf_token, text

START = "/es-ES/Account/Login/External/entra"
CALLBACK = "/signin-entra"
NO_ACCESS = "Su cuenta de Microsoft no tiene acceso a este portal"
FAILED = "No se pudo iniciar sesión con Microsoft"


@pytest.fixture()
def settings(tmp_path: Path, emulator: Any, oidc: Any) -> Settings:
    return make_settings(tmp_path, emulator.url, identity_providers=[provider_setting(oidc)])


def at_provider(client: FlaskClient, start: str = START, decision: str = "accept") -> dict[str, str]:
    """Start at the portal, go through the provider's page; the answer it posts back (form_post)."""
    response = client.get(start)
    assert response.status_code == 302, text(response)
    authorize = response.headers["Location"]
    query = {k: v[0] for k, v in parse_qs(urlsplit(authorize).query).items()}
    assert query["response_mode"] == "form_post" and query["code_challenge_method"] == "S256"
    page = requests.get(authorize, timeout=10)
    assert page.status_code == 200
    answer = requests.post(authorize.split("?")[0], data={**query, "decision": decision}, timeout=10)
    action = re.search(r'action="([^"]+)"', answer.text)
    assert action and action.group(1) == "http://portal.test/signin-entra"
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', answer.text))


def back_at_portal(client: FlaskClient, answer: dict[str, str]) -> Any:
    """The provider's page posts its answer to the redirect URI (and the portal's relay page posts it
    on once, as the browser does, when the session holds no flow)."""
    response = client.post(CALLBACK, data=answer)
    if response.status_code == 200 and 'id="relay-form"' in text(response):
        response = client.post(CALLBACK, data={**answer, "d365_relay": "1"})
    return response


def test_an_answer_posted_without_the_session_cookie_is_relayed_by_the_portals_own_page(
    app: Flask, client: FlaskClient, oidc: Any
) -> None:
    """The provider posts from its own site: a SameSite=Lax cookie stays behind. The portal answers a
    page of its own that posts the same fields on (same-site, with the cookie), and writes no session."""
    link(app, oidc, S.DEMO_CONTACT_ID, "lmelo-subject")
    oidc.next_user = User(sub="lmelo-subject")
    answer = at_provider(client)
    cookieless = app.test_client().post(CALLBACK, data=answer)
    page = text(cookieless)
    assert cookieless.status_code == 200 and 'id="relay-form"' in page
    assert f'name="code" value="{answer["code"]}"' in page and 'src="/static/js/relay.js"' in page
    assert "Set-Cookie" not in cookieless.headers
    assert back_at_portal(client, answer).status_code == 302
    assert signed_in_contact(client) == str(S.DEMO_CONTACT_ID)


def signed_in_contact(client: FlaskClient) -> str | None:
    with client.session_transaction() as session:
        principal = session.get("principal")
    return principal["contact_id"] if principal else None


def identities(emulator: Any) -> list[dict[str, Any]]:
    return list(emulator.store.rows("adx_externalidentities").values())


def link(app: Flask, oidc: Any, contact_id: Any, sub: str) -> None:
    with app.app_context():
        crm().external.link(contact_id, oidc.issuer(), sub)


def test_a_linked_contact_signs_in_with_microsoft_in_one_read_and_one_write(
    app: Flask, client: FlaskClient, emulator: Any, oidc: Any
) -> None:
    page = text(client.get(LOGIN))
    assert 'href="/es-ES/Account/Login/External/entra"' in page and "Iniciar sesión con Microsoft" in page
    link(app, oidc, S.DEMO_CONTACT_ID, "lmelo-subject")
    oidc.next_user = User(sub="lmelo-subject", email=S.DEMO_EMAIL)
    back = at_provider(client)
    before = client.get_cookie("d365_session")
    emulator.stats.reset()
    response = back_at_portal(client, back)
    assert response.status_code == 302 and response.headers["Location"] == "/es-ES/"
    # The link with its contact expanded, and the last sign-in.
    assert emulator.stats.snapshot()["requests"] == {"GET adx_externalidentities": 1, "PATCH contacts": 1}
    assert signed_in_contact(client) == str(S.DEMO_CONTACT_ID)
    after = client.get_cookie("d365_session")
    assert before is not None and after is not None and after.value != before.value  # a new session id
    assert "Lorena Melo" in text(client.get("/es-ES/"))
    row = emulator.store.rows("contacts")[str(S.DEMO_CONTACT_ID)]
    assert row["adx_identity_lastsuccessfullogin"]
    # PKCE: the code was redeemed with a verifier; the browser holds only the session cookie.
    redeemed = [r for r in oidc.token_requests if r.get("grant_type") == "authorization_code"][-1]
    assert len(redeemed["code_verifier"]) >= 43
    assert {c.key for c in client._cookies.values()} == {"d365_session"}  # type: ignore[attr-defined]


def test_first_sign_in_through_an_invitation_links_the_identity(
    app: Flask, client: FlaskClient, emulator: Any, oidc: Any
) -> None:
    with app.test_request_context(base_url="http://portal.test"):
        contact = crm().contacts.get(S.DEMO_SECOND_CONTACT_ID)
        invited = grant_access(contact, "agomez")
        send_invitation(invited, "es-ES")
        link_url = external_invitation_link(issue_reset_link(invited, lifetime=timedelta(days=7)), "entra")
    mail = sorted(Path(app.config["SETTINGS"].mail_outbox).glob("*.eml"))[-1].read_text()
    assert "Iniciar sesi=C3=B3n con Microsoft" in mail or "Iniciar sesión con Microsoft" in mail
    assert "/es-ES/Account/Login/External/entra?userId=" in mail.replace("=\n", "")
    oidc.next_user = User(sub="agomez-subject", email="agomez@inovait.co")
    path = urlsplit(link_url)
    back = at_provider(client, f"{path.path}?{path.query}")
    response = back_at_portal(client, back)
    assert response.status_code == 302, text(response)
    assert signed_in_contact(client) == str(S.DEMO_SECOND_CONTACT_ID)
    (row,) = [r for r in identities(emulator) if r["adx_username"] == "agomez-subject"]
    assert row["adx_identityprovidername"] == oidc.issuer()
    assert row["_adx_contactid_value"] == str(S.DEMO_SECOND_CONTACT_ID)
    # The invitation is used up: another Microsoft account cannot redeem it.
    client.post(LOGOUT, data={"csrf_token": csrf_token(client, "/es-ES/")})
    oidc.next_user = User(sub="someone-else", email="x@otra.co")
    again = back_at_portal(client, at_provider(client, f"{path.path}?{path.query}"))
    assert again.status_code == 403 and NO_ACCESS in text(again)


def test_an_unknown_identity_gets_the_no_access_page_and_nothing_is_signed_in(
    client: FlaskClient, emulator: Any, oidc: Any
) -> None:
    oidc.next_user = User(sub="stranger", email=S.DEMO_EMAIL, email_verified=True)  # matching is off
    response = back_at_portal(client, at_provider(client))
    assert response.status_code == 403
    page = text(response)
    assert NO_ACCESS in page and "invitación" in page
    assert signed_in_contact(client) is None and not identities(emulator)
    assert client.get("/es-ES/support/").status_code == 302


@pytest.mark.parametrize("spoil", ["audience", "issuer", "expired", "signature", "nonce"])
def test_a_spoiled_id_token_fails_with_a_clear_page(
    app: Flask, client: FlaskClient, oidc: Any, spoil: str, caplog: pytest.LogCaptureFixture
) -> None:
    link(app, oidc, S.DEMO_CONTACT_ID, "lmelo-subject")
    oidc.next_user = User(sub="lmelo-subject")
    back = at_provider(client)
    oidc.spoil = spoil
    response = back_at_portal(client, back)
    assert response.status_code == 400
    assert FAILED in text(response) and "No se inició ninguna sesión" in text(response)
    assert signed_in_contact(client) is None
    assert f"reason={spoil}" in caplog.text


def test_a_forged_state_and_a_replayed_code_fail(app: Flask, client: FlaskClient, oidc: Any) -> None:
    link(app, oidc, S.DEMO_CONTACT_ID, "lmelo-subject")
    oidc.next_user = User(sub="lmelo-subject")
    back = at_provider(client)
    response = back_at_portal(client, {**back, "state": "forged-by-attacker"})
    assert response.status_code == 400 and FAILED in text(response)
    assert signed_in_contact(client) is None
    # The same answer again: its flow is gone (single use).
    assert back_at_portal(client, back).status_code == 400 and signed_in_contact(client) is None
    # A real sign-in, then its code brought back with a fresh flow's state: the provider refuses it.
    ok = at_provider(client)
    assert back_at_portal(client, ok).status_code == 302
    client.post(LOGOUT, data={"csrf_token": csrf_token(client, "/es-ES/")})
    fresh = urlsplit(client.get(START).headers["Location"])
    state = parse_qs(fresh.query)["state"][0]
    response = back_at_portal(client, {**ok, "state": state})
    assert response.status_code == 400 and FAILED in text(response)
    assert signed_in_contact(client) is None


def test_cancelling_at_the_provider_says_so(client: FlaskClient, oidc: Any) -> None:
    oidc.next_user = User(sub="x")
    response = back_at_portal(client, at_provider(client, decision="cancel"))
    assert response.status_code == 400 and "Se canceló el inicio de sesión" in text(response)


def test_a_disabled_contact_cannot_sign_in_with_microsoft(
    app: Flask, client: FlaskClient, emulator: Any, oidc: Any
) -> None:
    link(app, oidc, S.DEMO_CONTACT_ID, "lmelo-subject")
    emulator.store.rows("contacts")[str(S.DEMO_CONTACT_ID)]["adx_identity_logonenabled"] = False
    oidc.next_user = User(sub="lmelo-subject")
    response = back_at_portal(client, at_provider(client))
    assert response.status_code == 403 and "deshabilitado" in text(response)
    assert signed_in_contact(client) is None


def test_a_locked_out_contact_cannot_sign_in_with_microsoft(
    app: Flask, client: FlaskClient, emulator: Any, oidc: Any
) -> None:
    link(app, oidc, S.DEMO_CONTACT_ID, "lmelo-subject")
    row = emulator.store.rows("contacts")[str(S.DEMO_CONTACT_ID)]
    row["adx_identity_lockoutenddate"] = "2099-01-01T00:00:00Z"
    oidc.next_user = User(sub="lmelo-subject")
    response = back_at_portal(client, at_provider(client))
    assert response.status_code == 403 and "bloqueada" in text(response)


def test_the_external_sign_in_is_rate_limited_per_address(tmp_path: Path, emulator: Any, oidc: Any) -> None:
    from d365portal import create_app

    app = create_app(make_settings(tmp_path, emulator.url, identity_providers=[provider_setting(oidc)],
                                   signin_rate_per_ip=2))  # fmt: skip
    client = app.test_client()
    assert client.get(START).status_code == 302
    assert client.get(START).status_code == 302
    limited = client.get(START)
    assert limited.status_code == 429 and "Demasiados intentos" in text(limited)


@pytest.mark.parametrize("verified", [True, False])
def test_a_verified_email_links_only_where_the_provider_allows_it(
    tmp_path: Path, emulator: Any, oidc: Any, verified: bool
) -> None:
    from d365portal import create_app

    setting = provider_setting(oidc, match_verified_email=True)
    app = create_app(make_settings(tmp_path, emulator.url, identity_providers=[setting]))
    client = app.test_client()
    oidc.next_user = User(sub="by-email", email=S.DEMO_EMAIL.upper(), email_verified=verified)
    response = back_at_portal(client, at_provider(client))
    if verified:
        assert response.status_code == 302 and signed_in_contact(client) == str(S.DEMO_CONTACT_ID)
        assert [r["adx_username"] for r in identities(emulator)] == ["by-email"]
    else:  # an address the provider does not vouch for links nothing
        assert response.status_code == 403 and not identities(emulator)


def test_a_multi_tenant_provider_admits_only_the_allowed_tenants(
    tmp_path: Path, emulator: Any, oidc: Any
) -> None:
    from d365portal import create_app

    setting = provider_setting(oidc, authority=oidc.authority("organizations"), allowed_tenants=[TENANT])
    app = create_app(make_settings(tmp_path, emulator.url, identity_providers=[setting]))
    with app.app_context():
        crm().external.link(S.DEMO_CONTACT_ID, oidc.issuer(TENANT), "ok-sub")
        crm().external.link(S.DEMO_CONTACT_ID, oidc.issuer(OTHER_TENANT), "other-sub")
    client = app.test_client()
    oidc.next_user = User(sub="other-sub", tenant=OTHER_TENANT)
    refused = back_at_portal(client, at_provider(client))
    assert refused.status_code == 400 and signed_in_contact(client) is None
    oidc.next_user = User(sub="ok-sub", tenant=TENANT)
    assert back_at_portal(client, at_provider(client)).status_code == 302
    assert signed_in_contact(client) == str(S.DEMO_CONTACT_ID)


def test_sign_out_can_sign_out_at_the_provider_too(tmp_path: Path, emulator: Any, oidc: Any) -> None:
    from d365portal import create_app

    setting = provider_setting(oidc, front_channel_logout=True)
    app = create_app(make_settings(tmp_path, emulator.url, identity_providers=[setting]))
    link(app, oidc, S.DEMO_CONTACT_ID, "lmelo-subject")
    client = app.test_client()
    oidc.next_user = User(sub="lmelo-subject")
    back_at_portal(client, at_provider(client))
    response = client.post(LOGOUT, data={"csrf_token": csrf_token(client, "/es-ES/")})
    away = response.headers["Location"]
    assert away.startswith(f"{oidc.url}/{TENANT}/oauth2/v2.0/logout?post_logout_redirect_uri=")
    assert oidc.url in response.headers["Content-Security-Policy"]
    assert signed_in_contact(client) is None


def test_local_sign_in_can_be_switched_off(tmp_path: Path, emulator: Any, oidc: Any) -> None:
    from d365portal import create_app

    app = create_app(make_settings(tmp_path, emulator.url, identity_providers=[provider_setting(oidc)],
                                   local_signin_enabled=False))  # fmt: skip
    client = app.test_client()
    page = text(client.get(LOGIN))
    assert 'name="password"' not in page and "Iniciar sesión con Microsoft" in page
    posted = client.post(LOGIN, data={"username": S.DEMO_USERNAME, "password": S.DEMO_PASSWORD})
    assert posted.status_code in (400, 403) and signed_in_contact(client) is None
    forgot = text(client.get("/es-ES/Account/Login/ForgotPassword"))
    assert "no usa contraseñas" in forgot and 'name="email"' not in forgot


def test_a_provider_with_a_certificate_instead_of_a_secret(tmp_path: Path, emulator: Any, oidc: Any) -> None:
    """private_key_jwt: MSAL signs a client assertion with the PEM's key; the provider checks it."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    from d365portal import create_app

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "d365portal sign-in")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=30)).sign(key, hashes.SHA256()))  # fmt: skip
    pem = tmp_path / "signin.pem"
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    pem.write_bytes(private + cert.public_bytes(serialization.Encoding.PEM))
    oidc.client_certificate = cert
    try:
        setting = provider_setting(oidc, client_secret=None, certificate_path=str(pem),
                                   certificate_thumbprint=cert.fingerprint(hashes.SHA1()).hex())  # noqa: S303
        app = create_app(make_settings(tmp_path, emulator.url, identity_providers=[setting]))
        link(app, oidc, S.DEMO_CONTACT_ID, "lmelo-subject")
        client = app.test_client()
        oidc.next_user = User(sub="lmelo-subject")
        assert back_at_portal(client, at_provider(client)).status_code == 302
        assert signed_in_contact(client) == str(S.DEMO_CONTACT_ID)
        redeemed = [r for r in oidc.token_requests if r.get("grant_type") == "authorization_code"][-1]
        assert "client_secret" not in redeemed and redeemed["client_assertion_type"].endswith("jwt-bearer")
    finally:
        oidc.client_certificate = None


def test_the_provider_pages_in_english(client: FlaskClient, oidc: Any) -> None:
    page = text(client.get("/en-US/Account/Login/Login"))
    assert "Sign in with Microsoft" in page and 'href="/en-US/Account/Login/External/entra"' in page
    oidc.next_user = User(sub="stranger-en")
    response = back_at_portal(client, at_provider(client, "/en-US/Account/Login/External/entra"))
    assert response.status_code == 403
    assert "Your Microsoft account has no access to this portal" in text(response)
    assert 'lang="en"' in text(response)


def test_an_external_id_provider_with_its_own_label_and_its_sign_in_address(
    tmp_path: Path, emulator: Any, oidc: Any
) -> None:
    """Entra External ID: a label of the tenant's choosing; the customer's address comes as
    `preferred_username` (no `email` claim), verified by the provider."""
    from d365portal import create_app

    setting = provider_setting(oidc, kind="external_id", match_verified_email=True,
                               label_es="Entrar con su cuenta de cliente",
                               label_en="Customer account")  # fmt: skip
    app = create_app(make_settings(tmp_path, emulator.url, identity_providers=[setting]))
    client = app.test_client()
    assert "Entrar con su cuenta de cliente" in text(client.get(LOGIN))
    assert "Customer account" in text(client.get("/en-US/Account/Login/Login"))
    oidc.next_user = User(sub="ciam-sub", preferred_username=S.DEMO_EMAIL, email_verified=True)
    assert back_at_portal(client, at_provider(client)).status_code == 302
    assert signed_in_contact(client) == str(S.DEMO_CONTACT_ID)
