"""`d365portal demo`: the seeded emulator and the portal under gunicorn, started and stopped together."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.conftest import free_port

pytestmark = pytest.mark.live


def _wait(
    url: str, headers: dict[str, str], process: subprocess.Popen[bytes], seconds: float = 90
) -> requests.Response:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, "demo mode exited early"
        try:
            response = requests.get(url, headers=headers, timeout=3)
            if response.status_code == 200:
                return response
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{url} did not answer")


def test_demo_serves_the_portal_and_the_emulator_and_ctrl_c_stops_both(tmp_path: Path) -> None:
    """The sign-in page on the portal port, WhoAmI on the emulator with the token; Ctrl-C stops both."""
    portal_port, emulator_port = free_port(), free_port()
    env = {**os.environ, "D365_EMULATOR_TOKEN": "demo-test-token"}
    process = subprocess.Popen(
        [sys.executable, "-c", "from d365portal.cli import main; main()", "demo",
         "--port", str(portal_port), "--emulator-port", str(emulator_port)],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        whoami = _wait(
            f"http://127.0.0.1:{emulator_port}/api/data/v9.2/WhoAmI",
            {"Authorization": "Bearer demo-test-token"},
            process,
        )
        assert "UserId" in whoami.json()
        other = requests.get(
            f"http://127.0.0.1:{emulator_port}/api/data/v9.2/WhoAmI",
            headers={"Authorization": "Bearer wrong"},
            timeout=5,
        )
        assert other.status_code == 401
        page = _wait(f"http://127.0.0.1:{portal_port}/", {}, process)
        assert "/Account/Login/Login" in page.url
        assert (tmp_path / "var" / "emulator.sqlite").is_file()
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    text = output.decode(errors="replace")
    assert "lmelo" in text and "Soporte-Demo-2026" in text
    for port in (portal_port, emulator_port):
        with pytest.raises(requests.ConnectionError):
            requests.get(f"http://127.0.0.1:{port}/", timeout=2)
