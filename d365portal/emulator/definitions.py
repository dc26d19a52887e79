"""Table definitions (metadata) as Dataverse's Web API serves them: `EntityDefinitions`.

Shapes follow Microsoft's "Query table definitions using the Web API" and "Retrieve table definitions
by name or MetadataId": entities by `LogicalName='x'` or `MetadataId`, `/Attributes` with the type
casts (`Microsoft.Dynamics.CRM.PicklistAttributeMetadata`, State, Status, Boolean, Lookup, …), options
with `Label.LocalizedLabels` in every installed language and `UserLocalizedLabel` in the emulator's
language, `/Keys`. `MetadataId` is always returned; there is no paging. `$filter` supports
`LogicalName eq '…'` (joined with `or`); other filters, query options and properties the emulator
does not serve answer 501.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from uuid import NAMESPACE_URL, uuid5

from d365portal.emulator import errors
from d365portal.emulator.metadata import LANGUAGE_CODES, STATES
from d365portal.emulator.schema import Column, Table

if TYPE_CHECKING:  # pragma: no cover
    from d365portal.emulator.store import Store

CRM = "Microsoft.Dynamics.CRM."
_CAST = re.compile(r"^Microsoft\.Dynamics\.CRM\.(\w+AttributeMetadata)$")
_NAME_KEY = re.compile(r"^LogicalName='([A-Za-z0-9_]+)'$")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_FILTER_TERM = re.compile(r"^\s*LogicalName\s+eq\s+'([A-Za-z0-9_]*)'\s*$")
ENTITY_PROPERTIES = frozenset({
    "MetadataId", "LogicalName", "SchemaName", "EntitySetName", "LogicalCollectionName",
    "PrimaryIdAttribute", "PrimaryNameAttribute", "ObjectTypeCode", "DisplayName",
    "DisplayCollectionName", "IsActivity", "IsCustomEntity", "ChangeTrackingEnabled", "HasChanged",
})  # fmt: skip
ATTRIBUTE_PROPERTIES = frozenset({
    "MetadataId", "LogicalName", "SchemaName", "EntityLogicalName", "AttributeType",
    "AttributeTypeName", "DisplayName", "RequiredLevel", "IsPrimaryId", "IsPrimaryName",
    "IsValidForCreate", "IsValidForUpdate", "IsValidForRead", "IsCustomAttribute", "HasChanged",
})  # fmt: skip
# Properties only the cast types have (requesting them on the base type is Dataverse's 400).
TYPE_PROPERTIES: dict[str, frozenset[str]] = {
    "StringAttributeMetadata": frozenset({"MaxLength", "Format"}),
    "MemoAttributeMetadata": frozenset({"MaxLength", "Format"}),
    "LookupAttributeMetadata": frozenset({"Targets"}),
    "PicklistAttributeMetadata": frozenset({"OptionSet", "GlobalOptionSet", "DefaultFormValue"}),
    "StateAttributeMetadata": frozenset({"OptionSet", "GlobalOptionSet"}),
    "StatusAttributeMetadata": frozenset({"OptionSet", "GlobalOptionSet"}),
    "BooleanAttributeMetadata": frozenset({"OptionSet", "GlobalOptionSet", "DefaultValue"}),
    "DecimalAttributeMetadata": frozenset({"Precision", "MinValue", "MaxValue"}),
    "IntegerAttributeMetadata": frozenset({"MinValue", "MaxValue", "Format"}),
    "DateTimeAttributeMetadata": frozenset({"Format", "DateTimeBehavior"}),
    "UniqueidentifierAttributeMetadata": frozenset(),
}
NAVIGATION = frozenset({"OptionSet", "GlobalOptionSet"})
# Tables whose changes the notifier follows: change tracking is on, as a tenant sets it up.
CHANGE_TRACKED = frozenset({"incident", "entitlement", "adx_portalcomment", "annotation"})
_OBJECT_TYPE_CODES = {
    "account": 1, "contact": 2, "incident": 112, "incidentresolution": 4206, "entitlement": 9700,
}  # fmt: skip
_OPTION_TYPES = ("PicklistAttributeMetadata", "StateAttributeMetadata", "StatusAttributeMetadata")


def metadata_id(*parts: str) -> str:
    """A stable MetadataId for a definition item."""
    return str(uuid5(NAMESPACE_URL, "d365portal-emulator-metadata:" + ":".join(parts)))


def _label(texts: dict[int, str], user_language: int) -> dict[str, Any]:
    """A Label complex type: one LocalizedLabel per language, and the user's."""
    localized = [
        {"Label": text, "LanguageCode": code, "IsManaged": True, "MetadataId": metadata_id(str(code), text),
         "HasChanged": None}
        for code, text in texts.items()
    ]  # fmt: skip
    user = next((entry for entry in localized if entry["LanguageCode"] == user_language), None)
    return {"LocalizedLabels": localized, "UserLocalizedLabel": user}


class Definitions:
    """Builds the definition items of a store's tables, with labels from its (changeable) metadata."""

    def __init__(self, store: Store, language: str) -> None:
        self.store = store
        self.user_language = LANGUAGE_CODES.get(language, 3082)

    # --- items -------------------------------------------------------------------------------
    def tables(self) -> list[Table]:
        """Every table, in a stable order."""
        return sorted(self.store.tables.values(), key=lambda t: t.logical_name)

    def find_table(self, key: str) -> Table:
        """The table a key names: `LogicalName='x'` or its MetadataId (404 otherwise)."""
        key = key.strip()
        by_name = _NAME_KEY.match(key)
        for table in self.tables():
            if (by_name and table.logical_name == by_name.group(1)) or (
                _GUID.match(key) and metadata_id(table.logical_name) == key.lower()
            ):
                return table
        if not by_name and not _GUID.match(key):
            raise errors.query_syntax("Bad Request - Error in query syntax.")
        raise errors.EmulatorError(
            404, "0x80040217", f"Could not find entity with key {key}."
        )

    def entity(self, table: Table) -> dict[str, Any]:
        """The EntityMetadata item of `table`."""
        name = table.logical_name
        display = self._names(name)
        return {
            "MetadataId": metadata_id(name),
            "LogicalName": name,
            "SchemaName": name.capitalize() if not name.startswith("adx_") else name,
            "EntitySetName": table.entity_set,
            "LogicalCollectionName": table.entity_set,
            "PrimaryIdAttribute": table.primary_key,
            "PrimaryNameAttribute": table.primary_name,
            "ObjectTypeCode": _OBJECT_TYPE_CODES.get(name, 10000),
            "DisplayName": _label({LANGUAGE_CODES["es-ES"]: display[0], LANGUAGE_CODES["en-US"]: display[1]},
                                  self.user_language),
            "DisplayCollectionName": _label({3082: display[0], 1033: display[1]}, self.user_language),
            "IsActivity": name == "incidentresolution",
            "IsCustomEntity": name.startswith("adx_"),
            "ChangeTrackingEnabled": name in CHANGE_TRACKED,
            "HasChanged": None,
        }

    @staticmethod
    def _names(name: str) -> tuple[str, str]:
        known = {"incident": ("Caso", "Case"), "account": ("Cuenta", "Account"),
                 "contact": ("Contacto", "Contact"), "entitlement": ("Derecho", "Entitlement"),
                 "incidentresolution": ("Resolución del caso", "Case Resolution")}  # fmt: skip
        return known.get(name, (name, name))

    def attribute_type(self, column: Column) -> tuple[str, str]:
        """(AttributeType, metadata type name) of a column."""
        if column.name == "statecode":
            return "State", "StateAttributeMetadata"
        if column.name == "statuscode":
            return "Status", "StatusAttributeMetadata"
        by_kind = {
            "guid": ("Uniqueidentifier", "UniqueidentifierAttributeMetadata"),
            "string": ("String", "StringAttributeMetadata"),
            "int": ("Integer", "IntegerAttributeMetadata"),
            "decimal": ("Decimal", "DecimalAttributeMetadata"),
            "bool": ("Boolean", "BooleanAttributeMetadata"),
            "datetime": ("DateTime", "DateTimeAttributeMetadata"),
            "dateonly": ("DateTime", "DateTimeAttributeMetadata"),
            "choice": ("Picklist", "PicklistAttributeMetadata"),
            "lookup": ("Lookup", "LookupAttributeMetadata"),
        }
        kind, type_name = by_kind[column.kind]
        if column.kind == "string" and (column.max_length or 0) > 1000:
            return "Memo", "MemoAttributeMetadata"
        if column.kind == "lookup" and len(column.targets) > 1:
            return "Customer", "LookupAttributeMetadata"
        return kind, type_name

    def attributes(self, table: Table) -> list[dict[str, Any]]:
        """Every AttributeMetadata item of `table`, with its type's own properties."""
        return [self.attribute(table, column) for column in table.columns.values()]

    def attribute(self, table: Table, column: Column) -> dict[str, Any]:
        """One AttributeMetadata item (`@odata.type` names its type)."""
        kind, type_name = self.attribute_type(column)
        item: dict[str, Any] = {
            "@odata.type": f"#{CRM}{type_name}",
            "MetadataId": metadata_id(table.logical_name, column.name),
            "LogicalName": column.name,
            "SchemaName": column.name,
            "EntityLogicalName": table.logical_name,
            "AttributeType": kind,
            "AttributeTypeName": {"Value": f"{kind}Type"},
            "DisplayName": _label({}, self.user_language),
            "RequiredLevel": {
                "Value": "ApplicationRequired" if column.required else "None", "CanBeChanged": True,
                "ManagedPropertyLogicalName": "canmodifyrequirementlevelsettings",
            },
            "IsPrimaryId": column.name == table.primary_key,
            "IsPrimaryName": column.name == table.primary_name,
            "IsValidForCreate": column.name not in ("createdon", "modifiedon", "versionnumber"),
            "IsValidForUpdate": column.name not in ("createdon", "modifiedon", "versionnumber"),
            "IsValidForRead": True,
            "IsCustomAttribute": column.name.startswith(("adx_", "ino_")),
            "HasChanged": None,
        }  # fmt: skip
        if type_name in ("StringAttributeMetadata", "MemoAttributeMetadata"):
            text_format = "Text" if type_name.startswith("String") else "TextArea"
            item.update(MaxLength=column.max_length, Format=text_format)
        elif type_name == "LookupAttributeMetadata":
            item["Targets"] = [target for target, _ in column.targets]
        elif type_name == "DecimalAttributeMetadata":
            item.update(Precision=2, MinValue=-100000000000, MaxValue=100000000000)
        elif type_name == "IntegerAttributeMetadata":
            item.update(MinValue=-2147483648, MaxValue=2147483647, Format="None")
        elif type_name == "DateTimeAttributeMetadata":
            item.update(Format="DateOnly" if column.kind == "dateonly" else "DateAndTime",
                        DateTimeBehavior={"Value": "DateOnly" if column.kind == "dateonly" else "UserLocal"})
        elif type_name == "PicklistAttributeMetadata":
            item["DefaultFormValue"] = -1
        elif type_name == "BooleanAttributeMetadata":
            item["DefaultValue"] = False
        return item

    def option_set(self, table: Table, column: Column) -> dict[str, Any] | None:
        """The OptionSet of a choice, state, status or yes/no column (None for other types)."""
        _, type_name = self.attribute_type(column)
        name = f"{table.logical_name}_{column.name}"
        base = {"MetadataId": metadata_id(name, "optionset"), "Name": name, "IsGlobal": False,
                "IsCustomOptionSet": False, "HasChanged": None}  # fmt: skip
        if type_name == "BooleanAttributeMetadata":
            yes = {3082: "Sí", 1033: "Yes"}
            no = {3082: "No", 1033: "No"}
            return {**base, "OptionSetType": "Boolean",
                    "TrueOption": {"Value": 1, "Label": _label(yes, self.user_language)},
                    "FalseOption": {"Value": 0, "Label": _label(no, self.user_language)}}  # fmt: skip
        if type_name not in _OPTION_TYPES:
            return None
        options = []
        for value, texts in self._option_labels(table.entity_set, column.name).items():
            option: dict[str, Any] = {
                "Value": value, "Color": None, "IsManaged": True, "ExternalValue": None,
                "ParentValues": [], "Tag": None, "IsHidden": False, "MetadataId": None, "HasChanged": None,
                "Label": _label(texts, self.user_language),
                "Description": {"LocalizedLabels": [], "UserLocalizedLabel": None},
            }  # fmt: skip
            states = STATES.get(table.entity_set, {})
            if type_name == "StateAttributeMetadata":
                option["DefaultStatus"] = states.get(value, (value,))[0]
                option["InvariantName"] = texts.get(1033, str(value)).replace(" ", "")
            elif type_name == "StatusAttributeMetadata":
                option["State"] = next((s for s, codes in states.items() if value in codes), 0)
            options.append(option)
        kind = {"PicklistAttributeMetadata": "Picklist", "StateAttributeMetadata": "State",
                "StatusAttributeMetadata": "Status"}[type_name]  # fmt: skip
        return {**base, "OptionSetType": kind, "Options": options}

    def _option_labels(self, entity_set: str, column: str) -> dict[int, dict[int, str]]:
        """value → {LCID: label}, in every language the metadata has."""
        found: dict[int, dict[int, str]] = {}
        for language, code in LANGUAGE_CODES.items():
            labels = self.store.metadata.labels.get(language, {}).get(entity_set, {}).get(column, {})
            for value, text in labels.items():
                found.setdefault(value, {})[code] = text
        return dict(sorted(found.items()))

    def find_attribute(self, table: Table, key: str) -> Column:
        """The column a key names: `LogicalName='x'` or its MetadataId (404 otherwise)."""
        key = key.strip()
        by_name = _NAME_KEY.match(key)
        for column in table.columns.values():
            if (by_name and column.name == by_name.group(1)) or (
                _GUID.match(key) and metadata_id(table.logical_name, column.name) == key.lower()
            ):
                return column
        if not by_name and not _GUID.match(key):
            raise errors.query_syntax("Bad Request - Error in query syntax.")
        raise errors.EmulatorError(404, "0x80040217", f"Could not find attribute with key {key}.")


# --- query options on definitions --------------------------------------------------------------
def names_filter(text: str | None) -> set[str] | None:
    """The logical names a `$filter` of `LogicalName eq '…'` terms joined by `or` asks for."""
    if text is None:
        return None
    names = set()
    for term in re.split(r"\s+or\s+", text.strip().strip("()")):
        match = _FILTER_TERM.match(term.strip("() "))
        if not match:
            raise errors.not_implemented(
                "this $filter on table definitions (only LogicalName eq '…' joined with or)"
            )
        names.add(match.group(1))
    return names


def parse_expand(text: str | None, allowed: Iterable[str]) -> dict[str, list[str] | None]:
    """`$expand=OptionSet($select=Options),GlobalOptionSet` → {name: selected or None}."""
    if not text:
        return {}
    wanted: dict[str, list[str] | None] = {}
    for part in re.split(r",(?![^()]*\))", text):
        match = re.fullmatch(r"\s*(\w+)\s*(?:\((.*)\))?\s*", part)
        if not match:
            raise errors.query_syntax("Bad Request - Error in query syntax.")
        name, inner = match.group(1), match.group(2)
        if name not in allowed:
            raise errors.unknown_property(name, "AttributeMetadata")
        select = None
        if inner:
            option = re.fullmatch(r"\$select=([\w,]+)", inner.strip())
            if not option:
                raise errors.not_implemented(f"'{inner}' inside $expand on table definitions")
            select = option.group(1).split(",")
        wanted[name] = select
    return wanted


def select(
    item: dict[str, Any], names: list[str] | None, known: frozenset[str], type_name: str
) -> dict[str, Any]:
    """`item` with only the `$select`ed properties (MetadataId and @odata.type always kept)."""
    if not names:
        return dict(item)
    for name in names:
        if name not in known and name not in item:
            raise errors.not_implemented(f"the definition property '{name}' of {type_name}")
    kept = {k: v for k, v in item.items() if k in names or k in ("MetadataId", "@odata.type")}
    return kept
