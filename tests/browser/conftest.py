"""Helpers shared by the browser tests (Playwright on Debian's Chromium via the `page` fixture)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from d365portal.emulator.seed import DEMO_PASSWORD, DEMO_USERNAME
from d365portal.settings import Settings
from tests.conftest import ServedApp, free_port, make_settings


@pytest.fixture()
def portal_port() -> int:
    """The live portal's port, chosen before the app so its links can point at it."""
    return free_port()


@pytest.fixture()
def settings(tmp_path: Path, emulator: Any, portal_port: int) -> Settings:
    """Links in mails (reset, invitation) point at the live portal itself, so the browser can follow them."""
    return make_settings(tmp_path, emulator.url, public_base_url=f"http://127.0.0.1:{portal_port}")


@pytest.fixture()
def live_portal(app: Flask, portal_port: int) -> Iterator[ServedApp]:
    served = ServedApp(app, port=portal_port)
    yield served
    served.stop()


LABELS = {"es-ES": ("Usuario", "Contraseña", "Iniciar Sesión"), "en-US": ("Username", "Password", "Sign in")}


def field(page: Any, label: str) -> Any:
    """The input whose <label> reads `label` (a required-field "*" before or after it allowed)."""
    return page.get_by_label(re.compile(r"^(\*\s*)?" + re.escape(label) + r"(\s*\*)?$"))


def sign_in(
    page: Any, username: str = DEMO_USERNAME, password: str = DEMO_PASSWORD, lang: str = "es-ES"
) -> None:
    """Walk the manual's "Ingresar al Portal": the sign-in page, Usuario, Contraseña, Iniciar Sesión."""
    page.goto(f"/{lang}/Account/Login/Login")
    user_label, password_label, button = LABELS[lang]
    field(page, user_label).fill(username)
    field(page, password_label).fill(password)
    page.get_by_role("button", name=button, exact=True).click()
    page.wait_for_load_state()


def wait_for_mail(outbox: Path, count: int = 1, timeout: float = 10.0) -> list[EmailMessage]:
    """The .eml files of the outbox once there are at least `count`, oldest first (mail is sent in the
    background, so it may land a moment after the page answers)."""
    deadline = time.monotonic() + timeout
    while True:
        files = sorted(outbox.glob("*.eml")) if outbox.is_dir() else []
        if len(files) >= count or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert len(files) >= count, f"expected {count} message(s) in {outbox}, found {len(files)}"
    return [message_from_bytes(f.read_bytes(), policy=policy.default) for f in files]  # type: ignore[misc]


def text_body(message: EmailMessage) -> str:
    """The plain-text part of a message."""
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]
