"""The portal with D365_AUTH=client_secret against an identity provider at a custom authority host.

The identity provider (`https://login.sovereign.test`) is scripted with `responses`; Dataverse is an
emulator on loopback that accepts only the token that provider issues. Many page views, one token.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from d365portal import create_app
from d365portal.dataverse.context import token_requests
from d365portal.emulator import create_emulator_app
from d365portal.emulator.seed import DEMO_CASE_ID, DEMO_CASE_NUMBER
from tests.conftest import ServedApp, make_settings
from tests.dataverse.idp import CLIENT_ID, SECRET, TENANT, register_idp, token_body
from tests.dataverse.shapes import strict_mock
from tests.web.support_helpers import sign_in, text

HOST = "https://login.sovereign.test"
ISSUED = "sovereign-cloud-access-token"


@pytest.fixture(scope="module")
def strict_emulator() -> Iterator[ServedApp]:
    """An emulator that answers 401 to any token but the one the sovereign provider issues."""
    served = ServedApp(create_emulator_app(seed="demo", language="es-ES", require_token=ISSUED))
    yield served
    served.stop()


def test_one_token_request_for_many_page_views(tmp_path: Path, strict_emulator: ServedApp) -> None:
    emulator: Any = strict_emulator.wsgi_app
    emulator.store.reset()
    emulator.stats.reset()
    token_requests.reset()
    with strict_mock() as idp:
        idp.add_passthru(re.compile(r"http://127\.0\.0\.1:\d+/"))
        endpoint = register_idp(idp, host=HOST)
        idp.post(endpoint, json=token_body(ISSUED))
        settings = make_settings(
            tmp_path,
            strict_emulator.url,
            auth="client_secret",
            tenant_id=TENANT,
            client_id=CLIENT_ID,
            client_secret=SECRET,
            authority_host=HOST,
        )
        portal = sign_in(create_app(settings).test_client())
        pages = ["/es-ES/support/", f"/es-ES/support/case/{DEMO_CASE_ID}", "/es-ES/vigencia-soporte/"] * 4
        for path in pages:
            response = portal.get(path)
            assert response.status_code == 200, path
        assert DEMO_CASE_NUMBER in text(portal.get(f"/es-ES/support/case/{DEMO_CASE_ID}"))
        token_calls = [c for c in idp.calls if c.request.url == endpoint]
        assert len(token_calls) == 1 and token_requests.value == 1
        assert all(c.request.url.startswith(HOST) for c in idp.calls if "127.0.0.1" not in c.request.url)
    assert emulator.stats.snapshot()["total"] >= len(pages)  # every page reached Dataverse with that token
