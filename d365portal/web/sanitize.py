"""HTML written by agents (knowledge articles), made safe to show: nh3's allow-list (Rust's ammonia).

Kept: text, headings, lists, tables, code, quotes, links (http, https, mailto; every link gets
`rel="noopener noreferrer"`, and links to other sites the class `external`). Dropped with their
content: scripts, styles, forms, iframes, objects; dropped: every attribute not listed (event handlers,
`style`), images (the portal's Content-Security-Policy loads nothing from outside, and an article's
images live on other hosts; the page says so). `plain()` gives the text alone (search excerpts).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import nh3

TAGS = frozenset({
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "b", "em", "i", "u", "s", "sub", "sup",
    "small", "mark", "span", "div", "ul", "ol", "li", "dl", "dt", "dd", "table", "caption", "thead", "tbody",
    "tfoot", "tr", "th", "td", "pre", "code", "kbd", "samp", "blockquote", "a", "abbr",
})  # fmt: skip
ATTRIBUTES = {"a": {"href", "title"}, "th": {"colspan", "rowspan", "scope"}, "td": {"colspan", "rowspan"},
              "abbr": {"title"}, "ol": {"start"}}  # fmt: skip
DROPPED_WITH_CONTENT = frozenset({"script", "style", "iframe", "object", "embed", "form", "noscript",
                                  "template", "svg", "math", "textarea", "select", "button"})  # fmt: skip
URL_SCHEMES = frozenset({"http", "https", "mailto"})
_REMOVED_MEDIA = re.compile(r"<\s*(img|picture|video|audio|iframe|object|embed|svg)\b", re.I)
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class Safe:
    """Sanitized HTML and whether images or embedded content were taken out."""

    html: str
    media_removed: bool


def sanitize(content: str, own_host: str | None = None) -> Safe:
    """`content` with only the allowed tags and attributes; links to other hosts marked external."""
    cleaned = nh3.clean(
        content or "", tags=set(TAGS), clean_content_tags=set(DROPPED_WITH_CONTENT),
        attributes={k: set(v) for k, v in ATTRIBUTES.items()}, url_schemes=set(URL_SCHEMES),
        link_rel="noopener noreferrer", strip_comments=True,
    )  # fmt: skip
    cleaned = _EXTERNAL.sub(lambda m: _external(m, own_host), cleaned)
    return Safe(cleaned, bool(_REMOVED_MEDIA.search(content or "")))


_EXTERNAL = re.compile(r'<a href="([^"]*)"')


def _external(match: re.Match[str], own_host: str | None) -> str:
    href = html.unescape(match.group(1))
    host = urlsplit(href).hostname
    if host and host != own_host:
        return f'<a class="external" href="{match.group(1)}"'
    return match.group(0)


def plain(content: str) -> str:
    """The text of an HTML fragment, entities decoded and spaces collapsed (for excerpts)."""
    spaced = (content or "").replace("<", " <")  # block elements end words
    text = nh3.clean(spaced, tags=set(), clean_content_tags=set(DROPPED_WITH_CONTENT))
    return _SPACES.sub(" ", html.unescape(text)).strip()
