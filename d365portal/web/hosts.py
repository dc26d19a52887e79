"""The `Host` header, checked before Flask sees it (OWASP: host header injection).

A request whose Host is malformed (a label over 63 characters, a name over 253, characters a host
name cannot have) or not one of `trusted_hosts` is answered 400 with the branded error page and one
log line. Flask would otherwise fail while building its URL adapter and answer a bare 500 with
tracebacks. The request goes on with the public base URL's host in its place, so the error page
renders as usual, and the `d365portal.bad_host` marker makes the first request hook refuse it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any

from flask import Flask, abort, request

log = logging.getLogger(__name__)
MARKER = "d365portal.bad_host"
LOOPBACK = ("localhost", "127.0.0.1", "[::1]")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_NAME = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*\.?$")
_IPV6 = re.compile(r"^\[[0-9A-Fa-f:.]{2,45}\]$")
_PORT = re.compile(r"^[0-9]{1,5}$")


def split_host(value: str) -> tuple[str, str | None] | None:
    """(host, port) of a Host header value, or None when it is not a well-formed host."""
    value = value.strip()
    if value.startswith("["):
        host, _, rest = value.partition("]")
        host += "]"
        port = rest[1:] if rest.startswith(":") else None
        if rest and port is None:
            return None
        well_formed = bool(_IPV6.match(host))
    else:
        host, _, port_text = value.partition(":")
        port = port_text if ":" in value else None
        well_formed = bool(_NAME.match(host))
    if not well_formed or (port is not None and not (_PORT.match(port) and 0 < int(port) < 65536)):
        return None
    return host.lower().rstrip("."), port


def is_trusted(host: str, trusted: Iterable[str]) -> bool:
    """Whether `host` is one of `trusted` (an entry starting with "." also admits its subdomains)."""
    for entry in trusted:
        entry = entry.lower()
        if host == entry or (entry.startswith(".") and (host.endswith(entry) or host == entry[1:])):
            return True
    return False


class HostGuard:
    """WSGI middleware: replace an untrusted or malformed Host with `fallback` and mark the request."""

    def __init__(self, app: Any, trusted: list[str], fallback: str) -> None:
        self.app = app
        self.trusted = trusted
        self.fallback = fallback

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        raw = environ.get("HTTP_HOST") or environ.get("SERVER_NAME") or ""
        parsed = split_host(raw)
        if parsed is None or not is_trusted(parsed[0], self.trusted):
            environ[MARKER] = "".join(c if c.isprintable() else "?" for c in raw)[:80]
            environ["HTTP_HOST"] = self.fallback
        return self.app(environ, start_response)


def init_app(app: Flask) -> None:
    """Check every request's Host against the `trusted_hosts` setting (default: the public base URL's
    host and the loopback names the container's health check uses)."""
    settings = app.config["SETTINGS"]
    public = settings.public_base_url
    trusted = list(settings.trusted_hosts or [str(public.host), *LOOPBACK])
    fallback = str(public.host) + (f":{public.port}" if public.port not in (None, 80, 443) else "")

    @app.before_request
    def refuse_bad_host() -> None:
        shown = request.environ.get(MARKER)
        if shown is not None:
            log.warning("refused a request for an untrusted or malformed Host header: %r", shown)
            abort(400)

    app.before_request_funcs.setdefault(None, []).insert(0, app.before_request_funcs[None].pop())
    app.wsgi_app = HostGuard(app.wsgi_app, trusted, fallback)  # type: ignore[method-assign]
