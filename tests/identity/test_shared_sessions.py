"""Several portal processes share sessions, rate limits and reset markers through the store: the
embedded SQLite file (gunicorn workers of one host) or Redis (several hosts)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from d365portal import create_app
from d365portal.emulator.seed import DEMO_CONTACT_NAME
from d365portal.settings import Settings
from tests.web.account_helpers import (
    LOGIN,
    LOGOUT,
    csrf_token,
    session_cookie,
    sign_in,
    text,
    with_cookie,
)


def two_portals(settings: Settings, **overrides: Any) -> tuple[Flask, Flask]:
    portals = []
    for _ in range(2):
        app = create_app(settings.model_copy(update=overrides))
        app.testing = True
        portals.append(app)
    return portals[0], portals[1]


def _signed_in_elsewhere_then_signed_out(first: Flask, second: Flask) -> None:
    browser = first.test_client()
    sign_in(browser)
    cookie = session_cookie(browser)
    assert cookie
    other = with_cookie(second.test_client(), cookie)  # the load balancer sends the next request elsewhere
    assert DEMO_CONTACT_NAME in text(other.get("/es-ES/"))
    other.post(LOGOUT, data={"csrf_token": csrf_token(other, "/es-ES/")})
    assert browser.get("/es-ES/").headers["Location"].startswith("/es-ES/Account/Login/Login")


def test_workers_sharing_the_sqlite_store_share_sessions(settings: Settings, emulator: Any) -> None:
    _signed_in_elsewhere_then_signed_out(*two_portals(settings))


@pytest.mark.redis
def test_hosts_sharing_redis_share_sessions_and_rate_limits(
    settings: Settings, emulator: Any, redis_url: str, tmp_path: Path
) -> None:
    # Two hosts: nothing shared but Redis (each has its own var/).
    first, second = (
        create_app(settings.model_copy(update={"redis_url": redis_url, "var_dir": tmp_path / host}))
        for host in ("host1", "host2")
    )
    first.testing = second.testing = True
    _signed_in_elsewhere_then_signed_out(first, second)
    # The per-IP sign-in limit counts across both hosts.
    limited = two_portals(settings, redis_url=redis_url, signin_rate_per_ip=2)
    a, b = limited[0].test_client(), limited[1].test_client()
    a.environ_base["REMOTE_ADDR"] = b.environ_base["REMOTE_ADDR"] = "10.9.8.7"
    assert [sign_in(c, "nobody", "wrong password!").status_code for c in (a, b, a)] == [200, 200, 429]


def test_sessions_end_after_their_absolute_lifetime(app: Flask, emulator: Any) -> None:
    client = app.test_client()
    sign_in(client)
    sid = session_cookie(client)
    store = app.extensions["identity"].store
    data = json.loads(store.get(f"session:{sid}"))
    assert client.get("/es-ES/").status_code == 200
    data["_created"] = time.time() - 13 * 3600  # the default absolute lifetime is 12 hours
    store.set(f"session:{sid}", json.dumps(data), 60)
    assert client.get("/es-ES/").headers["Location"].startswith(LOGIN)


def test_idle_sessions_expire_with_the_store_ttl(app: Flask, emulator: Any) -> None:
    client = app.test_client()
    sign_in(client)
    sid = session_cookie(client)
    store = app.extensions["identity"].store
    assert app.extensions["identity"].sessions.idle_seconds == 30 * 60
    raw = store.get(f"session:{sid}")
    store.set(f"session:{sid}", raw, 1)  # as if the idle timeout were one second
    time.sleep(1.1)
    assert client.get("/es-ES/").headers["Location"].startswith(LOGIN)
