"""The one retry policy: transient failures only, `Retry-After` honoured, bounded in total time."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import tenacity

from d365portal.dataverse.errors import DataverseError

T = TypeVar("T")

MAX_ATTEMPTS = 8
BACKOFF_START = 0.25
BACKOFF_CAP = 2.0


def next_wait(error: BaseException | None, attempt: int) -> float:
    """Seconds to wait before the next attempt: the server's Retry-After, else a short backoff."""
    if isinstance(error, DataverseError) and error.retry_after is not None:
        return max(0.0, error.retry_after)
    return min(BACKOFF_START * 2 ** (attempt - 1), BACKOFF_CAP)


def run_with_retries(
    attempt: Callable[[], T],
    *,
    budget: float,
    may_retry: Callable[[DataverseError], bool],
    sleep: Callable[[float], None],
    on_retry: Callable[[DataverseError, float], None] | None = None,
) -> T:
    """Call `attempt` until it succeeds, fails for good, or the next wait would exceed `budget` seconds.

    The last error is raised as is (e.g. `Throttled` after repeated 429s, `Unavailable` after 503s or
    timeouts), so pages can tell the visitor to try again.
    """

    def retryable(exc: BaseException) -> bool:
        return isinstance(exc, DataverseError) and exc.is_transient and may_retry(exc)

    def wait(state: tenacity.RetryCallState) -> float:
        return next_wait(state.outcome.exception() if state.outcome else None, state.attempt_number)

    def stop(state: tenacity.RetryCallState) -> bool:
        if state.attempt_number >= MAX_ATTEMPTS:
            return True
        # Count both real time and the time the policy chose to sleep (tests patch `sleep`).
        spent = max(state.seconds_since_start or 0.0, state.idle_for)
        return spent + wait(state) > budget

    def before_sleep(state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        if on_retry is not None and isinstance(exc, DataverseError):
            on_retry(exc, state.upcoming_sleep)

    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception(retryable),
        wait=wait,
        stop=stop,
        sleep=sleep,
        before_sleep=before_sleep,
        reraise=True,
    )
    return retrying(attempt)
