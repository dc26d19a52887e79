"""Token providers for Dataverse: MSAL (client secret, certificate, managed identity) and a static token.

One MSAL application per provider, and one provider per process (built by `build_client`), created
on first use; MSAL caches the token, so a process asks the identity provider about once an hour.
Failures become `TokenError`s naming the AADSTS code and what to do; no secret is ever in a message.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import requests

from d365portal.dataverse.context import token_requests
from d365portal.dataverse.errors import TokenError, Unavailable, explain_aadsts
from d365portal.settings import Settings, SettingsError

log = logging.getLogger("d365portal.dataverse.auth")

_AADSTS = re.compile(r"AADSTS\d+")
# After a 401 one fresh token serves every thread refused with the old one: a token fetched for a
# 401 this recently is not thrown away again (Dataverse would refuse a second fresh one too).
REFRESH_COOLDOWN = 30.0


class TokenProvider(Protocol):
    """Gives a bearer token for Dataverse."""

    def get_token(self, *, force_refresh: bool = False) -> str:
        """A valid access token."""
        ...


class StaticTokenProvider:
    """A fixed token (the emulator)."""

    def __init__(self, token: str) -> None:
        self._token = token

    def get_token(self, *, force_refresh: bool = False) -> str:
        """The configured token."""
        return self._token


def token_error(result: dict[str, Any], where: str) -> TokenError:
    """A `TokenError` from MSAL's error dict: the AADSTS code, the identity provider's words, the fix."""
    description = str(result.get("error_description") or "")
    codes = _AADSTS.findall(description)
    if not codes and result.get("error_codes"):
        codes = [f"AADSTS{result['error_codes'][0]}"]
    code = codes[0] if codes else None
    error = result.get("error")
    said = description.split(" Trace ID:")[0].strip() or str(error or "no token")
    return TokenError(
        f"could not get a Dataverse token from {where}: {said} — {explain_aadsts(code)}",
        aadsts=code,
        error=error,
    )


class _TimedSession(requests.Session):
    """A session that gives every request a timeout: MSAL's managed identity calls pass none, and a
    hung IMDS endpoint would otherwise hold the token lock, and so every worker thread, forever."""

    def __init__(self, timeout: tuple[float, float]) -> None:
        super().__init__()
        self._timeout = timeout

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        """`requests.Session.request` with the default timeout when the caller gives none."""
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self._timeout
        return super().request(method, url, *args, **kwargs)


def _http_client(settings: Settings) -> requests.Session:
    return _TimedSession((settings.http_connect_timeout, settings.http_read_timeout))


class _MsalProvider:
    """Shared part of the MSAL providers: lazy app, serialized acquisition, error mapping, counting."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._app: Any = None
        self._lock = threading.Lock()
        self._refreshed_at: float | None = None  # time.monotonic() of the last refresh after a 401
        self.scope = f"{str(settings.dataverse_url).rstrip('/')}/.default"

    @property
    def where(self) -> str:
        """Who issues the tokens, for messages."""
        return str(self._settings.authority_host).rstrip("/")

    def _build(self) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    def _acquire(self, app: Any) -> dict[str, Any]:  # pragma: no cover - overridden
        raise NotImplementedError

    def _forget(self, app: Any) -> Any:
        """Drop the cached token (after a 401); returns the app to use next."""
        import msal

        # The app's cache holds only this provider's app-only tokens. (`remove_tokens_for_client()`
        # would first ask login.microsoftonline.com for authority aliases, even for a custom host.)
        cache = app.token_cache
        for token in list(cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN)):
            cache.remove_at(token)
        return app

    def get_token(self, *, force_refresh: bool = False) -> str:
        """A token from MSAL's cache, or a fresh one from the identity provider."""
        with self._lock:  # one token request even when many threads start at once
            try:
                if self._app is None:
                    self._app = self._build()
                refresh = force_refresh and not self._just_refreshed()
                if refresh:
                    self._app = self._forget(self._app)
                result = self._acquire(self._app)
                if refresh and "access_token" in result:
                    self._refreshed_at = time.monotonic()
            except requests.exceptions.RequestException as exc:
                raise Unavailable(f"could not reach the identity provider at {self.where}") from exc
            except ValueError as exc:
                raise self._setup_error(exc) from None
        if "access_token" not in result:
            raise token_error(result, self.where)
        if result.get("token_source") != "cache":
            token_requests.increment()
            log.info("dataverse token acquired from %s", self.where)
        return str(result["access_token"])

    def _just_refreshed(self) -> bool:
        """True when a 401 made us fetch the cached token moments ago: the other threads whose calls
        were refused with the old token use it instead of each asking the identity provider again."""
        return self._refreshed_at is not None and time.monotonic() - self._refreshed_at < REFRESH_COOLDOWN

    def _setup_error(self, exc: ValueError) -> TokenError:
        """MSAL refused to start: the authority's discovery failed (unknown tenant) or a bad credential."""
        text = str(exc)
        codes = _AADSTS.findall(text)
        if codes or "Discovery" in text or "authority" in text.lower():
            code = codes[0] if codes else "AADSTS90002"
            return TokenError(
                f"could not get a Dataverse token from {self.where}: {code} — {explain_aadsts(code)}",
                aadsts=code,
            )
        # Not echoing MSAL's text: it may describe the key material.
        return TokenError(
            f"could not get a Dataverse token from {self.where}: the credential was refused by MSAL "
            f"({type(exc).__name__}) — check the D365_CERTIFICATE_* or D365_CLIENT_* settings",
            error="invalid_credential",
        )


class ConfidentialClientProvider(_MsalProvider):
    """MSAL confidential client with a client secret or a certificate."""

    def __init__(self, settings: Settings, credential: Any) -> None:
        super().__init__(settings)
        self._credential = credential

    def _build(self) -> Any:
        import msal

        settings = self._settings
        host = str(settings.authority_host).rstrip("/")
        return msal.ConfidentialClientApplication(
            settings.client_id,
            authority=f"{host}/{settings.tenant_id}",
            client_credential=self._credential,
            http_client=_http_client(settings),
            timeout=(settings.http_connect_timeout, settings.http_read_timeout),
            # The authority is configured explicitly (public, sovereign or private host): MSAL reads its
            # discovery document and skips asking login.microsoftonline.com about it or its aliases.
            instance_discovery=False,
        )

    def _acquire(self, app: Any) -> dict[str, Any]:
        return dict(app.acquire_token_for_client(scopes=[self.scope]) or {})


class CertificateProvider(ConfidentialClientProvider):
    """MSAL confidential client with a certificate: PEM + thumbprint, or PFX + passphrase."""

    def __init__(self, settings: Settings) -> None:
        self.certificate_path = Path(settings.certificate_path or "")
        credential, self.expires_on = load_certificate_credential(settings)
        super().__init__(settings, credential)


def load_certificate_credential(settings: Settings) -> tuple[dict[str, Any], datetime | None]:
    """MSAL's `client_credential` dict for the certificate settings, and the certificate's expiry."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import pkcs12

    path = Path(settings.certificate_path or "")
    password = settings.certificate_password.get_secret_value() if settings.certificate_password else None
    try:
        data = path.read_bytes()
    except OSError:
        raise SettingsError(f"D365_CERTIFICATE_PATH: cannot read the certificate file {path}") from None
    if path.suffix.lower() in (".pfx", ".p12"):
        try:
            _key, cert, _extra = pkcs12.load_key_and_certificates(
                data, password.encode() if password else None
            )
        except ValueError:
            raise SettingsError("D365_CERTIFICATE_PASSWORD: the PFX file cannot be opened with it") from None
        credential: dict[str, Any] = {"private_key_pfx_path": str(path)}
        if password:
            credential["passphrase"] = password
        if settings.certificate_send_public:
            credential["public_certificate"] = True
        return credential, cert.not_valid_after_utc if cert is not None else None
    text = data.decode("ascii", errors="replace")
    if "PRIVATE KEY-----" not in text:
        raise SettingsError("D365_CERTIFICATE_PATH: the PEM file holds no private key")
    certs = re.findall(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", text, re.DOTALL)
    cert_obj = x509.load_pem_x509_certificate(certs[0].encode()) if certs else None
    credential = {"private_key": text}
    if password:
        credential["passphrase"] = password
    if settings.certificate_thumbprint:
        credential["thumbprint"] = settings.certificate_thumbprint.replace(":", "").strip()
    elif not certs:
        raise SettingsError("D365_CERTIFICATE_THUMBPRINT: required when the PEM file holds no certificate")
    if certs and (settings.certificate_send_public or not settings.certificate_thumbprint):
        credential["public_certificate"] = certs[0]
    return credential, cert_obj.not_valid_after_utc if cert_obj is not None else None


class ManagedIdentityProvider(_MsalProvider):
    """MSAL managed identity: system-assigned, or user-assigned with D365_MANAGED_IDENTITY_CLIENT_ID."""

    @property
    def where(self) -> str:
        """Who issues the tokens, for messages."""
        return "the managed identity endpoint"

    def _build(self) -> Any:
        import msal

        client_id = self._settings.managed_identity_client_id
        identity = (
            msal.UserAssignedManagedIdentity(client_id=client_id)
            if client_id
            else msal.SystemAssignedManagedIdentity()
        )
        return msal.ManagedIdentityClient(identity, http_client=_http_client(self._settings))

    def _forget(self, app: Any) -> Any:
        return self._build()  # a new client has an empty cache

    def _acquire(self, app: Any) -> dict[str, Any]:
        resource = str(self._settings.dataverse_url).rstrip("/")
        return dict(app.acquire_token_for_client(resource=resource) or {})


def _require(settings: Settings, *names: str) -> None:
    for name in names:
        if not getattr(settings, name):
            raise SettingsError(f"D365_{name.upper()}: required when D365_AUTH={settings.auth}")


def build_token_provider(settings: Settings) -> TokenProvider:
    """The provider `settings.auth` names (MSAL apps are built on first use, not here)."""
    if settings.auth == "static":
        return StaticTokenProvider(settings.static_token.get_secret_value())
    if settings.auth == "managed_identity":
        return ManagedIdentityProvider(settings)
    _require(settings, "tenant_id", "client_id")
    if settings.auth == "client_secret":
        if settings.client_secret is None:
            raise SettingsError("D365_CLIENT_SECRET: required when D365_AUTH=client_secret")
        return ConfidentialClientProvider(settings, settings.client_secret.get_secret_value())
    _require(settings, "certificate_path")
    return CertificateProvider(settings)


def certificate_expiry(provider: TokenProvider) -> datetime | None:
    """When the provider's certificate expires (None for providers without one)."""
    expires = getattr(provider, "expires_on", None)
    return expires.astimezone(UTC) if isinstance(expires, datetime) else None
