"""PLACEHOLDER (issue 4 replaces this file): sign-in, sign-out, forgot and reset password."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("auth", __name__, url_prefix="/<lang>/Account/Login")


@bp.route("/Login", methods=["GET", "POST"])
def login() -> str:
    """Sign-in page (placeholder)."""
    return "Iniciar Sesión"


@bp.post("/LogOff")
def logout() -> str:
    """Sign out (placeholder)."""
    return ""


@bp.route("/ForgotPassword", methods=["GET", "POST"])
def forgot_password() -> str:
    """Forgot password (placeholder)."""
    return ""


@bp.route("/ResetPassword", methods=["GET", "POST"])
def reset_password() -> str:
    """Reset password (placeholder)."""
    return ""
