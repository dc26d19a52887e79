"""Labels per language from Dataverse's metadata: loaded in the background, refreshed after the
configured time without a restart, never paid for by a page view."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from d365portal import create_app
from d365portal.crm import option_labels
from d365portal.crm.conversation import AttachmentLimits
from d365portal.crm.labels import LabelCatalog, LabelRepository, OptionLabels
from d365portal.crm.models import Choice
from d365portal.emulator.seed import DEMO_CASE_ID
from tests.conftest import TEST_TOKEN, make_settings
from tests.web.support_helpers import RIGHTS_CHECK, sign_in, text


def _rename(emulator: Any, value: int, label: str, language_code: int) -> None:
    """What a tenant's customiser does: UpdateOptionValue on incident.prioritycode, through the Web API."""
    response = requests.post(
        f"{emulator.url}/api/data/v9.2/UpdateOptionValue",
        json={
            "EntityLogicalName": "incident",
            "AttributeLogicalName": "prioritycode",
            "Value": value,
            "Label": {"LocalizedLabels": [{"Label": label, "LanguageCode": language_code}]},
            "MergeLabels": True,
        },
        headers={"Authorization": f"Bearer {TEST_TOKEN}"},
        timeout=10,
    )
    assert response.status_code == 204, response.text


def test_the_repository_reads_every_language_from_metadata(app: Any) -> None:
    with app.app_context():
        catalog = option_labels()
        found = LabelRepository(app.extensions["dataverse"]).load()
    assert found.label("incident", "prioritycode", 2, 3082) == "Moderado"
    assert found.label("incident", "prioritycode", 2, 1033) == "Normal"
    assert found.label("incident", "statuscode", 1, 3082) == "En Revisión"
    assert found.label("entitlement", "allocationtypecode", 1, 1033) == "Number of hours"
    assert found.label("entitlement", "statecode", 4, 3082) == "En espera"
    assert catalog.loaded


def test_a_missing_label_falls_back_to_the_users_language_then_the_formatted_value() -> None:
    class Fixed(LabelRepository):
        def __init__(self) -> None:
            pass

        def attachment_limits(self) -> AttachmentLimits:
            return AttachmentLimits()

        def load(self) -> OptionLabels:
            return OptionLabels(
                localized={("incident", "prioritycode", 2): {3082: "Moderado"}},
                user={
                    ("incident", "prioritycode", 2): "Moderado (usuario)",
                    ("incident", "prioritycode", 3): "Baja",
                },
            )

    catalog = LabelCatalog(Fixed(), max_age=60)
    normal = Choice(value=2, label="Formatted", entity="incident", attribute="prioritycode")
    low = Choice(value=3, label="Formatted low", entity="incident", attribute="prioritycode")
    high = Choice(value=1, label="Formatted high", entity="incident", attribute="prioritycode")
    assert catalog.label(normal, "en-US") == "Formatted"  # not loaded yet: Dataverse's formatted value
    catalog.refresh_now()
    assert catalog.label(normal, "es-ES") == "Moderado"
    assert catalog.label(normal, "en-US") == "Moderado (usuario)"  # no English label: the user's
    assert catalog.label(low, "en-US") == "Baja"
    assert catalog.label(high, "en-US") == "Formatted high"  # in no metadata: the formatted value


def test_a_label_the_tenant_changes_shows_after_the_refresh_interval_and_no_page_pays_for_it(
    tmp_path: Path, emulator: Any, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(make_settings(tmp_path, emulator.url, metadata_refresh_seconds=1))
    app.testing = True
    client = sign_in(app.test_client())
    caplog.set_level(logging.INFO, logger="d365portal.request")
    first = client.get(f"/en-US/support/case/{DEMO_CASE_ID}")  # starts the background load
    assert first.status_code == 200
    deadline = time.monotonic() + 10
    while not option_labels(app).loaded and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "Normal" in text(client.get(f"/en-US/support/case/{DEMO_CASE_ID}"))
    _rename(emulator, 2, "Standard priority", 1033)
    assert "Standard priority" not in text(client.get(f"/en-US/support/case/{DEMO_CASE_ID}"))  # still fresh
    shown = False
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not shown:
        time.sleep(0.3)
        shown = "Standard priority" in text(client.get(f"/en-US/support/case/{DEMO_CASE_ID}"))
    assert shown, "the renamed label never appeared"
    assert option_labels(app).refreshes >= 2
    assert "Moderado" in text(client.get(f"/es-ES/support/case/{DEMO_CASE_ID}"))  # Spanish unchanged
    pages = [
        r for r in caplog.records if r.name == "d365portal.request" and "/support/case/" in r.getMessage()
    ]
    assert len(pages) >= 4
    # The case and the rights re-read (DESIGN.md decision 20); never a metadata request.
    calls = [r.fields["dataverse_calls"] for r in pages]  # type: ignore[attr-defined]
    assert all(n == 1 + RIGHTS_CHECK for n in calls), [r.getMessage() for r in pages]


def test_an_unexpected_error_in_a_refresh_leaves_the_catalogue_able_to_refresh_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A background refresh that fails in an unforeseen way (not a Dataverse error) is logged, keeps the
    labels it had, and does not leave the catalogue marked as refreshing forever."""

    class Broken(LabelRepository):
        def __init__(self) -> None:
            self.calls = 0

        def load(self) -> OptionLabels:
            self.calls += 1
            raise KeyError("PYTEST_CURRENT_TEST")  # what a racing os.environ iteration raised once

    repository = Broken()
    catalog = LabelCatalog(repository, max_age=3600)
    catalog.refresh_now()
    assert not catalog.loaded and "unexpected error" in caplog.text
    catalog.ensure_fresh()  # not stuck: a new background attempt starts
    deadline = time.monotonic() + 5
    while repository.calls < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert repository.calls == 2
