"""The tenant's field map: validated at start-up, and the only source of tenant-specific names."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit
from uuid import UUID, uuid4

import pytest
import responses

from d365portal.crm import build_crm
from d365portal.crm.models import NewCase, Scope
from d365portal.dataverse.client import DataverseClient
from d365portal.settings import FieldMap, SettingsError
from tests.dataverse.shapes import BASE, collection, incident, lookup

ACCOUNT = UUID("5b1e6a2c-1f3d-ea11-a812-000d3a1b2c3d")
SCOPE = Scope(contact_id=uuid4(), account_id=ACCOUNT)
TENANT_MAP = FieldMap(
    incident_associate_column="cr9_clientefinal",
    incident_associate_navigation="cr9_ClienteFinal",
    associate_parent_column="cr9_distribuidor",
)


def test_a_field_map_name_that_is_not_an_identifier_stops_start_up(dv: DataverseClient) -> None:
    bad = FieldMap.model_construct(**{**FieldMap().model_dump(), "incident_associate_column": "1bad"})
    with pytest.raises(SettingsError, match="D365_FIELDMAP__INCIDENT_ASSOCIATE_COLUMN"):
        build_crm(dv, bad)
    with pytest.raises(SettingsError):
        build_crm(dv, {"incident_associate_column": "ino_asociado"})


def test_tenant_names_reach_the_queries_and_the_records(
    dv: DataverseClient, mock: responses.RequestsMock
) -> None:
    crm = build_crm(dv, TENANT_MAP)
    associate = uuid4()
    row = incident(uuid4(), **lookup("cr9_clientefinal", associate, "Cliente Final SAS"))
    mock.get(f"{BASE}incidents", json=collection("incidents", [row]))
    new = NewCase(
        id=uuid4(),
        title="t",
        description=None,
        customer_id=ACCOUNT,
        contact_id=uuid4(),
        associate_id=associate,
    )
    mock.patch(f"{BASE}incidents({new.id})", status=201, json=incident(new.id))
    [case] = crm.cases.list_for(SCOPE).items
    assert case.associate.id == associate and case.associate.name == "Cliente Final SAS"
    query = {k: v[0] for k, v in parse_qs(urlsplit(mock.calls[0].request.url).query).items()}
    assert "customerid_account/_cr9_distribuidor_value" in query["$filter"]
    assert "_cr9_clientefinal_value" in query["$select"].split(",")
    crm.cases.create(new)
    assert b'"cr9_ClienteFinal@odata.bind"' in mock.calls[1].request.body
