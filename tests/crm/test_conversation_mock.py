"""ConversationRepository against strict `responses` mocks: the one request of each operation, the
entries built from Dataverse's answer, the scope checks of a download, and the streamed deep insert."""

from __future__ import annotations

import base64
import io
import json
from urllib.parse import parse_qs, urlsplit
from uuid import UUID, uuid4

import pytest
import responses
from responses import matchers

from d365portal.crm import Crm
from d365portal.crm.conversation import NewComment, Upload, comment_body
from d365portal.crm.models import Scope
from d365portal.dataverse.errors import NotFound
from tests.dataverse.shapes import BASE, JSON_MINIMAL, collection, error, incident

ACCOUNT = UUID("5b1e6a2c-1f3d-ea11-a812-000d3a1b2c3d")
OTHER_ACCOUNT = UUID("9a8b7c6d-5e4f-4a3b-9c2d-1e0f2a3b4c5d")
CONTACT = UUID("a655cdb9-b66b-f011-b4cb-000d3a88c16c")
CASE = UUID("0c7a1f4e-8d2b-ea11-a813-000d3a1b2c3d")
SCOPE = Scope(contact_id=CONTACT, account_id=ACCOUNT)
NAME = "@OData.Community.Display.V1.FormattedValue"


def _comment(direction: int, text: str, when: str, party: UUID | None = None, name: str = "") -> dict:
    parties = (
        [{"participationtypemask": 1, "_partyid_value": str(party), f"_partyid_value{NAME}": name}]
        if party
        else []
    )
    return {
        "activityid": str(uuid4()),
        "description": text,
        "adx_portalcommentdirectioncode": direction,
        "createdon": when,
        "statecode": 0,
        "_createdby_value": str(uuid4()),
        f"_createdby_value{NAME}": "# d365portal",
        "adx_portalcomment_Annotations": [],
        "adx_portalcomment_activity_parties": parties,
    }


def test_the_activity_is_one_request_and_comes_back_oldest_first(
    crm: Crm, mock: responses.RequestsMock
) -> None:
    agent = uuid4()
    row = incident(CASE, description="El reporte falla.")
    row["incident_adx_portalcomments"] = [
        _comment(1, "segundo", "2019-12-27T10:00:00Z", CONTACT, "Lorena Melo Hernandez"),
        _comment(2, "primero", "2019-12-26T18:05:00Z", agent, "Andrés Castillo"),
    ]
    row["Incident_Annotation"] = [
        {
            "annotationid": str(uuid4()),
            "notetext": "*WEB*tercero",
            "filename": "guia.pdf",
            "filesize": 613,
            "mimetype": "application/pdf",
            "createdon": "2019-12-28T10:00:00Z",
            f"_createdby_value{NAME}": "Andrés",
        },
        # Dataverse filtered, but an internal note must never pass even if a filter did not hold.
        {"annotationid": str(uuid4()), "notetext": "interno", "createdon": "2019-12-28T11:00:00Z"},
    ]
    row["Incident_IncidentResolutions"] = []
    mock.get(
        f"{BASE}incidents",
        json=collection("incidents", [row]),
        content_type=JSON_MINIMAL,
        match=[matchers.header_matcher({"If-None-Match": "null"})],
    )
    activity = crm.conversation.activity_for(SCOPE, CASE)
    assert len(mock.calls) == 1
    options = {k: v[0] for k, v in parse_qs(urlsplit(mock.calls[0].request.url).query).items()}
    assert options["$filter"].startswith(f"(incidentid eq {CASE}) and ")
    assert "startswith(notetext,'*WEB*')" in options["$expand"]
    assert (
        "$orderby" not in options["$expand"].split("adx_portalcomment_Annotations")[0]
    )  # nested: not allowed
    assert [e.text for e in activity.entries] == ["primero", "segundo", "tercero"]
    first, second, third = activity.entries
    assert (first.kind, first.author, first.author_is_you) == ("outgoing", "Andrés Castillo", False)
    assert (second.kind, second.author_is_you) == ("incoming", True)
    assert third.kind == "note" and third.files[0].filename == "guia.pdf" and third.files[0].size == 613


def test_a_case_out_of_scope_is_not_found(crm: Crm, mock: responses.RequestsMock) -> None:
    mock.get(f"{BASE}incidents", json=collection("incidents", []), content_type=JSON_MINIMAL)
    with pytest.raises(NotFound):
        crm.conversation.activity_for(SCOPE, CASE)


def _file(**parents: object) -> dict:
    return {
        "filename": "a.txt",
        "mimetype": "text/plain",
        "documentbody": base64.b64encode(b"hola").decode(),
        "notetext": parents.pop("notetext", None),
        "objectid_incident": None,
        "objectid_adx_portalcomment": None,
        **parents,
    }


def _case(customer: UUID, parent: UUID | None = None, case: UUID = CASE) -> dict:
    return {
        "incidentid": str(case),
        "_customerid_value": str(customer),
        "customerid_account": {
            "accountid": str(customer),
            "_parentaccountid_value": str(parent) if parent else None,
        },
    }


@pytest.mark.parametrize(
    ("row", "found"),
    [
        (_file(notetext="*WEB*guía", objectid_incident=_case(ACCOUNT)), True),
        (_file(notetext="interna", objectid_incident=_case(ACCOUNT)), False),
        (
            _file(
                objectid_adx_portalcomment={
                    "statecode": 0,
                    "regardingobjectid_incident_adx_portalcomment": _case(OTHER_ACCOUNT, ACCOUNT),
                }
            ),
            True,
        ),  # an associate's case
        (
            _file(
                objectid_adx_portalcomment={
                    "statecode": 0,
                    "regardingobjectid_incident_adx_portalcomment": _case(OTHER_ACCOUNT),
                }
            ),
            False,
        ),
        (
            _file(
                objectid_adx_portalcomment={
                    "statecode": 0,
                    "regardingobjectid_incident_adx_portalcomment": _case(ACCOUNT, case=uuid4()),
                }
            ),
            False,
        ),  # another case of ours
        (
            _file(
                objectid_adx_portalcomment={
                    "statecode": 2,
                    "regardingobjectid_incident_adx_portalcomment": _case(ACCOUNT),
                }
            ),
            False,
        ),  # a withdrawn comment
    ],
    ids=["web-note", "internal-note", "associate", "other-account", "other-case", "cancelled-comment"],
)
def test_a_download_checks_its_scope_on_the_same_answer(
    crm: Crm, mock: responses.RequestsMock, row: dict, found: bool
) -> None:
    file_id = uuid4()
    mock.get(f"{BASE}annotations({file_id})", json=row, content_type=JSON_MINIMAL)
    if found:
        download = crm.conversation.file_for(SCOPE, CASE, file_id)
        assert b"".join(download.chunks()) == b"hola"
    else:
        with pytest.raises(NotFound):
            crm.conversation.file_for(SCOPE, CASE, file_id)
    assert len(mock.calls) == 1


def test_a_comment_is_one_streamed_deep_insert_and_a_repeat_is_not_an_error(
    crm: Crm, mock: responses.RequestsMock
) -> None:
    comment_id = uuid4()
    content = bytes(range(256)) * 1000  # 256,000 bytes: several pieces of base64
    new = NewComment(
        id=comment_id,
        case_id=CASE,
        contact_id=CONTACT,
        text='Dice "hola"\nsegunda línea',
        files=[Upload("datos.bin", "application/octet-stream", io.BytesIO(content))],
    )
    mock.post(
        f"{BASE}adx_portalcomments",
        status=204,
        headers={"OData-EntityId": f"{BASE}adx_portalcomments({comment_id})"},
    )
    assert crm.conversation.add_comment(new) is True
    sent = json.loads(
        mock.calls[0].request.body.read()
        if hasattr(mock.calls[0].request.body, "read")
        else mock.calls[0].request.body
    )
    assert sent["activityid"] == str(comment_id) and sent["description"] == 'Dice "hola"\nsegunda línea'
    assert sent["adx_portalcommentdirectioncode"] == 1
    assert sent["regardingobjectid_incident_adx_portalcomment@odata.bind"] == f"/incidents({CASE})"
    assert sent["adx_portalcomment_activity_parties"] == [
        {"participationtypemask": 1, "partyid_contact@odata.bind": f"/contacts({CONTACT})"}
    ]
    (attached,) = sent["adx_portalcomment_Annotations"]
    assert base64.b64decode(attached["documentbody"]) == content and attached["filename"] == "datos.bin"
    mock.post(
        f"{BASE}adx_portalcomments",
        status=412,
        json=error("0x80040237", "A record with matching key values already exists."),
    )
    new.files[0].stream.seek(0)
    assert crm.conversation.add_comment(new) is False
    assert len(mock.calls) == 2


def test_a_typed_placeholder_cannot_pass_for_a_file() -> None:
    """The deep insert's placeholders are random: a comment that looks like one stays text."""
    new = NewComment(
        id=uuid4(),
        case_id=CASE,
        contact_id=CONTACT,
        text="00:0",
        files=[Upload("a.txt", "text/plain", io.BytesIO(b"a"))],
    )
    with comment_body(new) as stream:
        body = json.loads(stream.read())
    assert (
        body["description"] == "00:0"
        and base64.b64decode(body["adx_portalcomment_Annotations"][0]["documentbody"]) == b"a"
    )


@pytest.mark.parametrize(
    "answer",
    [
        b'{"filename":"a.bin","documentbody":"aG9sYQ==","notetext":null}',
        b'{"filename": "a.bin", "documentbody": "aG9sYQ==", "notetext": null}',
        b'{"filename":"a.bin","documentbody":"aG9s\\/YQ==","notetext":null}',  # an escaped slash: parsed
    ],
    ids=["compact", "spaced", "escaped"],
)
def test_a_downloads_base64_text_is_a_view_into_the_answer_not_a_copy(answer: bytes) -> None:
    from d365portal.crm.conversation import FileDownload, split_document_body

    buffer = bytearray(answer)
    row, body = split_document_body(buffer)
    assert row["filename"] == "a.bin" and body is not None
    download = FileDownload("a.bin", None, body)
    if b"\\/" in answer:
        assert bytes(body) == b"aG9s/YQ=="
    else:
        assert body.obj is buffer  # the same memory Dataverse's answer arrived in
        assert b"".join(download.chunks()) == b"hola" and download.size == 4
