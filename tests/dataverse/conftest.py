"""Adapter fixtures: a strict `responses` mock and a client on a fake org whose sleeps are recorded."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import responses

from d365portal.dataverse.auth import StaticTokenProvider
from d365portal.dataverse.client import DataverseClient
from tests.dataverse.shapes import BASE, strict_mock


class Sleeps(list[float]):
    """Records the waits the retry policy asks for instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture()
def mock() -> Iterator[responses.RequestsMock]:
    """Strict HTTP mock: an unused stub fails the test."""
    with strict_mock() as rsps:
        yield rsps


@pytest.fixture()
def sleeps() -> Sleeps:
    """The waits asked for by the retry policy."""
    return Sleeps()


@pytest.fixture()
def dv(sleeps: Sleeps) -> DataverseClient:
    """A client on the fake org with a fixed token, a 10 s retry budget and recorded sleeps."""
    return DataverseClient(BASE, StaticTokenProvider("tok-123"), retry_budget=10.0, sleep=sleeps)
