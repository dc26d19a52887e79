"""Dataverse's request budget, shared by every visitor (all reach it as the one application user).

Two guards, on every view that calls Dataverse (`@spends_dataverse(...)`):
- **Per contact**: a token bucket in the shared store (`contact_burst`, `contact_rate_per_second`), so
  one session cannot spend what every customer shares.
- **Portal-wide**: the service-protection headers of Dataverse's latest answer
  (`x-ms-ratelimit-burst-remaining-xrm-requests` and `…-time-remaining-…`: requests and seconds of
  execution time left in the 300 s window) and any 429's `Retry-After`. As the budget falls, the
  cheapest work to lose is shed first: anonymous sign-in and recovery pages (below 25 % left), then
  searches (15 %), then reading pages (5 %); the submit of a case a customer is in the middle of goes
  last (2 %, or while Dataverse's own Retry-After runs), and its form comes back as typed. Microsoft
  calls these headers a debugging aid, not a contract: the portal uses them only to shed early, and
  still honours every 429.

Past either guard the visitor gets "Demasiadas solicitudes, espere unos segundos" (429, `Retry-After`),
a form comes back as typed, and no Dataverse request is made.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from functools import wraps
from typing import Any, Literal, TypeVar, cast

from flask import current_app, render_template

from d365portal.dataverse.context import Budget, budget
from d365portal.identity import identity
from d365portal.web.auth_context import current_principal

log = logging.getLogger(__name__)
Priority = Literal["anonymous", "search", "page", "submit"]
F = TypeVar("F", bound=Callable[..., Any])
# Shed a priority when less than this share of the window's budget is left.
SHED_BELOW: dict[str, float] = {"anonymous": 0.25, "search": 0.15, "page": 0.05, "submit": 0.02}
STALE_AFTER = 300.0  # an observation older than the window says nothing


def remaining_share(seen: Budget, requests_limit: int, seconds_limit: int, now: float) -> float | None:
    """The smaller of the requests and the execution time left, as a share of the window's limits;
    None when Dataverse said nothing recently."""
    if seen.observed_at is None or now - seen.observed_at > STALE_AFTER:
        return None
    shares = []
    if seen.requests_remaining is not None:
        shares.append(seen.requests_remaining / requests_limit)
    if seen.time_remaining_s is not None:
        shares.append(seen.time_remaining_s / seconds_limit)
    return min(shares) if shares else None


class _Probe:
    """While work is shed no answer tells the budget is back (it grows as the window slides): one
    request a second per process goes through anyway, and its answer brings fresh figures."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = 0.0

    def allowed(self, seen: Budget, now: float) -> bool:
        if seen.observed_at is None or now - seen.observed_at < PROBE_EVERY:
            return False
        with self._lock:
            if now - self._last < PROBE_EVERY:
                return False
            self._last = now
            return True


PROBE_EVERY = 2.0
SHORT_THROTTLE = 2.0  # seconds of a Retry-After a page waits out rather than refusing


def throttled_now() -> bool:
    """Whether Dataverse's last 429 still asks the portal to wait."""
    seen = budget.current()
    return bool(seen.throttled_until and seen.throttled_until > time.time())
_probe = _Probe()


def shed_wait(priority: Priority) -> float:
    """Seconds to come back when this priority's work is shed now, else 0."""
    settings = current_app.config["SETTINGS"]
    now = time.time()
    seen = budget.current()
    if seen.throttled_until and seen.throttled_until > now:
        return seen.throttled_until - now  # Dataverse is refusing the application user right now
    share = remaining_share(
        seen, settings.dataverse_requests_per_window, settings.dataverse_seconds_per_window, now
    )
    if share is not None and share < SHED_BELOW[priority] and not _probe.allowed(seen, now):
        return 5.0
    return 0.0


def too_busy(wait: float, form_page: Callable[[], str] | None = None) -> tuple[str, int, dict[str, str]]:
    """The friendly 429: the form as typed (when there is one) or the busy page, with Retry-After."""
    seconds = max(1, math.ceil(wait))
    headers = {"Retry-After": str(seconds)}
    if form_page is not None:
        return form_page(), 429, headers
    return render_template("errors/busy.html", status=429), 429, headers


def spends_dataverse(
    priority: Priority | Callable[[], Priority | None], form_page: Callable[[], str] | None = None
) -> Callable[[F], F]:
    """Guard a view that calls Dataverse (put it under `login_required` for signed-in pages).
    `priority` may be a function of the request; None means this request makes no Dataverse call."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            level = priority() if callable(priority) else priority
            if level is None:
                return view(*args, **kwargs)
            user = current_principal()
            if user is not None:
                settings = current_app.config["SETTINGS"]
                key = f"budget:contact:{user.contact_id}"
                wait = identity().store.take(key, settings.contact_rate_per_second, settings.contact_burst)
                if wait > 0:
                    log.warning("contact %s is over its Dataverse request rate", user.contact_id)
                    return too_busy(wait, form_page)
            wait = shed_wait(level)
            if 0 < wait <= SHORT_THROTTLE and throttled_now():
                # Dataverse asked for a pause of a second or two (one 429, perhaps to the background
                # label refresh): this view waits it out, as the client would on its own 429, instead of
                # showing the customer a busy page.
                time.sleep(wait)
                wait = shed_wait(level)
            if wait > 0:
                log.warning("shedding %s work: Dataverse's budget is low (%s)", level, budget.current())
                return too_busy(wait, form_page)
            return view(*args, **kwargs)

        return cast(F, wrapped)

    return decorate
