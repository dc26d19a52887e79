"""An identity provider scripted with `responses`: discovery document and token endpoint."""

from __future__ import annotations

from typing import Any

import responses

TENANT = "11111111-2222-3333-4444-555555555555"
CLIENT_ID = "66666666-7777-8888-9999-000000000000"
SECRET = "s3cr3t-Value~that-must-never-leak"


def register_idp(mock: responses.RequestsMock, host: str = "https://login.microsoftonline.com") -> str:
    """Register `<host>/<tenant>/v2.0/.well-known/openid-configuration`; returns the token endpoint."""
    token_endpoint = f"{host}/{TENANT}/oauth2/v2.0/token"
    mock.get(
        f"{host}/{TENANT}/v2.0/.well-known/openid-configuration",
        json={
            "token_endpoint": token_endpoint,
            "authorization_endpoint": f"{host}/{TENANT}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{host}/{TENANT}/oauth2/v2.0/devicecode",
            "issuer": f"{host}/{TENANT}/v2.0",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt"],
        },
    )
    return token_endpoint


def token_body(token: str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.access.token") -> dict[str, Any]:  # noqa: S107
    """A successful client-credentials answer."""
    return {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": token}


def aadsts_body(code: int, error: str, text: str) -> dict[str, Any]:
    """An AADSTS failure as the token endpoint sends it."""
    return {
        "error": error,
        "error_description": (
            f"AADSTS{code}: {text} Trace ID: 0000 Correlation ID: 1111 Timestamp: 2026-11-27 22:00:00Z"
        ),
        "error_codes": [code],
        "timestamp": "2026-11-27 22:00:00Z",
        "trace_id": "0000",
        "correlation_id": "1111",
    }
