"""An OpenID Connect provider on loopback over TLS, shaped like Microsoft Entra ID (issue 17's tests).

It serves what MSAL's auth-code flow and the portal use — the v2.0 discovery document (per tenant,
and `organizations` with Entra's `{tenantid}` issuer template), the signing keys (JWKS), the
authorize page, the token endpoint (authorization code with PKCE, and client credentials for
`d365portal check`) and the sign-out endpoint — and issues ID tokens signed with its own RSA key.

A test says who signs in next (`next_user`) and may spoil the next ID token (`spoil`: "audience",
"issuer", "expired", "signature", "nonce") to see the portal refuse it. Codes are single use: a replayed
code gets Entra's AADSTS54005.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from bench.idp import write_self_signed

TENANT = "0b1d2c3e-4f50-4a6b-8c7d-9e0f1a2b3c4d"
OTHER_TENANT = "77777777-8888-4999-8aaa-bbbbbbbbbbbb"
CLIENT_ID = "4a3b2c1d-0000-4111-8222-333344445555"
CLIENT_SECRET = "oidc-test-secret~never-logged"  # noqa: S105 - a loopback-only test credential
KID = "test-key-1"


@dataclass
class User:
    """Who signs in at the provider."""

    sub: str
    email: str | None = None
    name: str = "Usuario de Prueba"
    tenant: str = TENANT
    oid: str = field(default_factory=lambda: secrets.token_hex(16))
    email_verified: bool | None = None
    edov: bool | None = None
    preferred_username: str | None = None  # External ID's sign-in address, when there is no `email`


class OpenIdProvider:
    """The provider; `url` is its https://127.0.0.1:<port> base, `cert_path` the CA the portal trusts."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.cert_path = directory / "oidc-cert.pem"
        key_path = directory / "oidc-key.pem"
        write_self_signed(self.cert_path, key_path)
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.stranger_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.next_user: User | None = None
        self.spoil: str | None = None
        self.codes: dict[str, dict[str, Any]] = {}
        self.used_codes: set[str] = set()
        self.token_requests: list[dict[str, str]] = []
        self.client_credentials = 0
        self.client_certificate: Any = None  # a certificate whose key may sign client assertions
        self.signed_out = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_path, key_path)
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        self.url = f"https://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="oidc-provider", daemon=True)

    def start(self) -> OpenIdProvider:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def authority(self, tenant: str = TENANT) -> str:
        """The authority a provider setting names: `<url>/<tenant>` or `<url>/organizations`."""
        return f"{self.url}/{tenant}"

    def issuer(self, tenant: str = TENANT) -> str:
        return f"{self.url}/{tenant}/v2.0"

    # --- tokens ----------------------------------------------------------------------------
    def id_token(self, user: User, nonce: str | None, spoil: str | None = None) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer(user.tenant), "aud": CLIENT_ID, "sub": user.sub, "oid": user.oid,
            "tid": user.tenant, "name": user.name, "iat": now, "nbf": now, "exp": now + 3600, "ver": "2.0",
        }  # fmt: skip
        if user.email:
            claims["email"] = user.email
            claims["preferred_username"] = user.email
        if user.preferred_username:
            claims["preferred_username"] = user.preferred_username
        if user.email_verified is not None:
            claims["email_verified"] = user.email_verified
        if user.edov is not None:
            claims["xms_edov"] = user.edov
        if nonce:
            claims["nonce"] = nonce
        key = self.key
        if spoil == "audience":
            claims["aud"] = "11111111-2222-4333-8444-999999999999"
        elif spoil == "issuer":
            claims["iss"] = "https://login.microsoftonline.com/attacker/v2.0"
        elif spoil == "expired":
            claims.update(iat=now - 7200, nbf=now - 7200, exp=now - 3600)
        elif spoil == "nonce":
            claims["nonce"] = "not-the-flows-nonce"
        elif spoil == "signature":
            key = self.stranger_key
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": KID})

    def jwks(self) -> dict[str, Any]:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        public.update(kid=KID, use="sig", alg="RS256")
        return {"keys": [public]}

    def discovery(self, tenant: str) -> dict[str, Any]:
        base = f"{self.url}/{tenant}"
        issuer = f"{self.url}/{{tenantid}}/v2.0" if tenant == "organizations" else self.issuer(tenant)
        return {
            "issuer": issuer,
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "jwks_uri": f"{base}/discovery/v2.0/keys",
            "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
            "response_types_supported": ["code", "id_token"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt"],
            "code_challenge_methods_supported": ["S256"],
        }

    # --- HTTP ------------------------------------------------------------------------------
    def _handler(self) -> type[BaseHTTPRequestHandler]:  # noqa: C901 - one small server
        idp = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
                """Quiet."""

            def _send(
                self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
            ) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def _json(self, status: int, body: dict[str, Any]) -> None:
                self._send(status, json.dumps(body).encode(), "application/json")

            def _redirect(self, target: str) -> None:
                self._send(302, b"", "text/plain", {"Location": target})

            def _answer(self, redirect_uri: str, mode: str | None, fields: dict[str, str]) -> None:
                """The answer as Entra sends it: an auto-posting form (form_post), or a redirect."""
                if mode != "form_post":
                    self._redirect(f"{redirect_uri}?{urlencode(fields)}")
                    return
                inputs = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                                 for k, v in fields.items())  # fmt: skip
                body = (
                    "<!doctype html><html><head><title>Working...</title></head><body>"
                    f'<form method="POST" name="hiddenform" action="{html.escape(redirect_uri)}">{inputs}'
                    "<noscript><p>Script is disabled. Click Submit to continue.</p>"
                    '<input type="submit" value="Submit"></noscript></form>'
                    "<script>document.forms[0].submit();</script></body></html>"
                )
                self._send(200, body.encode(), "text/html; charset=utf-8")

            def do_GET(self) -> None:  # noqa: N802 - stdlib name
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                segments = parts.path.strip("/").split("/")
                tenant, rest = segments[0], "/".join(segments[1:])
                if rest == "v2.0/.well-known/openid-configuration":
                    self._json(200, idp.discovery(tenant))
                elif rest == "discovery/v2.0/keys":
                    self._json(200, idp.jwks())
                elif rest == "oauth2/v2.0/authorize":
                    self._authorize_page(tenant, query)
                elif rest == "oauth2/v2.0/logout":
                    with idp._lock:
                        idp.signed_out += 1
                    target = query.get("post_logout_redirect_uri") or "/"
                    self._redirect(target)
                else:
                    self._json(404, {"error": "not_found"})

            def _authorize_page(self, tenant: str, query: dict[str, str]) -> None:
                user = idp.next_user
                if query.get("client_id") != CLIENT_ID or not query.get("redirect_uri"):
                    self._json(400, {"error": "invalid_request", "error_description": "AADSTS700016"})
                    return
                fields = "".join(
                    f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                    for k, v in query.items()
                )
                who = html.escape(user.email or user.sub) if user else "?"
                body = (
                    "<!doctype html><html lang='es'><head><title>Microsoft</title></head><body>"
                    f"<h1>Iniciar sesión</h1><p>Cuenta: <strong id='who'>{who}</strong></p>"
                    f"<form method='post' action='/{tenant}/oauth2/v2.0/authorize'>{fields}"
                    "<button type='submit' name='decision' value='accept'>Continuar</button>"
                    "<button type='submit' name='decision' value='cancel'>Cancelar</button>"
                    "</form></body></html>"
                )
                self._send(200, body.encode(), "text/html; charset=utf-8")

            def do_POST(self) -> None:  # noqa: N802 - stdlib name
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                path = urlsplit(self.path).path.strip("/").split("/")
                rest = "/".join(path[1:])
                if rest == "oauth2/v2.0/authorize":
                    self._decide(form)
                elif rest == "oauth2/v2.0/token":
                    self._token(form)
                else:
                    self._json(404, {"error": "not_found"})

            def _decide(self, form: dict[str, str]) -> None:
                redirect_uri, state = form["redirect_uri"], form.get("state", "")
                mode = form.get("response_mode")
                if form.get("decision") != "accept" or idp.next_user is None:
                    error = {"error": "access_denied", "error_description": "AADSTS65004: cancelled",
                             "state": state}  # fmt: skip
                    self._answer(redirect_uri, mode, error)
                    return
                code = secrets.token_urlsafe(24)
                with idp._lock:
                    idp.codes[code] = {
                        "user": idp.next_user, "nonce": form.get("nonce"), "redirect_uri": redirect_uri,
                        "challenge": form.get("code_challenge"), "method": form.get("code_challenge_method"),
                    }  # fmt: skip
                self._answer(redirect_uri, mode, {"code": code, "state": state})

            def _client_authenticated(self, form: dict[str, str]) -> bool:
                """A client secret, or a client assertion signed by the registered certificate's key
                (private_key_jwt: iss = sub = the client id, aud = the token endpoint)."""
                if form.get("client_secret") is not None:
                    return form["client_secret"] == CLIENT_SECRET
                assertion = form.get("client_assertion")
                if idp.client_certificate is None or not assertion:
                    return False
                try:
                    key = idp.client_certificate.public_key()
                    audience = f"{idp.url}{urlsplit(self.path).path}"
                    claims = jwt.decode(assertion, key, algorithms=["RS256", "PS256"], audience=audience)
                except jwt.PyJWTError:
                    return False
                return claims.get("iss") == claims.get("sub") == CLIENT_ID

            def _token(self, form: dict[str, str]) -> None:
                with idp._lock:
                    idp.token_requests.append({k: v for k, v in form.items() if k != "client_secret"})
                if form.get("client_id") != CLIENT_ID or not self._client_authenticated(form):
                    self._json(401, {"error": "invalid_client", "error_codes": [7000215],
                                     "error_description": "AADSTS7000215: Invalid client secret provided."})
                    return
                if form.get("grant_type") == "client_credentials":
                    with idp._lock:
                        idp.client_credentials += 1
                    self._json(200, {"token_type": "Bearer", "expires_in": 3599, "access_token": "app-token"})
                    return
                code = form.get("code", "")
                with idp._lock:
                    grant = idp.codes.pop(code, None)
                    replayed = code in idp.used_codes
                    idp.used_codes.add(code)
                    spoil, idp.spoil = idp.spoil, None
                if grant is None:
                    description = (
                        "AADSTS54005: OAuth2 Authorization code was already redeemed" if replayed
                        else "AADSTS70008: The provided authorization code or refresh token has expired"
                    )  # fmt: skip
                    self._json(400, {"error": "invalid_grant", "error_codes": [54005 if replayed else 70008],
                                     "error_description": description})  # fmt: skip
                    return
                verifier = form.get("code_verifier", "")
                digest = hashlib.sha256(verifier.encode()).digest()
                expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
                if grant["method"] != "S256" or expected != grant["challenge"]:
                    self._json(400, {"error": "invalid_grant", "error_codes": [501481],
                                     "error_description": "AADSTS501481: The Code_Verifier does not match."})
                    return
                if form.get("redirect_uri") != grant["redirect_uri"]:
                    self._json(400, {"error": "invalid_grant", "error_codes": [50148],
                                     "error_description": "AADSTS50148: redirect_uri mismatch."})
                    return
                user: User = grant["user"]
                self._json(200, {
                    "token_type": "Bearer", "scope": "openid profile email", "expires_in": 3599,
                    "access_token": "user-access-token",
                    "id_token": idp.id_token(user, grant["nonce"], spoil),
                })  # fmt: skip

        return Handler
