"""Base de conocimiento (issue 16): search the tenant's published articles, read one, rate it, and the
suggestions of the new-case form.

- The search page and each suggestion request are one Dataverse request (FullTextSearchKnowledgeArticle,
  `crm/knowledge.py`); they count against the visitor's budget as searches.
- The article page is one read; its view count (IncrementKnowledgeArticleViewCount) and, when it was
  opened from the new-case form's suggestions, the case deflection (Power Pages' `adx_casedeflection`)
  are written after the answer, off the page's path.
- Article HTML is sanitized with an allow-list (`web/sanitize.py`); the page says when images or
  embedded content were taken out.
- Results in the page's language come first; an article only found in the other language is shown
  marked with its language.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextvars import copy_context
from functools import wraps
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit
from uuid import UUID

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from itsdangerous import BadSignature, URLSafeTimedSerializer
from markupsafe import Markup, escape
from werkzeug.wrappers import Response
from wtforms import HiddenField

from d365portal.crm import crm
from d365portal.crm.knowledge import Hit
from d365portal.dataverse.errors import DataverseError, NotFound
from d365portal.i18n import current_language
from d365portal.i18n import gettext as _
from d365portal.web.auth_context import current_principal, login_required, signed_in
from d365portal.web.budget import Priority, spends_dataverse
from d365portal.web.listing import clean_search
from d365portal.web.sanitize import plain, sanitize

bp = Blueprint("knowledge", __name__, url_prefix="/<lang>/knowledgebase")
log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])
PAGE_SIZE = 10
SUGGESTIONS = 5
MIN_SUGGEST = 3
MAX_PAGES = 50
EXCERPT = 220
_SALT = "knowledge"
_after = ThreadPoolExecutor(max_workers=4, thread_name_prefix="knowledge")


def _enabled() -> None:
    if not current_app.config["SETTINGS"].knowledge_base_enabled:
        abort(404)


def kb_access(view: F) -> F:
    """The knowledge base is for signed-in users unless `knowledge_base_anonymous` opens it."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        _enabled()
        if current_app.config["SETTINGS"].knowledge_base_anonymous:
            return view(*args, **kwargs)
        return login_required(view)(*args, **kwargs)

    return cast(F, wrapped)


def _search_priority() -> Priority:
    return "search" if current_principal() is not None else "anonymous"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def deflection_token(case_title: str) -> str:
    """Signed: this contact opened the article from the new-case form while typing `case_title`."""
    return _serializer().dumps({"c": str(signed_in().contact_id), "t": case_title[:200]})


def _read_deflection(token: str | None) -> str | None:
    principal = current_principal()
    if not token or principal is None:
        return None
    try:
        data = _serializer().loads(token, max_age=3600)
    except BadSignature:
        return None
    if not isinstance(data, dict) or data.get("c") != str(principal.contact_id):
        return None
    return str(data.get("t") or "") or None


# --- excerpts ----------------------------------------------------------------------------------
def excerpt(text: str, terms: list[str], size: int = EXCERPT) -> Markup:
    """Plain text around the first match, the matched words in <mark> (everything else escaped)."""
    flat = plain(text)
    lowered = flat.casefold()
    first = min((i for i in (lowered.find(t) for t in terms) if i >= 0), default=0)
    start = max(0, first - size // 3)
    piece = flat[start : start + size]
    prefix, suffix = ("… " if start else ""), (" …" if start + size < len(flat) else "")
    if not terms:
        return escape(prefix + piece + suffix)
    pattern = re.compile("(" + "|".join(re.escape(t) for t in terms) + ")", re.IGNORECASE)
    out = [escape(prefix)]
    for index, part in enumerate(pattern.split(piece)):
        out.append(Markup("<mark>") + escape(part) + Markup("</mark>") if index % 2 else escape(part))
    out.append(escape(suffix))
    return Markup("").join(out)


def terms_of(text: str) -> list[str]:
    """The words searched for (two letters or more), for highlighting."""
    return [w.casefold() for w in re.findall(r"\w{2,}", text, re.UNICODE)][:10]


def in_page_language(hits: list[Hit], lang: str) -> list[tuple[Hit, bool]]:
    """Each article once: the page's language where the same article (root) matched in it, else the
    other language marked (`True`)."""
    chosen: dict[object, Hit] = {}
    order: list[object] = []
    for hit in hits:
        key = hit.root or hit.id
        if key not in chosen:
            chosen[key] = hit
            order.append(key)
        elif hit.language == lang and chosen[key].language != lang:
            chosen[key] = hit
    return [(chosen[key], chosen[key].language not in (None, lang)) for key in order]


# --- pages -------------------------------------------------------------------------------------
@bp.get("/")
@kb_access
@spends_dataverse(_search_priority)
def search() -> str | tuple[str, int]:
    """Buscar en la base de conocimiento: one page of results, paged like the case list."""
    text = clean_search(request.args.get("q"))
    try:
        page = min(max(1, int(request.args.get("page", "1"))), MAX_PAGES)
    except ValueError:
        page = 1
    hits: list[tuple[Hit, bool]] = []
    more = False
    if text:
        found, more = crm().knowledge.search(text, page=page, page_size=PAGE_SIZE)
        hits = in_page_language(found, current_language())
    return render_template("knowledge/search.html", text=text, hits=hits, page=page, more=more,
                           terms=terms_of(text))  # fmt: skip


@bp.get("/suggest")
@login_required
@spends_dataverse("search")
def suggest() -> tuple[str, int, dict[str, str]]:
    """The new-case form's "Artículos que pueden ayudarle" for a typed title (an HTML fragment)."""
    _enabled()
    title = clean_search(request.args.get("q"))
    headers = {"X-Portal-Fragment": "suggestions", "Cache-Control": "no-store"}
    if len(title) < MIN_SUGGEST:
        return render_template("knowledge/_suggestions.html", hits=[], title=title, asked=False), 200, headers
    found, _more = crm().knowledge.search(title, page=1, page_size=SUGGESTIONS)
    hits = in_page_language(found, current_language())[:SUGGESTIONS]
    page = render_template("knowledge/_suggestions.html", hits=hits, title=title, asked=True,
                           token=deflection_token(title))  # fmt: skip
    return page, 200, headers


def suggestions_for(title: str) -> tuple[list[tuple[Hit, bool]], str | None]:
    """The suggestions of the form's "Buscar artículos" button (no JavaScript): hits and the token."""
    if not current_app.config["SETTINGS"].knowledge_base_enabled or len(title.strip()) < MIN_SUGGEST:
        return [], None
    found, _more = crm().knowledge.search(title.strip(), page=1, page_size=SUGGESTIONS)
    return in_page_language(found, current_language())[:SUGGESTIONS], deflection_token(title.strip())


class RateForm(FlaskForm):
    """¿Le resultó útil? Sí / No."""

    article_token = HiddenField()


def _own_host() -> str | None:
    return urlsplit(str(current_app.config["SETTINGS"].public_base_url)).hostname


def _later(work: Callable[[], None], what: str) -> None:
    """Run a write after the answer, in this request's context (its Dataverse budget and log)."""

    def run() -> None:
        try:
            work()
        except DataverseError as exc:
            log.warning("knowledge %s not recorded: %s", what, exc)
        except Exception:  # a thread's error would otherwise vanish with its future
            log.exception("knowledge %s failed", what)

    _after.submit(copy_context().run, run)


@bp.get("/<uuid:article_id>")
@kb_access
@spends_dataverse(_search_priority)
def article(article_id: UUID) -> str:
    """One published, external article, sanitized; the view counted (and a deflection recorded) after."""
    found = crm().knowledge.get(article_id)
    safe = sanitize(found.content, _own_host())
    principal = current_principal()
    case_title = _read_deflection(request.args.get("from"))
    repository = crm().knowledge
    _later(lambda: repository.count_view(article_id), "view")
    if case_title and principal is not None:
        contact = principal.contact_id
        title = found.title
        _later(lambda: repository.record_deflection(article_id, contact, case_title, title), "deflection")
    form = RateForm(formdata=None)
    if principal is not None:
        form.article_token.data = _serializer().dumps({"a": str(article_id), "t": found.title[:400]})
    other = found.language not in (None, current_language())
    content = Markup(safe.html)  # noqa: S704 - nh3's allow-list output (web/sanitize.py), never raw input
    return render_template("knowledge/article.html", article=found, content=content,
                           media_removed=safe.media_removed, form=form, other_language=other,
                           from_case=bool(case_title))  # fmt: skip


@bp.post("/<uuid:article_id>/rate")
@login_required
@spends_dataverse("submit")
def rate(article_id: UUID) -> Response:
    """Record the user's "Sí" / "No" once (a second vote is refused politely)."""
    _enabled()
    form = RateForm()
    helpful = request.form.get("helpful")
    try:
        token = form.article_token.data or ""
        data = _serializer().loads(token, max_age=12 * 3600) if form.validate() else None
    except BadSignature:
        data = None
    if not isinstance(data, dict) or data.get("a") != str(article_id) or helpful not in ("yes", "no"):
        abort(404)
    title = _("knowledge.feedback_title", title=str(data.get("t") or ""))
    try:
        recorded = crm().knowledge.rate(article_id, signed_in().contact_id, helpful == "yes", title)
    except NotFound:
        abort(404)
    flash(_("knowledge.rated" if recorded else "knowledge.already_rated"), "success")
    return redirect(url_for("knowledge.article", article_id=article_id, _anchor="rating"), 303)
