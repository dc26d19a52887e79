"""Token providers through a scripted identity provider: cache, AADSTS explanations, certificates, MI."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
import responses
from responses import matchers

from d365portal.dataverse.auth import (
    CertificateProvider,
    ConfidentialClientProvider,
    ManagedIdentityProvider,
    StaticTokenProvider,
    build_token_provider,
    certificate_expiry,
)
from d365portal.dataverse.context import token_requests
from d365portal.dataverse.errors import TokenError, explain_aadsts
from d365portal.settings import Settings, SettingsError
from tests.dataverse.idp import CLIENT_ID, SECRET, TENANT, aadsts_body, register_idp, token_body

ORG = "https://org.crm.dynamics.com"


def make(**values: Any) -> Settings:
    """Settings for a provider test (no config file, no environment)."""
    base = {"dataverse_url": ORG, "tenant_id": TENANT, "client_id": CLIENT_ID}
    return Settings(**{**base, **values})


def form(call: responses.Call) -> dict[str, str]:
    """The form fields of a token request."""
    return {k: v[0] for k, v in parse_qs(call.request.body).items()}


def test_client_secret_token_is_cached_one_request_for_many_calls(mock: responses.RequestsMock) -> None:
    endpoint = register_idp(mock)
    mock.post(endpoint, json=token_body("tok-A"))
    token_requests.reset()
    provider = build_token_provider(make(auth="client_secret", client_secret=SECRET))
    assert isinstance(provider, ConfidentialClientProvider)
    assert [provider.get_token() for _ in range(5)] == ["tok-A"] * 5
    token_calls = [c for c in mock.calls if c.request.url == endpoint]
    assert len(token_calls) == 1 and token_requests.value == 1
    sent = form(token_calls[0])
    assert sent["grant_type"] == "client_credentials" and sent["scope"] == f"{ORG}/.default"
    assert sent["client_id"] == CLIENT_ID and sent["client_secret"] == SECRET


def test_force_refresh_asks_again(mock: responses.RequestsMock) -> None:
    endpoint = register_idp(mock)
    mock.post(endpoint, json=token_body("tok-A"))
    mock.post(endpoint, json=token_body("tok-B"))
    provider = build_token_provider(make(auth="client_secret", client_secret=SECRET))
    assert provider.get_token() == "tok-A"
    assert provider.get_token(force_refresh=True) == "tok-B"


@pytest.mark.parametrize(
    ("code", "error", "advice"),
    [
        (7000215, "invalid_client", "client secret is wrong"),
        (7000222, "invalid_client", "client secret has expired"),
        (700016, "unauthorized_client", "D365_CLIENT_ID"),
    ],
)
def test_aadsts_failures_name_the_code_and_the_fix_never_the_secret(
    mock: responses.RequestsMock, code: int, error: str, advice: str
) -> None:
    endpoint = register_idp(mock)
    mock.post(endpoint, status=401 if code != 700016 else 400, json=aadsts_body(code, error, "Refused."))
    provider = build_token_provider(make(auth="client_secret", client_secret=SECRET))
    with pytest.raises(TokenError) as caught:
        provider.get_token()
    message = str(caught.value)
    assert f"AADSTS{code}" in message and advice in message
    assert SECRET not in message and caught.value.aadsts == f"AADSTS{code}"


def test_unknown_tenant_is_explained(mock: responses.RequestsMock) -> None:
    host = "https://login.microsoftonline.com"
    mock.get(
        f"{host}/{TENANT}/v2.0/.well-known/openid-configuration",
        status=400,
        json=aadsts_body(90002, "invalid_tenant", f"Tenant '{TENANT}' not found."),
    )
    provider = build_token_provider(make(auth="client_secret", client_secret=SECRET))
    with pytest.raises(TokenError) as caught:
        provider.get_token()
    assert "AADSTS90002" in str(caught.value) and "D365_TENANT_ID" in str(caught.value)


def test_explain_aadsts_for_the_check_command() -> None:
    assert "expired" in explain_aadsts("AADSTS7000222")
    assert "Application users" in explain_aadsts("0x80072560")
    assert "AADSTS" in explain_aadsts("AADSTS1234567")


def test_custom_authority_host_no_instance_discovery(mock: responses.RequestsMock) -> None:
    endpoint = register_idp(mock, host="https://login.sovereign.test")
    mock.post(endpoint, json=token_body("sovereign"))
    provider = build_token_provider(
        make(auth="client_secret", client_secret=SECRET, authority_host="https://login.sovereign.test")
    )
    assert provider.get_token() == "sovereign"
    assert all(c.request.url.startswith("https://login.sovereign.test/") for c in mock.calls)


def test_missing_settings_are_named() -> None:
    with pytest.raises(SettingsError, match="D365_CLIENT_SECRET"):
        build_token_provider(make(auth="client_secret"))
    with pytest.raises(SettingsError, match="D365_TENANT_ID"):
        build_token_provider(make(auth="client_secret", tenant_id=None, client_secret=SECRET))
    assert isinstance(build_token_provider(make(auth="static")), StaticTokenProvider)


# --- certificates ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A self-signed certificate as PEM (key + cert) and as a passphrase-protected PFX."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "d365portal-test")])
    not_after = datetime(2027, 1, 15, tzinfo=UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(datetime.now(UTC) - timedelta(days=1))
        .not_valid_after(not_after)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("cert")
    pem = folder / "portal.pem"
    pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        + cert.public_bytes(serialization.Encoding.PEM)
    )
    pfx = folder / "portal.pfx"
    pfx.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"portal", key, cert, None, serialization.BestAvailableEncryption(b"pfx-pass")
        )
    )
    thumbprint = cert.fingerprint(hashes.SHA1()).hex().upper()  # noqa: S303 - the thumbprint Entra shows
    return {"pem": pem, "pfx": pfx, "thumbprint": thumbprint, "not_after": not_after}


def jwt_header(call: responses.Call) -> dict[str, Any]:
    """The header of the client assertion MSAL sent."""
    assertion = form(call)["client_assertion"]
    head = assertion.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))


def test_certificate_pem_with_thumbprint(mock: responses.RequestsMock, certificate: dict[str, Any]) -> None:
    endpoint = register_idp(mock)
    mock.post(endpoint, json=token_body("cert-tok"))
    provider = build_token_provider(
        make(
            auth="certificate",
            certificate_path=certificate["pem"],
            certificate_thumbprint=certificate["thumbprint"],
        )
    )
    assert isinstance(provider, CertificateProvider)
    assert provider.get_token() == "cert-tok"
    sent = form(mock.calls[-1])
    assert sent["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    assert "x5c" not in jwt_header(mock.calls[-1])
    assert certificate_expiry(provider) == certificate["not_after"]


def test_certificate_pfx_with_passphrase_sends_the_public_certificate(
    mock: responses.RequestsMock, certificate: dict[str, Any]
) -> None:
    endpoint = register_idp(mock)
    mock.post(endpoint, json=token_body("pfx-tok"))
    provider = build_token_provider(
        make(
            auth="certificate",
            certificate_path=certificate["pfx"],
            certificate_password="pfx-pass",
            certificate_send_public=True,
        )
    )
    assert provider.get_token() == "pfx-tok"
    assert "x5c" in jwt_header(mock.calls[-1])
    assert certificate_expiry(provider) == certificate["not_after"]


def test_wrong_pfx_passphrase_is_a_settings_error(certificate: dict[str, Any]) -> None:
    with pytest.raises(SettingsError, match="D365_CERTIFICATE_PASSWORD") as caught:
        build_token_provider(
            make(auth="certificate", certificate_path=certificate["pfx"], certificate_password="no")
        )
    assert "no" not in str(caught.value).split(":", 1)[1].split()  # the value is never echoed


# --- managed identity -----------------------------------------------------------------------------

IMDS = "http://169.254.169.254/metadata/identity/oauth2/token"
MI_VARIABLES = (
    "IDENTITY_ENDPOINT", "IDENTITY_HEADER", "IDENTITY_SERVER_THUMBPRINT", "MSI_ENDPOINT", "MSI_SECRET",
    "IMDS_ENDPOINT", "AZURE_POD_IDENTITY_AUTHORITY_HOST",
)  # fmt: skip


@pytest.fixture()
def vm_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No App Service / Arc / Cloud Shell variables: MSAL uses the VM's IMDS endpoint."""
    for name in MI_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def imds_body(token: str) -> dict[str, Any]:
    """IMDS's answer."""
    return {"access_token": token, "expires_in": "3599", "resource": ORG, "token_type": "Bearer"}


def test_system_assigned_managed_identity(mock: responses.RequestsMock, vm_environment: None) -> None:
    mock.get(
        IMDS,
        json=imds_body("mi-tok"),
        match=[matchers.query_param_matcher({"resource": ORG}, strict_match=False)],
    )
    provider = build_token_provider(make(auth="managed_identity"))
    assert isinstance(provider, ManagedIdentityProvider)
    assert provider.get_token() == provider.get_token() == "mi-tok"
    assert len(mock.calls) == 1
    assert "client_id" not in mock.calls[0].request.url


def test_managed_identity_calls_have_a_timeout(mock: responses.RequestsMock, vm_environment: None) -> None:
    # MSAL sends IMDS requests without a timeout; a hung endpoint must not hang every worker thread.
    mock.get(IMDS, json=imds_body("mi-tok"))
    provider = build_token_provider(make(auth="managed_identity", http_read_timeout=4.0))
    assert provider.get_token() == "mi-tok"
    assert mock.calls[0].request.req_kwargs["timeout"] == (3.05, 4.0)


def test_user_assigned_managed_identity(mock: responses.RequestsMock, vm_environment: None) -> None:
    mock.get(
        IMDS,
        json=imds_body("ua-tok"),
        match=[matchers.query_param_matcher({"resource": ORG, "client_id": CLIENT_ID}, strict_match=False)],
    )
    provider = build_token_provider(make(auth="managed_identity", managed_identity_client_id=CLIENT_ID))
    assert provider.get_token() == "ua-tok"


def test_unreadable_certificate_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="D365_CERTIFICATE_PATH"):
        build_token_provider(make(auth="certificate", certificate_path=tmp_path / "missing.pem"))


def test_a_credential_msal_refuses_is_a_token_error_without_key_material(
    mock: responses.RequestsMock, certificate: dict[str, Any]
) -> None:
    register_idp(mock)
    provider = build_token_provider(
        make(
            auth="certificate",
            certificate_path=certificate["pem"],
            certificate_thumbprint="not-a-hex-thumbprint",
        )
    )
    with pytest.raises(TokenError) as caught:
        provider.get_token()
    assert "credential was refused" in str(caught.value) and "PRIVATE KEY" not in str(caught.value)


def test_dataverse_401_makes_msal_fetch_a_new_token_once(mock: responses.RequestsMock) -> None:
    from d365portal.dataverse.client import DataverseClient

    endpoint = register_idp(mock)
    mock.post(endpoint, json=token_body("expired-in-dataverse"))
    mock.post(endpoint, json=token_body("fresh"))
    api = f"{ORG}/api/data/v9.2/"
    mock.get(
        f"{api}WhoAmI",
        status=401,
        match=[matchers.header_matcher({"Authorization": "Bearer expired-in-dataverse"})],
    )
    mock.get(
        f"{api}WhoAmI",
        json={"UserId": "u"},
        match=[matchers.header_matcher({"Authorization": "Bearer fresh"})],
    )
    client = DataverseClient(api, build_token_provider(make(auth="client_secret", client_secret=SECRET)))
    assert client.whoami()["UserId"] == "u"
    assert client.whoami()["UserId"] == "u"  # the fresh token is cached: no third token request
    assert len([c for c in mock.calls if c.request.url == endpoint]) == 2


def test_threads_starting_together_make_one_token_request(mock: responses.RequestsMock) -> None:
    from concurrent.futures import ThreadPoolExecutor

    endpoint = register_idp(mock)
    mock.post(endpoint, json=token_body("shared"))
    provider = build_token_provider(make(auth="client_secret", client_secret=SECRET))
    with ThreadPoolExecutor(max_workers=8) as pool:
        tokens = list(pool.map(lambda _: provider.get_token(), range(32)))
    assert set(tokens) == {"shared"}
    assert len([c for c in mock.calls if c.request.url == endpoint]) == 1


def test_threads_refused_together_share_one_fresh_token(mock: responses.RequestsMock) -> None:
    # Eight page views got 401 with the same expired token: one new token serves them all.
    endpoint = register_idp(mock)
    mock.post(endpoint, json=token_body("old"))
    mock.post(endpoint, json=token_body("fresh"))
    provider = build_token_provider(make(auth="client_secret", client_secret=SECRET))
    assert provider.get_token() == "old"
    assert {provider.get_token(force_refresh=True) for _ in range(8)} == {"fresh"}
    assert len([c for c in mock.calls if c.request.url == endpoint]) == 2
