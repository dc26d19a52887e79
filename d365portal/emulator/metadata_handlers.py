"""Handlers of the metadata routes: the service document, `EntityDefinitions`, languages, labels."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Response

from d365portal.emulator import errors
from d365portal.emulator.definitions import (
    ATTRIBUTE_PROPERTIES,
    CRM,
    ENTITY_PROPERTIES,
    NAVIGATION,
    TYPE_PROPERTIES,
    Definitions,
    names_filter,
    parse_expand,
    select,
)
from d365portal.emulator.handlers import body
from d365portal.emulator.metadata import LANGUAGE_CODES
from d365portal.emulator.query import check_parameter
from d365portal.emulator.responses import json_response, no_content, odata_headers

if TYPE_CHECKING:  # pragma: no cover
    from d365portal.emulator.app import EmulatorApp
    from d365portal.emulator.routes import Call

_COLLECTION_OPTIONS = frozenset({"$select", "$filter"})
_ATTRIBUTE_OPTIONS = frozenset({"$select", "$filter", "$expand"})


def _options(call: Call, allowed: frozenset[str]) -> dict[str, str]:
    """The query options of a definitions request; the others answer 501."""
    args = {k: v for k, v in call.request.args.items()}
    for name in args:
        check_parameter(name)
        if name not in allowed:
            raise errors.not_implemented(f"the query option '{name}' on this table-definitions path")
    return args


def _select_list(args: dict[str, str]) -> list[str] | None:
    text = args.get("$select")
    return [name.strip() for name in text.split(",") if name.strip()] if text else None


def definitions(app: EmulatorApp) -> Definitions:
    """The definitions of the app's tables, in its language."""
    return Definitions(app.store, app.language)


def service_document(app: EmulatorApp, call: Call) -> Response:
    """GET /api/data/v9.2/: the entity sets, as OData's service document lists them."""
    _options(call, frozenset())
    sets = sorted(app.store.tables.values(), key=lambda t: t.entity_set)
    value = [{"name": t.entity_set, "kind": "EntitySet", "url": t.entity_set} for t in sets]
    value.append({"name": "EntityDefinitions", "kind": "EntitySet", "url": "EntityDefinitions"})
    return json_response({"@odata.context": f"{app.base(call.request)}$metadata", "value": value})


def entity_definitions(app: EmulatorApp, call: Call) -> Response:
    """GET /EntityDefinitions?$select=…&$filter=LogicalName eq '…': every match, no paging."""
    args = _options(call, _COLLECTION_OPTIONS)
    wanted = names_filter(args.get("$filter"))
    names = _select_list(args)
    defs = definitions(app)
    items = [
        select(defs.entity(t), names, ENTITY_PROPERTIES, "EntityMetadata")
        for t in defs.tables()
        if wanted is None or t.logical_name in wanted
    ]
    shown = f"({','.join(names)})" if names else ""
    return json_response({"@odata.context": f"{app.base(call.request)}$metadata#EntityDefinitions{shown}",
                          "value": items})  # fmt: skip


def entity_definition(app: EmulatorApp, call: Call) -> Response:
    """GET /EntityDefinitions(LogicalName='x') or (<MetadataId>)."""
    args = _options(call, frozenset({"$select"}))
    defs = definitions(app)
    table = defs.find_table(call.key or "")
    names = _select_list(args)
    item = select(defs.entity(table), names, ENTITY_PROPERTIES, "EntityMetadata")
    shown = f"({','.join(names)})" if names else ""
    context = f"{app.base(call.request)}$metadata#EntityDefinitions{shown}/$entity"
    return json_response({"@odata.context": context, **item})


def entity_definition_path(app: EmulatorApp, call: Call) -> Response:
    """GET /EntityDefinitions(<key>)/Attributes[(<key>)][/<cast>] and /Keys."""
    defs = definitions(app)
    table = defs.find_table(call.key or "")
    path = call.tail or ""
    if path == "Keys":
        _options(call, frozenset({"$select"}))
        context = f"{app.base(call.request)}$metadata#EntityDefinitions('{table.logical_name}')/Keys"
        return json_response({"@odata.context": context, "value": []})  # no alternate keys by default
    parts = path.split("/")
    head, cast = parts[0], parts[1] if len(parts) > 1 else None
    if len(parts) > 2 or not head.startswith("Attributes"):
        raise errors.not_implemented(f"the table-definitions path '{path}'")
    type_name = "AttributeMetadata"
    if cast is not None:
        if not cast.startswith(CRM) or cast[len(CRM):] not in TYPE_PROPERTIES:
            raise errors.not_implemented(f"the type cast '{cast}'")
        type_name = cast[len(CRM):]
    known = ATTRIBUTE_PROPERTIES | TYPE_PROPERTIES.get(type_name, frozenset())
    args = _options(call, _ATTRIBUTE_OPTIONS)
    expand = parse_expand(args.get("$expand"), NAVIGATION if type_name in _WITH_OPTIONS else ())
    names = _select_list(args)

    def shape(column: Any) -> dict[str, Any]:
        item = select(defs.attribute(table, column), names, known, type_name)
        for name, inner in expand.items():
            option_set = defs.option_set(table, column)
            if option_set is not None and inner:
                option_set = {k: v for k, v in option_set.items() if k in inner or k == "MetadataId"}
            item[name] = option_set if name == "OptionSet" or option_set is None else None
        return item

    columns = list(table.columns.values())
    if cast is not None:
        columns = [c for c in columns if defs.attribute_type(c)[1] == type_name]
    base = f"{app.base(call.request)}$metadata#EntityDefinitions('{table.logical_name}')/Attributes"
    shown = f"/{cast}" if cast else ""
    if head == "Attributes":
        wanted = names_filter(args.get("$filter"))
        items = [shape(c) for c in columns if wanted is None or c.name in wanted]
        return json_response({"@odata.context": base + shown, "value": items})
    if "$filter" in args:
        raise errors.query_syntax(
            "Query options $filter, $orderby and $top are not allowed on a single entity."
        )
    key = head[len("Attributes(") : -1] if head.startswith("Attributes(") and head.endswith(")") else None
    if key is None:
        raise errors.not_implemented(f"the table-definitions path '{path}'")
    column = defs.find_attribute(table, key)
    if cast is not None and defs.attribute_type(column)[1] != type_name:
        raise errors.invalid_argument(f"The attribute '{column.name}' is not of type '{type_name}'.")
    return json_response({"@odata.context": base + shown + "/$entity", **shape(column)})


# GlobalOptionSet: the demo's option sets are all local, so it expands to null, as Dataverse shows.
_WITH_OPTIONS = frozenset({"PicklistAttributeMetadata", "StateAttributeMetadata", "StatusAttributeMetadata",
                           "BooleanAttributeMetadata"})  # fmt: skip


def available_languages(app: EmulatorApp, call: Call) -> Response:
    """GET /RetrieveAvailableLanguages: the installed languages (LCIDs), the base language first."""
    _options(call, frozenset())
    installed = [LANGUAGE_CODES[lang] for lang in app.store.metadata.labels if lang in LANGUAGE_CODES]
    codes = sorted(installed, key=lambda c: c != LANGUAGE_CODES.get(app.language, 3082))
    context = f"{app.base(call.request)}$metadata#Microsoft.Dynamics.CRM.RetrieveAvailableLanguagesResponse"
    return json_response({"@odata.context": context, "LocaleIds": codes})


def update_option_value(app: EmulatorApp, call: Call) -> Response:
    """POST /UpdateOptionValue: a tenant changes an option's label (a local option set)."""
    _options(call, frozenset())
    payload = body(call.request, "UpdateOptionValue")
    if not isinstance(payload, dict):
        raise errors.invalid_argument("The request body must be an object.")
    if payload.get("OptionSetName"):
        raise errors.not_implemented("global option sets (OptionSetName)")
    entity, attribute, value = (
        payload.get("EntityLogicalName"), payload.get("AttributeLogicalName"), payload.get("Value")
    )
    table = next((t for t in app.store.tables.values() if t.logical_name == entity), None)
    if table is None or not isinstance(attribute, str) or attribute not in table.columns:
        raise errors.EmulatorError(404, "0x80040217", f"Could not find attribute {entity}.{attribute}.")
    known = app.store.metadata.options(table.entity_set, attribute)
    if known is None or not isinstance(value, int) or isinstance(value, bool) or value not in known:
        raise errors.invalid_argument(f"{value} is not a valid option of {entity}.{attribute}.")
    label = payload.get("Label")
    labels = label.get("LocalizedLabels") if isinstance(label, dict) else None
    if not isinstance(labels, list) or not labels:
        raise errors.invalid_argument("Label.LocalizedLabels is required.")
    by_code = {code: language for language, code in LANGUAGE_CODES.items()}
    for entry in labels:
        code = entry.get("LanguageCode") if isinstance(entry, dict) else None
        text = entry.get("Label") if isinstance(entry, dict) else None
        if code not in by_code or not isinstance(text, str) or not text.strip():
            raise errors.invalid_argument(f"The language {code} is not installed, or the label is empty.")
        app.store.metadata.set_label(by_code[code], table.entity_set, attribute, value, text)
    return no_content(odata_headers())
