"""A malformed or untrusted Host header gets the branded 400 page and one log line, never a 500."""

from __future__ import annotations

import logging
import socket
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from d365portal import create_app
from d365portal.web.hosts import is_trusted, split_host
from tests.conftest import ServedApp, make_settings

BAD = [
    "a" * 300,
    "a" * 64 + ".example.com",
    "x" * 250 + ".com.ar",
    "portal.test:99999",
    "bad_host!",
    "evil.example",
]


@pytest.mark.parametrize(
    "host", BAD, ids=["300-char label", "64-char label", "over 253", "bad port", "chars", "untrusted"]
)
def test_a_bad_host_gets_the_branded_400_and_one_log_line(
    app: Flask, host: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.clear()
    response = app.test_client().get("/es-ES/Account/Login/Login", headers={"Host": host})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Solicitud no válida" in page and "Traceback" not in page
    assert 'href="/static/css/portal.css"' in page  # the branded page, with its stylesheet
    mine = [r for r in caplog.records if r.name.startswith("d365portal") and r.levelno >= logging.WARNING]
    assert len(mine) == 1 and "Host header" in mine[0].getMessage()
    assert not any(r.exc_info for r in caplog.records)


@pytest.mark.parametrize(
    "host", ["portal.test", "PORTAL.test:443", "localhost", "127.0.0.1:5000", "[::1]:8000"]
)
def test_the_public_host_and_loopback_are_answered(app: Flask, host: str) -> None:
    assert app.test_client().get("/es-ES/Account/Login/Login", headers={"Host": host}).status_code == 200


def test_trusted_hosts_is_a_setting_with_subdomains(tmp_path: Path, emulator: Any) -> None:
    app = create_app(make_settings(tmp_path, emulator.url, trusted_hosts=[".example.com"]))
    client = app.test_client()
    assert client.get("/healthz", headers={"Host": "soporte.example.com"}).status_code == 200
    assert client.get("/healthz", headers={"Host": "example.com"}).status_code == 200
    assert client.get("/healthz", headers={"Host": "portal.test"}).status_code == 400
    assert client.get("/healthz", headers={"Host": "example.com.evil"}).status_code == 400


def test_over_real_http_the_bad_host_is_400(live_portal: ServedApp) -> None:
    with socket.create_connection(("127.0.0.1", live_portal.port), timeout=5) as sock:
        sock.sendall(b"GET /es-ES/ HTTP/1.1\r\nHost: " + b"a" * 300 + b"\r\nConnection: close\r\n\r\n")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 400")


def test_host_parsing() -> None:
    assert split_host("Portal.Test:8080") == ("portal.test", "8080")
    assert split_host("[::1]:5000") == ("[::1]", "5000")
    assert split_host("a" * 64) is None and split_host("") is None and split_host("a b") is None
    assert is_trusted("x.example.com", [".example.com"]) and not is_trusted(
        "badexample.com", [".example.com"]
    )
