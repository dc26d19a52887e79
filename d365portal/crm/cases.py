"""Cases (incidents) visible to a contact: its account's and its associated end customers'."""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

from d365portal.crm import records as r
from d365portal.crm.models import Case, CaseFilter, CaseState, CaseStatus, NewCase, Page, Scope, SortDirection
from d365portal.crm.paging import cursor_from_next_link, skiptoken_from_cursor
from d365portal.dataverse import odata
from d365portal.dataverse.client import DataverseClient
from d365portal.dataverse.errors import Conflict, NotFound
from d365portal.settings import FieldMap

# Sortable columns of the case list, by the name the web layer uses.
CaseSort = Literal["ticket_number", "title", "customer", "priority", "status_reason", "created_on"]

# The customer column sorts by the lookup column `_customerid_value` (a related column such as the
# account's name cannot be used in a Web API $orderby). Dataverse orders a lookup by the related
# record's primary name (Web API "Order rows"), and so does the emulator.
SORT_COLUMNS: dict[str, str] = {
    "ticket_number": "ticketnumber",
    "title": "title",
    "customer": "_customerid_value",
    "priority": "prioritycode",
    "status_reason": "statuscode",
    "created_on": "createdon",
}
WHICH_FILTERS: dict[str, odata.Expr | None] = {
    "open": odata.eq("statecode", int(CaseState.ACTIVE)),
    "resolved": odata.eq("statecode", int(CaseState.RESOLVED)),
    "all": None,
}
ORIGIN_WEB = 3


def company_filter(scope: Scope, fieldmap: FieldMap) -> odata.Expr:
    """Rows whose customer is the account or one of its associated end customers."""
    parent = r.lookup_column(fieldmap.associate_parent_column)
    return odata.or_(
        odata.eq("_customerid_value", scope.account_id),
        odata.eq(f"customerid_account/{parent}", scope.account_id),
    )


def scope_filter(scope: Scope, fieldmap: FieldMap) -> odata.Expr:
    """The cases `scope` may see: the company's, and at Contacto level (or "Mis casos") only those
    whose contact is the user."""
    company = company_filter(scope, fieldmap)
    if scope.own_cases_only:
        return odata.and_(company, odata.eq("_primarycontactid_value", scope.contact_id))
    return company


def case_columns(fieldmap: FieldMap, *, detail: bool = False) -> list[str]:
    """The incident columns the portal reads (the description only for one case)."""
    columns = [
        "incidentid", "ticketnumber", "title", "_customerid_value",
        r.lookup_column(fieldmap.incident_associate_column), "_primarycontactid_value",
        "_entitlementid_value", "prioritycode", "caseorigincode", "casetypecode",
        "statecode", "statuscode", "createdon", "modifiedon", "billedserviceunits",
    ]  # fmt: skip
    return [*columns, "description"] if detail else columns


WAITING_FOR_DETAILS = 3  # incident.statuscode "Esperando detalles" (Waiting for Details)


def awaiting_reply(row: r.Row) -> bool:
    """An open case whose status reason is Waiting for Details, or whose latest public entry (comment
    or web note, as expanded by the list) is from staff."""
    if row.get("statecode") != int(CaseState.ACTIVE):
        return False
    if row.get("statuscode") == WAITING_FOR_DETAILS:
        return True
    latest: tuple[str, bool] | None = None
    for comment in row.get("incident_adx_portalcomments") or []:
        stamp = str(comment.get("createdon") or "")
        if latest is None or stamp > latest[0]:
            latest = (stamp, comment.get("adx_portalcommentdirectioncode") == 2)
    for note in row.get("Incident_Annotation") or []:
        stamp = str(note.get("createdon") or "")
        if latest is None or stamp > latest[0]:
            latest = (stamp, True)
    return bool(latest and latest[1])


def case_from_row(row: r.Row, fieldmap: FieldMap, *, awaiting: bool = False) -> Case:
    """A `Case` from an incident row with annotations."""
    state = r.required_choice(row, "statecode", "incident")
    return Case(
        awaiting_reply=awaiting,
        etag=row.get("@odata.etag"),
        id=r.uuid(row, "incidentid"),
        ticket_number=r.text(row, "ticketnumber"),
        title=r.text(row, "title") or "",
        description=r.text(row, "description"),
        customer=r.lookup(row, "customerid"),
        associate=r.lookup(row, fieldmap.incident_associate_column),
        contact=r.lookup(row, "primarycontactid"),
        entitlement=r.lookup(row, "entitlementid"),
        priority=r.choice(row, "prioritycode", "incident"),
        origin=r.choice(row, "caseorigincode", "incident"),
        case_type=r.choice(row, "casetypecode", "incident"),
        state=state,
        status_reason=r.required_choice(row, "statuscode", "incident"),
        created_on=r.required_timestamp(row, "createdon"),
        modified_on=r.timestamp(row, "modifiedon"),
        billed_minutes=r.integer(row, "billedserviceunits") if state.value != 0 else None,
    )


class CaseRepository:
    """Reads and writes incidents; every method is one Dataverse request."""

    def __init__(self, client: DataverseClient, fieldmap: FieldMap, web_prefix: str = "*WEB*") -> None:
        self._client = client
        self._fieldmap = fieldmap
        self._prefix = web_prefix

    def _latest_entries(self) -> str:
        """Each listed case's latest comment and latest web note (one of each, newest first): enough
        to mark the case "Esperando su respuesta" in the list's own request."""
        latest: list[tuple[str, odata.Direction]] = [("createdon", "desc")]
        return ",".join((
            odata.expand("incident_adx_portalcomments",
                         select_=("adx_portalcommentdirectioncode", "createdon"),
                         filter_=odata.ne("statecode", 2), orderby_=latest, top_=1),
            odata.expand("Incident_Annotation", select_=("createdon",),
                         filter_=odata.startswith("notetext", self._prefix), orderby_=latest, top_=1),
        ))  # fmt: skip

    def list_for(
        self,
        scope: Scope,
        *,
        search: str | None = None,
        which: CaseFilter = "open",
        sort: CaseSort = "ticket_number",
        direction: SortDirection = "desc",
        page_size: int = 10,
        cursor: str | None = None,
    ) -> Page[Case]:
        """One page of the cases in scope, searched in number/title, sorted, open/resolved/all."""
        if which not in WHICH_FILTERS or sort not in SORT_COLUMNS or direction not in ("asc", "desc"):
            raise ValueError("unknown case filter, sort column or direction")
        parts = [scope_filter(scope, self._fieldmap)]
        state = WHICH_FILTERS[which]
        if state is not None:
            parts.append(state)
        if search and search.strip():
            text = search.strip()
            parts.append(odata.or_(odata.contains("ticketnumber", text), odata.contains("title", text)))
        keys: list[tuple[str, odata.Direction]] = [(SORT_COLUMNS[sort], direction)]
        if sort != "ticket_number":  # a unique tie-breaker keeps paging stable
            keys.append(("ticketnumber", direction))
        params: dict[str, str | int] = {
            "$select": odata.select(case_columns(self._fieldmap)),
            "$filter": odata.and_(*parts).text,
            "$orderby": odata.orderby(keys),
            "$expand": self._latest_entries(),
        }
        skiptoken = skiptoken_from_cursor(cursor)
        if skiptoken:
            params["$skiptoken"] = skiptoken
        rows, next_link = self._client.get_page("incidents", params, page_size=page_size)
        items = tuple(case_from_row(row, self._fieldmap, awaiting=awaiting_reply(row)) for row in rows)
        return Page(items=items, next_cursor=cursor_from_next_link(next_link))

    def open_summary(self, scope: Scope, top: int = 50) -> tuple[int, tuple[Case, ...]]:
        """The number of open cases in scope and the latest changed of them (with "Esperando su
        respuesta" marked), in one request: the home page's "what waits"."""
        params: dict[str, str | int] = {
            "$select": odata.select(case_columns(self._fieldmap)),
            "$filter": odata.and_(scope_filter(scope, self._fieldmap), odata.eq("statecode", 0)).text,
            "$orderby": odata.orderby([("modifiedon", "desc"), ("ticketnumber", "desc")]),
            "$expand": self._latest_entries(),
            "$count": "true",
            "$top": int(top),
        }
        body = self._client.get("incidents", params)
        rows = body.get("value", [])
        cases = tuple(case_from_row(row, self._fieldmap, awaiting=awaiting_reply(row)) for row in rows)
        return int(body.get("@odata.count", len(rows))), cases

    def get_for(self, scope: Scope, case_id: UUID) -> Case:
        """One case by id within scope; `NotFound` when it does not exist or is out of scope."""
        found = self._find(
            odata.and_(odata.eq("incidentid", UUID(str(case_id))), scope_filter(scope, self._fieldmap))
        )
        if found is None:
            raise NotFound(f"incident {case_id} not found in the visitor's scope", status=404)
        return found

    def create(self, new: NewCase) -> Case:
        """Create idempotently (PATCH + If-None-Match: *; 412 on a retry = already created)."""
        body: dict[str, Any] = {
            "title": new.title,
            "customerid_account@odata.bind": odata.bind("accounts", new.customer_id),
            "primarycontactid@odata.bind": odata.bind("contacts", new.contact_id),
            "caseorigincode": ORIGIN_WEB,
        }
        if new.description:
            body["description"] = new.description
        if new.associate_id is not None:
            nav = odata.identifier(self._fieldmap.incident_associate_navigation)
            body[f"{nav}@odata.bind"] = odata.bind("accounts", new.associate_id)
        if new.entitlement_id is not None:
            body["entitlementid@odata.bind"] = odata.bind("entitlements", new.entitlement_id)
        params = {"$select": odata.select(case_columns(self._fieldmap, detail=True))}
        try:
            row = self._client.upsert(
                "incidents", new.id, body, create_only=True, representation=True, params=params
            )
        except Conflict:
            # The id exists: our own earlier attempt whose answer was lost (or a resubmitted form).
            # Return it only if it is that same contact's case for that customer.
            existing = self._existing(new)
            if existing is None:
                raise
            return existing
        if row is None:  # the server ignored return=representation (rare): read it back
            existing = self._existing(new)
            if existing is None:
                raise NotFound(f"incident {new.id} was not found after it was created", status=404)
            return existing
        return case_from_row(row, self._fieldmap)

    def resolve(self, case_id: UUID, subject: str, minutes: int = 0, description: str | None = None) -> None:
        """Resolve through the CloseIncident action (status reason Problem Solved)."""
        resolution: dict[str, Any] = {
            "subject": subject,
            "incidentid@odata.bind": odata.bind("incidents", case_id),
        }
        if description:
            resolution["description"] = description
        if minutes:
            resolution["timespent"] = int(minutes)
        self._client.call_action(
            "CloseIncident", {"IncidentResolution": resolution, "Status": int(CaseStatus.PROBLEM_SOLVED)}
        )

    def cancel(self, case_id: UUID) -> None:
        """Cancel: state Canceled, status reason Cancelled."""
        changes = {"statecode": int(CaseState.CANCELED), "statuscode": int(CaseStatus.CANCELLED)}
        self._client.update("incidents", UUID(str(case_id)), changes)

    def reopen(self, case_id: UUID) -> None:
        """Reactivate: state Active, status reason In Progress."""
        changes = {"statecode": int(CaseState.ACTIVE), "statuscode": int(CaseStatus.IN_PROGRESS)}
        self._client.update("incidents", UUID(str(case_id)), changes)

    def _existing(self, new: NewCase) -> Case | None:
        return self._find(
            odata.and_(
                odata.eq("incidentid", new.id),
                odata.eq("_primarycontactid_value", new.contact_id),
                odata.eq("_customerid_value", new.customer_id),
            )
        )

    def _find(self, where: odata.Expr) -> Case | None:
        params = {"$select": odata.select(case_columns(self._fieldmap, detail=True)), "$filter": where.text}
        rows = self._client.get("incidents", params).get("value", [])
        return case_from_row(rows[0], self._fieldmap) if rows else None
