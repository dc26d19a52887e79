"""Probes for load balancers and orchestrators: `/healthz` (the process answers) and `/readyz`.

`/readyz` gets a token and calls `WhoAmI` through a client that shares the portal's token provider
but gives up quickly (a probe must answer within its own timeout), and keeps the verdict for a few
seconds so a busy probe schedule costs Dataverse almost nothing.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from flask import Blueprint, Flask, current_app

from d365portal.dataverse.client import DataverseClient
from d365portal.dataverse.context import budget
from d365portal.dataverse.errors import AuthenticationFailed, DataverseError, PermissionDenied

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)

READY_CACHE_SECONDS = 5.0
PROBE_TIMEOUT = (2.0, 4.0)  # connect, read
PROBE_RETRY_BUDGET = 1.0


@dataclass(frozen=True)
class Verdict:
    """The outcome of one readiness probe."""

    ready: bool
    reason: str
    checked_at: float


class Readiness:
    """Runs the token + WhoAmI probe at most once per `READY_CACHE_SECONDS`, one probe at a time."""

    def __init__(self, app: Flask, ttl: float = READY_CACHE_SECONDS) -> None:
        self._app = app
        self._ttl = ttl
        self._lock = threading.Lock()
        self._verdict: Verdict | None = None
        self._client: DataverseClient | None = None

    def _probe_client(self) -> DataverseClient:
        if self._client is None:
            settings = self._app.config["SETTINGS"]
            shared = self._app.extensions["dataverse"]  # same token provider: no second MSAL app
            self._client = DataverseClient(
                settings.web_api_url,
                shared.token_provider,
                connect_timeout=PROBE_TIMEOUT[0],
                read_timeout=PROBE_TIMEOUT[1],
                retry_budget=PROBE_RETRY_BUDGET,
                pool_size=1,
            )
        return self._client

    def _probe(self) -> Verdict:
        client = self._probe_client()
        try:
            client.token_provider.get_token()
        except Exception as exc:  # a token provider may fail in ways of its own; never crash the probe
            log.warning("readyz: no token from the identity provider: %s", exc)
            return Verdict(False, "token", time.monotonic())
        try:
            client.whoami()
        except (AuthenticationFailed, PermissionDenied) as exc:
            log.warning("readyz: Dataverse refused the application user: %s", exc)
            return Verdict(False, "dataverse refused the credentials", time.monotonic())
        except DataverseError as exc:
            log.warning("readyz: Dataverse unreachable: %s", exc)
            return Verdict(False, "dataverse unreachable", time.monotonic())
        return Verdict(True, "ok", time.monotonic())

    def verdict(self) -> Verdict:
        """The cached verdict while fresh, else a new probe (concurrent callers wait for it)."""
        with self._lock:
            fresh = self._verdict and time.monotonic() - self._verdict.checked_at < self._ttl
            if not fresh:
                self._verdict = self._probe()
            assert self._verdict is not None  # noqa: S101 - set just above
            return self._verdict


def _readiness() -> Readiness:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    found = app.extensions.get("readiness")
    if found is None:
        found = app.extensions.setdefault("readiness", Readiness(app))
    return found  # type: ignore[no-any-return]


@bp.get("/healthz")
def healthz() -> dict[str, str]:
    """Liveness: answers without touching Dataverse."""
    return {"status": "ok"}


@bp.get("/readyz")
def readyz() -> tuple[dict[str, object], int]:
    """Readiness: a token and `WhoAmI` answer (cached a few seconds); 503 when Dataverse is not usable."""
    verdict = _readiness().verdict()
    seen = budget.current()
    shown = {
        "requests_remaining": seen.requests_remaining,
        "time_remaining_s": seen.time_remaining_s,
        "observed_seconds_ago": round(time.time() - seen.observed_at, 1) if seen.observed_at else None,
        "throttled_for_s": round(seen.throttled_until - time.time(), 1)
        if seen.throttled_until and seen.throttled_until > time.time()
        else 0,
    }
    if verdict.ready:
        return {"status": "ready", "dataverse": "ok", "dataverse_budget": shown}, 200
    return {"status": "unavailable", "dataverse": verdict.reason, "dataverse_budget": shown}, 503
