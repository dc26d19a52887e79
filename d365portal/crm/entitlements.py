"""Entitlements: the hour banks of the contact's account and its associated end customers."""

from __future__ import annotations

from uuid import UUID

from d365portal.crm import records as r
from d365portal.crm.cases import case_from_row, company_filter
from d365portal.crm.models import Entitlement, Scope
from d365portal.dataverse import odata
from d365portal.dataverse.client import DataverseClient
from d365portal.dataverse.errors import NotFound
from d365portal.settings import FieldMap

# Collection-valued navigation properties (relationship schema names in Dataverse).
CASES_NAV = "entitlement_cases"  # entitlement → incidents (incident.entitlementid)
ACCOUNT_ENTITLEMENTS_NAV = "account_entitlement_Customer"  # account → entitlements (entitlement.customerid)

ENTITLEMENT_COLUMNS = [
    "entitlementid", "name", "_customerid_value", "startdate", "enddate", "allocationtypecode",
    "totalterms", "remainingterms", "statecode", "statuscode", "isdefault", "restrictcasecreation",
]  # fmt: skip
LINKED_CASE_COLUMNS = [
    "incidentid",
    "ticketnumber",
    "title",
    "statecode",
    "statuscode",
    "billedserviceunits",
    "createdon",
]
ACTIVE = 1


def entitlement_from_row(row: r.Row, fieldmap: FieldMap) -> Entitlement:
    """An `Entitlement` from an entitlement row with annotations (and its expanded cases, if any)."""
    return Entitlement(
        etag=row.get("@odata.etag"),
        id=r.uuid(row, "entitlementid"),
        name=r.text(row, "name") or "",
        customer=r.lookup(row, "customerid"),
        start_date=r.date_only(row, "startdate"),
        end_date=r.date_only(row, "enddate"),
        allocation_type=r.required_choice(row, "allocationtypecode", "entitlement"),
        total_terms=r.decimal(row, "totalterms"),
        remaining_terms=r.decimal(row, "remainingterms"),
        state=r.required_choice(row, "statecode", "entitlement"),
        status_reason=r.required_choice(row, "statuscode", "entitlement"),
        is_default=r.boolean(row, "isdefault"),
        restrict_case_creation=r.boolean(row, "restrictcasecreation"),
        cases=tuple(case_from_row(case, fieldmap) for case in row.get(CASES_NAV) or ()),
    )


class EntitlementRepository:
    """Reads entitlements; every method is one Dataverse request."""

    def __init__(self, client: DataverseClient, fieldmap: FieldMap) -> None:
        self._client = client
        self._fieldmap = fieldmap

    def list_for(self, scope: Scope) -> list[Entitlement]:
        """Every entitlement in scope, ordered by state (↑) then name (none, without a request, for a
        user whose level does not show hour banks)."""
        if not scope.hour_banks:
            return []
        params = {
            "$select": odata.select(ENTITLEMENT_COLUMNS),
            "$filter": company_filter(scope, self._fieldmap).text,
            "$orderby": odata.orderby([("statecode", "asc"), ("name", "asc")]),
        }
        rows = self._client.get("entitlements", params).get("value", [])
        return [entitlement_from_row(row, self._fieldmap) for row in rows]

    def get_for(self, scope: Scope, entitlement_id: UUID) -> Entitlement:
        """One entitlement in scope with its linked cases; `NotFound` when missing or out of scope.
        A Contacto user who may see hour banks sees only their own cases among the linked ones."""
        if not scope.hour_banks:
            raise NotFound(
                f"entitlement {entitlement_id}: hour banks are not shown at this level", status=404
            )
        where = odata.and_(
            odata.eq("entitlementid", UUID(str(entitlement_id))), company_filter(scope, self._fieldmap)
        )
        params = {
            "$select": odata.select(ENTITLEMENT_COLUMNS),
            "$filter": where.text,
            "$expand": odata.expand(
                CASES_NAV,
                select_=LINKED_CASE_COLUMNS,
                orderby_=[("createdon", "desc")],
                filter_=odata.eq("_primarycontactid_value", scope.contact_id)
                if scope.own_cases_only
                else None,
            ),
        }
        rows = self._client.get("entitlements", params).get("value", [])
        if not rows:
            raise NotFound(f"entitlement {entitlement_id} not found in the visitor's scope", status=404)
        return entitlement_from_row(rows[0], self._fieldmap)

    def default_for_new_case(self, account_id: UUID, associate_id: UUID | None) -> UUID | None:
        """The active default entitlement that applies to a new case (the associate's first, then the
        account's), None when there is none. When `associate_id` is given it must be an associate of
        the account, else `NotFound` — this one request both validates the associate and finds it."""
        account_id = UUID(str(account_id))
        where = odata.eq("accountid", account_id)
        if associate_id is not None:
            associate_id = UUID(str(associate_id))
            if associate_id == account_id:
                raise NotFound("an account is not its own associate", status=404)
            parent = r.lookup_column(self._fieldmap.associate_parent_column)
            where = odata.or_(
                where, odata.and_(odata.eq("accountid", associate_id), odata.eq(parent, account_id))
            )
        active_default = odata.and_(odata.eq("statecode", ACTIVE), odata.eq("isdefault", True))
        params = {
            "$select": "accountid",
            "$filter": where.text,
            "$expand": odata.expand(
                ACCOUNT_ENTITLEMENTS_NAV,
                select_=["entitlementid"],
                filter_=active_default,
                orderby_=[("createdon", "desc")],
            ),
        }
        rows = {
            UUID(row["accountid"]): row
            for row in self._client.get("accounts", params, annotations=False).get("value", [])
        }
        if associate_id is not None and associate_id not in rows:
            raise NotFound(f"account {associate_id} is not an associate of {account_id}", status=404)
        for owner in (associate_id, account_id):
            row = rows.get(owner) if owner is not None else None
            entitlements = (row or {}).get(ACCOUNT_ENTITLEMENTS_NAV) or []
            if entitlements:
                return UUID(entitlements[0]["entitlementid"])
        return None
