"""Two portal processes behind a load balancer without sticky sessions, sharing one real Redis
(`D365_REDIS_URL`): a session started on one is good on the other, signing out on one ends it on
both, and failed sign-ins made through either count towards the same lockout."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import redis
import requests

from bench import html
from bench.journey import LANG, JourneyError
from bench.processes import Child, free_port
from d365portal.emulator.seed import (
    DEMO_CONTACT_ID,
    DEMO_CONTACT_NAME,
    DEMO_PASSWORD,
    DEMO_USERNAME,
    OTHER_CONTACT_ID,
    OTHER_PASSWORD,
    OTHER_USERNAME,
)
from tests.conftest import TEST_TOKEN
from tests.resilience.conftest import LIVE_SECRET, Dataverse, Visitor

pytestmark = [pytest.mark.redis, pytest.mark.live]


@pytest.fixture(scope="module")
def portals(
    dataverse_server: Dataverse, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    """Two gunicorn processes (own var/ each, one Redis, one secret key), like two hosts."""
    children: list[Child] = []
    urls: list[str] = []
    for name in ("a", "b"):
        port = free_port()
        var_dir = tmp_path_factory.mktemp(f"portal-{name}")
        config = var_dir / "portal.toml"  # empty: a developer's config/portal.toml must not leak in
        config.write_text("")
        env = {
            "D365_CONFIG": str(config),
            "D365_DATAVERSE_URL": dataverse_server.url,
            "D365_AUTH": "static",
            "D365_STATIC_TOKEN": TEST_TOKEN,
            "D365_DEMO": "1",
            "D365_SECRET_KEY": LIVE_SECRET,
            "D365_VAR_DIR": str(var_dir),
            "D365_REDIS_URL": redis_url,
            "D365_RETRY_BUDGET_SECONDS": "3",
            "D365_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        }
        argv = [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            "1",
            "--threads",
            "4",
            "--bind",
            f"127.0.0.1:{port}",
            "d365portal:create_app()",
        ]
        children.append(Child(f"portal {name}", argv, var_dir / "portal.log", env))
        urls.append(f"http://127.0.0.1:{port}")
    try:
        for child, url in zip(children, urls, strict=True):
            child.wait_http(f"{url}/healthz", timeout=30)
        yield urls[0], urls[1]
    finally:
        for child in children:
            child.stop()


def _sign_in_attempt(session: requests.Session, base: str, username: str, password: str) -> requests.Response:
    """Fill the sign-in form served by `base` and send it; the final page (redirects followed)."""
    page = session.get(f"{base}/{LANG}/Account/Login/Login", timeout=30)
    form = html.form_with(page.text, field_name="password")
    assert form is not None
    fields = {**form.fields, "username": username, "password": password}
    return session.post(f"{base}/{LANG}/Account/Login/Login", data=fields, timeout=30)


def _signed_in(response: requests.Response) -> bool:
    return response.status_code == 200 and "/Account/Login/Login" not in response.url


def test_a_session_started_on_one_process_works_on_the_other(
    dataverse: Dataverse, portals: tuple[str, str], redis_url: str
) -> None:
    a, b = portals
    visitor = Visitor(a, DEMO_USERNAME, DEMO_PASSWORD)
    visitor.sign_in()
    with redis.Redis.from_url(redis_url) as shared:
        assert shared.dbsize() > 0, "the session should live in Redis"
    for base, path in ((b, "/support/"), (a, "/vigencia-soporte/"), (b, "/support/create-case/"), (a, "/")):
        page = visitor.fetch("GET", f"{base}/{LANG}{path}")
        assert "/Account/Login/Login" not in page.url, f"{base}{path} asked to sign in again"
        assert DEMO_CONTACT_NAME in page.text
    contact = dataverse.emulator.store.get("contacts", DEMO_CONTACT_ID)
    assert contact is not None and contact["adx_identity_accessfailedcount"] == 0


def test_signing_out_on_one_process_ends_the_session_on_both(
    dataverse: Dataverse, portals: tuple[str, str]
) -> None:
    a, b = portals
    visitor = Visitor(a, DEMO_USERNAME, DEMO_PASSWORD)
    visitor.sign_in()
    copied = requests.Session()
    copied.cookies.update(visitor.session.cookies)  # e.g. a cookie copied off the machine
    page_on_b = visitor.fetch("GET", f"{b}/{LANG}/support/")
    visitor.sign_out(page_on_b)  # the sign-out form posts to process b

    for session in (visitor.session, copied):
        for base in (a, b):
            response = session.get(f"{base}/{LANG}/support/", allow_redirects=False, timeout=30)
            assert response.status_code in (302, 303), f"{base} still served the signed-out session"
            assert "/Account/Login/Login" in response.headers["Location"]


def _contact_when(
    dataverse: Dataverse, ready: Callable[[dict[str, Any]], bool], timeout: float = 5.0
) -> dict[str, Any]:
    """The other user's contact row once `ready(row)` holds (or as it is after `timeout`)."""
    deadline = time.monotonic() + timeout
    while True:
        contact = dataverse.emulator.store.get("contacts", OTHER_CONTACT_ID)
        assert contact is not None
        if ready(contact) or time.monotonic() > deadline:
            return dict(contact)
        time.sleep(0.02)


def test_the_lockout_counts_failures_made_through_both_processes(
    dataverse: Dataverse, portals: tuple[str, str]
) -> None:
    a, b = portals
    session = requests.Session()
    for attempt, base in enumerate((a, b, a, b), start=1):
        refused = _sign_in_attempt(session, base, OTHER_USERNAME, "not-the-password-123")
        assert not _signed_in(refused)
        assert "Usuario o contraseña incorrectos" in refused.text
        # The portal counts a failure just after answering (so timing does not reveal usernames).
        contact = _contact_when(dataverse, lambda row, n=attempt: row["adx_identity_accessfailedcount"] == n)
        assert contact["adx_identity_accessfailedcount"] == attempt
    _sign_in_attempt(session, b, OTHER_USERNAME, "still-not-the-password")  # the fifth, through b

    contact = _contact_when(dataverse, lambda row: bool(row["adx_identity_lockoutenddate"]))
    assert contact["adx_identity_lockoutenddate"]
    locked_until = datetime.fromisoformat(contact["adx_identity_lockoutenddate"].replace("Z", "+00:00"))
    assert locked_until > datetime.now(UTC)
    for base in (a, b):
        refused = _sign_in_attempt(requests.Session(), base, OTHER_USERNAME, OTHER_PASSWORD)
        assert not _signed_in(refused), f"{base} let a locked-out user in"
    with pytest.raises(JourneyError):
        Visitor(b, OTHER_USERNAME, OTHER_PASSWORD).sign_in()
    # Another user is not affected.
    Visitor(a, DEMO_USERNAME, DEMO_PASSWORD).sign_in()
