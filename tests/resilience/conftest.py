"""Fixtures for the resilience tests: an emulator of their own (stoppable without disturbing the
session's), a live portal wired to it through the production client, and helpers to drive both.

The emulator is wrapped in the benchmark's traffic recorder, so a test can see which Dataverse
requests the portal really made (and which answered 429 or were dropped).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bench.emulator_server import TrafficRecorder
from bench.journey import Customer, Sample
from tests.conftest import ServedApp, make_settings

LIVE_SECRET = "resilience-secret-key-long-enough-0123456789abcdef"


@dataclass
class Dataverse:
    """The resilience tests' emulator: the app, its recorder and its server."""

    emulator: Any
    recorder: TrafficRecorder
    server: ServedApp
    running: bool = True

    @property
    def url(self) -> str:
        """Where the portal reaches it."""
        return self.server.url

    def stop(self) -> None:
        """Dataverse goes away: connections are refused."""
        self.server.stop()
        self.running = False

    def start(self) -> None:
        """Dataverse comes back on the same address."""
        self.server.restart()
        self.running = True

    def statuses(self, method: str, entity_set: str) -> list[int]:
        """The status of each recorded request `METHOD entity_set` (0: response dropped)."""
        return [
            e["status"]
            for e in self.recorder.entries()
            if e["method"] == method and e["path"].rsplit("/", 1)[-1].split("(")[0] == entity_set
        ]


@pytest.fixture(scope="module")
def dataverse_server() -> Iterator[Dataverse]:
    """One demo-seeded emulator per test module, served over HTTP behind the traffic recorder."""
    from d365portal.emulator import create_emulator_app

    emulator = create_emulator_app(seed="demo", language="es-ES")
    recorder = TrafficRecorder(emulator)
    server = ServedApp(recorder)
    emulator.url = server.url
    dataverse = Dataverse(emulator, recorder, server)
    yield dataverse
    if dataverse.running:
        server.stop()


@pytest.fixture()
def dataverse(dataverse_server: Dataverse) -> Iterator[Dataverse]:
    """The module's emulator, reseeded, without faults, its counters and recording cleared."""
    dataverse_server.emulator.store.reset()
    dataverse_server.emulator.faults.clear()
    dataverse_server.emulator.stats.reset()
    dataverse_server.recorder.clear()
    yield dataverse_server
    dataverse_server.emulator.faults.clear()
    if not dataverse_server.running:
        dataverse_server.start()


@pytest.fixture()
def portal_url(tmp_path: Path, dataverse: Dataverse) -> Iterator[str]:
    """The portal, served on loopback as in production (not in testing mode), wired to `dataverse`."""
    from d365portal import create_app

    settings = make_settings(
        tmp_path, dataverse.url, retry_budget_seconds=RETRY_BUDGET_SECONDS, public_base_url="http://127.0.0.1"
    )
    served = ServedApp(create_app(settings))
    yield served.url
    served.stop()


# Long enough for two Retry-After: 1 in a row, short enough to keep the outage test quick.
RETRY_BUDGET_SECONDS = 3.0


class Visitor(Customer):
    """A customer whose every page view is kept, for assertions on what the user saw."""

    def __init__(self, base_url: str, username: str, password: str, seed: int = 0) -> None:
        self.seen: list[Sample] = []
        super().__init__(base_url, username, password, self.seen.append, seed=seed)


def no_stack_trace(text: str) -> bool:
    """True when a page shows nothing of a Python traceback."""
    return not any(
        marker in text for marker in ("Traceback (most recent call last)", 'File "/', "Werkzeug Debugger")
    )
