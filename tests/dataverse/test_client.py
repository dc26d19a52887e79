"""The one `_request()`: headers, token, timeouts, typed errors, retries within the budget, paging."""

from __future__ import annotations

import logging
from uuid import UUID

import pytest
import requests
import responses
from responses import matchers

from d365portal.dataverse.auth import StaticTokenProvider
from d365portal.dataverse.client import DataverseClient
from d365portal.dataverse.context import metrics, set_request_id
from d365portal.dataverse.errors import (
    AuthenticationFailed,
    InvalidQuery,
    NotFound,
    PermissionDenied,
    Throttled,
    TokenError,
    Unavailable,
)
from tests.dataverse.conftest import Sleeps
from tests.dataverse.shapes import BASE, ORG, collection, error, next_link

THROTTLED = error(
    "0x80072322", "Number of requests exceeded the limit of 6000 over time window of 300 seconds."
)
WHOAMI = {"BusinessUnitId": "b1", "UserId": "u1", "OrganizationId": "o1"}


def test_every_call_carries_odata_headers_token_request_id_and_timeouts(
    dv: DataverseClient, mock: responses.RequestsMock
) -> None:
    mock.get(
        f"{BASE}WhoAmI",
        json=WHOAMI,
        match=[
            matchers.header_matcher(
                {
                    "Authorization": "Bearer tok-123",
                    "Accept": "application/json",
                    "OData-MaxVersion": "4.0",
                    "OData-Version": "4.0",
                    "x-ms-client-request-id": "page-view-42",
                }
            )
        ],
    )
    token = set_request_id("page-view-42")
    try:
        assert dv.whoami()["UserId"] == "u1"
    finally:
        set_request_id(None)
        del token
    assert mock.calls[0].request.req_kwargs["timeout"] == (3.05, 8.0)


def test_pool_is_sized_for_the_server_threads() -> None:
    client = DataverseClient(BASE, StaticTokenProvider("t"), pool_size=24)
    assert client.session.get_adapter(BASE)._pool_maxsize == 24


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (400, "0x80060888", InvalidQuery),
        (404, "0x80040217", NotFound),
        (403, "0x80040220", PermissionDenied),
        (500, "0x80040216", Unavailable),
    ],
)
def test_status_becomes_a_typed_error_with_code_message_and_request_id(
    dv: DataverseClient, mock: responses.RequestsMock, status: int, code: str, cls: type
) -> None:
    mock.get(
        f"{BASE}incidents",
        status=status,
        json=error(code, "Could not find a property named 'x' on type 'Microsoft.Dynamics.CRM.incident'."),
        headers={"x-ms-service-request-id": "req-77"},
    )
    with pytest.raises(cls) as caught:
        dv.get("incidents")
    assert (caught.value.status, caught.value.code, caught.value.request_id) == (status, code, "req-77")
    assert "Could not find a property" in caught.value.message
    assert len(mock.calls) == 1  # not transient: never retried


def test_application_user_missing_is_explained(dv: DataverseClient, mock: responses.RequestsMock) -> None:
    mock.get(
        f"{BASE}WhoAmI", status=403, json=error("0x80072560", "The user is not a member of the organization.")
    )
    with pytest.raises(PermissionDenied) as caught:
        dv.whoami()
    assert "Application users" in str(caught.value) and "security role" in str(caught.value)


def test_429_then_200_honours_retry_after(
    dv: DataverseClient, mock: responses.RequestsMock, sleeps: Sleeps
) -> None:
    mock.get(f"{BASE}WhoAmI", status=429, json=THROTTLED, headers={"Retry-After": "7"})
    mock.get(f"{BASE}WhoAmI", json=WHOAMI)
    assert dv.whoami() == WHOAMI
    assert sleeps == [7.0]
    assert len(mock.calls) == 2


def test_429_past_the_budget_raises_throttled_without_waiting(
    dv: DataverseClient, mock: responses.RequestsMock, sleeps: Sleeps
) -> None:
    mock.get(f"{BASE}WhoAmI", status=429, json=THROTTLED, headers={"Retry-After": "30"})
    with pytest.raises(Throttled) as caught:
        dv.whoami()
    assert caught.value.retry_after == 30.0 and caught.value.is_transient
    assert sleeps == [] and len(mock.calls) == 1


def test_repeated_503_stops_within_the_budget(mock: responses.RequestsMock, sleeps: Sleeps) -> None:
    client = DataverseClient(BASE, StaticTokenProvider("t"), retry_budget=2.0, sleep=sleeps)
    mock.get(f"{BASE}WhoAmI", status=503, json=error("0x80040216", "The service is temporarily unavailable."))
    with pytest.raises(Unavailable):
        client.whoami()
    assert 0 < sum(sleeps) <= 2.0 and len(mock.calls) == len(sleeps) + 1


def test_connection_errors_and_timeouts_are_retried_for_a_get(
    dv: DataverseClient, mock: responses.RequestsMock
) -> None:
    mock.get(f"{BASE}WhoAmI", body=requests.exceptions.ConnectionError("reset"))
    mock.get(f"{BASE}WhoAmI", body=requests.exceptions.ReadTimeout("slow"))
    mock.get(f"{BASE}WhoAmI", json=WHOAMI)
    assert dv.whoami() == WHOAMI


def test_a_post_is_not_retried_after_an_ambiguous_failure(
    dv: DataverseClient, mock: responses.RequestsMock
) -> None:
    mock.post(f"{BASE}CloseIncident", body=requests.exceptions.ReadTimeout("slow"))
    with pytest.raises(Unavailable):
        dv.call_action("CloseIncident", {"Status": 5})
    assert len(mock.calls) == 1


def test_a_post_is_retried_after_429_because_it_did_not_run(
    dv: DataverseClient, mock: responses.RequestsMock
) -> None:
    mock.post(f"{BASE}incidents", status=429, json=THROTTLED, headers={"Retry-After": "1"})
    new_id = "0c7a1f4e-8d2b-ea11-a813-000d3a1b2c3d"
    mock.post(f"{BASE}incidents", status=204, headers={"OData-EntityId": f"{BASE}incidents({new_id})"})
    assert dv.create("incidents", {"title": "x"}) == UUID(new_id)


class CountingProvider:
    """A token provider that hands out a new token on each refresh."""

    def __init__(self) -> None:
        self.refreshes = 0

    def get_token(self, *, force_refresh: bool = False) -> str:
        if force_refresh:
            self.refreshes += 1
        return f"token-{self.refreshes}"


def test_401_refreshes_the_token_once(mock: responses.RequestsMock) -> None:
    provider = CountingProvider()
    client = DataverseClient(BASE, provider)
    mock.get(
        f"{BASE}WhoAmI", status=401, match=[matchers.header_matcher({"Authorization": "Bearer token-0"})]
    )
    mock.get(
        f"{BASE}WhoAmI", json=WHOAMI, match=[matchers.header_matcher({"Authorization": "Bearer token-1"})]
    )
    assert client.whoami() == WHOAMI
    assert provider.refreshes == 1


def test_401_after_refresh_is_authentication_failed(mock: responses.RequestsMock) -> None:
    provider = CountingProvider()
    client = DataverseClient(BASE, provider)
    mock.get(f"{BASE}WhoAmI", status=401, headers={"WWW-Authenticate": "Bearer authorization_uri=x"})
    with pytest.raises(AuthenticationFailed):
        client.whoami()
    assert provider.refreshes == 1 and len(mock.calls) == 2


def test_authorization_is_redacted_from_every_log_line(
    dv: DataverseClient, mock: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    mock.get(f"{BASE}WhoAmI", status=429, json=THROTTLED, headers={"Retry-After": "0"})
    mock.get(f"{BASE}WhoAmI", json=WHOAMI)
    with caplog.at_level(logging.DEBUG, logger="d365portal"):
        dv.whoami()
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "/WhoAmI" in text and "'Authorization': '***'" in text
    assert "tok-123" not in text


def test_iterate_follows_next_link_verbatim(dv: DataverseClient, mock: responses.RequestsMock) -> None:
    link = next_link("accounts")
    mock.get(f"{BASE}accounts", json=collection("accounts", [{"accountid": "1"}, {"accountid": "2"}], link))
    mock.get(
        link,
        json=collection("accounts", [{"accountid": "3"}]),
        match=[matchers.query_string_matcher(link.split("?")[1])],
    )
    rows = list(dv.iterate("accounts", {"$select": "accountid"}, page_size=2))
    assert [r["accountid"] for r in rows] == ["1", "2", "3"]
    assert mock.calls[1].request.url == link
    assert "odata.maxpagesize=2" in mock.calls[1].request.headers["Prefer"]


def test_a_link_to_another_host_is_refused(dv: DataverseClient) -> None:
    with pytest.raises(InvalidQuery):
        dv.get("https://evil.example/api/data/v9.2/accounts")


def test_metrics_count_calls_per_context(dv: DataverseClient, mock: responses.RequestsMock) -> None:
    mock.get(f"{BASE}WhoAmI", json=WHOAMI)
    counter = metrics.begin()
    dv.whoami()
    dv.whoami()
    assert metrics.current() is counter and counter.calls == 2 and counter.elapsed_ms > 0
    assert metrics.begin().calls == 0


def test_upsert_create_only_and_update_use_the_right_conditions(
    dv: DataverseClient, mock: responses.RequestsMock
) -> None:
    rid = UUID("0c7a1f4e-8d2b-ea11-a813-000d3a1b2c3d")
    mock.patch(
        f"{BASE}incidents({rid})",
        status=204,
        headers={"OData-EntityId": f"{ORG}/api/data/v9.2/incidents({rid})"},
        match=[matchers.header_matcher({"If-None-Match": "*"})],
    )
    mock.patch(
        f"{BASE}incidents({rid})",
        status=404,
        json=error("0x80040217", f"incident With Id = {rid} Does Not Exist"),
    )
    assert dv.upsert("incidents", rid, {"title": "x"}, create_only=True) is None
    with pytest.raises(NotFound):
        dv.update("incidents", rid, {"title": "y"})
    assert mock.calls[1].request.headers["If-Match"] == "*"


def test_a_retry_only_gets_what_is_left_of_the_budget(mock: responses.RequestsMock, sleeps: Sleeps) -> None:
    client = DataverseClient(BASE, StaticTokenProvider("t"), read_timeout=8.0, retry_budget=2.0, sleep=sleeps)
    mock.get(f"{BASE}WhoAmI", body=requests.exceptions.ReadTimeout("slow"))
    mock.get(f"{BASE}WhoAmI", json=WHOAMI)
    assert client.whoami() == WHOAMI
    first, second = (c.request.req_kwargs["timeout"] for c in mock.calls)
    assert first == (3.05, 8.0)
    assert 0.5 <= second[0] <= 2.0 and 0.5 <= second[1] <= 2.0  # not 3.05 s to connect past the budget
    assert "Prefer" not in mock.calls[1].request.headers  # a function call asks for no annotations


class _RefusingProvider:
    """A token provider whose identity provider refuses the credential (a wrong client secret)."""

    def __init__(self) -> None:
        self.asked = 0

    def get_token(self, *, force_refresh: bool = False) -> str:
        self.asked += 1
        raise TokenError("could not get a Dataverse token: AADSTS7000215", aadsts="AADSTS7000215")


def test_a_refused_credential_fails_at_once_instead_of_being_retried(sleeps: Sleeps) -> None:
    # A wrong secret is not transient: retrying only holds the page view for the whole budget.
    provider = _RefusingProvider()
    client = DataverseClient(BASE, provider, retry_budget=10.0, sleep=sleeps)
    with pytest.raises(TokenError):
        client.whoami()
    assert (provider.asked, sleeps) == (1, [])


def test_retry_after_as_an_http_date_is_honoured(
    dv: DataverseClient, mock: responses.RequestsMock, sleeps: Sleeps
) -> None:
    from datetime import UTC, datetime, timedelta
    from email.utils import format_datetime

    when = format_datetime(datetime.now(UTC) + timedelta(seconds=6), usegmt=True)
    mock.get(f"{BASE}WhoAmI", status=429, json=THROTTLED, headers={"Retry-After": when})
    mock.get(f"{BASE}WhoAmI", json=WHOAMI)
    assert dv.whoami() == WHOAMI
    [waited] = sleeps
    assert 4.0 <= waited <= 6.0



class _BlippingProvider:
    """A token provider whose identity provider is unreachable once, then answers."""

    def __init__(self) -> None:
        self.asked = 0

    def get_token(self, *, force_refresh: bool = False) -> str:
        self.asked += 1
        if self.asked == 1:
            raise Unavailable("could not reach the identity provider at https://login.microsoftonline.com")
        return "tok"


def test_a_post_is_retried_when_the_token_could_not_be_fetched(
    mock: responses.RequestsMock, sleeps: Sleeps
) -> None:
    # Dataverse never saw the first attempt, so even a non-idempotent call may go again.
    new_id = "0c7a1f4e-8d2b-ea11-a813-000d3a1b2c3d"
    mock.post(f"{BASE}incidents", status=204, headers={"OData-EntityId": f"{BASE}incidents({new_id})"})
    client = DataverseClient(BASE, _BlippingProvider(), retry_budget=10.0, sleep=sleeps)
    assert client.create("incidents", {"title": "x"}) == UUID(new_id)
    assert len(mock.calls) == 1 and len(sleeps) == 1
