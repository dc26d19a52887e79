"""Error pages: the project's exceptions mapped to pages, never a stack trace."""

from __future__ import annotations

import logging

from flask import Flask, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from d365portal.dataverse.errors import (
    AuthenticationFailed,
    DataverseError,
    NotFound,
    PermissionDenied,
    Throttled,
    Unavailable,
)
from d365portal.web import drafts
from d365portal.web.account_forms import ForgotPasswordForm, LoginForm
from d365portal.web.auth_context import current_principal
from d365portal.web.security import same_origin

log = logging.getLogger(__name__)

# Which template and status each HTTP error gets.
_PAGES = {400: "bad_request", 403: "forbidden", 404: "not_found", 429: "too_many", 503: "unavailable"}


# Public forms re-shown as typed when their page outlived the session: endpoint → (template, form).
_ACCOUNT_FORMS = {
    "auth.login": ("auth/login.html", "login"),
    "auth.forgot_password": ("auth/forgot_password.html", "forgot"),
}

# Dataverse busy or down: worth trying again in a moment (the form keeps what the user typed).
TRANSIENT = (Throttled, Unavailable)


def unavailable_form(template: str, exc: DataverseError, **context: object) -> tuple[str, int]:
    """Re-show a form page with what the user typed and "try again" when Dataverse is busy or down."""
    log.warning("Dataverse unavailable on %s: %s (request id %s)", request.path, exc, exc.request_id)
    return render_template(template, unavailable=True, **context), 503


def render_error(status: int, **context: object) -> tuple[str, int]:
    """The error page for an HTTP status, in the current language."""
    page = _PAGES.get(status, "server_error")
    return render_template(f"errors/{page}.html", status=status, **context), status


def init_app(app: Flask) -> None:
    """Map HTTP errors and Dataverse failures to friendly pages."""

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[str, int]:
        return render_error(exc.code or 500)

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError) -> tuple[str, int] | Response:
        log.warning("CSRF check failed: %s", exc.description)
        if drafts.handles(request.endpoint):  # keep a long description typed
            return drafts.after_expired_form() or render_error(400, csrf=True)
        if request.endpoint == "auth.logout" and current_principal() is None:
            # "Cerrar sesión" on a page left open past the idle timeout: already signed out.
            return redirect(url_for("auth.login"))
        stale = bool(request.form.get("csrf_token"))  # the portal's own form, its token outlived
        if request.method == "POST" and request.endpoint in _ACCOUNT_FORMS and stale and same_origin():
            # The sign-in or forgot page left open past the idle timeout: the same page again, as
            # typed (never the password), with a fresh token; nothing is done with the post.
            template, form_class = _ACCOUNT_FORMS[request.endpoint]
            form = LoginForm() if form_class == "login" else ForgotPasswordForm()
            return render_template(template, form=form, expired=True, failed=False, sent=False), 400
        return render_error(400, csrf=True)

    @app.errorhandler(NotFound)
    def dataverse_not_found(exc: NotFound) -> tuple[str, int]:
        return render_error(404)

    @app.errorhandler(Throttled)
    @app.errorhandler(Unavailable)
    def dataverse_unavailable(exc: DataverseError) -> tuple[str, int]:
        log.warning("Dataverse unavailable: %s (request id %s)", exc, exc.request_id)
        return render_error(503)

    @app.errorhandler(AuthenticationFailed)
    @app.errorhandler(PermissionDenied)
    def dataverse_misconfigured(exc: DataverseError) -> tuple[str, int]:
        log.error("Dataverse refused the portal's credentials: %s — run `d365portal check`", exc)
        return render_error(503)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> tuple[str, int]:
        if isinstance(exc, HTTPException):
            return http_error(exc)
        log.exception("Unhandled error")
        return render_error(500)
