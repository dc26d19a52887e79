"""The emulator's Web API routes: one table from (method, path shape) to a handler.

A path under `/api/data/v9.2/` is `<name>[(<key>)][/<tail>]`. Its shape is the name as written, or
`<set>` when the name is one of the store's entity sets, then `(<id>)` when it has a key, then the
tail. Adding a route is one line here plus its handler in `handlers.py`. A shape no route has with
any method is Dataverse's 404 for an unknown segment, or 501 when Dataverse has it and the emulator
does not (`NOT_IMPLEMENTED`); a known shape with another method is 405.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from werkzeug.wrappers import Request, Response

from d365portal.emulator import errors, handlers, knowledge, metadata_handlers, relationships
from d365portal.emulator.schema import Table

if TYPE_CHECKING:  # pragma: no cover
    from d365portal.emulator.app import EmulatorApp

Handler = Callable[["EmulatorApp", "Call"], Response]

ROUTES: dict[tuple[str, str], Handler] = {
    ("GET", ""): metadata_handlers.service_document,
    ("GET", "WhoAmI"): handlers.whoami,
    ("GET", "RetrieveAvailableLanguages"): metadata_handlers.available_languages,
    ("GET", "RetrieveAvailableLanguages()"): metadata_handlers.available_languages,
    ("POST", "UpdateOptionValue"): metadata_handlers.update_option_value,
    ("GET", "EntityDefinitions"): metadata_handlers.entity_definitions,
    ("GET", "EntityDefinitions(<id>)"): metadata_handlers.entity_definition,
    ("GET", "EntityDefinitions(<id>)/<path>"): metadata_handlers.entity_definition_path,
    ("POST", "CloseIncident"): handlers.close_incident,
    ("POST", "FullTextSearchKnowledgeArticle"): knowledge.full_text_search,
    ("POST", "<set>(<id>)/Microsoft.Dynamics.CRM.IncrementKnowledgeArticleViewCount"):
        knowledge.increment_view_count,
    ("GET", "systemusers(<id>)/Microsoft.Dynamics.CRM.RetrieveUserPrivileges()"): handlers.user_privileges,
    ("GET", "<set>"): handlers.get_collection,
    ("POST", "<set>"): handlers.create,
    ("GET", "<set>/$count"): handlers.count_rows,
    ("GET", "<set>(<id>)"): handlers.get_row,
    ("PATCH", "<set>(<id>)"): handlers.upsert,
    ("DELETE", "<set>(<id>)"): handlers.delete,
    ("GET", "<set>(<id>)/<path>"): handlers.get_related,
    ("POST", "<set>(<id>)/<path>"): relationships.associate,
    ("DELETE", "<set>(<id>)/<path>"): relationships.disassociate,
}

# Dataverse has these; the emulator answers 501 rather than pretending: first segments, then
# (method, shape) pairs of shapes that have other methods.
NOT_IMPLEMENTED: dict[str, str] = {
    "$metadata": "'$metadata'",
    "$batch": "'$batch'",
    "GlobalOptionSetDefinitions": "'GlobalOptionSetDefinitions'",
}
# Dataverse's own messages (Web API actions and functions, from Microsoft's Web API action and
# function references) the emulator does not implement: 501, not the 404 of an unknown segment.
DATAVERSE_MESSAGES = frozenset({
    "AddMembersTeam", "AddPrivilegesRole", "AddToQueue", "AddUserToRecordTeam", "ApplyRoutingRule",
    "Assign", "AssociateEntities", "BackgroundSendEmail", "Book", "BulkDelete", "BulkDetectDuplicates",
    "CalculateActualValueOpportunity", "CalculateRollupField", "CalculateTotalTimeIncident",
    "CancelContract", "CancelSalesOrder", "CheckIncomingEmail", "CloneContract", "CloseQuote",
    "ConvertOwnerTeamToAccessTeam", "ConvertQuoteToSalesOrder", "ConvertSalesOrderToInvoice",
    "CopyDynamicListToStatic", "CopySystemForm", "CreateAsyncJobToRevokeInheritedAccess",
    "CreateCustomerRelationships", "CreateEntities", "CreateMultiple", "DeleteAndPromote",
    "DeliverIncomingEmail", "DeliverPromoteEmail", "DeprovisionLanguage", "DownloadBlock",
    "ExecuteByIdSavedQuery", "ExecuteByIdUserQuery", "ExecuteWorkflow", "ExportSolution",
    "ExportTranslation", "FetchXmlToQueryExpression",
    "GenerateQuoteFromOpportunity", "GetAllTimeZonesWithDisplayName", "GetDefaultPriceLevel",
    "GetQuantityDecimal", "GetTimeZoneCodeByLocalizedName", "GetTrackingTokenEmail",
    "GrantAccess", "ImportSolution", "ImportTranslation",
    "InitializeFrom", "InitializeFileBlocksUpload", "InstallSampleData", "InsertOptionValue",
    "InsertStatusValue", "IsValidStateTransition", "LoseOpportunity", "Merge", "ModifyAccess",
    "PickFromQueue", "ProvisionLanguage", "PublishAllXml", "PublishXml", "QualifyLead",
    "QueryExpressionToFetchXml", "ReactivateEntityKey", "ReleaseToQueue", "RemoveFromQueue",
    "RemoveMembersTeam", "RemoveUserFromRecordTeam", "RetrieveAllEntities", "RetrieveCurrentOrganization",
    "RetrieveDeprovisionedLanguages", "RetrieveDuplicates", "RetrieveEntityChanges",
    "RetrieveInstalledLanguagePackVersion", "RetrieveLocLabels", "RetrieveMetadataChanges",
    "RetrieveOrganizationInfo", "RetrievePrincipalAccess", "RetrieveProvisionedLanguages",
    "RetrieveRecordChangeHistory", "RetrieveSharedPrincipalsAndAccess", "RetrieveTotalRecordCount",
    "RetrieveUserQueues", "RetrieveVersion", "RevokeAccess", "Rollup", "Route", "SearchByBodyKbArticle",
    "SendEmail", "SendEmailFromTemplate", "SetDataEncryptionKey", "SetParentSystemUser",
    "UpdateMultiple", "UpdateStateValue", "UploadBlock", "UpsertMultiple", "ValidateRecurrenceRule",
    "WinOpportunity", "WinQuote", "searchquery", "searchsuggest", "searchautocomplete",
    "RelationshipDefinitions", "ManagedPropertyDefinitions", "CommitAnnotationBlocksUpload",
})  # fmt: skip
NOT_IMPLEMENTED_METHODS: dict[tuple[str, str], str] = {
    ("PUT", "<set>(<id>)"): "PUT (single-property updates)",
}

_SEGMENT = re.compile(r"^([A-Za-z_$][A-Za-z0-9_.$]*)(?:\(([^)]*)\))?(?:/(.*))?$")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


@dataclass(frozen=True)
class Call:
    """One request, resolved: the first segment's name, its table (an entity set), key and tail."""

    request: Request
    name: str
    table: Table | None
    key: str | None
    tail: str | None

    @property
    def table_or_fail(self) -> Table:
        """The entity set's table (the route table sends only entity-set shapes here)."""
        if self.table is None:  # pragma: no cover - a route table mistake
            raise errors.unknown_segment(self.name)
        return self.table

    @property
    def row_id(self) -> str:
        """The key as a lower-case GUID; alternate keys are 501, anything else a syntax error."""
        key = (self.key or "").strip()
        if _GUID.match(key):
            return key.lower()
        if "=" in key:
            raise errors.not_implemented("alternate keys")
        raise errors.query_syntax("Bad Request - Error in query syntax.")


def first_segment(rest: str) -> str:
    """The name the path starts with (for the stats), even when the path does not parse."""
    match = _SEGMENT.match(rest)
    return match.group(1) if match else rest.split("/")[0]


def _shapes(name: str, key: str | None, tail: str | None, is_set: bool) -> list[str]:
    """The path's shapes, most specific first: the name as written, then `<set>` for an entity set;
    each with its tail as written, then with `<path>` for any tail."""
    key_shape = "" if key is None else "()" if key == "" else "(<id>)"  # "()": a function call
    tails = [f"/{tail}", "/<path>"] if tail else [""]
    names = [name, "<set>"] if is_set else [name]
    return [base + key_shape + end for base in names for end in tails]


def resolve(app: EmulatorApp, request: Request, rest: str) -> tuple[Handler, Call]:
    """The handler for `rest` (the path after the API prefix) and the parsed call."""
    if rest == "":  # the service document
        if request.method != "GET":
            raise errors.method_not_allowed(request.method, "/")
        return ROUTES[("GET", "")], Call(request, "", None, None, None)
    match = _SEGMENT.match(rest)
    if not match:
        raise errors.unknown_segment(rest.split("/")[0] or rest)
    name, key, tail = match.group(1), match.group(2), match.group(3)
    table = app.store.tables.get(name)
    call = Call(request, name, table, key, tail)
    shapes = _shapes(name, key, tail, table is not None)
    for shape in shapes:
        handler = ROUTES.get((request.method, shape))
        if handler is not None:
            return handler, call
    for shape in shapes:
        if any(known == shape for _, known in ROUTES):
            missing = NOT_IMPLEMENTED_METHODS.get((request.method, shape))
            if missing is not None:
                raise errors.not_implemented(missing)
            raise errors.method_not_allowed(request.method, name)
    if name in NOT_IMPLEMENTED:
        raise errors.not_implemented(NOT_IMPLEMENTED[name])
    if name.removesuffix("()") in DATAVERSE_MESSAGES:
        raise errors.not_implemented(f"the message '{name.removesuffix('()')}'")
    if table is not None and tail:
        raise errors.not_implemented(f"the path segment '{tail}' (properties, $ref, bound operations)")
    raise errors.unknown_segment(name)
