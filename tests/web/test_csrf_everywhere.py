"""Every POST endpoint of the URL map refuses a missing and a wrong CSRF token: a new form is covered
as soon as its route exists, and the refusal changes nothing in Dataverse."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest
from flask import Flask

from d365portal import create_app
from d365portal.emulator.seed import (
    DEMO_CASE_ID,
    DEMO_CONTACT_ID,
    DEMO_CONTACT_LEVEL_ID,
    DEMO_EMAIL,
    DEMO_USERNAME,
)
from tests.conftest import make_settings
from tests.web.support_helpers import sign_in

# What a browser would type into each form (so only the token is missing or wrong).
FIELDS = {
    "username": DEMO_USERNAME, "password": "Soporte-Demo-2026", "email": DEMO_EMAIL, "title": "CSRF",
    "current_password": "Soporte-Demo-2026", "new_password": "Otra-Clave-Larga-2026",
    "confirm_password": "Otra-Clave-Larga-2026", "intent": "send", "q": "x",
}  # fmt: skip


# The identity provider's form_post answer cannot carry the portal's token (it is posted from the
# provider's site); MSAL's state, bound to this browser's session, is its check
# (tests/web/test_external_signin.py::test_a_forged_state_and_a_replayed_code_fail).
EXEMPT = {"external.callback"}


def post_endpoints(app: Flask) -> list[tuple[str, str]]:
    """(endpoint, URL) of every rule that takes POST, its arguments filled with sample values."""
    found = []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if "POST" not in (rule.methods or set()) or rule.endpoint in EXEMPT:
                continue
            values: dict[str, Any] = {"lang": "es-ES"}
            for argument in rule.arguments - {"lang"}:
                values[argument] = UUID(str(DEMO_CASE_ID))
            if "action" in rule.arguments:  # close / cancel / reopen, level / disable / …: one URL each
                for action in sorted(rule._converters["action"].items):  # type: ignore[attr-defined]
                    url = rule.build({**values, "action": action}, append_unknown=False)
                    assert url is not None
                    found.append((f"{rule.endpoint}:{action}", url[1]))
                continue
            url = rule.build(values, append_unknown=False)
            assert url is not None
            found.append((rule.endpoint, url[1]))
    return sorted(found)


def _app(tmp_path: Any) -> Flask:
    return create_app(make_settings(tmp_path, "http://127.0.0.1:1"))


def test_the_map_has_the_portals_forms(tmp_path: Any) -> None:
    endpoints = {endpoint for endpoint, _ in post_endpoints(_app(tmp_path))}
    assert {"auth.login", "auth.logout", "auth.forgot_password", "auth.reset_password", "support.new_case",
            "profile.change_password", "profile.change_email", "support.add_comment",
            "support.case_action:close", "support.case_action:reopen", "support.follow_case",
            "company.invite", "company.act:level", "company.act:disable", "company.act:enable",
            "company.act:unlock", "company.act:reset2fa", "two_factor.verify", "security_page.index",
            "security_page.app_setup"} <= endpoints  # fmt: skip


@pytest.mark.parametrize("token", [None, "wrong-token"], ids=["missing", "wrong"])
def test_every_post_refuses_a_missing_or_wrong_token(app: Flask, emulator: Any, token: str | None) -> None:
    before = {row["incidentid"]: row["statecode"] for row in emulator.store.query("incidents")}
    comments = len(emulator.store.query("adx_portalcomments"))
    contact_before = emulator.store.get("contacts", str(DEMO_CONTACT_ID))
    colleague_before = emulator.store.get("contacts", str(DEMO_CONTACT_LEVEL_ID))
    links, people = len(emulator.store.query("adx_webrole_contactset")), len(emulator.store.query("contacts"))
    for endpoint, url in post_endpoints(app):
        for signed_in in (False, True):
            client = app.test_client()
            if signed_in:
                sign_in(client)
            data = dict(FIELDS, **({"csrf_token": token} if token else {}))
            response = client.post(url + f"?userId={DEMO_CONTACT_ID}&code=x", data=data,
                                   headers={"Sec-Fetch-Site": "same-origin"})  # fmt: skip
            refused = response.status_code == 400 or (
                endpoint == "auth.logout" and not signed_in and response.status_code == 302
            )
            assert refused, (endpoint, signed_in, response.status_code)
    assert {row["incidentid"]: row["statecode"] for row in emulator.store.query("incidents")} == before
    assert len(emulator.store.query("adx_portalcomments")) == comments
    assert emulator.store.get("contacts", str(DEMO_CONTACT_ID)) == contact_before
    assert emulator.store.get("contacts", str(DEMO_CONTACT_LEVEL_ID)) == colleague_before
    assert len(emulator.store.query("adx_webrole_contactset")) == links
    assert len(emulator.store.query("contacts")) == people
