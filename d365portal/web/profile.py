"""PLACEHOLDER (issue 4 replaces this file): profile, change password, change email."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("profile", __name__, url_prefix="/<lang>/profile")


@bp.get("/")
def index() -> str:
    """Profile (placeholder)."""
    return ""


@bp.route("/ChangePassword", methods=["GET", "POST"])
def change_password() -> str:
    """Change password (placeholder)."""
    return ""


@bp.route("/ChangeEmail", methods=["GET", "POST"])
def change_email() -> str:
    """Change email (placeholder)."""
    return ""
