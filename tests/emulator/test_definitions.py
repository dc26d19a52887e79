"""Table definitions as Dataverse serves them (in-process and standalone): by LogicalName and by
MetadataId, the attribute type casts, option sets with labels in both languages, and 501 for what the
emulator does not serve."""

from __future__ import annotations

from tests.emulator.conftest import Api


def test_an_entity_by_logical_name_and_by_metadata_id_is_the_same(api: Api) -> None:
    by_name = api.get("EntityDefinitions(LogicalName='incident')", params={"$select": "EntitySetName"}).json()
    assert by_name["EntitySetName"] == "incidents" and "MetadataId" in by_name  # MetadataId always comes
    by_id = api.get(f"EntityDefinitions({by_name['MetadataId']})", params={"$select": "LogicalName"}).json()
    assert by_id["LogicalName"] == "incident"
    missing = api.get("EntityDefinitions(LogicalName='nosuchtable')")
    assert missing.status_code == 404


def test_attribute_casts_carry_their_types_properties(api: Api) -> None:
    status = api.get(
        "EntityDefinitions(LogicalName='incident')/Attributes(LogicalName='statuscode')"
        "/Microsoft.Dynamics.CRM.StatusAttributeMetadata",
        params={"$select": "LogicalName", "$expand": "OptionSet"},
    ).json()
    in_review = next(o for o in status["OptionSet"]["Options"] if o["Value"] == 1)
    labels = {label["LanguageCode"]: label["Label"] for label in in_review["Label"]["LocalizedLabels"]}
    assert labels == {3082: "En Revisión", 1033: "In Progress"} and in_review["State"] == 0
    booleans = api.get(
        "EntityDefinitions(LogicalName='entitlement')/Attributes/Microsoft.Dynamics.CRM.BooleanAttributeMetadata",
        params={"$select": "LogicalName", "$expand": "OptionSet"},
    ).json()["value"]
    assert {b["LogicalName"] for b in booleans} >= {"isdefault", "restrictcasecreation"}
    assert all(b["OptionSet"]["TrueOption"]["Value"] == 1 for b in booleans)
    lookups = api.get(
        "EntityDefinitions(LogicalName='incident')/Attributes/Microsoft.Dynamics.CRM.LookupAttributeMetadata",
        params={"$select": "LogicalName,Targets"},
    ).json()["value"]
    customer = next(a for a in lookups if a["LogicalName"] == "customerid")
    assert set(customer["Targets"]) == {"account", "contact"}


def test_what_the_emulator_does_not_serve_is_501(api: Api) -> None:
    assert api.get("EntityDefinitions", params={"$filter": "IsActivity eq true"}).status_code == 501
    assert api.get("EntityDefinitions", params={"$select": "IsKnowledgeManagementEnabled"}).status_code == 501
    assert api.get("EntityDefinitions", params={"$top": "1"}).status_code == 501
    assert api.get("EntityDefinitions(LogicalName='incident')/ManyToOneRelationships").status_code == 501
    assert api.get("GlobalOptionSetDefinitions").status_code == 501


def test_keys_are_none_and_languages_are_both(api: Api) -> None:
    keys = api.get("EntityDefinitions(LogicalName='incident')/Keys").json()
    assert keys["value"] == [] and keys["@odata.context"].endswith("EntityDefinitions('incident')/Keys")
