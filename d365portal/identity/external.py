"""Sign-in with OpenID Connect providers: Microsoft Entra ID and Entra External ID (issue 17).

MSAL runs the authorization-code flow with PKCE (`initiate_auth_code_flow` /
`acquire_token_by_auth_code_flow`): it makes the state, the nonce and the PKCE verifier, checks the
state and the nonce, and redeems the code at the token endpoint. Since msal 1.38 it no longer
validates the ID token ("validation is the application's responsibility"), so `Provider.finish`
does: signature against the provider's published keys (JWKS), issuer (per tenant for a multi-tenant
authority), audience, expiry, and the allowed tenants. Nothing from the provider reaches the
browser: the flow lives in the server-side session, the tokens are dropped once read.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, Literal
from urllib.parse import urlencode

import jwt
import requests

from d365portal.dataverse.auth import load_certificate_credential
from d365portal.settings import IdentityProvider, Settings, SettingsError

log = logging.getLogger(__name__)

Reason = Literal[
    "state", "cancelled", "provider", "code", "nonce", "signature", "issuer", "audience", "expired",
    "tenant", "claims", "unavailable",
]  # fmt: skip
METADATA_SECONDS = 3600
JWKS_REFRESH_SECONDS = 60  # an unknown key id re-reads the keys at most this often (key rotation)
LEEWAY_SECONDS = 60
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "ES256"]
SCOPES = ["email"]  # MSAL adds openid, profile and offline_access itself


class ExternalSignInError(Exception):
    """The provider's answer cannot sign anyone in; `reason` says why (for the log and the page)."""

    def __init__(self, reason: Reason, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class ExternalUser:
    """Who the provider says signed in, from a validated ID token."""

    provider: str  # the settings' name
    issuer: str  # adx_identityprovidername
    key: str  # adx_username: the `sub` (or `oid`) claim
    email: str | None
    email_verified: bool
    name: str | None
    tenant: str | None


def _verified_email(claims: dict[str, Any]) -> bool:
    """The provider vouches for the address: OpenID's `email_verified`, or Entra's `xms_edov` (the email
    domain is verified by the user's tenant). Entra's plain `email` claim proves nothing."""
    return claims.get("email_verified") is True or claims.get("xms_edov") in (True, "true", "1", 1)


def _forgetful_cache() -> Any:
    """An MSAL token cache that keeps nothing: the portal needs the ID token once, at sign-in, and
    must not pile every user's access and refresh tokens up in the process's memory."""
    import msal

    class ForgetfulCache(msal.TokenCache):  # type: ignore[misc]
        def add(self, event: Any, now: Any = None) -> None:
            return None

    return ForgetfulCache()


class Provider:
    """One configured provider: its MSAL app, discovery document and signing keys, built lazily."""

    def __init__(self, config: IdentityProvider, settings: Settings, http: requests.Session) -> None:
        self.config = config
        self.name = config.name
        self._settings = settings
        self._http = http
        self._timeout = (settings.http_connect_timeout, settings.http_read_timeout)
        self._lock = threading.Lock()
        self._app: Any = None
        self._metadata: tuple[float, dict[str, Any]] | None = None
        self._keys: tuple[float, dict[str, jwt.PyJWK]] | None = None

    @property
    def authority(self) -> str:
        """The authority without a trailing slash."""
        return str(self.config.authority).rstrip("/")

    @property
    def discovery_url(self) -> str:
        """Entra ID and External ID publish the v2.0 OpenID configuration under the authority."""
        return f"{self.authority}/v2.0/.well-known/openid-configuration"

    def label(self, lang: str) -> str:
        """The button's text in the page's language."""
        return self.config.label_es if lang.startswith("es") else self.config.label_en

    # --- the provider's documents ----------------------------------------------------------
    def _get_json(self, url: str) -> dict[str, Any]:
        try:
            response = self._http.get(url, timeout=self._timeout)
        except requests.RequestException as exc:
            raise ExternalSignInError("unavailable", f"{url}: {type(exc).__name__}") from None
        if response.status_code != 200:
            raise ExternalSignInError("unavailable", f"{url}: HTTP {response.status_code}")
        try:
            body = response.json()
        except ValueError:
            raise ExternalSignInError("unavailable", f"{url}: not JSON") from None
        if not isinstance(body, dict):
            raise ExternalSignInError("unavailable", f"{url}: not a JSON object")
        return body

    def metadata(self) -> dict[str, Any]:
        """The discovery document (issuer, endpoints, jwks_uri), re-read hourly."""
        with self._lock:
            if self._metadata and time.monotonic() - self._metadata[0] < METADATA_SECONDS:
                return self._metadata[1]
        document = self._get_json(self.discovery_url)
        needed = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")
        missing = [k for k in needed if not document.get(k)]
        if missing:
            raise ExternalSignInError("unavailable", f"discovery document without {', '.join(missing)}")
        with self._lock:
            self._metadata = (time.monotonic(), document)
        return document

    def signing_keys(self) -> dict[str, jwt.PyJWK]:
        """The provider's published keys by key id, read now (`d365portal check`, key rotation)."""
        keys = jwt.PyJWKSet.from_dict(self._get_json(str(self.metadata()["jwks_uri"])))
        found = {str(k.key_id): k for k in keys.keys}
        with self._lock:
            self._keys = (time.monotonic(), found)
        return found

    def _signing_key(self, kid: str | None) -> jwt.PyJWK:
        """The key that signed a token: from the keys read last, or read again for a key id not seen
        yet (a rotation), at most once a minute."""
        with self._lock:
            cached = self._keys
        if cached is None:
            keys = self.signing_keys()
        elif str(kid) not in cached[1] and time.monotonic() - cached[0] >= JWKS_REFRESH_SECONDS:
            keys = self.signing_keys()
        else:
            keys = cached[1]
        if kid is None and len(keys) == 1:
            return next(iter(keys.values()))
        if str(kid) not in keys:
            raise ExternalSignInError("signature", f"no published key {kid!r}")
        return keys[str(kid)]

    # --- MSAL ------------------------------------------------------------------------------
    def _credential(self) -> Any:
        """The client secret, or MSAL's certificate credential read the way the Dataverse connection
        reads its own (PEM with key and certificate, or PFX)."""
        if self.config.client_secret is not None:
            return self.config.client_secret.get_secret_value()
        shim = SimpleNamespace(
            certificate_path=self.config.certificate_path, certificate_password=None,
            certificate_thumbprint=self.config.certificate_thumbprint, certificate_send_public=False,
        )  # fmt: skip
        credential, _expires = load_certificate_credential(shim)  # type: ignore[arg-type]
        return credential

    def app(self) -> Any:
        """The MSAL confidential client (one per provider and process)."""
        with self._lock:
            if self._app is not None:
                return self._app
        import msal

        try:
            application = msal.ConfidentialClientApplication(
                self.config.client_id,
                authority=self.authority,
                client_credential=self._credential(),
                http_client=self._http,
                timeout=self._timeout,
                token_cache=_forgetful_cache(),
                # The authority is explicit (Entra ID, External ID's ciamlogin.com, or a test server):
                # MSAL reads its discovery document and asks no one else about it.
                instance_discovery=False,
            )
        except SettingsError as exc:
            raise ExternalSignInError("unavailable", f"certificate of {self.name}: {exc}") from None
        except (ValueError, requests.RequestException, OSError) as exc:
            raise ExternalSignInError("unavailable", f"MSAL could not start: {type(exc).__name__}") from None
        with self._lock:
            self._app = self._app or application
            return self._app

    def begin(self, redirect_uri: str, *, login_hint: str | None = None) -> dict[str, Any]:
        """A new auth-code flow (state, nonce, PKCE): keep it server-side, send the user to `auth_uri`."""
        self.metadata()  # the keys' document must be reachable before anyone is sent away
        # form_post (RFC 9700 4.3.1): the code comes back in a POST body, never in a URL that a
        # browser history, a proxy log or a Referer could keep.
        flow = self.app().initiate_auth_code_flow(
            SCOPES, redirect_uri=redirect_uri, login_hint=login_hint, prompt="select_account",
            response_mode="form_post",
        )
        return dict(flow)

    def finish(self, flow: dict[str, Any], answer: dict[str, str]) -> ExternalUser:
        """Redeem the provider's answer and validate the ID token; `ExternalSignInError` otherwise."""
        if answer.get("error"):
            reason: Reason = "cancelled" if answer.get("error") == "access_denied" else "provider"
            raise ExternalSignInError(reason, str(answer.get("error"))[:80])
        try:
            result = self.app().acquire_token_by_auth_code_flow(flow, answer, scopes=SCOPES)
        except ValueError:  # MSAL: state missing or different (a forged or replayed answer)
            raise ExternalSignInError("state", "MSAL: state missing or different") from None
        except RuntimeError:  # MSAL: the ID token's nonce is not this flow's
            raise ExternalSignInError("nonce", "MSAL: the ID token's nonce is not the flow's") from None
        except requests.RequestException as exc:
            raise ExternalSignInError("unavailable", type(exc).__name__) from None
        if "error" in result:
            codes = result.get("error_codes") or []
            raise ExternalSignInError("code", f"{result.get('error')} {codes}"[:120])
        id_token = result.get("id_token")
        if not id_token:
            raise ExternalSignInError("claims", "no id_token")
        claims = self.validate(str(id_token))
        key = claims.get(self.config.subject_claim)
        if not isinstance(key, str) or not key:
            raise ExternalSignInError("claims", f"no {self.config.subject_claim} claim")
        email = claims.get("email")
        if not email and self.config.kind == "external_id":  # External ID: the sign-in address
            email = claims.get("preferred_username")
        return ExternalUser(
            provider=self.name, issuer=str(claims["iss"]), key=key,
            email=str(email) if isinstance(email, str) and "@" in email else None,
            email_verified=_verified_email(claims),
            name=str(claims.get("name")) if claims.get("name") else None,
            tenant=str(claims.get("tid")) if claims.get("tid") else None,
        )  # fmt: skip

    def validate(self, id_token: str) -> dict[str, Any]:
        """The ID token's claims once its signature, audience, expiry, issuer and tenant hold."""
        try:
            header = jwt.get_unverified_header(id_token)
        except jwt.PyJWTError:
            raise ExternalSignInError("claims", "not a JWT") from None
        key = self._signing_key(header.get("kid"))
        try:
            claims: dict[str, Any] = jwt.decode(
                id_token, key, algorithms=ALGORITHMS, audience=self.config.client_id, leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )  # fmt: skip
        except jwt.ExpiredSignatureError:
            raise ExternalSignInError("expired") from None
        except (jwt.InvalidAudienceError, jwt.MissingRequiredClaimError) as exc:
            reason: Reason = "audience" if isinstance(exc, jwt.InvalidAudienceError) else "claims"
            raise ExternalSignInError(reason, str(exc)[:80]) from None
        except jwt.InvalidSignatureError:
            raise ExternalSignInError("signature") from None
        except jwt.PyJWTError as exc:
            raise ExternalSignInError("claims", type(exc).__name__) from None
        tenant = claims.get("tid")
        expected = str(self.metadata()["issuer"])
        if "{tenantid}" in expected:  # a multi-tenant authority ("organizations", "common")
            if not isinstance(tenant, str) or not tenant:
                raise ExternalSignInError("tenant", "no tid claim")
            expected = expected.replace("{tenantid}", tenant)
        if claims.get("iss") != expected:
            raise ExternalSignInError("issuer", str(claims.get("iss"))[:120])
        allowed = {t.lower() for t in self.config.allowed_tenants}
        if allowed and str(tenant or "").lower() not in allowed:
            raise ExternalSignInError("tenant", str(tenant)[:40])
        return claims

    def end_session_url(self, post_logout_redirect_uri: str) -> str | None:
        """The provider's sign-out address, when front-channel sign-out is on and it publishes one."""
        if not self.config.front_channel_logout:
            return None
        try:
            endpoint = self.metadata().get("end_session_endpoint")
        except ExternalSignInError:
            return None
        if not endpoint:
            return None
        return f"{endpoint}?{urlencode({'post_logout_redirect_uri': post_logout_redirect_uri})}"

    def check_credentials(self) -> str | None:
        """None when the client id and secret/certificate get a token (client credentials, for
        Microsoft Graph's `.default`: no permission needed), else the provider's refusal."""
        try:
            result = self.app().acquire_token_for_client(scopes=["https://graph.microsoft.com/.default"])
        except (ExternalSignInError, requests.RequestException, ValueError) as exc:
            return str(exc)
        if "access_token" in (result or {}):
            return None
        return str((result or {}).get("error_description") or (result or {}).get("error") or "no token")[:300]


class Providers:
    """The configured providers by name."""

    def __init__(self, settings: Settings, http: requests.Session | None = None) -> None:
        self._http = http or requests.Session()
        self._by_name = {p.name: Provider(p, settings, self._http) for p in settings.identity_providers}

    def __iter__(self) -> Iterator[Provider]:
        return iter(self._by_name.values())

    def __bool__(self) -> bool:
        return bool(self._by_name)

    def get(self, name: str) -> Provider | None:
        """The provider of that name, or None."""
        return self._by_name.get(name)
