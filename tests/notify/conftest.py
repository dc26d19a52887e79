"""Notifier fixtures: a real SMTP server on loopback that can go down and come back, the Web API
calls an agent makes, and a portal app for an in-process notifier on the test emulator."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask

from d365portal.app import create_app
from d365portal.crm import option_labels
from d365portal.emulator.seed import DEMO_AGENT_ID, DEMO_CASE_ID, DEMO_CONTACT_ID
from tests.conftest import TEST_TOKEN, make_settings


class Inbox:
    """An aiosmtpd server on a fixed loopback port; `stop()` / `start()` play an SMTP outage."""

    def __init__(self) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self.messages: list[EmailMessage] = []
        self.recipients: list[list[str]] = []
        self._controller: Any = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))  # type: ignore[arg-type]
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 OK"

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def wait_for(self, count: int, timeout: float = 15.0) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return list(self.messages)


@pytest.fixture()
def inbox() -> Iterator[Inbox]:
    box = Inbox()
    box.start()
    yield box
    box.stop()


class Agent:
    """What a support agent does in Dynamics, through the Web API (impersonated, MSCRMCallerID)."""

    def __init__(self, url: str) -> None:
        self.base = url.rstrip("/") + "/api/data/v9.2/"
        self.http = requests.Session()
        self.http.headers.update(
            {"Authorization": f"Bearer {TEST_TOKEN}", "MSCRMCallerID": str(DEMO_AGENT_ID)}
        )

    def comment(self, text: str, *, direction: int = 2, case: object = DEMO_CASE_ID) -> str:
        party = (
            {"participationtypemask": 1, "partyid_systemuser@odata.bind": f"/systemusers({DEMO_AGENT_ID})"}
            if direction == 2
            else {"participationtypemask": 1, "partyid_contact@odata.bind": f"/contacts({DEMO_CONTACT_ID})"}
        )
        body = {
            "description": text,
            "adx_portalcommentdirectioncode": direction,
            "regardingobjectid_incident_adx_portalcomment@odata.bind": f"/incidents({case})",
            "adx_portalcomment_activity_parties": [party],
        }
        response = self.http.post(self.base + "adx_portalcomments", json=body, timeout=10)
        assert response.status_code == 204, response.text
        return response.headers["OData-EntityId"].rsplit("(", 1)[1].rstrip(")")

    def patch(self, path: str, body: dict[str, Any]) -> None:
        response = self.http.patch(self.base + path, json=body, headers={"If-Match": "*"}, timeout=10)
        assert response.status_code == 204, response.text

    def post(self, path: str, body: dict[str, Any]) -> None:
        response = self.http.post(self.base + path, json=body, timeout=10)
        assert response.status_code in (200, 204), response.text


@pytest.fixture()
def agent(emulator: Any) -> Agent:
    return Agent(emulator.url)


def notifier_app(tmp_path: Path, emulator_url: str, smtp_url: str, **overrides: Any) -> Flask:
    app = create_app(
        make_settings(tmp_path, emulator_url, smtp_url=smtp_url, notify_poll_seconds=0.2, **overrides)
    )
    app.testing = True
    option_labels(app).refresh_now()
    return app


from tests.emulator.conftest import standalone_url  # noqa: E402, F401 - the separate emulator process


@pytest.fixture()
def standalone(standalone_url: str) -> str:  # noqa: F811
    """`d365portal emulator` as its own process, reseeded: its URL."""
    requests.post(f"{standalone_url}/_emulator/reset", timeout=30).raise_for_status()
    requests.post(f"{standalone_url}/_emulator/faults", json={"clear": True}, timeout=10).raise_for_status()
    return standalone_url
