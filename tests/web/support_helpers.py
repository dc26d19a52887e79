"""Helpers shared by the support-screen and hour-bank page tests (issue 5)."""

from __future__ import annotations

import html
import re
from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from d365portal.crm.models import Level
from d365portal.emulator.seed import (
    DEMO_ACCOUNT_ID,
    DEMO_ACCOUNT_NAME,
    DEMO_CONTACT_ID,
    DEMO_CONTACT_NAME,
    DEMO_EMAIL,
    DEMO_USERNAME,
)
from d365portal.web.auth_context import Principal

DEMO_PRINCIPAL = Principal(
    contact_id=DEMO_CONTACT_ID,
    account_id=DEMO_ACCOUNT_ID,
    account_name=DEMO_ACCOUNT_NAME,
    full_name=DEMO_CONTACT_NAME,
    username=DEMO_USERNAME,
    email=DEMO_EMAIL,
    level=int(Level.ADMIN),  # lmelo administers INOVAIT in the demo's web roles
)
# A page that shows company data re-reads the user's rights with its own request (DESIGN.md
# decision 20): one more Dataverse request, made at the same time.
RIGHTS_CHECK = 1


def sign_in(client: FlaskClient, principal: Principal = DEMO_PRINCIPAL) -> FlaskClient:
    """Sign the test client in by writing the principal into its session (as sign-in does)."""
    with client.session_transaction() as session:
        session["principal"] = principal.to_session()
    return client


def text(response: TestResponse) -> str:
    """The response body as text, with HTML entities decoded."""
    return html.unescape(response.get_data(as_text=True))


def requests_for(emulator: Any, call: Any) -> tuple[Any, int]:
    """Run `call()` and count the Dataverse requests it cost."""
    emulator.stats.reset()
    result = call()
    return result, emulator.stats.snapshot()["total"]


def rows_of(body: str) -> list[list[str]]:
    """The cells (tags stripped) of every row in the page's first table body."""
    match = re.search(r"<tbody>(.*?)</tbody>", body, re.S)
    if not match:
        return []
    rows = []
    for row in re.findall(r"<tr>(.*?)</tr>", match.group(1), re.S):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        rows.append([" ".join(re.sub(r"<[^>]+>", " ", cell).split()) for cell in cells])
    return rows


def link(body: str, rel: str) -> str | None:
    """The href of the `rel` link (next/prev) in a page."""
    match = re.search(rf'<a href="([^"]+)" rel="{rel}"', body)
    return html.unescape(match.group(1)) if match else None


def hidden(body: str, name: str) -> str:
    """The value of a hidden (or any) input by name."""
    match = re.search(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', body) or re.search(
        rf'<input[^>]*value="([^"]*)"[^>]*name="{name}"', body
    )
    assert match, f"no input named {name}"
    return html.unescape(match.group(1))
