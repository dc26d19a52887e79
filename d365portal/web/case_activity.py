"""The case page (issue 13): its activity, a comment with files, downloads, and close / cancel / reopen.

Budgets: the page is one Dataverse request (the case, comments with their files and authors, web
notes and the resolution, expanded together); posting a comment with files is one request (a deep
insert), a download one, each action one. A form carries a token signed when the page was built from
a scoped read: it names the case, the contact and the comment's id (chosen then, so a double click or
a retried post never creates two), so a post needs no second read to prove its scope. A failed post
shows the page again with the typed comment (a browser cannot re-fill file inputs: the message says
to attach them again); when Dataverse cannot even be read, a page with only the form.
"""

from __future__ import annotations

import logging
import math
import re
import unicodedata
import uuid
from collections.abc import Iterator
from urllib.parse import quote
from uuid import UUID

from flask import abort, current_app, flash, redirect, render_template, request, stream_with_context, url_for
from flask_wtf import FlaskForm
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response
from wtforms import HiddenField, MultipleFileField, TextAreaField

from d365portal.crm import crm, option_labels
from d365portal.crm.conversation import AttachmentLimits, CaseActivity, NewComment, Upload
from d365portal.crm.models import Case, CaseState, Level
from d365portal.dataverse.errors import DataverseError, InvalidQuery, NotFound
from d365portal.i18n import format_number
from d365portal.i18n import gettext as _
from d365portal.identity import identity
from d365portal.notify.deliver import follow, followers
from d365portal.web.access import rights_checked, user_scope
from d365portal.web.auth_context import Principal, current_principal, login_required, signed_in
from d365portal.web.budget import spends_dataverse
from d365portal.web.forms_support import has_control_characters, normalize_newlines
from d365portal.web.support import bp

log = logging.getLogger(__name__)
View = str | tuple[str, int] | Response
COMMENT_MAX = 10_000
FILENAME_MAX = 255  # annotation.filename
TOKEN_MAX_AGE = 12 * 3600  # a case page left open this long must be reloaded before a post
_SALT = "case-activity"
_TEXT_CONTROLS = frozenset("\t\n")
_FILE_NAME_FORBIDDEN = re.compile(r'[\\/:*?"<>|]')
_MIME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$")
ACTIONS = ("close", "cancel", "reopen")
ERRORS_REFUSING_A_FILE = ("0x80043e09", "0x80044a08")  # AttachmentBlocked, AttachmentInvalidFileName


class CommentForm(FlaskForm):
    """Agregar un comentario: the text, the files, and the page's signed token."""

    comment = TextAreaField()
    files = MultipleFileField()
    form_token = HiddenField()


class FollowForm(FlaskForm):
    """Seguir este caso: the signed token of the case page."""

    form_token = HiddenField()


class ActionForm(FlaskForm):
    """The confirmation of close / cancel / reopen (close takes an optional last comment)."""

    last_comment = TextAreaField()
    form_token = HiddenField()


# --- tokens ------------------------------------------------------------------------------------
def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def issue_token(user: Principal, case: Case, purpose: str) -> str:
    """Signed: this contact may act on this case (just read within its scope); a comment's new id;
    whether the case is the user's own (else acting on it needs company rights when posted)."""
    own = case.contact is not None and case.contact.id == user.contact_id
    return _serializer().dumps(
        {"case": str(case.id), "c": str(user.contact_id), "p": purpose, "id": str(uuid.uuid4()), "own": own}
    )


def read_token(token: str | None, user: Principal, case_id: UUID, purpose: str) -> UUID | None:
    """The id a token carries when this portal signed it for this contact, case and purpose."""
    if not token:
        return None
    try:
        data = _serializer().loads(token, max_age=TOKEN_MAX_AGE)
        expected = {"c": str(user.contact_id), "case": str(case_id), "p": purpose}
        if any(data.get(key) != value for key, value in expected.items()):
            return None
        if not data.get("own") and user.rights < Level.COMPANY:
            return None  # a colleague's case, and the user no longer has company rights
        return UUID(data["id"])
    except (BadSignature, KeyError, TypeError, ValueError, AttributeError):
        return None


# --- sizes ---------------------------------------------------------------------------------------
def human_size(size: int) -> str:
    """`2,5 MB`, `830 KB`, `12 bytes` in the page's language."""
    if size >= 1024 * 1024:
        megabytes = size / (1024 * 1024)
        return f"{format_number(megabytes, 0 if megabytes == int(megabytes) else 1)} MB"
    if size >= 1024:
        return f"{format_number(math.ceil(size / 1024), 0)} KB"
    return f"{size} bytes"


def limits() -> AttachmentLimits:
    """The tenant's upload limits (read with the labels, in the background)."""
    return option_labels().attachment_limits


def _request_cap() -> int:
    """The largest comment post parsed (every allowed file at its largest, plus the form)."""
    settings = current_app.config["SETTINGS"]
    return max(1, settings.comment_max_files) * limits().max_file_bytes + 1024 * 1024


# --- the page ------------------------------------------------------------------------------------
def _page(
    activity: CaseActivity, form: CommentForm | None = None, alert: str | None = None, status: int = 200
) -> tuple[str, int]:
    user = signed_in()
    case = activity.case
    if form is None:
        form = CommentForm(formdata=None)
    form.form_token.data = issue_token(user, case, "comment")
    own = case.contact is not None and case.contact.id == user.contact_id
    follow_token = issue_token(user, case, "follow") if user.rights >= Level.COMPANY and not own else None
    following = follow_token is not None and str(user.contact_id) in followers(identity().store, str(case.id))
    return render_template(
        "support/case.html", case=case, activity=activity, form=form, alert=alert,
        actions=_allowed_actions(case), limits=limits(), follow_token=follow_token, following=following,
    ), status  # fmt: skip


@bp.post("/case/<uuid:case_id>/follow")
@login_required
@spends_dataverse("submit")
@rights_checked
def follow_case(case_id: UUID) -> Response:
    """Seguir este caso / Dejar de seguir: a colleague's case, for users above Contacto. The token
    from the case page proves the case was read in scope; the rights were re-read just now."""
    user = signed_in()
    form = FollowForm()
    if not form.validate() or read_token(form.form_token.data, user, case_id, "follow") is None:
        abort(404)
    on = request.form.get("follow") == "1"
    follow(identity().store, str(case_id), str(user.contact_id), on)
    flash(_("company.followed" if on else "company.unfollowed"), "success")
    return redirect(url_for("support.case", case_id=case_id), 303)


def _allowed_actions(case: Case) -> list[str]:
    settings = current_app.config["SETTINGS"]
    if case.is_open:
        offered = (("close", settings.case_close_enabled), ("cancel", settings.case_cancel_enabled))
        return [action for action, on in offered if on]
    return ["reopen"] if settings.case_reopen_enabled else []


def _form_only(
    case_id: object, form: CommentForm, alert: str, status: int, *, body_read: bool = True
) -> tuple[str, int]:
    """Only the form as typed (its token kept), with the message: Dataverse cannot be read, is too
    busy, or the body was too big to read (`body_read=False`: nothing of it can come back)."""
    form.form_token.data = request.form.get("form_token", "") if body_read else ""
    page = render_template(
        "support/comment_only.html", case_id=case_id, form=form, alert=alert, limits=limits()
    )
    return page, status


def _again(case_id: UUID, form: CommentForm, alert: str, status: int) -> tuple[str, int]:
    """The case page with the comment as typed (one read); the form alone if that read fails."""
    if request.files.getlist("files") and any(f.filename for f in request.files.getlist("files")):
        alert = f"{alert} {_('conversation.reattach')}"
    try:
        activity = crm().conversation.activity_for(user_scope(), case_id)
    except NotFound:
        abort(404)
    except DataverseError:
        return _form_only(case_id, form, alert, status)
    return _page(activity, form, alert, status)


@bp.get("/case/<uuid:case_id>")
@login_required
@spends_dataverse("page")
@rights_checked
def case(case_id: UUID) -> View:
    """The case, its fields and its activity, with the comment form; 404 outside the user's scope."""
    activity = crm().conversation.activity_for(user_scope(), case_id)
    return _page(activity)


def _busy_comment() -> str:
    case_id = (request.view_args or {}).get("case_id")
    return _form_only(case_id, CommentForm(), _("errors.busy"), 429)[0]


@bp.post("/case/<uuid:case_id>/comment")
@login_required
@spends_dataverse("submit", _busy_comment)
@rights_checked
def add_comment(case_id: UUID) -> View:
    """Agregar un comentario: validate, then one deep insert; the page again on any failure."""
    form = CommentForm()
    user = signed_in()
    comment_id = read_token(form.form_token.data, user, case_id, "comment")
    if comment_id is None:
        return _again(case_id, form, _("conversation.form_expired"), 400)
    text = (normalize_newlines(form.comment.data) or "").strip()
    uploads = [f for f in request.files.getlist("files") if f.filename]
    problem = _check_comment(text, uploads)
    if problem:
        return _again(case_id, form, problem, 400)
    new = NewComment(
        id=comment_id, case_id=case_id, contact_id=user.contact_id, text=text,
        files=[Upload(_clean_name(f.filename or ""), _mimetype(f), f.stream) for f in uploads],
    )  # fmt: skip
    try:
        created = crm().conversation.add_comment(new)
    except InvalidQuery as exc:
        log.warning("Dataverse refused a comment on case %s: %s", case_id, exc)
        key = "conversation.refused_file" if exc.code in ERRORS_REFUSING_A_FILE else "conversation.refused"
        return _again(case_id, form, _(key), 400)
    except DataverseError as exc:
        log.warning("Dataverse unavailable while adding a comment: %s (request id %s)", exc, exc.request_id)
        return _form_only(case_id, form, _("errors.unavailable_form"), 503)
    flash(_("conversation.sent" if created else "conversation.already_sent"), "success")
    return redirect(url_for("support.case", case_id=case_id, _anchor=f"entry-{comment_id}"), 303)


def allow_uploads() -> None:
    """Before the CSRF check reads the body: a comment post may carry the tenant's files."""
    if request.endpoint == "support.add_comment":
        request.max_content_length = _request_cap()


def too_large(exc: RequestEntityTooLarge) -> tuple[str, int] | RequestEntityTooLarge:
    """A comment post over the total cap: the body was not read, so nothing typed can come back;
    say why, with the limit. Any other page: the plain 413."""
    if request.endpoint != "support.add_comment" or current_principal() is None:
        return exc
    case_id = (request.view_args or {}).get("case_id")
    alert = _("conversation.request_too_big", size=human_size(_request_cap()))
    return _form_only(case_id, CommentForm(formdata=None), alert, 413, body_read=False)


def _check_comment(text: str, uploads: list[FileStorage]) -> str | None:
    """The first problem with the comment and its files, in the page's language (None when fine)."""
    settings = current_app.config["SETTINGS"]
    if not text:
        return _("conversation.empty")
    if len(text) > COMMENT_MAX:
        return _("conversation.too_long", max=format_number(COMMENT_MAX, 0))
    if has_control_characters(text, _TEXT_CONTROLS):
        return _("conversation.control_chars")
    if len(uploads) > settings.comment_max_files:
        return _("conversation.too_many_files", max=settings.comment_max_files)
    tenant = limits()
    for upload in uploads:
        raw = upload.filename or ""
        shown = "".join(c if unicodedata.category(c) != "Cc" else "?" for c in raw)[:80]
        if _FILE_NAME_FORBIDDEN.search(raw) or has_control_characters(raw):
            return _("conversation.file_bad_name", name=shown)
        if len(raw) > FILENAME_MAX:
            return _("conversation.file_long_name", name=shown[:40] + "…", max=FILENAME_MAX)
        size = _size(upload)
        if size == 0:
            return _("conversation.file_empty", name=shown)
        if size > tenant.max_file_bytes:
            return _("conversation.file_too_big", name=shown, size=human_size(tenant.max_file_bytes))
        if tenant.is_blocked(raw):
            return _("conversation.file_blocked", name=shown, ext=raw.rsplit(".", 1)[1].lower())
    return None


def _size(upload: FileStorage) -> int:
    stream = upload.stream
    stream.seek(0, 2)
    size = stream.tell()
    stream.seek(0)
    return size


def _clean_name(name: str) -> str:
    return unicodedata.normalize("NFC", name.strip())


def _mimetype(upload: FileStorage) -> str:
    kind = (upload.mimetype or "").strip()
    return kind if _MIME.match(kind) else "application/octet-stream"


# --- downloads -----------------------------------------------------------------------------------
@bp.get("/case/<uuid:case_id>/files/<uuid:file_id>")
@login_required
@spends_dataverse("page")
@rights_checked
def download(case_id: UUID, file_id: UUID) -> Response:
    """A file of the case, always as a download (never rendered by the browser), one request."""
    found = crm().conversation.file_for(user_scope(), case_id, file_id)
    kind = found.mimetype if found.mimetype and _MIME.match(found.mimetype) else "application/octet-stream"
    size = found.size

    def body() -> Iterator[bytes]:
        yield from found.chunks()

    response = Response(stream_with_context(body()), mimetype=kind)
    response.headers["Content-Disposition"] = content_disposition(found.filename)
    response.headers["Content-Length"] = str(size)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response


def content_disposition(filename: str) -> str:
    """`attachment` with an ASCII fallback name and the exact name in RFC 5987 form."""
    clean = "".join(c for c in filename if unicodedata.category(c)[0] != "C")
    clean = clean.replace("/", "_").replace("\\", "_")
    ascii_name = unicodedata.normalize("NFKD", clean).encode("ascii", "ignore").decode() or "archivo"
    ascii_name = re.sub(r'["%;]', "_", ascii_name)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(clean or 'archivo', safe='')}"


# --- close, cancel, reopen -------------------------------------------------------------------------
def _action_enabled(action: str) -> bool:
    settings = current_app.config["SETTINGS"]
    return action in ACTIONS and bool(getattr(settings, f"case_{action}_enabled"))


def _action_fits(action: str, case: Case) -> bool:
    return case.is_open if action in ("close", "cancel") else not case.is_open


def _done(action: str, case: Case) -> bool:
    """Whether the case already is where the action takes it (an action is idempotent)."""
    target = {"close": CaseState.RESOLVED, "cancel": CaseState.CANCELED, "reopen": CaseState.ACTIVE}[action]
    return case.state.value == target


@bp.route("/case/<uuid:case_id>/<any(close, cancel, reopen):action>", methods=["GET", "POST"])
@login_required
@spends_dataverse(lambda: "submit" if request.method == "POST" else "page")
@rights_checked
def case_action(case_id: UUID, action: str) -> View:
    """Confirm (GET: one scoped read) and do (POST: one request) close, cancel or reopen."""
    if not _action_enabled(action):
        abort(404)
    user = signed_in()
    form = ActionForm()
    if request.method == "GET":
        record = crm().cases.get_for(user_scope(), case_id)
        if not _action_fits(action, record):
            return redirect(url_for("support.case", case_id=case_id), 303)
        form.form_token.data = issue_token(user, record, action)
        return render_template("support/case_action.html", case=record, action=action, form=form)
    if not form.validate() or read_token(form.form_token.data, user, case_id, action) is None:
        crm().cases.get_for(user_scope(), case_id)  # another account's case is not found, as everywhere
        flash(_("conversation.form_expired"), "error")
        return redirect(url_for("support.case", case_id=case_id), 303)
    try:
        _perform(action, case_id, user, (normalize_newlines(form.last_comment.data) or "").strip())
    except InvalidQuery as exc:
        # Refused: maybe because it is already done (a double click): then it is done.
        record = crm().cases.get_for(user_scope(), case_id)
        if not _done(action, record):
            log.warning("Dataverse refused to %s case %s: %s", action, case_id, exc)
            flash(_("conversation.action_refused"), "error")
            return redirect(url_for("support.case", case_id=case_id), 303)
    flash(_({"close": "conversation.closed", "cancel": "conversation.cancelled",
             "reopen": "conversation.reopened"}[action]), "success")  # fmt: skip
    return redirect(url_for("support.case", case_id=case_id), 303)


def _perform(action: str, case_id: UUID, user: Principal, last_comment: str) -> None:
    cases = crm().cases
    if action == "close":
        subject = _("conversation.resolution_subject", name=user.full_name or user.username)[:200]
        cases.resolve(case_id, subject, description=last_comment[:2000] or None)
    elif action == "cancel":
        cases.cancel(case_id)
    else:
        cases.reopen(case_id)
