"""SQLite persistence across restarts, the demo seed's facts, and the bench seed's speed."""

from __future__ import annotations

import time
from pathlib import Path

from argon2 import PasswordHasher
from werkzeug.test import Client

from d365portal.emulator import create_emulator_app
from d365portal.emulator.bench_seed import add_bench_rows
from d365portal.emulator.seed import (
    DEMO_ACCOUNT_ID,
    DEMO_ASSOCIATE_ID,
    DEMO_CASE_ID,
    DEMO_CONTACT_ID,
    DEMO_ENTITLEMENT_ID,
    DEMO_PASSWORD,
    DEMO_USERNAME,
    OTHER_ACCOUNT_ID,
    OTHER_CASE_ID,
    OTHER_CONTACT_ID,
    OTHER_ENTITLEMENT_ID,
    OTHER_PASSWORD,
)

AUTH = {"Authorization": "Bearer t"}


def test_rows_survive_a_restart_and_reset_reseeds(tmp_path: Path) -> None:
    """A write to the SQLite file is there after a restart; reset=True seeds again."""
    db = tmp_path / "var" / "emulator.sqlite"
    first = create_emulator_app(db_path=db)
    response = Client(first).patch(
        f"/api/data/v9.2/incidents({DEMO_CASE_ID})", json={"title": "Título cambiado"}, headers=AUTH
    )
    assert response.status_code == 204
    first.store.close()
    second = create_emulator_app(db_path=db)
    assert second.store.get("incidents", DEMO_CASE_ID)["title"] == "Título cambiado"
    created = (
        Client(second)
        .post("/api/data/v9.2/accounts", json={"name": "Cliente nuevo"}, headers=AUTH)
        .headers["OData-EntityId"]
    )
    second.store.close()
    third = create_emulator_app(db_path=db)
    new_id = created.rsplit("(", 1)[1].rstrip(")")
    assert third.store.get("accounts", new_id)["name"] == "Cliente nuevo"
    third.store.close()
    fresh = create_emulator_app(db_path=db, reset=True)
    assert fresh.store.get("incidents", DEMO_CASE_ID)["title"] == "Arreglo al reporte Equipos sin Endpoint"
    assert fresh.store.get("accounts", new_id) is None
    fresh.store.close()


def test_store_contract_for_other_tests() -> None:
    """store.get/insert/update/query, as other areas' tests use them."""
    app = create_emulator_app(seed="empty")
    assert app.store.query("incidents") == []
    account = app.store.insert("accounts", {"name": "Acme"})
    case = app.store.insert(
        "incidents", {"title": "t", "customerid_account@odata.bind": f"/accounts({account['accountid']})"}
    )
    assert case["_customerid_value"] == account["accountid"]
    assert case["ticketnumber"].startswith("CAS-")
    app.store.update("incidents", case["incidentid"], {"title": "u"})
    assert app.store.get("incidents", case["incidentid"])["title"] == "u"
    assert len(app.store.query("incidents")) == 1
    app.store.reset()
    assert app.store.query("accounts") == []


def test_demo_seed_matches_the_manual_and_design() -> None:
    """The manual's records, 50+ cases in INOVAIT's scope, several entitlement states, a second customer."""
    store = create_emulator_app().store
    lorena = store.get("contacts", DEMO_CONTACT_ID)
    assert lorena["fullname"] == "Lorena Melo Hernandez"
    assert lorena["adx_identity_username"] == DEMO_USERNAME and lorena["adx_identity_logonenabled"] is True
    assert lorena["adx_identity_passwordhash"].startswith("$argon2id$v=19$")
    assert PasswordHasher().verify(lorena["adx_identity_passwordhash"], DEMO_PASSWORD)
    other = store.get("contacts", OTHER_CONTACT_ID)
    assert PasswordHasher().verify(other["adx_identity_passwordhash"], OTHER_PASSWORD)
    associate = store.get("accounts", DEMO_ASSOCIATE_ID)
    assert (associate["telephone1"], associate["accountnumber"]) == ("+57161", "86001")
    assert associate["_parentaccountid_value"] == str(DEMO_ACCOUNT_ID)
    sonia = store.get("contacts", associate["_primarycontactid_value"])
    assert sonia["firstname"] == "Sonia"
    bank = store.get("entitlements", DEMO_ENTITLEMENT_ID)
    assert (bank["statecode"], bank["statuscode"], bank["remainingterms"]) == (4, 1200, 25.0)
    cases = store.query("incidents")
    scope = {str(DEMO_ACCOUNT_ID)} | {
        a["accountid"] for a in store.query("accounts") if a["_parentaccountid_value"] == str(DEMO_ACCOUNT_ID)
    }
    mine = [c for c in cases if c["_customerid_value"] in scope]
    assert len(mine) >= 50
    assert {c["statecode"] for c in mine} == {0, 1, 2}
    assert len({c["ticketnumber"] for c in cases}) == len(cases)
    states = {e["statecode"] for e in store.query("entitlements") if e["_customerid_value"] in scope}
    assert states >= {1, 3, 4}
    assert store.get("incidents", OTHER_CASE_ID)["_customerid_value"] == str(OTHER_ACCOUNT_ID)
    assert store.get("entitlements", OTHER_ENTITLEMENT_ID)["_customerid_value"] == str(OTHER_ACCOUNT_ID)


def test_bench_seed_is_fast_and_a_page_of_the_big_account_is_quick() -> None:
    """50,000 cases load in seconds; the first page (10, ticket number desc) answers well under a second."""
    app = create_emulator_app(seed="empty")
    start = time.monotonic()
    info = add_bench_rows(app.store, accounts=5, users=20, big_account_cases=50_000)
    assert time.monotonic() - start < 30
    assert len(app.store.query("incidents")) == 50_000
    account = info["big_account_id"]
    url = (
        "/api/data/v9.2/incidents?$select=ticketnumber,title&$orderby=ticketnumber desc"
        f"&$filter=_customerid_value eq {account} or customerid_account/_parentaccountid_value eq {account}"
    )
    headers = {**AUTH, "Prefer": 'odata.maxpagesize=10,odata.include-annotations="*"'}
    client = Client(app)
    first = client.get(url, headers=headers)
    start = time.monotonic()
    again = client.get(url, headers=headers)
    assert time.monotonic() - start < 0.5
    numbers = [r["ticketnumber"] for r in again.json["value"]]
    assert numbers == [r["ticketnumber"] for r in first.json["value"]] and numbers == sorted(
        numbers, reverse=True
    )
    assert len(numbers) == 10


def test_another_tenant_seeds_its_own_asociado_column_and_labels() -> None:
    """Seed metadata decides the tenant's custom lookup and the option labels that come back."""
    from d365portal.emulator import SeedMetadata
    from d365portal.emulator.metadata import EN, ES
    from d365portal.emulator.schema import lookup

    priorities = {1: "Urgente", 2: "Media", 3: "Baja"}
    labels = {"es-ES": {**ES, "incidents": {**ES["incidents"], "prioritycode": priorities}}, "en-US": EN}
    metadata = SeedMetadata(
        labels=labels, custom_lookups={"incidents": [lookup("new_cliente", ("account", "new_Cliente"))]}
    )
    app = create_emulator_app(seed="empty", metadata=metadata)
    account = app.store.insert("accounts", {"name": "Tenant B"})
    client = Client(app)
    created = client.post(
        "/api/data/v9.2/incidents",
        json={
            "title": "Caso",
            "prioritycode": 1,
            "customerid_account@odata.bind": f"/accounts({account['accountid']})",
            "new_Cliente@odata.bind": f"/accounts({account['accountid']})",
        },
        headers=AUTH,
    )
    assert created.status_code == 204
    rows = client.get(
        "/api/data/v9.2/incidents?$select=prioritycode,_new_cliente_value",
        headers={**AUTH, "Prefer": 'odata.include-annotations="*"'},
    ).json["value"]
    assert rows[0]["prioritycode@OData.Community.Display.V1.FormattedValue"] == "Urgente"
    assert rows[0]["_new_cliente_value@Microsoft.Dynamics.CRM.associatednavigationproperty"] == "new_Cliente"
    unknown = client.get("/api/data/v9.2/incidents?$select=_ino_asociado_value", headers=AUTH)
    assert unknown.status_code == 400


def test_large_account_pages_match_a_full_sort() -> None:
    """2,500 cases of one account paged by 1,000 (index order) equal the fully sorted list, once each."""
    app = create_emulator_app(seed="empty")
    info = add_bench_rows(app.store, accounts=2, users=2, big_account_cases=2_500)
    account = info["big_account_id"]
    client = Client(app)
    headers = {**AUTH, "Prefer": "odata.maxpagesize=1000"}
    url = "/api/data/v9.2/incidents?$select=createdon&$orderby=createdon desc"
    url += f"&$filter=_customerid_value eq {account}"
    expected = sorted(
        app.store.query("incidents"), key=lambda r: (r["createdon"], r["incidentid"]), reverse=True
    )
    seen: list[str] = []
    body = client.get(url, headers=headers).json
    while True:
        seen += [r["incidentid"] for r in body["value"]]
        if "@odata.nextLink" not in body:
            break
        body = client.get(body["@odata.nextLink"], headers=headers).json
    assert seen == [r["incidentid"] for r in expected]
