"""Behind a load balancer: per-IP limits count the real client only when the proxy is trusted."""

from __future__ import annotations

from typing import Any

from d365portal import create_app
from tests.web.account_helpers import sign_in


def _statuses(settings: Any, trusted: int) -> list[int]:
    """Three failed sign-ins, each from a different client behind the same balancer (10.0.0.1)."""
    app = create_app(settings.model_copy(update={"signin_rate_per_ip": 2, "trusted_proxies": trusted}))
    app.testing = True
    statuses = []
    for n in range(3):
        client = app.test_client()
        client.environ_base.update(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=f"203.0.113.{n + 1}")
        statuses.append(sign_in(client, "nobody", "wrong password!").status_code)
    return statuses


def test_a_trusted_proxy_lets_each_client_have_its_own_limit(settings: Any) -> None:
    assert _statuses(settings, trusted=1) == [200, 200, 200]


def test_without_a_trusted_proxy_the_forwarded_header_is_ignored(settings: Any) -> None:
    # Every request seems to come from the balancer, and a client cannot dodge the limit by
    # sending its own X-Forwarded-For.
    assert _statuses(settings, trusted=0) == [200, 200, 429]
