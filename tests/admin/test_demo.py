"""`d365portal demo`: the seeded emulator and the portal under gunicorn, started and stopped together."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import requests

from d365portal.emulator.seed import DEMO_EMAIL, DEMO_PASSWORD, DEMO_USERNAME
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


def _start_demo(tmp_path: Path) -> tuple[subprocess.Popen[bytes], int, int]:
    portal_port, emulator_port = free_port(), free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "d365portal", "demo", "--port", str(portal_port),
         "--emulator-port", str(emulator_port)],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    _wait(f"http://127.0.0.1:{portal_port}/healthz", {}, process)
    return process, portal_port, emulator_port


def _post_form(browser: requests.Session, url: str, data: dict[str, str]) -> requests.Response:
    """GET the form at `url`, then post `data` with its CSRF token (as a browser would)."""
    form = browser.get(url, timeout=10)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form.text)
    assert token is not None, url
    return browser.post(url, data={"csrf_token": token.group(1), **data}, timeout=10)


def _sign_in(portal: str) -> None:
    home = _post_form(
        requests.Session(),
        f"{portal}/es-ES/Account/Login/Login",
        {"username": DEMO_USERNAME, "password": DEMO_PASSWORD},
    )
    assert "Bienvenido(a)" in home.text


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_a_quick_double_ctrl_c_stops_every_process_ten_times_in_a_row(tmp_path: Path) -> None:
    """Two SIGINTs to the demo's process group 50 ms apart (a quick double Ctrl-C), after a sign-in:
    every time the demo, the emulator, gunicorn's master and its workers are gone and both ports are
    free within 10 s."""
    for trial in range(10):
        process, portal_port, emulator_port = _start_demo(tmp_path)
        _sign_in(f"http://127.0.0.1:{portal_port}")
        family = [process.pid] + [p.pid for p in psutil.Process(process.pid).children(recursive=True)]
        assert len(family) >= 5, family  # demo, emulator, gunicorn master and two workers
        os.killpg(process.pid, signal.SIGINT)
        time.sleep(0.05)
        os.killpg(process.pid, signal.SIGINT)
        deadline = time.monotonic() + 10
        left: list[str] = ["not checked"]
        while time.monotonic() < deadline:
            alive = [pid for pid in family if psutil.pid_exists(pid) and _running(pid)]
            ports = [port for port in (portal_port, emulator_port) if _listening(port)]
            left = [f"pid {pid}" for pid in alive] + [f"port {port}" for port in ports]
            if not left:
                break
            time.sleep(0.1)
        if left:
            for pid in family:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        assert not left, f"trial {trial}: still there after 10 s: {left}"
        assert process.wait(timeout=1) == 0


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_demo_mail_links_lead_to_the_port_it_serves_on(tmp_path: Path) -> None:
    """`d365portal demo --port N` mails reset links for http://127.0.0.1:N/ (not the default 5000)."""
    process, portal_port, _ = _start_demo(tmp_path)
    try:
        portal = f"http://127.0.0.1:{portal_port}"
        forgot = f"{portal}/es-ES/Account/Login/ForgotPassword"
        sent = _post_form(requests.Session(), forgot, {"email": DEMO_EMAIL})
        assert sent.status_code == 200
        outbox = tmp_path / "var" / "outbox"
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not list(outbox.glob("*.eml")):
            time.sleep(0.1)
        (mail,) = outbox.glob("*.eml")
        links = re.findall(r"https?://[^\s\"<>]+ResetPassword\?[^\s\"<>]+", mail.read_text())
        expected = f"{portal}/es-ES/Account/Login/ResetPassword?"
        assert links and all(link.startswith(expected) for link in links)
    finally:
        os.killpg(process.pid, signal.SIGINT)
        assert process.wait(timeout=15) == 0


def test_an_agents_comment_in_the_demo_puts_a_mail_in_the_outbox(tmp_path: Path) -> None:
    """`make run` starts the notifier: the emulator README's agent comment (MSCRMCallerID) mails the
    case's contact into var/outbox/ within the poll interval (2 s here)."""
    from d365portal.emulator.seed import DEMO_AGENT_ID, DEMO_CASE_ID, DEMO_CASE_NUMBER, DEMO_CONTACT_ID

    portal_port, emulator_port = free_port(), free_port()
    env = {**os.environ, "D365_EMULATOR_TOKEN": "demo-notify-token", "D365_NOTIFY_POLL_SECONDS": "2"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "d365portal",
            "demo",
            "--port",
            str(portal_port),
            "--emulator-port",
            str(emulator_port),
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        _wait(f"http://127.0.0.1:{portal_port}/healthz", {}, process)
        outbox = tmp_path / "var" / "outbox"
        from d365portal.identity.store import SqliteStore

        store = SqliteStore(tmp_path / "var" / "identity.sqlite3")  # the demo's shared store
        deadline = time.monotonic() + 30  # the notifier's baseline (its first poll) comes first
        while store.get("notify:token:entitlements") is None and time.monotonic() < deadline:
            time.sleep(0.2)
        body = {
            "description": "Ya encontramos la causa; le escribimos mañana.",
            "adx_portalcommentdirectioncode": 2,
            "regardingobjectid_incident_adx_portalcomment@odata.bind": f"/incidents({DEMO_CASE_ID})",
            "adx_portalcomment_activity_parties": [
                {
                    "participationtypemask": 1,
                    "partyid_systemuser@odata.bind": f"/systemusers({DEMO_AGENT_ID})",
                },
                {"participationtypemask": 2, "partyid_contact@odata.bind": f"/contacts({DEMO_CONTACT_ID})"},
            ],
        }
        headers = {"Authorization": "Bearer demo-notify-token", "MSCRMCallerID": str(DEMO_AGENT_ID)}
        sent = requests.post(
            f"http://127.0.0.1:{emulator_port}/api/data/v9.2/adx_portalcomments",
            json=body,
            headers=headers,
            timeout=10,
        )
        assert sent.status_code == 204, sent.text
        deadline = time.monotonic() + 20
        mails: list[Path] = []
        while time.monotonic() < deadline:
            mails = [m for m in outbox.glob("*.eml") if DEMO_CASE_NUMBER in m.read_text(errors="replace")]
            if mails:
                break
            time.sleep(0.2)
        assert len(mails) == 1, list(outbox.glob("*.eml"))
        from email import message_from_bytes, policy

        mail = message_from_bytes(mails[0].read_bytes(), policy=policy.default)
        text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert DEMO_EMAIL in mail["To"]
        assert f"http://127.0.0.1:{portal_port}/es-ES/support/case/{DEMO_CASE_ID}" in text
    finally:
        os.killpg(process.pid, signal.SIGINT)
        assert process.wait(timeout=15) == 0
