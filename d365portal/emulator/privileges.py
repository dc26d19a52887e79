"""The application user's security-role privileges, answered by `RetrieveUserPrivileges`.

Real Dataverse lists the privileges of the user's roles with their depth; the emulator's
application user holds, at organization depth, what a support portal's role grants. Tests remove
names from `EmulatorApp.privileges` to play an under-privileged application user.
"""

from __future__ import annotations

import uuid

# The portal's role: read the four tables, create cases, link them, and keep identity on contacts;
# read and write the conversation (portal comments and their notes).
PORTAL_ROLE = (
    "prvReadIncident", "prvCreateIncident", "prvWriteIncident", "prvAppendIncident",
    "prvReadAccount", "prvAppendToAccount",
    "prvReadContact", "prvWriteContact", "prvAppendToContact",
    "prvReadEntitlement", "prvAppendToEntitlement",
    "prvReadUser",
    "prvReadadx_portalcomment", "prvCreateadx_portalcomment", "prvAppendToadx_portalcomment",
    "prvAppendToIncident", "prvReadNote", "prvCreateNote",
    "prvCreateContact", "prvAppendContact", "prvReadadx_webrole", "prvAppendadx_webrole",
    "prvAppendToadx_webrole", "prvReadKnowledgeArticle", "prvCreateFeedback", "prvCreateadx_casedeflection",
    "prvAppendToKnowledgeArticle", "prvReadadx_externalidentity", "prvCreateadx_externalidentity",
    "prvAppendadx_externalidentity",
)  # fmt: skip

# Privilege ids are GUIDs in Dataverse; stable ones derived from the name keep answers repeatable.
_NAMESPACE = uuid.UUID("0b1d2c3e-4f50-4a6b-8c7d-9e0f1a2b3c4d")


def role_privileges(names: list[str], business_unit_id: str) -> list[dict[str, str]]:
    """`RolePrivileges` as RetrieveUserPrivileges returns them (organization-wide depth)."""
    return [
        {
            "Depth": "Global",
            "PrivilegeId": str(uuid.uuid5(_NAMESPACE, name)),
            "BusinessUnitId": business_unit_id,
            "PrivilegeName": name,
        }
        for name in names
    ]
