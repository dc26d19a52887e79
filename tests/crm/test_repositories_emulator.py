"""The repositories against the emulator over HTTP: the same behaviours, one request per operation.

Expectations are computed from the emulator's stored rows in Python, independently of OData.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar
from uuid import UUID, uuid4

import pytest

from d365portal.crm import Crm, build_crm
from d365portal.crm.models import NewCase, Scope
from d365portal.dataverse.auth import StaticTokenProvider
from d365portal.dataverse.client import DataverseClient
from d365portal.dataverse.errors import Conflict, NotFound, Throttled
from d365portal.emulator import seed as S
from d365portal.settings import FieldMap
from tests.conftest import TEST_TOKEN

T = TypeVar("T")
SCOPE = Scope(contact_id=S.DEMO_CONTACT_ID, account_id=S.DEMO_ACCOUNT_ID)
OTHER_SCOPE = Scope(contact_id=S.OTHER_CONTACT_ID, account_id=S.OTHER_ACCOUNT_ID)


@pytest.fixture()
def live(emulator: Any) -> Iterator[Crm]:
    """Repositories on a production client talking HTTP to the freshly seeded emulator."""
    client = DataverseClient(
        f"{emulator.url}/api/data/v9.2/", StaticTokenProvider(TEST_TOKEN), retry_budget=3.0
    )
    yield build_crm(client, FieldMap())
    client.close()


def one_request(emulator: Any, operation: Callable[[], T]) -> T:
    """Run `operation` and assert the emulator served exactly one Web API request for it."""
    emulator.stats.reset()
    result = operation()
    assert emulator.stats.snapshot()["total"] == 1, emulator.stats.snapshot()
    return result


def accounts_in_scope(emulator: Any, account_id: UUID) -> set[str]:
    """The account and its associated end customers, from the stored rows."""
    rows = emulator.store.query("accounts")
    return {str(account_id)} | {
        r["accountid"] for r in rows if r.get("_parentaccountid_value") == str(account_id)
    }


def cases_in_scope(emulator: Any, account_id: UUID) -> list[dict[str, Any]]:
    """Stored incidents whose customer is in scope."""
    scope = accounts_in_scope(emulator, account_id)
    return [r for r in emulator.store.query("incidents") if r["_customerid_value"] in scope]


def all_pages(live: Crm, emulator: Any, **options: Any) -> list[Any]:
    """Every case of a listing, page by page through the cursor (each page one request)."""
    items: list[Any] = []
    cursor = None
    while True:
        page = one_request(emulator, lambda c=cursor: live.cases.list_for(SCOPE, cursor=c, **options))
        items.extend(page.items)
        if page.next_cursor is None:
            return items
        cursor = page.next_cursor


def test_case_list_pages_through_exactly_the_cases_in_scope(live: Crm, emulator: Any) -> None:
    expected = {r["ticketnumber"] for r in cases_in_scope(emulator, S.DEMO_ACCOUNT_ID)}
    seen = all_pages(live, emulator, which="all", page_size=7, sort="ticket_number", direction="asc")
    numbers = [c.ticket_number for c in seen]
    assert numbers == sorted(expected) and len(numbers) == len(set(numbers))
    other = {r["ticketnumber"] for r in cases_in_scope(emulator, S.OTHER_ACCOUNT_ID)}
    assert other and not other & set(numbers)


def test_open_list_shows_the_manuals_case_with_tenant_labels(live: Crm, emulator: Any) -> None:
    page = one_request(emulator, lambda: live.cases.list_for(SCOPE, search=S.DEMO_CASE_NUMBER[4:9]))
    [case] = [c for c in page.items if c.id == S.DEMO_CASE_ID]
    assert (case.ticket_number, case.title) == (S.DEMO_CASE_NUMBER, S.DEMO_CASE_TITLE)
    assert case.priority.label == S.LABEL_PRIORITY_NORMAL_ES
    assert case.status_reason.label == S.LABEL_STATUS_IN_PROGRESS_ES
    assert case.customer.name == S.DEMO_ACCOUNT_NAME and case.is_open


def test_open_resolved_and_search_filters(live: Crm, emulator: Any) -> None:
    rows = cases_in_scope(emulator, S.DEMO_ACCOUNT_ID)
    open_ids = {r["incidentid"] for r in rows if r["statecode"] == 0}
    resolved_ids = {r["incidentid"] for r in rows if r["statecode"] == 1}
    assert {str(c.id) for c in all_pages(live, emulator, page_size=50)} == open_ids
    assert {str(c.id) for c in all_pages(live, emulator, which="resolved", page_size=50)} == resolved_ids
    word = "reporte"
    matching = {r["incidentid"] for r in rows if word in (r["title"] or "").lower() and r["statecode"] == 0}
    assert {str(c.id) for c in all_pages(live, emulator, search="REPORTE", page_size=50)} == matching
    assert all_pages(live, emulator, search="x') or (true", page_size=50) == []


def test_search_with_percent_or_underscore_finds_only_that_text(live: Crm, emulator: Any) -> None:
    # Dataverse treats % _ [ in contains() as LIKE wildcards; the visitor means the characters.
    literal = live.cases.create(_new_case(title="Descuento del 100% no aplicado"))
    live.cases.create(_new_case(title="Descuento del 1000 no aplicado"))
    live.cases.create(_new_case(title="Cuenta a-b bloqueada"))
    assert [c.id for c in all_pages(live, emulator, search="100%", page_size=50)] == [literal.id]
    assert all_pages(live, emulator, search="a_b", page_size=50) == []
    assert [c.id for c in all_pages(live, emulator, search="%", page_size=50)] == [literal.id]


@pytest.mark.parametrize(
    "sort", ["ticket_number", "title", "priority", "status_reason", "created_on", "customer"]
)
def test_every_sort_column_works(live: Crm, emulator: Any, sort: str) -> None:
    asc = all_pages(live, emulator, which="all", sort=sort, direction="asc", page_size=25)
    desc = all_pages(live, emulator, which="all", sort=sort, direction="desc", page_size=25)
    assert [c.id for c in asc] == [c.id for c in reversed(desc)]
    if sort == "created_on":
        assert [c.created_on for c in asc] == sorted(c.created_on for c in asc)


def test_case_outside_scope_is_not_found_like_a_missing_one(live: Crm, emulator: Any) -> None:
    assert one_request(emulator, lambda: live.cases.get_for(SCOPE, S.DEMO_CASE_ID)).description
    for case_id in (S.OTHER_CASE_ID, uuid4()):
        with pytest.raises(NotFound):
            one_request(emulator, lambda c=case_id: live.cases.get_for(SCOPE, c))


def _new_case(**extra: Any) -> NewCase:
    values: dict[str, Any] = {
        "id": uuid4(),
        "title": "La impresora no responde",
        "description": "Desde ayer en la sede norte",
        "customer_id": S.DEMO_ACCOUNT_ID,
        "contact_id": S.DEMO_CONTACT_ID,
        "associate_id": S.DEMO_ASSOCIATE_ID,
        "entitlement_id": S.DEMO_ENTITLEMENT_ID,
    }
    values.update(extra)
    return NewCase(**values)


def test_create_returns_the_ticket_number_in_one_request_and_a_resubmit_makes_no_second_case(
    live: Crm, emulator: Any
) -> None:
    new = _new_case()
    case = one_request(emulator, lambda: live.cases.create(new))
    assert case.ticket_number and case.ticket_number.startswith("CAS-")
    assert case.associate.id == S.DEMO_ASSOCIATE_ID and case.associate.name == S.DEMO_ASSOCIATE_NAME
    assert case.origin.value == 3
    again = live.cases.create(new)
    assert again.ticket_number == case.ticket_number
    assert sum(1 for r in emulator.store.query("incidents") if r["incidentid"] == str(new.id)) == 1


def test_dropped_response_then_retry_yields_one_case(live: Crm, emulator: Any) -> None:
    before = len(emulator.store.query("incidents"))
    emulator.faults.set(drop_response_ratio=1.0)
    case = live.cases.create(_new_case())
    assert case.ticket_number
    assert len(emulator.store.query("incidents")) == before + 1
    assert emulator.stats.snapshot()["requests"].get("PATCH incidents") == 2


def test_throttling_is_retried_and_past_the_budget_raises_throttled(live: Crm, emulator: Any) -> None:
    emulator.faults.set(throttle_ratio=0.5, throttle_retry_after=0)
    assert live.cases.get_for(SCOPE, S.DEMO_CASE_ID).id == S.DEMO_CASE_ID
    emulator.faults.set(throttle_ratio=1.0, throttle_retry_after=30)
    with pytest.raises(Throttled):
        live.cases.get_for(SCOPE, S.DEMO_CASE_ID)


def test_resolve_cancel_and_reopen(live: Crm, emulator: Any) -> None:
    case = live.cases.create(_new_case())
    one_request(emulator, lambda: live.cases.resolve(case.id, "Solucionado", 60))
    assert live.cases.get_for(SCOPE, case.id).state.value == 1
    one_request(emulator, lambda: live.cases.reopen(case.id))
    assert live.cases.get_for(SCOPE, case.id).state.value == 0
    one_request(emulator, lambda: live.cases.cancel(case.id))
    reread = live.cases.get_for(SCOPE, case.id)
    assert (reread.state.value, reread.status_reason.value) == (2, 6)


def test_associates_lookup_search_and_validation(live: Crm, emulator: Any) -> None:
    page = one_request(emulator, lambda: live.accounts.associates_of(S.DEMO_ACCOUNT_ID, search="86001"))
    [found] = page.items
    assert (found.name, found.telephone, found.account_number, found.primary_contact.name) == (
        S.DEMO_ASSOCIATE_NAME, "+57161", "86001", "Sonia"
    )  # fmt: skip
    everyone = one_request(emulator, lambda: live.accounts.associates_of(S.DEMO_ACCOUNT_ID, page_size=50))
    assert {str(a.id) for a in everyone.items} == accounts_in_scope(emulator, S.DEMO_ACCOUNT_ID) - {
        str(S.DEMO_ACCOUNT_ID)
    }
    assert one_request(
        emulator, lambda: live.accounts.get_associate(S.DEMO_ACCOUNT_ID, S.DEMO_ASSOCIATE_ID)
    ).name
    with pytest.raises(NotFound):
        one_request(emulator, lambda: live.accounts.get_associate(S.DEMO_ACCOUNT_ID, S.OTHER_ASSOCIATE_ID))


def test_hour_banks_in_scope_ordered_with_the_manuals_one(live: Crm, emulator: Any) -> None:
    banks = one_request(emulator, lambda: live.entitlements.list_for(SCOPE))
    scope = accounts_in_scope(emulator, S.DEMO_ACCOUNT_ID)
    expected = {
        r["entitlementid"] for r in emulator.store.query("entitlements") if r["_customerid_value"] in scope
    }
    assert {str(b.id) for b in banks} == expected
    assert [(b.state.value, b.name) for b in banks] == sorted((b.state.value, b.name) for b in banks)
    manual = next(b for b in banks if b.id == S.DEMO_ENTITLEMENT_ID)
    assert manual.state.label == S.LABEL_ENTITLEMENT_WAITING_ES
    assert manual.allocation_type.label == S.LABEL_ALLOCATION_HOURS_ES
    assert (manual.start_date.isoformat(), manual.end_date.isoformat()) == ("2020-02-01", "2021-02-01")
    assert manual.remaining_terms == 25


def test_hour_bank_detail_has_its_cases_newest_first(live: Crm, emulator: Any) -> None:
    live.cases.create(_new_case())
    detail = one_request(emulator, lambda: live.entitlements.get_for(SCOPE, S.DEMO_ENTITLEMENT_ID))
    linked = [
        r
        for r in emulator.store.query("incidents")
        if r["_entitlementid_value"] == str(S.DEMO_ENTITLEMENT_ID)
    ]
    assert {str(c.id) for c in detail.cases} == {r["incidentid"] for r in linked}
    assert [c.created_on for c in detail.cases] == sorted((c.created_on for c in detail.cases), reverse=True)
    with pytest.raises(NotFound):
        one_request(emulator, lambda: live.entitlements.get_for(SCOPE, S.OTHER_ENTITLEMENT_ID))


def test_default_entitlement_for_a_new_case(live: Crm, emulator: Any) -> None:
    def expected(account: UUID) -> set[str]:
        return {
            r["entitlementid"]
            for r in emulator.store.query("entitlements")
            if r["_customerid_value"] == str(account) and r["statecode"] == 1 and r["isdefault"]
        }

    mine = one_request(emulator, lambda: live.entitlements.default_for_new_case(S.DEMO_ACCOUNT_ID, None))
    assert (str(mine) if mine else None) in (expected(S.DEMO_ACCOUNT_ID) or {None})
    chosen = one_request(
        emulator, lambda: live.entitlements.default_for_new_case(S.DEMO_ACCOUNT_ID, S.DEMO_ASSOCIATE_ID)
    )
    assert str(chosen) in (expected(S.DEMO_ASSOCIATE_ID) or expected(S.DEMO_ACCOUNT_ID))
    with pytest.raises(NotFound):
        one_request(
            emulator, lambda: live.entitlements.default_for_new_case(S.DEMO_ACCOUNT_ID, S.OTHER_ASSOCIATE_ID)
        )


def test_contacts_sign_in_read_lookups_and_identity_updates(live: Crm, emulator: Any) -> None:
    creds = one_request(emulator, lambda: live.contacts.credentials_by_username(S.DEMO_USERNAME))
    assert creds.contact.id == S.DEMO_CONTACT_ID and creds.password_hash
    assert creds.contact.parent_account.name == S.DEMO_ACCOUNT_NAME
    assert one_request(emulator, lambda: live.contacts.credentials_by_username("nadie")) is None
    assert one_request(emulator, lambda: live.contacts.credentials_by_id(S.DEMO_CONTACT_ID)).password_hash
    [by_email] = one_request(emulator, lambda: live.contacts.find_by_email(S.DEMO_EMAIL.upper()))
    assert by_email.id == S.DEMO_CONTACT_ID
    assert (
        one_request(emulator, lambda: live.contacts.find_by_username(S.OTHER_USERNAME)).id
        == S.OTHER_CONTACT_ID
    )
    users = one_request(emulator, lambda: live.contacts.list_portal_users())
    assert {S.DEMO_USERNAME, S.OTHER_USERNAME} <= {u.username for u in users}
    contact = one_request(emulator, lambda: live.contacts.get(S.DEMO_CONTACT_ID))
    one_request(
        emulator,
        lambda: live.contacts.update_identity(
            S.DEMO_CONTACT_ID, {"access_failed_count": 3, "security_stamp": "nuevo"}, etag=contact.etag
        ),
    )
    again = live.contacts.get(S.DEMO_CONTACT_ID)
    assert (again.access_failed_count, again.security_stamp) == (3, "nuevo")
    with pytest.raises(Conflict):  # the etag read before the change is stale now
        live.contacts.update_identity(S.DEMO_CONTACT_ID, {"access_failed_count": 4}, etag=contact.etag)
    one_request(emulator, lambda: live.contacts.update_email(S.DEMO_CONTACT_ID, "nuevo@inovait.co"))
    assert live.contacts.get(S.DEMO_CONTACT_ID).email == "nuevo@inovait.co"
    creds = live.contacts.credentials_by_id(S.DEMO_CONTACT_ID)
    assert creds.second_factor is None and creds.contact.two_factor_enabled is False
    one_request(emulator, lambda: live.contacts.update_identity(
        S.DEMO_CONTACT_ID, {"second_factor": "sealed-text", "two_factor_enabled": True}))  # fmt: skip
    creds = live.contacts.credentials_by_id(S.DEMO_CONTACT_ID)
    assert (creds.second_factor, creds.contact.two_factor_enabled) == ("sealed-text", True)


ISSUER = "https://login.microsoftonline.com/0b1d2c3e-4f50-4a6b-8c7d-9e0f1a2b3c4d/v2.0"


def test_an_external_identity_is_linked_once_and_finds_its_contact_with_roles_in_one_read(
    live: Crm, emulator: Any
) -> None:
    assert one_request(emulator, lambda: live.external.find_contact(ISSUER, "subject-1")) is None
    assert one_request(emulator, lambda: live.external.link(S.DEMO_CONTACT_ID, ISSUER, "subject-1")) is True
    assert live.external.link(S.DEMO_CONTACT_ID, ISSUER, "subject-1") is False  # a retry: no second row
    contact = one_request(emulator, lambda: live.external.find_contact(ISSUER, "subject-1"))
    assert contact is not None and contact.id == S.DEMO_CONTACT_ID
    assert contact.parent_account is not None and contact.parent_account.name == S.DEMO_ACCOUNT_NAME
    assert contact.username == S.DEMO_USERNAME and contact.web_roles
    # Same key at another provider, another key at the same one: strangers.
    assert live.external.find_contact(ISSUER.replace("0b1d", "ffff"), "subject-1") is None
    assert live.external.find_contact(ISSUER, "subject-2") is None
