"""CSRF on every form, and the security headers every response carries.

- Content-Security-Policy without inline script or style (templates use static files only);
- X-Content-Type-Options, X-Frame-Options, Referrer-Policy, Permissions-Policy;
- Strict-Transport-Security outside the local demo (which runs over plain http);
- `Cache-Control: no-store` on signed-in pages and on every account page, so neither a shared
  computer's back button nor a proxy keeps them.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, request
from flask_wtf.csrf import CSRFProtect
from werkzeug.wrappers import Response

csrf = CSRFProtect()

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
)
HSTS = "max-age=31536000; includeSubDomains"
# Pages that must never be cached, signed in or not (they carry tokens or personal data).
_NO_STORE_BLUEPRINTS = frozenset({"auth", "profile", "two_factor", "external", "security_page"})


def _headers(response: Response, *, demo: bool) -> Response:
    """Add the security headers (without overriding a view that set its own)."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if not demo:
        headers.setdefault("Strict-Transport-Security", HSTS)
    if request.endpoint == "auth.reset_password":
        # The reset link's token is in this page's URL: never send it on as a Referer.
        headers["Referrer-Policy"] = "no-referrer"
    if _must_not_store():
        headers["Cache-Control"] = "no-store"
        headers.pop("Expires", None)
        headers.pop("Last-Modified", None)
        headers.pop("ETag", None)
    return response


def client_ip() -> str:
    """The client's address as the WSGI server (or a trusted proxy fix) reports it."""
    return request.remote_addr or "unknown"


def safe_next(target: str | None) -> str | None:
    """`target` when it is a path inside the portal, else None (no open redirect)."""
    if not target or len(target) > 2000:
        return None
    if any(ord(c) < 32 or c == "\\" for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def same_origin() -> bool:
    """Whether the browser says this post came from the portal's own pages (Fetch metadata, else the
    Origin header; a client that sends neither is taken at its word, as the CSRF token was its check)."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site == "same-origin"
    origin = request.headers.get("Origin")
    return origin is None or origin.rstrip("/") == request.host_url.rstrip("/")


def _must_not_store() -> bool:
    """Signed-in pages and the account pages; static files stay cacheable."""
    if request.endpoint == "static":
        return False
    if request.blueprint in _NO_STORE_BLUEPRINTS:
        return True
    from flask import session

    return "principal" in session


def init_app(app: Flask) -> None:
    """Global CSRF protection (every POST is a FlaskForm) and the security headers."""
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # the session's own lifetime bounds it
    csrf.init_app(app)
    demo = bool(app.config["SETTINGS"].demo)

    @app.after_request
    def security_headers(response: Response) -> Response:
        return _headers(response, demo=demo)
