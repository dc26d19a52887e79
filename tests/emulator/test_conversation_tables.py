"""The conversation's tables as Dataverse documents them (issue 13), in-process and standalone:
portal comments with their parties and files in one deep insert, notes with the organization's
attachment rules, nested `$expand` with Dataverse's refusals, agents writing through impersonation."""

from __future__ import annotations

import base64
import uuid
from typing import Any

from d365portal.emulator.seed import (
    APPLICATION_USER_ID,
    DEFAULT_MAX_UPLOAD_BYTES,
    DEMO_AGENT_ID,
    DEMO_AGENT_NAME,
    DEMO_CASE_ID,
    DEMO_CONTACT_ID,
    DEMO_INTERNAL_NOTE_ID,
    ORGANIZATION_ID,
)
from tests.emulator.conftest import Api

CASE = f"/incidents({DEMO_CASE_ID})"


def comment(
    text: str = "Adjunto la captura.", *, files: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "activityid": str(uuid.uuid4()),
        "description": text,
        "adx_portalcommentdirectioncode": 1,
        "regardingobjectid_incident_adx_portalcomment@odata.bind": CASE,
        "adx_portalcomment_activity_parties": [
            {"participationtypemask": 1, "partyid_contact@odata.bind": f"/contacts({DEMO_CONTACT_ID})"}
        ],
    }
    if files is not None:
        body["adx_portalcomment_Annotations"] = files
    return body


def a_file(name: str = "captura.png", content: bytes = b"\x89PNG fake image") -> dict[str, Any]:
    return {"filename": name, "mimetype": "image/png", "documentbody": base64.b64encode(content).decode()}


def comments_of_case(api: Api) -> list[dict[str, Any]]:
    expand = (
        "incident_adx_portalcomments($select=description,adx_portalcommentdirectioncode;"
        "$expand=adx_portalcomment_Annotations($select=filename,filesize,mimetype),"
        "adx_portalcomment_activity_parties($select=participationtypemask,_partyid_value))"
    )
    response = api.get(
        f"incidents({DEMO_CASE_ID})", {"$select": "title", "$expand": expand}, annotations=True
    )
    assert response.status_code == 200, response.text
    return list(response.json()["incident_adx_portalcomments"])


def test_a_comment_with_its_party_and_files_is_one_deep_insert(api: Api) -> None:
    body = comment(files=[a_file(), a_file("registro.txt", b"linea 1\n")])
    response = api.send("POST", "adx_portalcomments", body)
    assert response.status_code == 204, response.text
    assert response.headers["OData-EntityId"].endswith(f"adx_portalcomments({body['activityid']})")
    created = next(c for c in comments_of_case(api) if c["activityid"] == body["activityid"])
    files = {f["filename"]: f for f in created["adx_portalcomment_Annotations"]}
    assert files["captura.png"]["filesize"] == len(b"\x89PNG fake image")  # computed by Dataverse
    assert files["registro.txt"]["filesize"] == 8
    (party,) = created["adx_portalcomment_activity_parties"]
    assert party["_partyid_value"] == str(DEMO_CONTACT_ID)
    assert party["_partyid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] == "contact"


def test_the_same_id_twice_is_refused_and_creates_nothing_more(api: Api) -> None:
    body = comment(files=[a_file()])
    assert api.send("POST", "adx_portalcomments", body).status_code == 204
    before = len(api.get("annotations", {"$select": "filename"}).json()["value"])
    again = api.send("POST", "adx_portalcomments", body)
    assert again.status_code == 412 and again.json()["error"]["code"] == "0x80040237"
    assert len(api.get("annotations", {"$select": "filename"}).json()["value"]) == before


def test_a_blocked_extension_refuses_the_whole_comment(api: Api) -> None:
    body = comment(files=[a_file(), a_file("instalar.exe", b"MZ")])
    response = api.send("POST", "adx_portalcomments", body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "0x80043e09"  # AttachmentBlocked
    assert api.get(f"adx_portalcomments({body['activityid']})").status_code == 404  # nothing half written
    names = [a["filename"] for a in api.get("annotations", {"$select": "filename"}).json()["value"]]
    assert "captura.png" not in names


def test_the_upload_limit_applies_to_the_base64_text(api: Api) -> None:
    organization = api.get(
        f"organizations({ORGANIZATION_ID})", {"$select": "maxuploadfilesize,blockedattachments"}
    )
    assert organization.json()["maxuploadfilesize"] == DEFAULT_MAX_UPLOAD_BYTES
    assert "exe" in organization.json()["blockedattachments"].split(";")
    assert (
        api.send("PATCH", f"organizations({ORGANIZATION_ID})", {"maxuploadfilesize": 400}).status_code == 204
    )
    fits = a_file(content=b"x" * 300)  # 400 characters of base64
    assert api.send("POST", "adx_portalcomments", comment(files=[fits])).status_code == 204
    too_big = a_file(content=b"x" * 301)  # 404 characters: over, although the file is 301 bytes
    response = api.send("POST", "adx_portalcomments", comment(files=[too_big]))
    assert response.status_code == 400 and response.json()["error"]["code"] == "0x80043e09"


def test_a_file_name_with_invalid_characters_is_refused(api: Api) -> None:
    response = api.send("POST", "adx_portalcomments", comment(files=[a_file("a/b.png")]))
    assert response.status_code == 400 and response.json()["error"]["code"] == "0x80044a08"


def test_activity_parties_are_read_only_outside_a_deep_insert(api: Api) -> None:
    body = {"participationtypemask": 1, "partyid_contact@odata.bind": f"/contacts({DEMO_CONTACT_ID})"}
    assert api.send("POST", "activityparties", body).status_code == 405
    party = api.get("activityparties", {"$select": "participationtypemask", "$top": "1"}).json()["value"][0]
    assert api.send("DELETE", f"activityparties({party['activitypartyid']})").status_code == 405


def test_orderby_or_top_beside_a_nested_expand_is_refused(api: Api) -> None:
    expand = (
        "incident_adx_portalcomments($orderby=createdon desc;"
        "$expand=adx_portalcomment_Annotations($select=filename))"
    )
    response = api.get(f"incidents({DEMO_CASE_ID})", {"$select": "title", "$expand": expand})
    assert response.status_code == 400
    assert "nested one-to-many relationship" in response.json()["error"]["message"]
    plain = api.get(
        f"incidents({DEMO_CASE_ID})",
        {
            "$select": "title",
            "$expand": "incident_adx_portalcomments($select=createdon;$orderby=createdon desc;$top=1)",
        },
    )
    assert plain.status_code == 200 and len(plain.json()["incident_adx_portalcomments"]) == 1


def test_more_than_fifteen_expansions_are_refused(api: Api) -> None:
    many = ",".join(["incident_adx_portalcomments($select=createdon)"] * 8 + ["Incident_Annotation"] * 8)
    response = api.get(f"incidents({DEMO_CASE_ID})", {"$select": "title", "$expand": many})
    assert response.status_code == 400 and response.json()["error"]["code"] == "0x8004430d"


def test_web_notes_filter_leaves_the_internal_note_out(api: Api) -> None:
    expand = "Incident_Annotation($select=notetext;$filter=startswith(notetext,'*WEB*'))"
    notes = api.get(f"incidents({DEMO_CASE_ID})", {"$select": "title", "$expand": expand}).json()
    ids = {n["annotationid"] for n in notes["Incident_Annotation"]}
    assert ids and str(DEMO_INTERNAL_NOTE_ID) not in ids
    assert api.get(f"annotations({DEMO_INTERNAL_NOTE_ID})").status_code == 200  # it exists, only filtered


def test_an_agent_writes_through_impersonation(api: Api) -> None:
    body = {
        "description": "Ya encontramos la causa.",
        "adx_portalcommentdirectioncode": 2,
        "regardingobjectid_incident_adx_portalcomment@odata.bind": CASE,
        "adx_portalcomment_activity_parties": [
            {"participationtypemask": 1, "partyid_systemuser@odata.bind": f"/systemusers({DEMO_AGENT_ID})"},
            {"participationtypemask": 2, "partyid_contact@odata.bind": f"/contacts({DEMO_CONTACT_ID})"},
        ],
    }
    headers = api.headers(annotations=True, MSCRMCallerID=str(DEMO_AGENT_ID))
    response = api.send("POST", "adx_portalcomments", body, headers=headers)
    assert response.status_code == 204, response.text
    new_id = response.headers["OData-EntityId"].rsplit("(", 1)[1].rstrip(")")
    row = api.get(f"adx_portalcomments({new_id})", {"$select": "_createdby_value"}, annotations=True).json()
    assert row["_createdby_value"] == str(DEMO_AGENT_ID)
    assert row["_createdby_value@OData.Community.Display.V1.FormattedValue"] == DEMO_AGENT_NAME
    mine = api.send("POST", "adx_portalcomments", comment())
    my_id = mine.headers["OData-EntityId"].rsplit("(", 1)[1].rstrip(")")
    assert api.get(f"adx_portalcomments({my_id})", {"$select": "_createdby_value"}).json()[
        "_createdby_value"
    ] == str(APPLICATION_USER_ID)
    stranger = api.headers(MSCRMCallerID=str(uuid.uuid4()))
    assert api.send("POST", "adx_portalcomments", comment(), headers=stranger).status_code == 404
