"""Shared fixtures: the emulator served over HTTP, the portal app wired to it, a real browser.

The portal always reaches the emulator over HTTP through its production `dataverse/` client
(DESIGN.md decision 10); only the adapter's unit tests mock HTTP, with `responses`.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import BaseWSGIServer

from d365portal import create_app
from d365portal.crm import option_labels
from d365portal.serving import loopback_server
from d365portal.settings import Settings

CHROMIUM = "/usr/bin/chromium"
TEST_TOKEN = "test-token"


@pytest.fixture(autouse=True)
def _fresh_dataverse_budget() -> Iterator[None]:
    """The budget Dataverse last reported is process-wide: each test starts without one."""
    from d365portal.dataverse.context import budget

    budget.reset()
    yield
    budget.reset()


def free_port() -> int:
    """A free loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A throwaway redis-server on a free loopback port for the session (no persistence)."""
    import redis

    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is missing: run `make test` (it installs Debian's redis-server)")
    port = free_port()
    workdir = tmp_path_factory.mktemp("redis")
    process = subprocess.Popen(  # noqa: S603 - a fixed binary and arguments
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(workdir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    client = redis.Redis(host="127.0.0.1", port=port)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                pytest.fail("redis-server did not start")
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    client.close()
    process.terminate()
    process.wait(timeout=10)


class ServedApp:
    """A WSGI app served on a loopback port by a background thread (stoppable, restartable)."""

    def __init__(self, wsgi_app: Any, port: int = 0) -> None:
        self.wsgi_app = wsgi_app
        self.server: BaseWSGIServer = loopback_server("127.0.0.1", port, wsgi_app)
        self.port = self.server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and free the port (connections are refused afterwards)."""
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)

    def restart(self) -> None:
        """Serve again on the same port."""
        self.server = loopback_server("127.0.0.1", self.port, self.wsgi_app)
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()


@pytest.fixture(scope="session")
def emulator_server() -> Iterator[ServedApp]:
    """One in-memory emulator (seeded with the demo data) served for the whole test session."""
    from d365portal.emulator import create_emulator_app

    served = ServedApp(create_emulator_app(seed="demo", language="es-ES"))
    yield served
    served.stop()


@pytest.fixture()
def emulator(emulator_server: ServedApp) -> Iterator[Any]:
    """The emulator app, freshly reseeded with no faults, zeroed stats and the portal's full role;
    `.url` is its address."""
    from d365portal.emulator.privileges import PORTAL_ROLE

    app = emulator_server.wsgi_app
    app.store.reset()
    app.faults.clear()
    app.stats.reset()
    app.privileges = list(PORTAL_ROLE)
    app.url = emulator_server.url
    yield app
    app.faults.clear()


def make_settings(tmp_path: Path, dataverse_url: str, **overrides: Any) -> Settings:
    """Settings for a portal in tests: demo cookies over http, a var/ of its own, the test token."""
    values: dict[str, Any] = {
        "dataverse_url": dataverse_url,
        "auth": "static",
        "static_token": TEST_TOKEN,
        "demo": True,
        "secret_key": "test-secret-key-that-is-long-enough-0123456789",
        "var_dir": tmp_path / "var",
        "public_base_url": "http://portal.test",
        "retry_budget_seconds": 3.0,
        # Failed sign-ins wait less than the default 300 ms (the timing tests set the default back).
        "account_answer_floor_ms": 20,
        # Tests walk many pages quickly; the per-contact limit has tests of its own.
        "contact_burst": 100_000,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture()
def settings(tmp_path: Path, emulator: Any) -> Settings:
    """Portal settings pointed at the test emulator."""
    return make_settings(tmp_path, emulator.url)


@pytest.fixture()
def app(settings: Settings, emulator: Any) -> Flask:
    """The portal, wired to the emulator through the production client. Its option labels are read
    from the emulator's metadata before the test (a running portal reads them in the background at
    its first request), and the emulator's request count starts at zero after that."""
    app = create_app(settings)
    app.testing = True
    if str(settings.dataverse_url).rstrip("/") == str(emulator.url).rstrip("/"):
        option_labels(app).refresh_now()
        emulator.stats.reset()
    return app


@pytest.fixture()
def client(app: Flask) -> FlaskClient:
    """A test client of the portal."""
    return app.test_client()


@pytest.fixture()
def runner() -> CliRunner:
    """A runner for the `d365portal` commands."""
    return CliRunner()


@pytest.fixture()
def live_portal(app: Flask) -> Iterator[ServedApp]:
    """The portal served on a loopback port, for the browser."""
    served = ServedApp(app)
    yield served
    served.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, driven by Playwright (never a downloaded browser)."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make test` (it installs Debian's chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@contextmanager
def loopback_tab(browser: Any, base_url: str, **options: Any) -> Iterator[Any]:
    """A fresh browser tab (own cookies) whose requests off loopback fail the test; `options` go to
    the context (`ignore_https_errors` for the loopback identity provider's own certificate)."""
    context = browser.new_context(base_url=base_url, locale="es-ES", **options)
    outside: list[str] = []

    def guard(route: Any) -> None:
        url = route.request.url
        if url.startswith(("http://127.0.0.1", "https://127.0.0.1", "data:", "blob:", "about:")):
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    context.route("**/*", guard)
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    yield tab
    context.close()
    assert not outside, f"the page loaded something from outside the portal: {outside}"


@pytest.fixture()
def page(browser: Any, live_portal: ServedApp) -> Iterator[Any]:
    """A fresh browser tab on the live portal; requests off loopback fail the test."""
    with loopback_tab(browser, live_portal.url) as tab:
        yield tab


@pytest.fixture(scope="session")
def oidc_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A loopback OpenID provider over TLS shaped like Entra ID (tests/oidc_provider.py), one per session."""
    from tests.oidc_provider import OpenIdProvider

    provider = OpenIdProvider(tmp_path_factory.mktemp("oidc")).start()
    yield provider
    provider.stop()


@pytest.fixture()
def oidc(oidc_server: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The provider with nobody about to sign in and nothing spoiled; the portal trusts its certificate
    as a real deployment trusts a corporate CA (`REQUESTS_CA_BUNDLE`, which requests and MSAL honour)."""
    oidc_server.next_user = None
    oidc_server.spoil = None
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(oidc_server.cert_path))
    return oidc_server


def provider_setting(oidc: Any, **overrides: Any) -> dict[str, Any]:
    """An `identity_providers` entry for the test provider."""
    from tests.oidc_provider import CLIENT_ID, CLIENT_SECRET

    values: dict[str, Any] = {
        "name": "entra", "authority": oidc.authority(), "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }  # fmt: skip
    values.update(overrides)
    return values
