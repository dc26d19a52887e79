"""`d365portal serve` runs gunicorn from the settings; a wrong setting stops every entry point in one line."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
import requests

from d365portal.admin.serve import WORKER_CLASS, gunicorn_options
from d365portal.settings import Settings
from tests.admin.conftest import invoke
from tests.conftest import free_port

BIN = Path(sys.executable).parent



def run(args: list[str], env: dict[str, str], timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, env={**os.environ, **env}, capture_output=True, text=True, timeout=timeout)


@pytest.fixture()
def served_portal(emulator_env: dict[str, str], tmp_path: Path) -> Iterator[dict[str, Any]]:
    """`d365portal serve` in a subprocess on a free port, one worker, against the test emulator."""
    with serving(emulator_env, tmp_path, D365_WORKERS="1", D365_THREADS="2") as served:
        yield served


@contextlib.contextmanager
def serving(emulator_env: dict[str, str], tmp_path: Path, **settings: str) -> Iterator[dict[str, Any]]:
    """`d365portal serve` with `settings` (D365_* variables) until the block ends."""
    port = free_port()
    env = {**os.environ, **emulator_env, "D365_BIND": f"127.0.0.1:{port}", "D365_LOG_FORMAT": "json",
           **settings}
    log = (tmp_path / "serve.log").open("w+")
    command = [str(BIN / "d365portal"), "serve"]
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if requests.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        except requests.ConnectionError:
            time.sleep(0.1)
    try:
        if process.poll() is not None or time.monotonic() >= deadline:
            pytest.fail("the portal did not start: " + (tmp_path / "serve.log").read_text())
        yield {"url": url, "process": process, "log": tmp_path / "serve.log"}
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        log.close()


def test_serve_runs_the_portal_and_logs_each_request(served_portal: dict[str, Any]) -> None:
    url, process = served_portal["url"], served_portal["process"]
    assert requests.get(f"{url}/readyz", timeout=10).status_code == 200
    page = requests.get(f"{url}/es-ES/Account/Login/Login", timeout=10)
    assert page.status_code == 200 and "Iniciar Sesión" in page.text
    # The image's HEALTHCHECK command, run as Docker would run it, passes against the live portal.
    healthcheck = dockerfile_healthcheck()
    port = url.rsplit(":", 1)[1]
    passed = run([sys.executable if healthcheck[0] == "python" else healthcheck[0], *healthcheck[1:]],
                 {"D365_BIND": f"0.0.0.0:{port}"})
    assert passed.returncode == 0, passed.stderr
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=20) == 0
    output = served_portal["log"].read_text()
    lines = [json.loads(line) for line in output.splitlines()]  # every line, gunicorn's too, is JSON
    assert any(e["logger"] == "gunicorn.error" and "Booting worker" in e["message"] for e in lines)
    request_lines = [e for e in lines if e.get("logger") == "d365portal.request"]
    login = next(e for e in request_lines if e["path"] == "/es-ES/Account/Login/Login")
    assert login["status"] == 200 and login["method"] == "GET"
    assert login["request_id"] == page.headers["X-Request-ID"]
    assert "Traceback" not in output


def test_sigterm_under_load_stops_the_master_within_the_graceful_timeout(
    emulator_env: dict[str, str], tmp_path: Path
) -> None:
    """A container stop (SIGTERM) while eight clients keep loading pages: gunicorn's master and its
    workers finish what they are serving and exit cleanly within the graceful timeout."""
    graceful = 10
    with serving(emulator_env, tmp_path, D365_WORKERS="2", D365_THREADS="4",
                 D365_WORKER_TIMEOUT=str(graceful)) as served:  # fmt: skip
        url, process = served["url"], served["process"]
        stop = threading.Event()
        served_pages: list[int] = []

        def load() -> None:
            with requests.Session() as browser:  # keep-alive connections, as browsers hold them
                while not stop.is_set():
                    try:
                        response = browser.get(f"{url}/es-ES/Account/Login/Login", timeout=5)
                        served_pages.append(response.status_code)
                    except requests.RequestException:
                        time.sleep(0.05)

        clients = [threading.Thread(target=load, daemon=True) for _ in range(8)]
        for client in clients:
            client.start()
        time.sleep(1.5)
        before = len(served_pages)
        assert before > 20, "the load never reached the portal"
        workers = psutil.Process(process.pid).children()
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(timeout=graceful)
        finally:
            stop.set()
            for client in clients:
                client.join(timeout=10)
        took = time.monotonic() - started
    assert code == 0, served["log"].read_text()[-2000:]
    assert took < graceful, f"the master took {took:.1f} s"
    assert not [w for w in workers if w.is_running() and w.status() != psutil.STATUS_ZOMBIE]
    assert set(served_pages) == {200}, "a page failed while the portal was stopping"


def dockerfile_healthcheck() -> list[str]:
    """The exec-form command of the Dockerfile's HEALTHCHECK."""
    text = (Path(__file__).parents[2] / "Dockerfile").read_text()
    found = re.search(r"^HEALTHCHECK .*?CMD (\[.*?\])$", text, re.MULTILINE | re.DOTALL)
    assert found, "the Dockerfile has no HEALTHCHECK"
    return list(json.loads(found.group(1)))


def test_the_dockerfile_runs_serve_as_a_non_root_user_from_slim_stages() -> None:
    text = (Path(__file__).parents[2] / "Dockerfile").read_text()
    assert re.findall(r"^FROM (\S+)", text, re.MULTILINE) == ["python:3.11-slim", "python:3.11-slim"]
    assert re.search(r"^USER portal$", text, re.MULTILINE) and "useradd --system --uid 10001" in text
    assert text.rstrip().endswith('CMD ["d365portal", "serve"]')
    assert "/healthz" in " ".join(dockerfile_healthcheck())
    for needed in ("templates", "static", "config"):
        assert f"COPY {needed} ./{needed}" in text
    # The image installs the wheel (templates and static inside the package), never editable.
    assert "pip install -e" not in text and "pip wheel --no-deps" in text
    assert re.search(r"pip install /wheels/d365portal-\*\.whl", text)
    assert "COPY --from=build /opt/venv /opt/venv" in text and "COPY --from=build /src" not in text


def test_gunicorn_options_come_from_the_settings() -> None:
    options = gunicorn_options(Settings(bind="0.0.0.0:8000", workers=3, threads=4, worker_timeout=45))
    assert options["bind"] == ["0.0.0.0:8000"]
    assert (options["workers"], options["threads"], options["timeout"]) == (3, 4, 45)
    assert options["worker_class"] == WORKER_CLASS and options["accesslog"] is None


def test_serve_with_a_wrong_setting_prints_one_line(clean_env: dict[str, str]) -> None:
    result = invoke({**clean_env, "D365_WORKERS": "lots"}, "serve")
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "Error: setting workers (D365_WORKERS): expected a whole number "
        "(Input should be a valid integer, unable to parse string as an integer)"
    ]


def test_serve_without_a_secret_key_outside_demo_prints_one_line(clean_env: dict[str, str]) -> None:
    env = {k: v for k, v in clean_env.items() if k != "D365_SECRET_KEY"}
    result = invoke(env, "serve")
    assert result.exit_code == 1
    (line,) = result.output.strip().splitlines()
    assert line.startswith("Error: setting secret_key (D365_SECRET_KEY): required outside demo mode")


def test_gunicorn_on_the_wsgi_module_stops_with_one_line(clean_env: dict[str, str], tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('log_format = "xml"\n')
    env = {**clean_env, "D365_CONFIG": str(config)}
    result = run([str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{free_port()}", "d365portal.wsgi:app"], env)
    assert result.returncode != 0
    ours = [line for line in result.stderr.splitlines() if line.startswith("d365portal:")]
    assert ours == ["d365portal: setting log_format (D365_LOG_FORMAT): Input should be 'text' or 'json'"]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command", [["users", "list"], ["check"]])
def test_a_wrong_value_in_portal_toml_is_named_by_the_commands(
    clean_env: dict[str, str], tmp_path: Path, command: list[str]
) -> None:
    config = tmp_path / "portal.toml"
    config.write_text("threads = 0\n")
    result = invoke(clean_env, *command)
    assert result.exit_code == 1
    assert "setting threads (D365_THREADS): Input should be greater than or equal to 1" in result.output
    assert "Traceback" not in result.output
