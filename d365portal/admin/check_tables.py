"""Steps 4 and 5 of `d365portal check`: the tables, columns and relationships the portal uses exist
(field-map columns included), and the application user may read them and create a case.

Step 4 asks each table for its columns with a filter that matches no row
(`<set>?$select=<columns>&$filter=<key> eq 00000000-…`): Dataverse validates every name and answers
400 0x80060888 "Could not find a property named 'x'" for a missing one, and no data (no password hash)
is ever read. Step 5 reads one row of each table and asks Dataverse which privileges the application
user holds (`RetrieveUserPrivileges`), so nothing is created to prove that a case could be.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from d365portal.admin.check_steps import Context, Step
from d365portal.dataverse import odata
from d365portal.dataverse.client import DataverseClient
from d365portal.dataverse.errors import DataverseError, InvalidQuery, NotFound, NotSupported, PermissionDenied
from d365portal.settings import ENV_PREFIX, FieldMap

NO_ROW = "00000000-0000-0000-0000-000000000000"
UNKNOWN_SEGMENT = "0x8006088a"
_MISSING = re.compile(r"property named '([^']+)'")

# What creating a case and running the portal takes, beyond reading the four tables.
CREATE_PRIVILEGES = {
    "prvCreateIncident": "Create on Case",
    "prvAppendIncident": "Append on Case",
    "prvAppendToAccount": "Append To on Account",
    "prvAppendToContact": "Append To on Contact",
    "prvAppendToEntitlement": "Append To on Entitlement",
    "prvWriteContact": "Write on Contact (sign-in, passwords)",
    "prvWriteIncident": "Write on Case (cancel, reopen)",
    "prvCreateadx_portalcomment": "Create on Portal Comment",
    "prvAppendToIncident": "Append To on Case (comments regarding it)",
    "prvCreateNote": "Create on Note (files on comments)",
    "prvAppendToadx_portalcomment": "Append To on Portal Comment (its files)",
    "prvCreateContact": "Create on Contact (a company admin invites a new colleague)",
    "prvAppendContact": "Append on Contact (web roles, audit notes)",
    "prvAppendadx_webrole": "Append on Web Role (a company admin changes a level)",
    "prvAppendToadx_webrole": "Append To on Web Role",
    "prvCreateFeedback": "Create on Feedback (\"¿Le resultó útil?\")",
    "prvCreateadx_casedeflection": "Create on Case Deflection (articles opened from the new-case form)",
    "prvAppendToKnowledgeArticle": "Append To on Knowledge Article (ratings, deflections, view counts)",
    "prvCreateadx_externalidentity": "Create on External Identity (a first sign-in with Microsoft)",
    "prvAppendadx_externalidentity": "Append on External Identity (linked to its contact)",
}
READ_PRIVILEGES = {
    "prvReadIncident": "Read on Case",
    "prvReadAccount": "Read on Account",
    "prvReadContact": "Read on Contact",
    "prvReadEntitlement": "Read on Entitlement",
    "prvReadadx_portalcomment": "Read on Portal Comment",
    "prvReadNote": "Read on Note",
    "prvReadadx_webrole": "Read on Web Role",
    "prvReadKnowledgeArticle": "Read on Knowledge Article",
    "prvReadadx_externalidentity": "Read on External Identity (sign-in with Microsoft)",
}


@dataclass(frozen=True)
class Table:
    """A table the portal uses: its entity set, key, columns, and a navigation property it relies on."""

    entity_set: str
    key: str
    columns: tuple[str, ...]
    navigation: tuple[str, str] | None = None  # (navigation property, key of the related table)


def portal_tables(fieldmap: FieldMap, *, second_factor: bool = True) -> list[Table]:
    """The tables and columns the repositories read and write, with this tenant's field map (and the
    second factor's contact column unless `two_factor_app` is off)."""
    from d365portal.crm.accounts import account_columns
    from d365portal.crm.cases import case_columns
    from d365portal.crm.contacts import PARENT_ACCOUNT_NAV, contact_columns
    from d365portal.crm.conversation import COMMENT_COLUMNS, COMMENT_FILES, NOTE_COLUMNS
    from d365portal.crm.entitlements import ACCOUNT_ENTITLEMENTS_NAV, CASES_NAV, ENTITLEMENT_COLUMNS
    from d365portal.crm.knowledge import ARTICLE_COLUMNS, SEARCH_COLUMNS

    return [
        Table("incidents", "incidentid", tuple(case_columns(fieldmap, detail=True)),
              (fieldmap.incident_associate_navigation, "accountid")),
        Table("accounts", "accountid", tuple(account_columns(fieldmap)),
              (ACCOUNT_ENTITLEMENTS_NAV, "entitlementid")),
        Table("contacts", "contactid",
              tuple(contact_columns(fieldmap, with_hash=True, second_factor=second_factor)),
              (PARENT_ACCOUNT_NAV, "accountid")),
        Table("entitlements", "entitlementid", tuple(ENTITLEMENT_COLUMNS), (CASES_NAV, "incidentid")),
        Table("adx_portalcomments", "activityid", COMMENT_COLUMNS, (COMMENT_FILES, "annotationid")),
        Table("annotations", "annotationid", NOTE_COLUMNS),
        Table("organizations", "organizationid", ("maxuploadfilesize", "blockedattachments")),
        Table("adx_webroles", "adx_webroleid", ("adx_webroleid", "adx_name", "statecode"),
              ("adx_webrole_contact", "contactid")),
        Table("knowledgearticles", "knowledgearticleid",
              tuple(dict.fromkeys(  # the search names lookups as QueryExpression does; $select as _x_value
                  "_rootarticleid_value" if c == "rootarticleid" else c
                  for c in (*SEARCH_COLUMNS, *ARTICLE_COLUMNS)
              ))),
        Table("feedback", "feedbackid", ("title", "rating", "minrating", "maxrating", "source")),
        Table("adx_casedeflections", "adx_casedeflectionid", ("adx_name", "adx_casetitle")),
        Table("adx_externalidentities", "adx_externalidentityid",
              ("adx_username", "adx_identityprovidername", "_adx_contactid_value"),
              ("adx_contactid", "contactid")),
    ]  # fmt: skip


def setting_of(column: str, fieldmap: FieldMap) -> str | None:
    """`fieldmap.x (D365_FIELDMAP__X)` when the column name comes from the field map."""
    for name, value in fieldmap.model_dump().items():
        if column in (value, f"_{value}_value"):
            return f"fieldmap.{name} ({ENV_PREFIX}FIELDMAP__{name.upper()})"
    return None


def _probe(client: DataverseClient, table: Table, columns: list[str], expand: str | None = None) -> None:
    params = {"$select": odata.select(columns), "$filter": f"{table.key} eq {NO_ROW}"}
    if expand:
        params["$expand"] = expand
    client.get(table.entity_set, params, annotations=False)


def missing_columns(client: DataverseClient, table: Table) -> list[str]:
    """The columns Dataverse says the table lacks (asks again without each one it names)."""
    remaining, missing = list(table.columns), list[str]()
    for _ in range(len(table.columns) + 1):
        try:
            _probe(client, table, remaining)
            return missing
        except InvalidQuery as exc:
            found = _MISSING.search(exc.message)
            if not found or found.group(1) not in remaining:
                raise
            missing.append(found.group(1))
            remaining.remove(found.group(1))
            if not remaining:
                return missing
    return missing


def _describe_missing(names: list[str], table: Table, fieldmap: FieldMap) -> str:
    described = []
    for name in names:
        setting = setting_of(name, fieldmap)
        described.append(f"{table.entity_set}.{name}" + (f" (from {setting})" if setting else ""))
    return ", ".join(described)


def step_tables(ctx: Context) -> Step:
    """4. Each table, column and relationship the portal uses exists."""
    title = "The tables and columns the portal uses exist"
    assert ctx.client is not None and ctx.settings is not None  # noqa: S101 - step 3 passed
    fieldmap, problems, checked = ctx.settings.fieldmap, [], 0
    for table in portal_tables(fieldmap, second_factor=ctx.settings.two_factor_app):
        try:
            missing = missing_columns(ctx.client, table)
            if missing:
                problems.append("missing column " + _describe_missing(missing, table, fieldmap))
            checked += len(table.columns) - len(missing)
            if table.navigation:
                nav, nav_key = table.navigation
                try:
                    _probe(ctx.client, table, [table.key], f"{nav}($select={nav_key})")
                except InvalidQuery as exc:
                    if not _MISSING.search(exc.message):
                        raise
                    problems.append("missing relationship " + _describe_missing([nav], table, fieldmap))
        except NotFound:
            problems.append(f"missing table {table.entity_set}")
        except PermissionDenied:
            problems.append(f"cannot read {table.entity_set} (no Read privilege: see step 5)")
        except DataverseError as exc:
            problems.append(f"{table.entity_set}: {exc}")
    if problems:
        return Step(
            4,
            "tables",
            title,
            "fail",
            "; ".join(problems),
            "create the missing columns in Dataverse, or point the field map at this tenant's names "
            "(the [fieldmap] table of portal.toml or D365_FIELDMAP__<NAME>)",
        )
    count = len(portal_tables(fieldmap, second_factor=ctx.settings.two_factor_app))
    return Step(
        4, "tables", title, "pass", f"{count} tables, {checked} columns and their relationships found"
    )


def _privileges(client: DataverseClient, user_id: str) -> dict[str, str] | None:
    """Privilege name → depth, or None when the server has no RetrieveUserPrivileges (not Dataverse)."""
    path = f"systemusers({odata.guid(user_id)})/Microsoft.Dynamics.CRM.RetrieveUserPrivileges()"
    try:
        body = client.get(path, annotations=False)
    except NotSupported:
        return None
    except NotFound as exc:
        if (exc.code or "").lower() == UNKNOWN_SEGMENT:  # no `systemusers` at all: not Dataverse
            return None
        raise
    return {str(p.get("PrivilegeName")): str(p.get("Depth", "")) for p in body.get("RolePrivileges", [])}


def step_access(ctx: Context) -> Step:
    """5. The application user can read each table and create a case (checked without creating one)."""
    title = "The application user can read the tables and create a case"
    assert ctx.client is not None and ctx.settings is not None  # noqa: S101 - step 3 passed
    problems: list[str] = []
    for table in portal_tables(ctx.settings.fieldmap, second_factor=ctx.settings.two_factor_app):
        try:
            ctx.client.get(table.entity_set, {"$select": table.key, "$top": "1"}, annotations=False)
        except PermissionDenied:
            problems.append(f"cannot read {table.entity_set}")
        except DataverseError as exc:
            problems.append(f"reading {table.entity_set}: {exc}")
    held: dict[str, str] | None = None
    if ctx.user_id:
        try:
            held = _privileges(ctx.client, ctx.user_id)
        except PermissionDenied:
            problems.append("cannot list its own privileges (needs Read on User)")
        except DataverseError as exc:
            problems.append(f"RetrieveUserPrivileges: {exc}")
    notes = []
    if held is None:
        notes.append("privileges not listed: this server has no RetrieveUserPrivileges")
    else:
        needed = {**READ_PRIVILEGES, **CREATE_PRIVILEGES}
        lacking = [label for name, label in needed.items() if name not in held]
        if lacking:
            problems.append("lacks " + ", ".join(lacking))
        narrow = [label for name, label in READ_PRIVILEGES.items() if held.get(name, "Global") != "Global"]
        if narrow:
            notes.append("reads only part of the organization for: " + ", ".join(narrow))
    if problems:
        return Step(
            5,
            "access",
            title,
            "fail",
            "; ".join(problems),
            "give the application user a security role with Organization-level Read on Case, "
            "Account, Contact, Entitlement, Portal Comment and Note, Create and Append on Case, "
            "Create on Portal Comment and Note, Append To on Account, Contact, Entitlement, Case and "
            "Portal Comment, and Write on Contact and Case",
        )
    detail = "reads cases, accounts, contacts, entitlements, portal comments, notes and the organization"
    detail += "; " + "; ".join(notes) if notes else "; may create cases (privileges checked, nothing created)"
    return Step(5, "access", title, "pass", detail)
