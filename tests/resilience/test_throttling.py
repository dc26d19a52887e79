"""Dataverse throttles one request in ten (429, Retry-After: 1): every journey still completes and no
customer sees an error; the portal waited and retried instead."""

from __future__ import annotations

from d365portal.emulator.seed import DEMO_PASSWORD, DEMO_USERNAME, OTHER_PASSWORD, OTHER_USERNAME
from tests.resilience.conftest import Dataverse, Visitor


def test_every_journey_completes_while_one_request_in_ten_is_throttled(
    dataverse: Dataverse, portal_url: str
) -> None:
    dataverse.emulator.faults.set(throttle_ratio=0.1, throttle_retry_after=1)
    visitors = [
        Visitor(portal_url, DEMO_USERNAME, DEMO_PASSWORD, seed=1),
        Visitor(portal_url, OTHER_USERNAME, OTHER_PASSWORD, seed=2),
    ]
    for visitor in visitors:
        visitor.journey()  # raises JourneyError on any page a customer would see as an error

    seen = [sample for visitor in visitors for sample in visitor.seen]
    assert {s.page for s in seen} >= {
        "sign_in",
        "case_list",
        "search",
        "case",
        "associates",
        "submit",
        "hour_banks",
        "hour_bank",
        "sign_out",
    }
    assert all(s.ok and s.status < 400 for s in seen), [s for s in seen if not s.ok]
    throttled = [e for e in dataverse.recorder.entries() if e["status"] == 429]
    assert len(throttled) >= 2, "the emulator should have throttled some of the portal's requests"
    # Each throttled request was retried: the case each visitor submitted exists exactly once.
    titles = [
        row["title"]
        for row in dataverse.emulator.store.query("incidents")
        if row["title"].startswith("Bench")
    ]
    assert len(titles) == len(set(titles)) == len(visitors)
