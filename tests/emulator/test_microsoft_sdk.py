"""Microsoft's Python SDK for Dataverse (`powerplatform-dataverse-client`) against the standalone
emulator over HTTPS: what a new user of the SDK would try first works, and fails as on Dataverse.

The SDK starts every table operation with an `EntityDefinitions` query (entity set name, primary id)
and reads picklist metadata before a write with text values; nothing of it is pre-filled here.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from azure.core.credentials import AccessToken

from bench.idp import write_self_signed
from tests.conftest import free_port
from tests.emulator.conftest import wait_for_emulator

pytestmark = pytest.mark.live
TOKEN = "sdk-test-token"


class EmulatorToken:
    """A `TokenCredential` that returns the emulator's token (what MSAL would get from Entra ID)."""

    def __init__(self) -> None:
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.scopes.append(scopes)
        return AccessToken(TOKEN, int(time.time()) + 3600)


@pytest.fixture(scope="module")
def https_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """`d365portal emulator --tls-cert … --tls-key …` on a free port, with a certificate made here."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    write_self_signed(cert, key)
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "d365portal.emulator", "--port", str(port), "--memory", "--seed", "demo",
         "--require-token", TOKEN, "--tls-cert", str(cert), "--tls-key", str(key)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"https://127.0.0.1:{port}"
    wait_for_emulator(url, process, verify=str(cert))
    yield url, cert
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture()
def sdk(https_emulator: tuple[str, Path], monkeypatch: pytest.MonkeyPatch) -> Any:
    from PowerPlatform.Dataverse.client import DataverseClient

    url, cert = https_emulator
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))  # the SDK uses requests; trust our certificate
    requests.post(f"{url}/_emulator/reset", timeout=10, verify=str(cert)).raise_for_status()
    return DataverseClient(url, EmulatorToken())


def test_create_get_query_page_update_delete(sdk: Any) -> None:
    account_id = sdk.records.create("account", {"name": "Contoso SDK", "telephone1": "555-0100"})
    contact_id = sdk.records.create(
        "contact",
        {
            "firstname": "Ana",
            "lastname": "Ruiz",
            "parentcustomerid_account@odata.bind": f"/accounts({account_id})",
        },
    )
    case_id = sdk.records.create(
        "incident",
        {
            "title": "La VPN no conecta",
            "prioritycode": 1,
            "customerid_account@odata.bind": f"/accounts({account_id})",
            "primarycontactid@odata.bind": f"/contacts({contact_id})",
        },
    )

    case = sdk.records.retrieve("incident", case_id, select=["title", "prioritycode", "_customerid_value"])
    assert case["title"] == "La VPN no conecta" and case["prioritycode"] == 1
    assert case["_customerid_value"] == account_id
    formatted = sdk.records.retrieve(
        "incident",
        case_id,
        select=["prioritycode"],
        include_annotations="OData.Community.Display.V1.FormattedValue",
    )
    assert formatted is not None
    assert formatted["prioritycode@OData.Community.Display.V1.FormattedValue"] == "Alta"

    for n in range(35):
        sdk.records.create(
            "incident", {"title": f"SDK {n:02d}", "customerid_account@odata.bind": f"/accounts({account_id})"}
        )
    top = sdk.records.list(
        "incident",
        filter=f"_customerid_value eq {account_id}",
        select=["title"],
        orderby=["title desc"],
        top=3,
    )
    assert [r["title"] for r in top] == ["SDK 34", "SDK 33", "SDK 32"]
    pages = list(
        sdk.records.list_pages(
            "incident", filter=f"_customerid_value eq {account_id}", select=["title"], orderby=["title asc"],
            page_size=10,
        )
    )  # fmt: skip
    titles = [r["title"] for page in pages for r in page]
    assert len(pages) == 4 and len(titles) == 36 and len(set(titles)) == 36  # each row once

    sdk.records.update("incident", case_id, {"title": "La VPN ya conecta"})
    assert sdk.records.retrieve("incident", case_id, select=["title"])["title"] == "La VPN ya conecta"
    sdk.records.delete("incident", case_id)
    assert sdk.records.retrieve("incident", case_id) is None


def test_an_unknown_column_and_a_missing_row_give_the_sdk_errors_with_dataverse_codes(sdk: Any) -> None:
    from PowerPlatform.Dataverse.core.errors import HttpError

    with pytest.raises(HttpError) as unknown:
        sdk.records.list("incident", select=["nosuchcolumn"], top=1)
    assert unknown.value.status_code == 400 and unknown.value.details["service_error_code"] == "0x80060888"
    assert "nosuchcolumn" in str(unknown.value)
    missing = "00000000-0000-0000-0000-00000000abcd"
    with pytest.raises(HttpError) as gone:
        sdk.records.update("incident", missing, {"title": "x"})
    assert gone.value.status_code == 404 and gone.value.details["service_error_code"] == "0x80040217"
    with pytest.raises(Exception, match="Unable to resolve entity set"):
        sdk.records.create("nosuchtable", {"name": "x"})
