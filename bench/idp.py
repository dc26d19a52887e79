"""A tiny identity provider on loopback, so the portal's real MSAL token path runs and is counted.

MSAL refuses an `http://` authority, so this one speaks HTTPS with a self-signed certificate made
for 127.0.0.1; the portal trusts it through `REQUESTS_CA_BUNDLE` (MSAL uses `requests`). It serves
the OpenID configuration MSAL reads when it builds its application and the token endpoint of the
client-credentials grant, and counts the tokens it issues.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

TENANT = "00000000-0000-4000-8000-00000000be0c"
CLIENT_ID = "11111111-2222-4333-8444-555555555555"
CLIENT_SECRET = "bench-client-secret"  # noqa: S105 - a loopback-only test credential
ACCESS_TOKEN = "bench-access-token"  # noqa: S105 - the emulator is started to require exactly this


def write_self_signed(cert_path: Path, key_path: Path) -> None:
    """A certificate for 127.0.0.1/localhost, valid for a day, and its private key (PEM files)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "d365portal bench identity provider")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    key_path.chmod(0o600)


class FakeIdentityProvider:
    """Serves `/<tenant>/v2.0/.well-known/openid-configuration` and the token endpoint over HTTPS."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.cert_path = directory / "idp-cert.pem"
        key_path = directory / "idp-key.pem"
        write_self_signed(self.cert_path, key_path)
        self.token_requests = 0
        self.refused = 0
        self.discovery_requests = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_path, key_path)
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        self.url = f"https://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-idp", daemon=True)

    def start(self) -> FakeIdentityProvider:
        """Serve in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        idp = self

        class Handler(BaseHTTPRequestHandler):
            """The two endpoints MSAL's client-credentials flow uses."""

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
                """Quiet: the bench prints its own progress."""

            def _json(self, status: int, body: dict[str, object]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802 - stdlib name
                """The OpenID configuration (tenant discovery)."""
                path = self.path.split("?", 1)[0]
                if path == f"/{TENANT}/v2.0/.well-known/openid-configuration":
                    with idp._lock:
                        idp.discovery_requests += 1
                    base = f"{idp.url}/{TENANT}"
                    self._json(
                        200,
                        {
                            "issuer": f"{base}/v2.0",
                            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                            "token_endpoint": f"{base}/oauth2/v2.0/token",
                        },
                    )
                else:
                    self._json(404, {"error": "not_found"})

            def do_POST(self) -> None:  # noqa: N802 - stdlib name
                """The token endpoint: a token for the right client id and secret, AADSTS7000215 else."""
                length = int(self.headers.get("Content-Length") or 0)
                form = parse_qs(self.rfile.read(length).decode())
                if self.path.split("?", 1)[0] != f"/{TENANT}/oauth2/v2.0/token":
                    self._json(404, {"error": "not_found"})
                    return
                good = (
                    form.get("grant_type") == ["client_credentials"]
                    and form.get("client_id") == [CLIENT_ID]
                    and form.get("client_secret") == [CLIENT_SECRET]
                )
                with idp._lock:
                    if good:
                        idp.token_requests += 1
                    else:
                        idp.refused += 1
                if not good:
                    self._json(401, {"error": "invalid_client", "error_description": "AADSTS7000215"})
                    return
                self._json(
                    200,
                    {
                        "token_type": "Bearer",
                        "expires_in": 3599,
                        "ext_expires_in": 3599,
                        "access_token": ACCESS_TOKEN,
                    },
                )

        return Handler
