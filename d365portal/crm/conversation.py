"""The case conversation (issue 13): the case with its public activity, comments with files, downloads.

Where it lives, as Power Pages stores it, so agents see and answer it in Dynamics:
- portal comments: `adx_portalcomment` (an activity) regarding the incident, `description` the text,
  `adx_portalcommentdirectioncode` 1 Incoming (the customer) / 2 Outgoing (staff), the author as the
  From activity party (`participationtypemask` 1); files are notes (`annotation`) on the comment;
- agents' notes on the incident (`Incident_Annotation`) reach a page only when their text starts with
  the web prefix (`*WEB*`), filtered by Dataverse, so an internal note never even reaches the portal;
- the resolution (`incidentresolution`) once the case is resolved.

Budgets: the case with all of that is one request (`$expand` on the incident, comments' files and
parties nested; Dataverse refuses `$orderby`/`$top` beside a nested `$expand`, so entries are ordered
here); a comment with its files is one request (deep insert, with an id the portal chose, so a retried
or double-clicked post never creates two); a download is one request, its scope checked on the same
answer.
"""

from __future__ import annotations

import base64
import json
import re
import tempfile
import uuid as uuidlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any, Literal
from uuid import UUID

from d365portal.crm import records as r
from d365portal.crm.cases import case_columns, case_from_row, scope_filter
from d365portal.crm.models import Case, CaseState, Scope
from d365portal.dataverse import odata
from d365portal.dataverse.client import DataverseClient
from d365portal.dataverse.errors import Conflict, InvalidQuery, NotFound
from d365portal.settings import FieldMap

INCOMING, OUTGOING = 1, 2
FROM = 1
DUPLICATE_KEY = "0x80040237"
COMMENTS = "incident_adx_portalcomments"
COMMENT_FILES = "adx_portalcomment_Annotations"
COMMENT_PARTIES = "adx_portalcomment_activity_parties"
CASE_NOTES = "Incident_Annotation"
RESOLUTIONS = "Incident_IncidentResolutions"
FILE_COLUMNS = ("annotationid", "filename", "filesize", "mimetype", "createdon")
# What `d365portal check` verifies exists (step 4): every column the portal reads or writes.
COMMENT_COLUMNS = ("activityid", "subject", "description", "adx_portalcommentdirectioncode", "createdon",
                   "statecode", "_regardingobjectid_value", "_createdby_value")  # fmt: skip
NOTE_COLUMNS = (*FILE_COLUMNS, "subject", "notetext", "documentbody", "_objectid_value", "_createdby_value")
# Dataverse's defaults, used until the organization's own limits are read (crm/labels.py).
DEFAULT_MAX_UPLOAD = 5_242_880
DEFAULT_BLOCKED = frozenset(
    "ade adp app asa ashx asmx asp bas bat cdx cer chm class cmd com config cpl crt csh dll exe fxp hlp hta "
    "htr htw ida idc idq inf ins isp its jar js jse ksh lnk mad maf mag mam maq mar mas mat mau mav maw "
    "mda mdb mde mdt mdw mdz msc msh msh1 msh1xml msh2 msh2xml mshxml msi msp mst ops pcd pif prf prg "
    "printer pst reg rem scf scr sct shb shs shtm shtml soap stm svg tmp url vb vbe vbs vsmacros vss vst "
    "vsw ws wsc wsf wsh".split()
)
EntryKind = Literal["incoming", "outgoing", "note", "resolution"]


@dataclass(frozen=True)
class AttachmentLimits:
    """The organization's `maxuploadfilesize` (bytes of base64 text, as Dataverse applies it) and
    `blockedattachments` (extensions)."""

    max_base64_bytes: int = DEFAULT_MAX_UPLOAD
    blocked: frozenset[str] = DEFAULT_BLOCKED

    @property
    def max_file_bytes(self) -> int:
        """The largest file whose base64 text fits the limit."""
        return self.max_base64_bytes // 4 * 3

    def is_blocked(self, filename: str) -> bool:
        """Whether the file's extension is on the tenant's blocked list."""
        return "." in filename and filename.rsplit(".", 1)[1].lower() in self.blocked


def read_attachment_limits(client: DataverseClient) -> AttachmentLimits:
    """The organization row's limits (metadata-like: read with the labels, not per page)."""
    body = client.get(
        "organizations", {"$select": "maxuploadfilesize,blockedattachments", "$top": 1}, annotations=False
    )
    rows = body.get("value", [])
    if not rows:
        return AttachmentLimits()
    row = rows[0]
    size = r.integer(row, "maxuploadfilesize") or DEFAULT_MAX_UPLOAD
    blocked = {part.strip().lower() for part in (r.text(row, "blockedattachments") or "").split(";")}
    return AttachmentLimits(max_base64_bytes=size, blocked=frozenset(blocked - {""}))


@dataclass(frozen=True)
class Attachment:
    """A file on a comment or a web note (never its content: that is a download)."""

    id: UUID
    filename: str
    size: int
    mimetype: str | None = None


@dataclass(frozen=True)
class Entry:
    """One public entry of the case's activity."""

    kind: EntryKind
    id: UUID
    created_on: datetime
    text: str
    author: str | None = None
    author_is_you: bool = False
    title: str | None = None  # a resolution's subject
    files: tuple[Attachment, ...] = ()

    @property
    def from_staff(self) -> bool:
        """An agent wrote it (an outgoing comment or a web note)."""
        return self.kind in ("outgoing", "note")


@dataclass(frozen=True)
class CaseActivity:
    """A case with every public entry, oldest first."""

    case: Case
    entries: tuple[Entry, ...] = ()

    def attachment(self, annotation_id: UUID) -> Attachment | None:
        """A file shown on this page, by id."""
        for entry in self.entries:
            for item in entry.files:
                if item.id == annotation_id:
                    return item
        return None


@dataclass
class Upload:
    """A file to attach: its name, type and an open binary stream (the web layer's spooled file)."""

    filename: str
    mimetype: str
    stream: IO[bytes]


@dataclass
class NewComment:
    """A customer's comment; `id` is chosen by the portal (idempotent create)."""

    id: UUID
    case_id: UUID
    contact_id: UUID
    text: str
    files: list[Upload] = field(default_factory=list)


@dataclass(frozen=True)
class FileDownload:
    """A file to stream: name, type and the base64 text Dataverse sent (a view into its answer)."""

    filename: str
    mimetype: str | None
    base64_text: bytes | memoryview

    @property
    def size(self) -> int:
        """The decoded size in bytes."""
        text = self.base64_text
        return len(text) // 4 * 3 - bytes(text[-2:]).count(b"=")

    def chunks(self, size: int = 65536) -> Iterator[bytes]:
        """The decoded file, a piece at a time (only one piece decoded in memory at once)."""
        step = size // 3 * 4
        text = self.base64_text
        for start in range(0, len(text), step):
            yield base64.b64decode(text[start : start + step])


_BODY_KEY = re.compile(rb'"documentbody"\s*:\s*"')


def split_document_body(answer: bytearray) -> tuple[dict[str, Any], memoryview | None]:
    """The note's JSON without its `documentbody`, and that base64 text as a view into `answer` (no
    copy). Base64 has no quote or backslash, so the value ends at the next quote; anything else (an
    escaped character, another layout) falls back to parsing the whole answer."""
    found = _BODY_KEY.search(answer)
    if found is not None:
        at, start = found.start(), found.end()
        end = answer.find(b'"', start)
        if end > start and answer.find(b"\\", start, end) < 0:
            rest = bytes(answer[:at]) + b'"documentbody":null' + bytes(answer[end + 1 :])
            return json.loads(rest), memoryview(answer)[start:end]
    row = json.loads(bytes(answer))
    text = row.get("documentbody")
    return row, memoryview(str(text).encode("ascii")) if text else None


class ConversationRepository:
    """Reads a case's activity and writes comments; every method is one Dataverse request."""

    def __init__(self, client: DataverseClient, fieldmap: FieldMap, web_prefix: str = "*WEB*") -> None:
        self._client = client
        self._fieldmap = fieldmap
        self._prefix = web_prefix

    # --- reading ---------------------------------------------------------------------------------
    def activity_params(self, scope: Scope, case_id: UUID) -> dict[str, str | int]:
        """The one query: the case in scope, its comments (files, From party), web notes, resolutions."""
        comments = odata.expand(
            COMMENTS,
            select_=("activityid", "description", "adx_portalcommentdirectioncode", "createdon",
                     "_createdby_value", "statecode"),  # fmt: skip
            filter_=odata.ne("statecode", 2),  # a cancelled comment is withdrawn
            expand_=(
                odata.expand(COMMENT_FILES, select_=FILE_COLUMNS),
                odata.expand(COMMENT_PARTIES, select_=("participationtypemask", "_partyid_value"),
                             filter_=odata.eq("participationtypemask", FROM)),  # fmt: skip
            ),
        )
        notes = odata.expand(
            CASE_NOTES,
            select_=(*FILE_COLUMNS, "notetext", "subject", "_createdby_value"),
            filter_=odata.startswith("notetext", self._prefix),
        )
        resolutions = odata.expand(
            RESOLUTIONS, select_=("activityid", "subject", "description", "createdon", "statecode"),
            filter_=odata.eq("statecode", 1),
        )  # fmt: skip
        where = odata.and_(odata.eq("incidentid", UUID(str(case_id))), scope_filter(scope, self._fieldmap))
        return {
            "$select": odata.select(case_columns(self._fieldmap, detail=True)),
            "$filter": where.text,
            "$expand": ",".join((comments, notes, resolutions)),
        }

    def activity_for(self, scope: Scope, case_id: UUID) -> CaseActivity:
        """The case and its public activity; `NotFound` when missing or out of scope."""
        rows = self._client.get("incidents", self.activity_params(scope, case_id)).get("value", [])
        if not rows:
            raise NotFound(f"incident {case_id} not found in the visitor's scope", status=404)
        return self.activity_from_row(rows[0], scope)

    def activity_from_row(self, row: r.Row, scope: Scope) -> CaseActivity:
        """Entries from the expanded incident row, oldest first."""
        case = case_from_row(row, self._fieldmap)
        entries: list[Entry] = []
        for comment in row.get(COMMENTS) or []:
            entries.append(self._comment(comment, scope))
        for note in row.get(CASE_NOTES) or []:
            text = (r.text(note, "notetext") or "")
            if not text.startswith(self._prefix):  # never trust the filter alone with internal notes
                continue
            files = (_attachment(note),) if note.get("filename") else ()
            entries.append(Entry(
                kind="note", id=r.uuid(note, "annotationid"),
                created_on=r.required_timestamp(note, "createdon"),
                text=text[len(self._prefix):].strip(), author=note.get("_createdby_value" + r.FORMATTED),
                files=files,
            ))  # fmt: skip
        if case.state.value == CaseState.RESOLVED:
            resolved = sorted(row.get(RESOLUTIONS) or [], key=lambda x: str(x.get("createdon") or ""))
            for resolution in resolved[-1:]:
                entries.append(Entry(
                    kind="resolution", id=r.uuid(resolution, "activityid"),
                    created_on=r.required_timestamp(resolution, "createdon"),
                    text=r.text(resolution, "description") or "", title=r.text(resolution, "subject"),
                ))  # fmt: skip
        entries.sort(key=lambda e: (e.created_on, e.id.hex))
        return CaseActivity(case=case, entries=tuple(entries))

    def _comment(self, row: r.Row, scope: Scope) -> Entry:
        direction = r.integer(row, "adx_portalcommentdirectioncode")
        author_id, author = None, None
        for party in row.get(COMMENT_PARTIES) or []:
            if r.integer(party, "participationtypemask") == FROM and party.get("_partyid_value"):
                author_id = UUID(str(party["_partyid_value"]))
                author = party.get("_partyid_value" + r.FORMATTED)
        if author is None and direction == OUTGOING:
            author = row.get("_createdby_value" + r.FORMATTED)
        files = sorted(
            (_attachment(note) for note in row.get(COMMENT_FILES) or [] if note.get("filename")),
            key=lambda a: a.filename.lower(),
        )
        return Entry(
            kind="outgoing" if direction == OUTGOING else "incoming",
            id=r.uuid(row, "activityid"),
            created_on=r.required_timestamp(row, "createdon"),
            text=r.text(row, "description") or "",
            author=author,
            author_is_you=direction != OUTGOING and author_id == scope.contact_id,
            files=tuple(files),
        )

    # --- downloads ---------------------------------------------------------------------------------
    def file_for(self, scope: Scope, case_id: UUID, annotation_id: UUID) -> FileDownload:
        """A file of a case in scope: on one of its comments, or on a web note. `NotFound` otherwise
        (missing, another case, an internal note, out of scope), checked on the one answer."""
        parent = r.lookup_column(self._fieldmap.associate_parent_column)
        account = odata.expand("customerid_account", select_=("accountid", parent))
        case = ("incidentid", "_customerid_value", "_primarycontactid_value")
        params = {
            "$select": "filename,mimetype,documentbody,notetext,_objectid_value",
            "$expand": ",".join((
                odata.expand("objectid_incident", select_=case, expand_=(account,)),
                odata.expand(
                    "objectid_adx_portalcomment", select_=("activityid", "statecode"),
                    expand_=(odata.expand("regardingobjectid_incident_adx_portalcomment", select_=case,
                                          expand_=(account,)),),
                ),
            )),
        }  # fmt: skip
        try:
            answer = self._client.get_bytes(odata.entity_path("annotations", annotation_id), params)
        except NotFound:
            raise NotFound(f"annotation {annotation_id} not found", status=404) from None
        row, body = split_document_body(answer)
        incident = row.get("objectid_incident")
        if incident is not None:
            if not str(row.get("notetext") or "").startswith(self._prefix):
                incident = None  # an internal note: never downloadable
        else:
            comment = row.get("objectid_adx_portalcomment") or {}
            if comment.get("statecode") != 2:
                incident = comment.get("regardingobjectid_incident_adx_portalcomment")
        if (
            not isinstance(incident, dict)
            or str(incident.get("incidentid")) != str(case_id)
            or not _in_scope(incident, scope, parent)
        ):
            raise NotFound(f"annotation {annotation_id} not found in the visitor's scope", status=404)
        if body is None or len(body) == 0:
            raise NotFound(f"annotation {annotation_id} has no file", status=404)
        return FileDownload(
            filename=r.text(row, "filename") or "archivo", mimetype=r.text(row, "mimetype"), base64_text=body
        )

    # --- writing -----------------------------------------------------------------------------------
    def add_comment(self, new: NewComment) -> bool:
        """Create the comment, its From party and its files in one deep insert; False when that id
        already exists (a double click or a retried post: nothing is created twice)."""
        body = comment_body(new)
        try:
            self._client.create_from_stream("adx_portalcomments", body)
        except (Conflict, InvalidQuery) as exc:
            if exc.code == DUPLICATE_KEY:
                return False
            raise
        finally:
            body.close()
        return True


def _attachment(row: r.Row) -> Attachment:
    return Attachment(
        id=r.uuid(row, "annotationid"), filename=r.text(row, "filename") or "archivo",
        size=r.integer(row, "filesize") or 0, mimetype=r.text(row, "mimetype"),
    )  # fmt: skip


def _in_scope(incident: r.Row, scope: Scope, parent_column: str) -> bool:
    """The same rule as `scope_filter`, on an expanded case: the company's, and the user's own at
    Contacto level."""
    customer = str(incident.get("_customerid_value") or "")
    account = incident.get("customerid_account") or {}
    if scope.own_cases_only and str(incident.get("_primarycontactid_value") or "") != str(scope.contact_id):
        return False
    return str(scope.account_id) in (customer, str(account.get(parent_column) or ""))


def comment_body(new: NewComment) -> IO[bytes]:
    """The deep-insert JSON as a spooled file: each upload is base64-encoded straight into it, a piece
    at a time, so the request holds the base64 text once (on disk past 1 MB) and never the whole file
    beside it."""
    marker = uuidlib.uuid4().hex  # a placeholder no typed text can forge
    files = [
        {"subject": f"Adjunto: {upload.filename}"[:500], "filename": upload.filename,
         "mimetype": upload.mimetype or "application/octet-stream", "objecttypecode": "adx_portalcomment",
         "documentbody": f"{marker}:{index}"}
        for index, upload in enumerate(new.files)
    ]  # fmt: skip
    envelope: dict[str, Any] = {
        "activityid": str(new.id),
        "subject": new.text.splitlines()[0][:200] if new.text.strip() else "Comentario del portal",
        "description": new.text,
        "adx_portalcommentdirectioncode": INCOMING,
        "regardingobjectid_incident_adx_portalcomment@odata.bind": odata.bind("incidents", new.case_id),
        COMMENT_PARTIES: [
            {"participationtypemask": FROM,
             "partyid_contact@odata.bind": odata.bind("contacts", new.contact_id)}
        ],
    }
    if files:
        envelope[COMMENT_FILES] = files
    text = json.dumps(envelope, ensure_ascii=False)
    out = tempfile.SpooledTemporaryFile(max_size=1 << 20)  # noqa: SIM115 - closed by add_comment
    position = 0
    for index, upload in enumerate(new.files):
        token = json.dumps(f"{marker}:{index}")
        at = text.index(token, position)
        out.write(text[position:at].encode("utf-8"))
        out.write(b'"')
        _encode_into(upload.stream, out)
        out.write(b'"')
        position = at + len(token)
    out.write(text[position:].encode("utf-8"))
    out.seek(0)
    return out


def _encode_into(source: IO[bytes], target: IO[bytes], piece: int = 3 * 65536) -> None:
    source.seek(0)
    while True:
        chunk = source.read(piece)
        while chunk and len(chunk) < piece:  # a short read mid-file would break the base64 joins
            more = source.read(piece - len(chunk))
            if not more:
                break
            chunk += more
        if not chunk:
            return
        target.write(base64.b64encode(chunk))

