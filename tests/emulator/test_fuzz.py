"""Property test: whatever a client sends, the emulator answers like Dataverse and never loses a row."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.test import Client

from d365portal.emulator import create_emulator_app
from d365portal.emulator.seed import DEMO_CASE_ID

APP = create_emulator_app(seed="demo")
CLIENT = Client(APP)
AUTH = {"Authorization": "Bearer t", "Content-Type": "application/json"}
COLUMNS = [
    "title", "description", "prioritycode", "caseorigincode", "casetypecode", "statecode", "statuscode",
    "decremententitlementterm", "billedserviceunits", "ticketnumber", "nosuchcolumn", "_customerid_value",
    "customerid_account@odata.bind", "entitlementid@odata.bind", "primarycontactid@odata.bind", "createdon",
]  # fmt: skip
values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=300),
    st.sampled_from(
        ["/accounts(5b1e6a2c-1f3d-ea11-a812-000d3a1b2c3d)", "/accounts(nope)", "2020-02-30T00:00:00Z"]
    ),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)
bodies = st.one_of(
    st.dictionaries(st.sampled_from(COLUMNS), values, max_size=6).map(json.dumps),
    st.text(max_size=60),
    st.binary(max_size=40).map(lambda b: b.decode("latin-1")),
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=bodies, method=st.sampled_from(["PATCH", "POST"]))
def test_any_body_gets_a_dataverse_answer_and_failed_writes_change_nothing(body: str, method: str) -> None:
    """No 5xx for any payload; a refused write leaves the demo case exactly as it was."""
    path = f"/api/data/v9.2/incidents({DEMO_CASE_ID})" if method == "PATCH" else "/api/data/v9.2/incidents"
    before: dict[str, Any] | None = APP.store.get("incidents", DEMO_CASE_ID)
    count = len(APP.store.query("incidents"))
    response = CLIENT.open(path, method=method, data=body.encode("utf-8", "surrogatepass"), headers=AUTH)
    assert response.status_code in (200, 201, 204, 400, 404, 412), response.get_data(as_text=True)
    if response.status_code >= 400:
        assert response.json["error"]["message"]
        assert APP.store.get("incidents", DEMO_CASE_ID) == before
        assert len(APP.store.query("incidents")) == count
    else:
        APP.store.reset()


fragments = st.sampled_from(
    ["title", "statecode", "_customerid_value", "customerid_account/_parentaccountid_value", "createdon",
     "eq",
     "ne", "gt", "and", "or", "not", "(", ")", "'", "''", "'x'", "null", "true", "1", "2.5", "2019-12-26",
     "2019-12-26T16:24:00Z", str(DEMO_CASE_ID), "contains(title,'a')", "startswith(", ",", "/", "$", "any(",
     "in", "(1,2)", "desc", "asc", " "]
)  # fmt: skip
query_text = st.one_of(st.lists(fragments, max_size=8).map(" ".join), st.text(max_size=40))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    option=st.sampled_from(["$filter", "$select", "$orderby", "$expand", "$top", "$skiptoken", "$count"]),
    text=query_text,
)
def test_any_query_gets_a_dataverse_answer(option: str, text: str) -> None:
    """Random query options: 200, or a Dataverse-style 400/404/501 with a message; never a 5xx crash."""
    response = CLIENT.get("/api/data/v9.2/incidents", query_string={option: text}, headers=AUTH)
    assert response.status_code in (200, 400, 404, 501), response.get_data(as_text=True)
    if response.status_code != 200:
        assert response.json["error"]["message"]
