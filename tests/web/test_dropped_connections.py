"""A browser that goes away while a file is being sent leaves nothing open on the live servers."""

from __future__ import annotations

import gc
import socket
import struct
import sys
import time
from typing import Any

import pytest
from flask import Flask

from tests.conftest import ServedApp

pytestmark = pytest.mark.live


def _drop_mid_answer(port: int, request: bytes) -> None:
    """Send `request`, wait for the first byte of the answer, then reset the connection (RST)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.sendall(request)
        sock.recv(1)


@pytest.mark.parametrize("path", ["/static/favicon.svg", "/static/css/portal.css", "/static/js/lookup.js"])
def test_a_static_file_dropped_mid_answer_is_closed(live_portal: ServedApp, path: str) -> None:
    """50 connections reset while a static file is sent: no file is left for the garbage collector
    (before the fix, werkzeug's server skipped closing it and a ResourceWarning failed a browser test
    now and then)."""
    unraised: list[str] = []
    previous = sys.unraisablehook

    def record(unraisable: Any) -> None:
        unraised.append(repr(unraisable.exc_value))

    sys.unraisablehook = record
    try:
        for _ in range(50):
            _drop_mid_answer(live_portal.port, f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        time.sleep(0.3)  # let the server threads finish their answers
        gc.collect()
    finally:
        sys.unraisablehook = previous
    assert unraised == []


def test_the_portal_keeps_serving_after_dropped_connections(live_portal: ServedApp, app: Flask) -> None:
    """A page after a burst of dropped answers is served whole."""
    for _ in range(20):
        _drop_mid_answer(live_portal.port, b"GET /static/css/portal.css HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    with socket.create_connection(("127.0.0.1", live_portal.port), timeout=5) as sock:
        sock.sendall(b"GET /static/favicon.svg HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200") and answer.rstrip().endswith(b"</svg>")
