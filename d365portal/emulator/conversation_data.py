"""The manual's case with a conversation (issue 13): what an agent and the customer wrote.

An agent's comment (outgoing, from the agent to the contact), the customer's reply (incoming, from
the contact), a web note (`*WEB*` prefix) with a PDF, and an internal note without the prefix that
no page may ever show. Activity parties come with their comment, as a deep insert would make them.
"""

from __future__ import annotations

import base64

from d365portal.emulator.seed import (
    DEMO_AGENT_COMMENT_ID,
    DEMO_AGENT_COMMENT_TEXT,
    DEMO_AGENT_ID,
    DEMO_CASE_ID,
    DEMO_CONTACT_ID,
    DEMO_CUSTOMER_COMMENT_ID,
    DEMO_CUSTOMER_COMMENT_TEXT,
    DEMO_INTERNAL_NOTE_ID,
    DEMO_INTERNAL_NOTE_TEXT,
    DEMO_WEB_NOTE_FILENAME,
    DEMO_WEB_NOTE_ID,
    DEMO_WEB_NOTE_TEXT,
    WEB_NOTE_PREFIX,
    Row,
    seed_id,
)

INCOMING, OUTGOING = 1, 2
FROM, TO = 1, 2


def demo_pdf() -> bytes:
    """A small, valid one-page PDF (what the web note carries)."""
    text = b"BT /F1 18 Tf 72 720 Td (Guia: reinstalar el agente de Endpoint) Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(text) + text + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _party(comment: object, mask: int, *, contact: object = None, user: object = None) -> Row:
    row: Row = {
        "activitypartyid": seed_id(f"party:{comment}:{mask}"),
        "activityid_adx_portalcomment_activityparty@odata.bind": f"/adx_portalcomments({comment})",
        "participationtypemask": mask,
    }
    if contact is not None:
        row["partyid_contact@odata.bind"] = f"/contacts({contact})"
    else:
        row["partyid_systemuser@odata.bind"] = f"/systemusers({user})"
    return row


def conversation_rows() -> dict[str, list[Row]]:
    """Comments, their parties and the case's notes, by entity set."""
    case = f"/incidents({DEMO_CASE_ID})"
    comments = [
        {
            "activityid": DEMO_AGENT_COMMENT_ID, "subject": "Comentario del portal",
            "description": DEMO_AGENT_COMMENT_TEXT, "adx_portalcommentdirectioncode": OUTGOING,
            "regardingobjectid_incident_adx_portalcomment@odata.bind": case,
            "createdby@odata.bind": f"/systemusers({DEMO_AGENT_ID})",
            "activitytypecode": "adx_portalcomment", "createdon": "2019-12-26T18:05:00Z",
        },
        {
            "activityid": DEMO_CUSTOMER_COMMENT_ID, "subject": "Comentario del portal",
            "description": DEMO_CUSTOMER_COMMENT_TEXT, "adx_portalcommentdirectioncode": INCOMING,
            "regardingobjectid_incident_adx_portalcomment@odata.bind": case,
            "activitytypecode": "adx_portalcomment", "createdon": "2019-12-27T13:40:00Z",
        },
    ]  # fmt: skip
    parties = [
        _party(DEMO_AGENT_COMMENT_ID, FROM, user=DEMO_AGENT_ID),
        _party(DEMO_AGENT_COMMENT_ID, TO, contact=DEMO_CONTACT_ID),
        _party(DEMO_CUSTOMER_COMMENT_ID, FROM, contact=DEMO_CONTACT_ID),
    ]
    pdf = demo_pdf()
    notes = [
        {
            "annotationid": DEMO_WEB_NOTE_ID, "subject": "Guía",
            "notetext": f"{WEB_NOTE_PREFIX}{DEMO_WEB_NOTE_TEXT}",
            "filename": DEMO_WEB_NOTE_FILENAME, "mimetype": "application/pdf", "filesize": len(pdf),
            "documentbody": base64.b64encode(pdf).decode("ascii"), "isdocument": True,
            "objectid_incident@odata.bind": case, "objecttypecode": "incident",
            "createdby@odata.bind": f"/systemusers({DEMO_AGENT_ID})", "createdon": "2019-12-27T15:10:00Z",
        },
        {
            "annotationid": DEMO_INTERNAL_NOTE_ID, "subject": "Interna", "notetext": DEMO_INTERNAL_NOTE_TEXT,
            "isdocument": False, "objectid_incident@odata.bind": case, "objecttypecode": "incident",
            "createdby@odata.bind": f"/systemusers({DEMO_AGENT_ID})", "createdon": "2019-12-27T15:12:00Z",
        },
    ]  # fmt: skip
    return {"adx_portalcomments": comments, "activityparties": parties, "annotations": notes}
