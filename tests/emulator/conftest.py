"""The emulator's contract tests run twice: in-process (tests/conftest.py) and as a standalone server."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.conftest import free_port

TOKEN = "test-token"
API = "/api/data/v9.2/"


class Api:
    """A thin `requests` helper for one emulator: Web API calls with the token, and the controls."""

    def __init__(self, url: str, mode: str) -> None:
        self.url = url
        self.mode = mode
        self.http = requests.Session()

    def headers(
        self, annotations: bool = False, page_size: int | None = None, **extra: str
    ) -> dict[str, str]:
        """OData request headers with the bearer token and the preferences asked for."""
        prefer = []
        if annotations:
            prefer.append('odata.include-annotations="*"')
        if page_size:
            prefer.append(f"odata.maxpagesize={page_size}")
        headers = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/json", "OData-Version": "4.0"}
        if prefer:
            headers["Prefer"] = ",".join(prefer)
        headers.update(extra)
        return headers

    def get(self, path: str, params: dict[str, Any] | None = None, **kwargs: Any) -> requests.Response:
        """GET a Web API path (relative to /api/data/v9.2/)."""
        headers = kwargs.pop("headers", None) or self.headers(**kwargs)
        return self.http.get(self.url + API + path, params=params, headers=headers, timeout=10)

    def send(
        self, method: str, path: str, body: Any = None, raw: bytes | None = None, **kwargs: Any
    ) -> requests.Response:
        """POST/PATCH/DELETE a Web API path with a JSON body (or raw bytes)."""
        headers = kwargs.pop("headers", None) or self.headers(**kwargs)
        headers["Content-Type"] = "application/json; charset=utf-8"
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        return self.http.request(method, self.url + API + path, data=data, headers=headers, timeout=10)

    def control(self, method: str, name: str, body: Any = None) -> Any:
        """Call a /_emulator control endpoint; returns its JSON."""
        response = requests.request(method, f"{self.url}/_emulator/{name}", json=body, timeout=10)
        response.raise_for_status()
        return response.json()


def wait_for_emulator(url: str, process: subprocess.Popen[bytes], verify: str | bool = True) -> None:
    """Until a standalone emulator answers its controls (or fail the test when it dies or hangs)."""
    deadline = time.monotonic() + 30
    while True:
        try:
            if requests.get(f"{url}/_emulator/stats", timeout=1, verify=verify).status_code == 200:
                return
        except requests.RequestException:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            pytest.fail(f"the standalone emulator at {url} did not start")
        time.sleep(0.1)


@pytest.fixture(scope="session")
def standalone_url() -> Iterator[str]:
    """`d365portal emulator` as a separate process (in memory), for the whole session."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "d365portal.emulator", "--port", str(port), "--memory", "--seed", "demo",
         "--language", "es-ES"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    wait_for_emulator(url, process)
    yield url
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(params=["in-process", "standalone"])
def api(request: pytest.FixtureRequest) -> Iterator[Api]:
    """The same contract, against the in-process emulator and against the standalone server."""
    if request.param == "in-process":
        emulator = request.getfixturevalue("emulator")
        yield Api(emulator.url, "in-process")
        return
    url = request.getfixturevalue("standalone_url")
    client = Api(url, "standalone")
    client.control("POST", "reset")
    client.control("POST", "faults", {"clear": True})
    client.control("POST", "stats/reset")
    yield client
    client.control("POST", "faults", {"clear": True})
