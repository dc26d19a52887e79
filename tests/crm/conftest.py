"""Repository fixtures: the adapter's strict mock and mocked-HTTP client, plus repositories on it."""

from __future__ import annotations

import pytest

from d365portal.crm import Crm, build_crm
from d365portal.dataverse.client import DataverseClient
from d365portal.settings import FieldMap
from tests.dataverse.conftest import Sleeps, dv, mock, sleeps  # noqa: F401 - shared fixtures


@pytest.fixture()
def crm(dv: DataverseClient) -> Crm:  # noqa: F811
    """The repositories on the mocked client with the default field map."""
    return build_crm(dv, FieldMap())


__all__ = ["Sleeps"]
