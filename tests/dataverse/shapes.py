"""Payloads shaped like Dataverse's (Microsoft's documented examples): annotations, etags, nextLinks."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import responses

ORG = "https://org.crm.dynamics.com"
BASE = f"{ORG}/api/data/v9.2/"
FV = "@OData.Community.Display.V1.FormattedValue"
JSON_MINIMAL = "application/json; odata.metadata=minimal"


def lookup(
    name: str, value: UUID | str, label: str, table: str = "account", nav: str | None = None
) -> dict[str, Any]:
    """The annotated `_<name>_value` properties of a lookup."""
    key = f"_{name}_value"
    row = {
        f"{key}{FV}": label,
        f"{key}@Microsoft.Dynamics.CRM.lookuplogicalname": table,
        key: str(value),
    }
    if nav:
        row[f"{key}@Microsoft.Dynamics.CRM.associatednavigationproperty"] = nav
    return row


def choice(name: str, value: int, label: str) -> dict[str, Any]:
    """A choice column with its formatted label."""
    return {f"{name}{FV}": label, name: value}


def incident(
    incident_id: UUID | str,
    *,
    number: str = "CAS-01202-B2K8P0",
    title: str = "Arreglo al reporte Equipos sin Endpoint",
    customer: tuple[UUID | str, str] = ("5b1e6a2c-1f3d-ea11-a812-000d3a1b2c3d", "INOVAIT SAS"),
    state: tuple[int, str] = (0, "Activo"),
    status: tuple[int, str] = (1, "En Revisión"),
    etag: str = 'W/"4412093"',
    **extra: Any,
) -> dict[str, Any]:
    """An incident row as Dataverse sends it with annotations."""
    row: dict[str, Any] = {
        "@odata.etag": etag,
        "incidentid": str(incident_id),
        "title": title,
        "ticketnumber": number,
        **choice("prioritycode", 2, "Moderado"),
        **choice("caseorigincode", 3, "Web"),
        **lookup("customerid", customer[0], customer[1], nav="customerid_account"),
        **choice("statecode", *state),
        **choice("statuscode", *status),
        "createdon@OData.Community.Display.V1.FormattedValue": "26/12/2019 11:24",
        "createdon": "2019-12-26T16:24:00Z",
        "modifiedon": "2019-12-27T10:00:00Z",
        "_ino_asociado_value": None,
        "_primarycontactid_value": None,
        "_entitlementid_value": None,
        "casetypecode": None,
        "billedserviceunits": None,
        "description": None,
    }
    row.update(extra)
    return row


def collection(entity_set: str, rows: list[dict[str, Any]], next_link: str | None = None) -> dict[str, Any]:
    """A collection body with @odata.context and an optional @odata.nextLink."""
    body: dict[str, Any] = {"@odata.context": f"{BASE}$metadata#{entity_set}", "value": rows}
    if next_link:
        body["@odata.nextLink"] = next_link
    return body


def next_link(entity_set: str, page: int = 2) -> str:
    """A nextLink with an opaque paging-cookie $skiptoken, as Dataverse writes it."""
    return (
        f"{BASE}{entity_set}?$select=title,ticketnumber&$skiptoken=%3Ccookie%20pagenumber=%22{page}%22%20"
        "pagingcookie=%22%253ccookie%2520page%253d%25221%2522%253e%22%20istracking=%22False%22%20/%3E"
    )


def error(code: str, message: str) -> dict[str, Any]:
    """Dataverse's error body."""
    return {"error": {"code": code, "message": message}}


def strict_mock() -> responses.RequestsMock:
    """A RequestsMock that fails the test when a registered response is not used."""
    return responses.RequestsMock(assert_all_requests_are_fired=True)
