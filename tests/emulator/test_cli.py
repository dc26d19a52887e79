"""`d365portal emulator` as its own process: rows persist across restarts; --reset reseeds; fault flags."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from d365portal.emulator.seed import DEMO_CASE_ID
from tests.conftest import free_port

pytestmark = pytest.mark.live
AUTH = {"Authorization": "Bearer cli-token"}


@contextmanager
def standalone(*args: str) -> Iterator[str]:
    """Run `d365portal emulator` with these arguments until the block ends (SIGTERM)."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from d365portal.cli import main; main()",
            "emulator",
            "--port",
            str(port),
            *args,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(f"{url}/_emulator/stats", timeout=1)
                break
            except requests.RequestException:
                assert process.poll() is None and time.monotonic() < deadline, "emulator did not start"
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        assert process.wait(timeout=15) == 0


def title_of(url: str) -> str:
    """The demo case's title as the emulator serves it."""
    response = requests.get(
        f"{url}/api/data/v9.2/incidents({DEMO_CASE_ID})?$select=title", headers=AUTH, timeout=5
    )
    return str(response.json()["title"])


def test_rows_persist_across_restarts_and_reset_reseeds(tmp_path: Path) -> None:
    """A PATCH survives a restart of the standalone server; --reset brings the seed back."""
    db = str(tmp_path / "var" / "emulator.sqlite")
    with standalone("--db", db, "--require-token", "cli-token") as url:
        changed = requests.patch(
            f"{url}/api/data/v9.2/incidents({DEMO_CASE_ID})",
            json={"title": "Persistido"},
            headers=AUTH,
            timeout=5,
        )
        assert changed.status_code == 204
    with standalone("--db", db) as url:
        assert title_of(url) == "Persistido"
    with standalone("--db", db, "--reset") as url:
        assert title_of(url) == "Arreglo al reporte Equipos sin Endpoint"


def test_fault_flags_apply_from_the_command_line() -> None:
    """--throttle-ratio 1 --retry-after 9 makes every Web API call a 429 with Retry-After: 9."""
    with standalone("--memory", "--throttle-ratio", "1", "--retry-after", "9", "--language", "en-US") as url:
        response = requests.get(f"{url}/api/data/v9.2/WhoAmI", headers=AUTH, timeout=5)
        assert response.status_code == 429 and response.headers["Retry-After"] == "9"
        faults = requests.get(f"{url}/_emulator/faults", timeout=5).json()
        assert faults["throttle_ratio"] == 1.0
