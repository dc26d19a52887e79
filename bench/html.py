"""Just enough HTML reading for a simulated customer: forms (with their CSRF token) and links."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin


@dataclass
class Form:
    """A form as a browser would submit it: action, method and the current value of each field."""

    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)
    # Every named control in document order with its type (text, hidden, radio, submit, textarea...).
    controls: list[tuple[str, str, str]] = field(default_factory=list)
    # Submit buttons that carry a name: (name, value, formaction or ""), e.g. intent=select.
    buttons: list[tuple[str, str, str]] = field(default_factory=list)

    def has(self, name: str) -> bool:
        """True when the form has a control named `name`."""
        return any(control[0] == name for control in self.controls)

    def button(self, name: str, value: str) -> tuple[str, str, str] | None:
        """The submit button `name=value`, if the form has one."""
        return next((b for b in self.buttons if b[0] == name and b[1] == value), None)

    def named_like(self, *fragments: str) -> str | None:
        """The first text-like control whose name contains one of `fragments` (case-insensitive)."""
        for name, kind, _value in self.controls:
            if kind in {"text", "search", "textarea", "email", "hidden"} and any(
                f in name.lower() for f in fragments
            ):
                return name
        return None


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self.links: list[str] = []
        self._form: Form | None = None
        self._textarea: str | None = None
        self._select: str | None = None
        self._select_first: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        elif tag == "form":
            self._form = Form(action=a.get("action", ""), method=a.get("method", "get").lower())
            self.forms.append(self._form)
        elif self._form is None:
            return
        elif tag == "input":
            self._input(a)
        elif tag == "button" and a.get("name") and a.get("type", "submit") == "submit":
            self._form.buttons.append((a["name"], a.get("value", ""), a.get("formaction", "")))
        elif tag == "textarea" and a.get("name"):
            self._textarea = a["name"]
            self._form.fields[self._textarea] = ""
            self._form.controls.append((self._textarea, "textarea", ""))
        elif tag == "select" and a.get("name"):
            self._select, self._select_first = a["name"], None
            self._form.controls.append((a["name"], "select", ""))
        elif tag == "option" and self._select:
            value = a.get("value", "")
            if self._select_first is None:
                self._select_first = value
                self._form.fields.setdefault(self._select, value)
            if "selected" in a:
                self._form.fields[self._select] = value

    def _input(self, a: dict[str, str]) -> None:
        assert self._form is not None
        name, kind, value = a.get("name"), a.get("type", "text").lower(), a.get("value", "")
        if not name:
            return
        if kind == "submit":
            self._form.buttons.append((name, value, a.get("formaction", "")))
            return
        self._form.controls.append((name, kind, value))
        if kind in {"radio", "checkbox"}:
            if "checked" in a:
                self._form.fields[name] = value
        else:
            self._form.fields[name] = value

    def handle_data(self, data: str) -> None:
        if self._form is not None and self._textarea:
            self._form.fields[self._textarea] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None


def parse(html: str) -> tuple[list[Form], list[str]]:
    """The forms and the link targets of a page."""
    parser = _Parser()
    parser.feed(html)
    parser.close()
    return parser.forms, parser.links


def form_with(html: str, field_name: str | None = None, action_part: str | None = None) -> Form | None:
    """The first form that has a control named `field_name` and/or an action containing `action_part`."""
    forms, _links = parse(html)
    for form in forms:
        if field_name is not None and not form.has(field_name):
            continue
        if action_part is not None and action_part not in form.action:
            continue
        return form
    return None


def links_matching(html: str, base_url: str, fragment: str) -> list[str]:
    """Absolute URLs of the links whose target contains `fragment`, in page order, without repeats."""
    _forms, links = parse(html)
    seen: dict[str, None] = {}
    for href in links:
        if fragment in href:
            seen.setdefault(urljoin(base_url, href), None)
    return list(seen)
