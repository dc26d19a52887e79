"""`d365portal check`: every step against the emulator, and each way a tenant is usually misconfigured."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import responses

from tests.admin.conftest import invoke

ORG = "https://contoso.crm.dynamics.com"
API = f"{ORG}/api/data/v9.2/"
TENANT = "11111111-2222-3333-4444-555555555555"
CLIENT_ID = "66666666-7777-8888-9999-000000000000"
SECRET = "Kx8Q~check-secret-that-must-never-show"
AUTHORITY = "https://login.microsoftonline.com"
USER_ID = "8e2d4c6b-1a3f-ea11-a812-000d3a1b2c3d"


def test_every_step_passes_against_the_emulator(emulator_env: dict[str, str]) -> None:
    result = invoke(emulator_env, "check")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    for number in range(1, 12):
        assert any(line.startswith(f"✓ {number}. ") for line in lines), result.output
    assert "12 tables" in result.output
    assert "privileges not listed" not in result.output  # step 5 read the role's privileges
    assert "options of 3 tables in 2 languages" in result.output  # step 8 read the labels
    assert lines[-1].startswith("Verdict: All 11 checks passed")


def test_a_language_the_environment_lacks_is_named(emulator_env: dict[str, str], emulator: Any) -> None:
    del emulator.store.metadata.labels["en-US"]  # an environment without the English language pack
    result = invoke(emulator_env, "check")
    assert result.exit_code == 1, result.output
    step8 = next(line for line in result.output.splitlines() if line.startswith("✗ 8. "))
    assert "English (1033)" in step8 and "Spanish" not in step8


def test_a_privilege_missing_from_the_application_users_role_is_named(
    emulator_env: dict[str, str], emulator: Any
) -> None:
    emulator.privileges.remove("prvCreateIncident")
    cases_before = len(emulator.store.query("incidents"))
    result = invoke(emulator_env, "check")
    assert result.exit_code == 1, result.output
    step5 = next(line for line in result.output.splitlines() if line.startswith("✗ 5. "))
    assert "Create on Case" in step5 + result.output
    assert len(emulator.store.query("incidents")) == cases_before  # checked without creating a case


def test_json_output_parses_and_says_the_same(emulator_env: dict[str, str]) -> None:
    result = invoke(emulator_env, "check", "--json")
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert document["ok"] is True
    assert [s["step"] for s in document["steps"]] == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]
    assert {s["status"] for s in document["steps"]} == {"pass"}
    assert document["steps"][2]["data"]["whoami"]["UserId"]  # WhoAmI's ids, for monitoring


def test_a_field_map_column_missing_in_the_tenant_is_named(emulator_env: dict[str, str]) -> None:
    env = {
        **emulator_env,
        "D365_FIELDMAP__INCIDENT_ASSOCIATE_COLUMN": "new_asociado",
        "D365_FIELDMAP__IDENTITY_USERNAME": "contoso_portalusername",
    }
    result = invoke(env, "check")
    assert result.exit_code == 1
    step4 = next(line for line in result.output.splitlines() if line.startswith("✗ 4."))
    assert "incidents._new_asociado_value" in step4
    assert "D365_FIELDMAP__INCIDENT_ASSOCIATE_COLUMN" in step4
    assert "contacts.contoso_portalusername" in step4
    assert "Fix:" in result.output and "1 of 11 checks failed (step 4)" in result.output


def test_a_wrong_setting_fails_step_one_and_skips_the_rest(emulator_env: dict[str, str]) -> None:
    result = invoke({**emulator_env, "D365_WORKERS": "many"}, "check")
    assert result.exit_code == 1
    assert "✗ 1. Settings are valid: setting workers (D365_WORKERS): expected a whole number" in result.output
    assert "– 2. " in result.output and "skipped" in result.output


def test_credentials_missing_for_the_chosen_sign_in_are_named(clean_env: dict[str, str]) -> None:
    result = invoke({**clean_env, "D365_AUTH": "client_secret", "D365_TENANT_ID": TENANT}, "check")
    assert result.exit_code == 1
    missing = "missing: client_id (D365_CLIENT_ID), client_secret (D365_CLIENT_SECRET)"
    assert f"✗ 1. Settings are valid: {missing}" in result.output


def test_dataverse_unreachable_is_said_plainly(clean_env: dict[str, str]) -> None:
    env = {**clean_env, "D365_DATAVERSE_URL": "http://127.0.0.1:9", "D365_RETRY_BUDGET_SECONDS": "0.5"}
    result = invoke(env, "check")
    assert result.exit_code == 1
    assert "✗ 3. Dataverse answers WhoAmI" in result.output and "D365_DATAVERSE_URL" in result.output


# --- the identity provider refuses: MSAL through `responses` ---------------------------------------


def idp(mock: responses.RequestsMock) -> str:
    """The discovery document MSAL fetches first; returns the token endpoint."""
    token_endpoint = f"{AUTHORITY}/{TENANT}/oauth2/v2.0/token"
    mock.get(
        f"{AUTHORITY}/{TENANT}/v2.0/.well-known/openid-configuration",
        json={
            "token_endpoint": token_endpoint,
            "authorization_endpoint": f"{AUTHORITY}/{TENANT}/oauth2/v2.0/authorize",
            "issuer": f"{AUTHORITY}/{TENANT}/v2.0",
        },
    )
    return token_endpoint


def aadsts(code: int, error: str, text: str) -> dict[str, Any]:
    return {
        "error": error,
        "error_description": f"AADSTS{code}: {text} Trace ID: 0 Correlation ID: 1 Timestamp: 2026-11-27",
        "error_codes": [code],
    }


@pytest.fixture()
def tenant_env(clean_env: dict[str, str]) -> dict[str, str]:
    return {
        **clean_env,
        "D365_DATAVERSE_URL": ORG,
        "D365_AUTH": "client_secret",
        "D365_TENANT_ID": TENANT,
        "D365_CLIENT_ID": CLIENT_ID,
        "D365_CLIENT_SECRET": SECRET,
    }


@pytest.mark.parametrize(
    ("code", "error", "explained"),
    [
        (7000215, "invalid_client", "client secret is wrong"),
        (7000222, "invalid_client", "client secret has expired"),
        (700016, "unauthorized_client", "D365_CLIENT_ID"),
    ],
)
def test_each_token_refusal_is_explained_without_the_secret(
    tenant_env: dict[str, str], code: int, error: str, explained: str
) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.post(idp(mock), status=401, json=aadsts(code, error, f"Refused {SECRET}."))
        result = invoke(tenant_env, "check")
        json_result = invoke(tenant_env, "check", "--json")
    assert result.exit_code == 1 and json_result.exit_code == 1
    step2 = result.output[result.output.index("✗ 2.") :]
    assert f"AADSTS{code}" in step2 and explained in step2
    assert SECRET not in result.output and SECRET not in json_result.output
    token_step = json.loads(json_result.stdout)["steps"][1]
    assert token_step["status"] == "fail" and explained in token_step["fix"]


def test_an_unknown_tenant_is_explained(tenant_env: dict[str, str]) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get(
            f"{AUTHORITY}/{TENANT}/v2.0/.well-known/openid-configuration",
            status=400,
            json=aadsts(90002, "invalid_tenant", f"Tenant '{TENANT}' not found."),
        )
        result = invoke(tenant_env, "check")
    assert result.exit_code == 1
    assert "AADSTS90002" in result.output and "D365_TENANT_ID" in result.output
    assert SECRET not in result.output


# --- Dataverse refuses the application user ---------------------------------------------------------


@pytest.fixture()
def static_tenant_env(clean_env: dict[str, str]) -> dict[str, str]:
    return {**clean_env, "D365_DATAVERSE_URL": ORG, "D365_AUTH": "static", "D365_STATIC_TOKEN": SECRET}


def test_application_user_missing_is_explained(static_tenant_env: dict[str, str]) -> None:
    body = {"error": {"code": "0x80072560", "message": "The user is not a member of the organization."}}
    with responses.RequestsMock() as mock:
        mock.get(f"{API}WhoAmI", status=403, json=body)
        result = invoke(static_tenant_env, "check")
    assert result.exit_code == 1
    step3 = result.output[result.output.index("✗ 3.") :]
    assert "not a member of the organization" in step3
    assert "Application users" in step3 and "security role" in step3
    assert SECRET not in result.output


# Reading and writing the case conversation (issue 13).
CONVERSATION_PRIVILEGES = [
    "prvWriteIncident", "prvReadadx_portalcomment", "prvCreateadx_portalcomment",
    "prvAppendToadx_portalcomment", "prvAppendToIncident", "prvReadNote", "prvCreateNote",
    "prvCreateContact", "prvAppendContact", "prvReadadx_webrole", "prvAppendadx_webrole",
    "prvAppendToadx_webrole", "prvReadKnowledgeArticle", "prvCreateFeedback", "prvCreateadx_casedeflection",
    "prvAppendToKnowledgeArticle", "prvReadadx_externalidentity", "prvCreateadx_externalidentity",
    "prvAppendadx_externalidentity",
]


def _tenant_that_answers(mock: responses.RequestsMock, privileges: list[str]) -> None:
    mock.get(f"{API}WhoAmI", json={"UserId": USER_ID, "BusinessUnitId": "b", "OrganizationId": "o"})
    tables = re.compile(
        rf"{re.escape(API)}(incidents|accounts|contacts|entitlements|adx_portalcomments|annotations|organizations"
        rf"|knowledgearticles|feedback|adx_casedeflections|adx_externalidentities)\?.*"
    )
    mock.get(tables, json={"value": []})
    roles = [{"adx_name": name} for name in ("Contacto", "Empresa", "Administrador de la empresa")]
    mock.get(re.compile(rf"{re.escape(API)}adx_webroles\?.*"), json={"value": roles})
    mock.get(
        f"{API}systemusers({USER_ID})/Microsoft.Dynamics.CRM.RetrieveUserPrivileges()",
        json={"RolePrivileges": [{"PrivilegeName": p, "Depth": "Global"} for p in privileges]},
    )
    mock.get(f"{API}RetrieveAvailableLanguages", json={"LocaleIds": [3082, 1033]})
    # Table definitions: no options (an empty list), change tracking on (what step 9 asks for).
    definitions = {"value": [], "ChangeTrackingEnabled": True}
    mock.get(re.compile(rf"{re.escape(API)}EntityDefinitions\(.*"), json=definitions)


def test_a_missing_create_privilege_is_named(static_tenant_env: dict[str, str]) -> None:
    held = ["prvReadIncident", "prvReadAccount", "prvReadContact", "prvReadEntitlement", "prvWriteContact",
            "prvAppendIncident", "prvAppendToAccount", "prvAppendToContact", "prvAppendToEntitlement",
            *CONVERSATION_PRIVILEGES]
    with responses.RequestsMock() as mock:
        _tenant_that_answers(mock, held)
        result = invoke(static_tenant_env, "check")
    assert result.exit_code == 1
    step5 = next(line for line in result.output.splitlines() if line.startswith("✗ 5."))
    assert "lacks Create on Case" in step5
    assert "✓ 4." in result.output
    assert not any(call.request.method != "GET" for call in mock.calls)  # nothing was created


def test_privileges_that_suffice_pass_step_five(static_tenant_env: dict[str, str]) -> None:
    held = ["prvReadIncident", "prvReadAccount", "prvReadContact", "prvReadEntitlement", "prvWriteContact",
            "prvCreateIncident", "prvAppendIncident", "prvAppendToAccount", "prvAppendToContact",
            "prvAppendToEntitlement", *CONVERSATION_PRIVILEGES]
    with responses.RequestsMock() as mock:
        _tenant_that_answers(mock, held)
        result = invoke(static_tenant_env, "check")
    assert result.exit_code == 0, result.output
    assert "may create cases (privileges checked, nothing created)" in result.output


def test_a_followed_table_without_change_tracking_is_named(
    emulator_env: dict[str, str], emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Step 9 names each table whose Track changes is off, and how to switch it on."""
    from d365portal.emulator import definitions

    tracked = frozenset({"incident", "entitlement", "adx_portalcomment"})
    monkeypatch.setattr(definitions, "CHANGE_TRACKED", tracked)
    result = invoke(emulator_env, "check")
    step9 = next(line for line in result.output.splitlines() if line.startswith("✗ 9."))
    assert "change tracking is off for: annotation" in step9 and result.exit_code == 1
    assert "Track changes" in result.output


def test_a_web_role_the_settings_name_but_the_site_lacks_is_named(emulator_env: dict[str, str]) -> None:
    """Step 10: without the admin role every company is without an admin; the step says which name."""
    result = invoke({**emulator_env, "D365_ROLE_COMPANY_ADMIN": "Admin Cliente"}, "check")
    step10 = next(line for line in result.output.splitlines() if line.startswith("✗ 10."))
    assert "no active web role named 'Admin Cliente' (role_company_admin)" in step10
    assert "Web roles" in result.output and result.exit_code == 1


def test_each_identity_provider_is_checked_discovery_keys_and_credentials(
    emulator_env: dict[str, str], oidc: Any
) -> None:
    from tests.conftest import provider_setting

    good = provider_setting(oidc)
    env = {**emulator_env, "D365_IDENTITY_PROVIDERS": json.dumps([good])}
    result = invoke(env, "check")
    assert result.exit_code == 0, result.output
    step11 = next(line for line in result.output.splitlines() if line.startswith("✓ 11. "))
    assert f"entra (issuer {oidc.issuer()}, 1 signing keys)" in step11
    assert oidc.client_credentials >= 1
    wrong = {**good, "name": "wrong", "client_secret": "not-the-secret-value"}
    gone = {**good, "name": "gone", "authority": "https://127.0.0.1:1/nobody"}
    env = {**emulator_env, "D365_IDENTITY_PROVIDERS": json.dumps([good, wrong, gone])}
    result = invoke(env, "check")
    assert result.exit_code == 1
    step11 = next(line for line in result.output.splitlines() if line.startswith("✗ 11. "))
    assert "wrong: the client id and secret/certificate were refused" in step11 and "AADSTS7000215" in step11
    discovery = "https://127.0.0.1:1/nobody/v2.0/.well-known/openid-configuration"
    assert f"gone: discovery at {discovery} failed" in step11
    assert "not-the-secret-value" not in result.output and "entra (issuer" not in step11


def test_the_second_factors_column_is_checked_unless_the_app_is_off(emulator_env: dict[str, str]) -> None:
    env = {**emulator_env, "D365_FIELDMAP__IDENTITY_SECONDFACTOR": "contoso_portal2fa"}
    result = invoke(env, "check")
    step4 = next(line for line in result.output.splitlines() if line.startswith("✗ 4."))
    assert "contacts.contoso_portal2fa (from fieldmap.identity_secondfactor" in step4
    result = invoke({**env, "D365_TWO_FACTOR_APP": "false"}, "check")
    assert result.exit_code == 0, result.output
