"""The new-case form and its draft: what the user typed travels with the associate lookup and back.

The case GUID is chosen when the form is first shown and carried signed in a hidden field, so a
re-submit, a retry or a double click of "Enviar" creates at most one case (the repository creates with
PATCH + If-None-Match), and nobody can make the portal write to a GUID it did not hand out.
"""

from __future__ import annotations

import unicodedata
import uuid
from uuid import UUID

from flask import current_app
from flask_wtf import FlaskForm
from itsdangerous import BadSignature, URLSafeSerializer
from wtforms import HiddenField, StringField, TextAreaField
from wtforms.validators import ValidationError

from d365portal.i18n import gettext as _
from d365portal.web.auth_context import Principal

TITLE_MAX = 200  # incident.title
DESCRIPTION_MAX = 2000  # incident.description (classic reference length)
_SALT = "new-case-id"
# Line breaks and tabs are text; other control characters (NUL, escape, …) are not and are refused.
_TEXT_CONTROLS = frozenset("\t\n")


def normalize_newlines(value: str | None) -> str | None:
    """Browsers send a textarea's line breaks as CRLF but count each as one character against
    `maxlength`: one LF each, so the server counts (and stores) what the user saw counted."""
    return value.replace("\r\n", "\n").replace("\r", "\n") if value else value


def has_control_characters(value: str | None, allowed: frozenset[str] = frozenset()) -> bool:
    """True when `value` holds a control character (category Cc) other than `allowed`."""
    return any(unicodedata.category(c) == "Cc" and c not in allowed for c in value or "")


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def issue_case_token(principal: Principal) -> str:
    """A fresh case GUID, signed for this user: the hidden field's value."""
    return _serializer().dumps({"id": str(uuid.uuid4()), "c": str(principal.contact_id)})


def read_case_token(token: str | None, principal: Principal) -> UUID | None:
    """The case GUID from a token this portal issued to this user, else None."""
    if not token:
        return None
    try:
        data = _serializer().loads(token)
        if data.get("c") != str(principal.contact_id):
            return None
        return UUID(data["id"])
    except (BadSignature, KeyError, TypeError, ValueError, AttributeError):
        return None


def parse_uuid(value: str | None) -> UUID | None:
    """A GUID from a form value, None when empty or malformed."""
    if not value:
        return None
    try:
        return UUID(value.strip())
    except ValueError:
        return None


class NewCaseForm(FlaskForm):
    """Abrir un caso nuevo: the fields the user types (customer and contact come from the session)."""

    # Labels are set per request (language) in `localize()`; validators use the catalog too.
    title = StringField()
    associate_id = HiddenField()
    associate_name = StringField()
    description = TextAreaField(filters=[normalize_newlines])
    case_token = HiddenField()

    def localize(self) -> NewCaseForm:
        """Set the labels in the request's language."""
        self.title.label.text = _("support.field_title")
        self.associate_name.label.text = _("support.field_associate")
        self.description.label.text = _("support.field_description")
        self.title.render_kw = {"maxlength": TITLE_MAX, "autocomplete": "off"}
        self.description.render_kw = {"maxlength": DESCRIPTION_MAX, "rows": 8}
        self.associate_name.render_kw = {"readonly": True, "placeholder": _("support.associate_none")}
        return self

    def validate_title(self, field: StringField) -> None:
        """Required, at most Dataverse's 200 characters."""
        value = (field.data or "").strip()
        if not value:
            raise ValidationError(_("support.title_required"))
        if len(value) > TITLE_MAX:
            raise ValidationError(_("support.title_too_long", max=TITLE_MAX))
        if has_control_characters(value):
            raise ValidationError(_("support.control_characters"))

    def validate_description(self, field: TextAreaField) -> None:
        """Optional, at most 2000 characters (a line break counts as one, as the browser counts it)."""
        if len(field.data or "") > DESCRIPTION_MAX:
            raise ValidationError(_("support.description_too_long", max=DESCRIPTION_MAX))
        if has_control_characters(field.data, _TEXT_CONTROLS):
            raise ValidationError(_("support.control_characters"))

    @property
    def associate(self) -> UUID | None:
        """The chosen associate's id (None when none, or not a GUID)."""
        return parse_uuid(self.associate_id.data)

    def clear_associate(self) -> None:
        """Empty the "Asociado" field."""
        self.associate_id.data = ""
        self.associate_name.data = ""


class LookupForm(FlaskForm):
    """The plain (no-JavaScript) "Buscar registros" page: the draft rides along in hidden fields."""

    title = HiddenField()
    description = HiddenField()
    associate_id = HiddenField()
    associate_name = HiddenField()
    case_token = HiddenField()
    q = StringField()
    cursor = HiddenField()


_CURSOR_SALT = "associate-lookup-cursor"


def sign_lookup_cursor(principal: Principal, search: str, cursor: str | None) -> str | None:
    """The lookup's next-page cursor, bound to this user's account and search (None stays None)."""
    if cursor is None:
        return None
    serializer = URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_CURSOR_SALT)
    return serializer.dumps({"a": str(principal.account_id), "q": search, "c": cursor})


def read_lookup_cursor(principal: Principal, search: str, token: str | None) -> str | None:
    """The cursor from `sign_lookup_cursor`, or None when missing, forged or for another search."""
    if not token:
        return None
    serializer = URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_CURSOR_SALT)
    try:
        data = serializer.loads(token)
    except BadSignature:
        return None
    if not isinstance(data, dict) or data.get("a") != str(principal.account_id) or data.get("q") != search:
        return None
    cursor = data.get("c")
    return cursor if isinstance(cursor, str) else None
