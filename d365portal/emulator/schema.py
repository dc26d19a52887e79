"""The emulated tables: columns, types, lookups and navigation properties (a small $metadata)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

Kind = Literal["guid", "string", "int", "decimal", "bool", "datetime", "dateonly", "choice", "lookup"]


@dataclass(frozen=True)
class Column:
    """One attribute of a table as the Web API exposes it."""

    name: str
    kind: Kind
    max_length: int | None = None
    required: bool = False
    # lookups: target logical name → single-valued navigation property name
    targets: tuple[tuple[str, str], ...] = ()

    @cached_property
    def read_name(self) -> str:
        """The name a client reads and filters on (`_x_value` for lookups)."""
        return f"_{self.name}_value" if self.kind == "lookup" else self.name

    @property
    def edm_type(self) -> str:
        """The Edm type name used in error messages."""
        return {
            "guid": "Edm.Guid",
            "string": "Edm.String",
            "int": "Edm.Int32",
            "decimal": "Edm.Decimal",
            "bool": "Edm.Boolean",
            "datetime": "Edm.DateTimeOffset",
            "dateonly": "Edm.DateTimeOffset",
            "choice": "Edm.Int32",
            "lookup": "Edm.Guid",
        }[self.kind]


@dataclass(frozen=True)
class CollectionNav:
    """A collection-valued navigation property: rows of `entity_set` whose `column` points here."""

    name: str
    entity_set: str
    column: str


@dataclass(frozen=True)
class ManyToMany:
    """One side of an N:N relationship: the other table's rows linked through the intersect table's
    rows (`intersect_set`, whose `this_column` holds this row's id and `other_column` the other's).
    Web API: read with `$expand`, written with `<nav>/$ref` (associate) and `<nav>(<id>)/$ref`
    (disassociate); the intersect table itself is read-only."""

    name: str
    entity_set: str
    intersect_set: str
    this_column: str
    other_column: str


@dataclass
class Table:
    """An entity set and its entity type."""

    entity_set: str
    logical_name: str
    primary_key: str
    primary_name: str
    columns: dict[str, Column] = field(default_factory=dict)
    collections: dict[str, CollectionNav] = field(default_factory=dict)
    many_to_many: dict[str, ManyToMany] = field(default_factory=dict)

    def add(self, *columns: Column) -> None:
        """Add columns to the table."""
        for column in columns:
            self.columns[column.name] = column
        self.__dict__.pop("by_read_name", None)
        self.__dict__.pop("navigations", None)

    @cached_property
    def by_read_name(self) -> dict[str, Column]:
        """Columns keyed by the name clients read (`_x_value` for lookups)."""
        return {c.read_name: c for c in self.columns.values()}

    @cached_property
    def navigations(self) -> dict[str, tuple[Column, str]]:
        """Single-valued navigation property → (lookup column, target logical name)."""
        navs: dict[str, tuple[Column, str]] = {}
        for column in self.columns.values():
            for target, nav in column.targets:
                navs[nav] = (column, target)
        return navs


def _common(table: Table, *, stateful: bool = True) -> None:
    """Key, dates and version (every table); state and status reason (tables that have them)."""
    table.add(
        Column(table.primary_key, "guid"),
        Column("createdon", "datetime"),
        Column("modifiedon", "datetime"),
        Column("versionnumber", "int"),
    )
    if stateful:
        table.add(Column("statecode", "choice"), Column("statuscode", "choice"))
    table.add(lookup("createdby", ("systemuser", "createdby")))


def lookup(name: str, *targets: tuple[str, str], required: bool = False) -> Column:
    """A lookup column with its (target table, navigation property) pairs."""
    return Column(name, "lookup", targets=tuple(targets), required=required)


ACCOUNT = ("account", "customerid_account")
CONTACT = ("contact", "customerid_contact")


def build_tables(custom_lookups: dict[str, list[Column]] | None = None) -> dict[str, Table]:
    """Every emulated table; `custom_lookups` adds a tenant's own columns (e.g. incident Asociado)."""
    incidents = Table("incidents", "incident", "incidentid", "title")
    _common(incidents)
    incidents.add(
        Column("title", "string", 200, required=True),
        Column("ticketnumber", "string", 100),
        Column("description", "string", 2000),
        lookup("customerid", ACCOUNT, CONTACT, required=True),
        lookup("primarycontactid", ("contact", "primarycontactid")),
        lookup("entitlementid", ("entitlement", "entitlementid")),
        Column("prioritycode", "choice"),
        Column("caseorigincode", "choice"),
        Column("casetypecode", "choice"),
        Column("decremententitlementterm", "bool"),
        Column("billedserviceunits", "int"),
    )

    accounts = Table("accounts", "account", "accountid", "name")
    _common(accounts)
    accounts.add(
        Column("name", "string", 160, required=True),
        Column("accountnumber", "string", 20),
        Column("emailaddress1", "string", 100),
        Column("telephone1", "string", 50),
        Column("address1_city", "string", 80),
        lookup("primarycontactid", ("contact", "primarycontactid")),
        lookup("parentaccountid", ("account", "parentaccountid")),
    )
    accounts.collections["account_parent_account"] = CollectionNav(
        "account_parent_account", "accounts", "parentaccountid"
    )
    accounts.collections["account_entitlement_Customer"] = CollectionNav(
        "account_entitlement_Customer", "entitlements", "customerid"
    )
    accounts.collections["incident_customer_accounts"] = CollectionNav(
        "incident_customer_accounts", "incidents", "customerid"
    )

    contacts = Table("contacts", "contact", "contactid", "fullname")
    _common(contacts)
    contacts.add(
        Column("firstname", "string", 50),
        Column("lastname", "string", 50, required=True),
        Column("fullname", "string", 160),
        Column("emailaddress1", "string", 100),
        Column("telephone1", "string", 50),
        Column("donotemail", "bool"),
        lookup(
            "parentcustomerid",
            ("account", "parentcustomerid_account"),
            ("contact", "parentcustomerid_contact"),
        ),
        Column("adx_identity_username", "string", 100),
        Column("adx_identity_passwordhash", "string", 128),
        Column("adx_identity_securitystamp", "string", 100),
        Column("adx_identity_logonenabled", "bool"),
        Column("adx_identity_lockoutenabled", "bool"),
        Column("adx_identity_accessfailedcount", "int"),
        Column("adx_identity_lockoutenddate", "datetime"),
        Column("adx_identity_emailaddress1confirmed", "bool"),
        Column("adx_identity_lastsuccessfullogin", "datetime"),
        Column("adx_identity_twofactorenabled", "bool"),
        # Not Power Pages': the column a tenant adds for the portal's authenticator app (issue 17).
        Column("d365p_secondfactor", "string", 4000),
    )

    entitlements = Table("entitlements", "entitlement", "entitlementid", "name")
    _common(entitlements)
    entitlements.add(
        Column("name", "string", 100, required=True),
        lookup("customerid", ACCOUNT, CONTACT),
        Column("startdate", "dateonly"),
        Column("enddate", "dateonly"),
        Column("allocationtypecode", "choice"),
        Column("totalterms", "decimal"),
        Column("remainingterms", "decimal"),
        Column("decreaseremainingon", "choice"),
        Column("restrictcasecreation", "bool"),
        Column("isdefault", "bool"),
        Column("description", "string", 2000),
    )
    entitlements.collections["entitlement_cases"] = CollectionNav(
        "entitlement_cases", "incidents", "entitlementid"
    )

    resolutions = Table("incidentresolutions", "incidentresolution", "activityid", "subject")
    _common(resolutions)
    resolutions.add(
        Column("subject", "string", 200),
        lookup("incidentid", ("incident", "incidentid")),
        Column("timespent", "int"),
        Column("description", "string", 2000),
    )
    incidents.collections["Incident_IncidentResolutions"] = CollectionNav(
        "Incident_IncidentResolutions", "incidentresolutions", "incidentid"
    )

    contacts.collections["Contact_Annotation"] = CollectionNav(
        "Contact_Annotation", "annotations", "objectid"
    )
    conversation = _conversation_tables(incidents)
    roles = _web_role_tables(contacts)
    knowledge = _knowledge_tables(contacts)
    identities = _external_identity_table(contacts)
    tables = {
        t.entity_set: t
        for t in (incidents, accounts, contacts, entitlements, resolutions, *conversation, *roles, *knowledge,
                  identities)
    }  # fmt: skip
    for entity_set, columns in (custom_lookups or {}).items():
        tables[entity_set].add(*columns)
    return tables


# Tables the emulator serves read-only, as Dataverse does (activityparty: "GET (RetrieveMultiple Only)";
# rows come from the deep insert of their activity).
READ_ONLY_SETS = frozenset({"activityparties", "adx_webrole_contactset"})
# Tables whose rows are written only inside a deep insert (their parent's collection property).
DEEP_INSERT_ONLY_SETS = frozenset({"activityparties"})


def _conversation_tables(incidents: Table) -> list[Table]:
    """Portal comments, notes (annotations), activity parties, agents and the organization (issue 13).

    Names as Microsoft's entity references give them: adx_portalcomment (an activity; `regardingobjectid`
    → `regardingobjectid_incident_adx_portalcomment`, incident collection `incident_adx_portalcomments`),
    annotation (`objectid` → `objectid_incident` / `objectid_adx_portalcomment`; collections
    `Incident_Annotation`, `adx_portalcomment_Annotations`), activityparty (`activityid`, `partyid` →
    `partyid_contact` / `partyid_systemuser`; collection `adx_portalcomment_activity_parties`).
    """
    comments = Table("adx_portalcomments", "adx_portalcomment", "activityid", "subject")
    _common(comments)
    comments.add(
        Column("subject", "string", 400),
        Column("description", "string", 100000),
        Column("adx_portalcommentdirectioncode", "choice"),
        lookup("regardingobjectid", ("incident", "regardingobjectid_incident_adx_portalcomment")),
        Column("activitytypecode", "string", 64),
    )
    incidents.collections["incident_adx_portalcomments"] = CollectionNav(
        "incident_adx_portalcomments", "adx_portalcomments", "regardingobjectid"
    )

    notes = Table("annotations", "annotation", "annotationid", "subject")
    _common(notes, stateful=False)
    notes.add(
        Column("subject", "string", 500),
        Column("notetext", "string", 100000),
        Column("filename", "string", 255),
        Column("mimetype", "string", 256),
        Column("filesize", "int"),
        Column("documentbody", "string", None),
        Column("isdocument", "bool"),
        Column("objecttypecode", "string", 64),
        lookup(
            "objectid",
            ("incident", "objectid_incident"),
            ("adx_portalcomment", "objectid_adx_portalcomment"),
            ("contact", "objectid_contact"),
        ),
    )
    incidents.collections["Incident_Annotation"] = CollectionNav(
        "Incident_Annotation", "annotations", "objectid"
    )
    comments.collections["adx_portalcomment_Annotations"] = CollectionNav(
        "adx_portalcomment_Annotations", "annotations", "objectid"
    )

    parties = Table("activityparties", "activityparty", "activitypartyid", "partyidname")
    _common(parties, stateful=False)
    parties.add(
        lookup("activityid", ("adx_portalcomment", "activityid_adx_portalcomment_activityparty")),
        lookup("partyid", ("contact", "partyid_contact"), ("systemuser", "partyid_systemuser")),
        Column("participationtypemask", "choice"),
        Column("addressused", "string", 320),
    )
    comments.collections["adx_portalcomment_activity_parties"] = CollectionNav(
        "adx_portalcomment_activity_parties", "activityparties", "activityid"
    )

    users = Table("systemusers", "systemuser", "systemuserid", "fullname")
    _common(users, stateful=False)
    users.add(
        Column("fullname", "string", 200),
        Column("firstname", "string", 64),
        Column("lastname", "string", 64),
        Column("internalemailaddress", "string", 100),
        Column("isdisabled", "bool"),
    )

    organizations = Table("organizations", "organization", "organizationid", "name")
    _common(organizations, stateful=False)
    organizations.add(
        Column("name", "string", 160),
        Column("maxuploadfilesize", "int"),
        Column("blockedattachments", "string", 1073741823),
    )
    return [comments, notes, parties, users, organizations]


def _web_role_tables(contacts: Table) -> list[Table]:
    """Power Pages' web roles (issue 15): `adx_webrole` (primary name `adx_name`) and its N:N with
    contact, relationship and navigation property `adx_webrole_contact` on both sides, intersect
    entity `adx_webrole_contact` (entity set `adx_webrole_contactset`: `adx_webroleid`, `contactid`)."""
    roles = Table("adx_webroles", "adx_webrole", "adx_webroleid", "adx_name")
    _common(roles)
    roles.add(
        Column("adx_name", "string", 100, required=True),
        Column("adx_description", "string", 2000),
        Column("adx_authenticatedusersrole", "bool"),
        Column("adx_anonymoususersrole", "bool"),
        Column("adx_key", "string", 100),
    )
    links = Table(
        "adx_webrole_contactset", "adx_webrole_contact", "adx_webrole_contactid", "adx_webrole_contactid"
    )
    links.add(
        Column("adx_webrole_contactid", "guid"),
        Column("adx_webroleid", "guid", required=True),
        Column("contactid", "guid", required=True),
        Column("versionnumber", "int"),
    )
    roles.many_to_many["adx_webrole_contact"] = ManyToMany(
        "adx_webrole_contact", "contacts", "adx_webrole_contactset", "adx_webroleid", "contactid"
    )
    contacts.many_to_many["adx_webrole_contact"] = ManyToMany(
        "adx_webrole_contact", "adx_webroles", "adx_webrole_contactset", "contactid", "adx_webroleid"
    )
    return [roles, links]


def _knowledge_tables(contacts: Table) -> list[Table]:
    """Knowledge (issue 16), as Microsoft's table references name it: `knowledgearticle` (published is
    statecode 3; `languagelocaleid` → `languagelocale`), `feedback` (entity set `feedback`; regarding an
    article through `KnowledgeArticleId`, the portal user through `CreatedByContact`), and Power Pages'
    `adx_casedeflection` (`adx_casetitle`, `adx_name`, `adx_contact`, `adx_knowledgearticle`)."""
    locales = Table("languagelocales", "languagelocale", "languagelocaleid", "name")
    _common(locales)
    locales.add(
        Column("name", "string", 100), Column("code", "string", 100), Column("localeid", "int"),
        Column("language", "string", 100),
    )  # fmt: skip
    articles = Table("knowledgearticles", "knowledgearticle", "knowledgearticleid", "title")
    _common(articles)
    articles.add(
        Column("title", "string", 500, required=True),
        Column("articlepublicnumber", "string", 50),
        Column("description", "string", 155),
        Column("keywords", "string", 1073741823),
        Column("content", "string", 1073741823),
        Column("isinternal", "bool"),
        Column("islatestversion", "bool"),
        Column("isrootarticle", "bool"),
        Column("majorversionnumber", "int"),
        Column("minorversionnumber", "int"),
        Column("knowledgearticleviews", "int"),
        Column("knowledgearticleviews_date", "datetime"),
        Column("publishon", "datetime"),
        Column("rating", "decimal"),
        lookup("languagelocaleid", ("languagelocale", "languagelocaleid")),
        Column("languagelocaleidlocaleid", "int"),  # the language's LCID (read-only in Dataverse)
        lookup("rootarticleid", ("knowledgearticle", "rootarticleid")),
    )
    feedback = Table("feedback", "feedback", "feedbackid", "title")
    _common(feedback)
    feedback.add(
        Column("title", "string", 500, required=True),
        Column("comments", "string", 5000),
        Column("rating", "int"),
        Column("minrating", "int"),
        Column("maxrating", "int"),
        Column("source", "choice"),
        Column("adx_approved", "bool"),
        lookup("regardingobjectid", ("knowledgearticle", "KnowledgeArticleId")),
        lookup("createdbycontact", ("contact", "CreatedByContact")),
    )
    articles.collections["KnowledgeArticle_Feedback"] = CollectionNav(
        "KnowledgeArticle_Feedback", "feedback", "regardingobjectid"
    )
    deflections = Table("adx_casedeflections", "adx_casedeflection", "adx_casedeflectionid", "adx_name")
    _common(deflections)
    deflections.add(
        Column("adx_name", "string", 100),
        Column("adx_casetitle", "string", 200),
        lookup("adx_contact", ("contact", "adx_contact")),
        lookup("adx_knowledgearticle", ("knowledgearticle", "adx_knowledgearticle")),
    )
    contacts.collections["adx_contact_adx_casedeflection_Contact"] = CollectionNav(
        "adx_contact_adx_casedeflection_Contact", "adx_casedeflections", "adx_contact"
    )
    return [locales, articles, feedback, deflections]


def _external_identity_table(contacts: Table) -> Table:
    """Power Pages' external logins (issue 17): `adx_externalidentity` — `adx_username` (the provider's
    key for the user, its primary name), `adx_identityprovidername` (the provider, up to 400
    characters), `adx_contactid` → contact (navigation `adx_contactid`; the contact's collection
    `adx_contact_externalidentity`), as the table reference lists them."""
    key = "adx_externalidentityid"
    identities = Table("adx_externalidentities", "adx_externalidentity", key, "adx_username")
    _common(identities)
    identities.add(
        Column("adx_username", "string", 100, required=True),
        Column("adx_identityprovidername", "string", 400),
        lookup("adx_contactid", ("contact", "adx_contactid")),
    )
    contacts.collections["adx_contact_externalidentity"] = CollectionNav(
        "adx_contact_externalidentity", "adx_externalidentities", "adx_contactid"
    )
    return identities
