"""Response helpers: OData headers, JSON bodies, errors, no-content, and dropping a connection."""

from __future__ import annotations

import json
import socket
import uuid
from typing import Any

from werkzeug.datastructures import Headers
from werkzeug.wrappers import Response

from d365portal.emulator import errors

JSON_TYPE = "application/json; odata.metadata=minimal"


def json_response(body: Any, applied: list[str] | None = None, status: int = 200) -> Response:
    """A JSON response with OData headers and `Preference-Applied` when preferences were honoured."""
    headers = odata_headers()
    if applied:
        headers["Preference-Applied"] = ",".join(applied)
    return Response(
        json.dumps(body, ensure_ascii=False), status=status, headers=headers, content_type=JSON_TYPE
    )


def no_content(headers: Headers) -> Response:
    """204 without a body or content type."""
    response = Response(status=204, headers=headers)
    del response.headers["Content-Type"]
    return response


def odata_headers() -> Headers:
    """OData-Version and a request id, as every Dataverse response has."""
    headers = Headers()
    headers["OData-Version"] = "4.0"
    headers["REQ_ID"] = str(uuid.uuid4())
    return headers


def error_response(exc: errors.EmulatorError) -> Response:
    """The error as Dataverse sends it (401: empty body with WWW-Authenticate)."""
    headers = odata_headers()
    for name, value in exc.headers.items():
        headers[name] = value
    if exc.status == 401:
        return Response(b"", status=401, headers=headers)
    return Response(
        exc.body(),
        status=exc.status,
        headers=headers,
        content_type="application/json; odata.metadata=minimal",
    )


def drop_connection(environ: dict[str, Any]) -> None:
    """Close the client's connection without a response (the client sees a connection error)."""
    sock = environ.get("werkzeug.socket") or environ.get("gunicorn.socket")
    if isinstance(sock, socket.socket):
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
