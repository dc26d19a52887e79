"""Rows every Dataverse environment has, whatever the seed: its organization and its users.

The organization carries the attachment limits the portal reads (`maxuploadfilesize`,
`blockedattachments`, Dataverse's defaults); the users are the portal's application user (WhoAmI)
and the support agents who own and answer cases.
"""

from __future__ import annotations

from d365portal.emulator.seed import (
    APPLICATION_USER_ID,
    APPLICATION_USER_NAME,
    DEFAULT_BLOCKED_ATTACHMENTS,
    DEFAULT_MAX_UPLOAD_BYTES,
    DEMO_AGENT_EMAIL,
    DEMO_AGENT_ID,
    DEMO_AGENT_NAME,
    DEMO_SECOND_AGENT_ID,
    DEMO_SECOND_AGENT_NAME,
    ORGANIZATION_ID,
    WEB_ROLE_AUTHENTICATED,
    WEB_ROLE_IDS,
    Row,
)


def _user(user_id: object, fullname: str, email: str | None) -> Row:
    first, _, last = fullname.partition(" ")
    return {
        "systemuserid": user_id, "fullname": fullname, "firstname": first, "lastname": last or first,
        "internalemailaddress": email, "isdisabled": False, "createdon": "2019-01-01T00:00:00Z",
    }  # fmt: skip


def system_rows() -> dict[str, list[Row]]:
    """The organization and the system users, by entity set."""
    return {
        "organizations": [
            {
                "organizationid": ORGANIZATION_ID,
                "name": "inovait-soporte",
                "maxuploadfilesize": DEFAULT_MAX_UPLOAD_BYTES,
                "blockedattachments": DEFAULT_BLOCKED_ATTACHMENTS,
                "createdon": "2019-01-01T00:00:00Z",
            }
        ],
        "adx_webroles": [
            {
                "adx_webroleid": role_id,
                "adx_name": name,
                "createdon": "2019-01-01T00:00:00Z",
                "adx_authenticatedusersrole": name == WEB_ROLE_AUTHENTICATED,
                "adx_anonymoususersrole": False,
            }
            for name, role_id in WEB_ROLE_IDS.items()
        ],  # fmt: skip
        "systemusers": [
            _user(APPLICATION_USER_ID, APPLICATION_USER_NAME, None),
            _user(DEMO_AGENT_ID, DEMO_AGENT_NAME, DEMO_AGENT_EMAIL),
            _user(DEMO_SECOND_AGENT_ID, DEMO_SECOND_AGENT_NAME, "prios@soporte.example"),
        ],
    }
