"""PLACEHOLDER (issue 5 replaces this file): the case list, a case, a new case, the associate lookup."""

from __future__ import annotations

from uuid import UUID

from flask import Blueprint

bp = Blueprint("support", __name__, url_prefix="/<lang>/support")


@bp.get("/")
def cases() -> str:
    """Case list (placeholder)."""
    return ""


@bp.get("/case/<uuid:case_id>")
def case(case_id: UUID) -> str:
    """One case (placeholder)."""
    return ""


@bp.route("/create-case/", methods=["GET", "POST"])
def new_case() -> str:
    """New case (placeholder)."""
    return ""


@bp.get("/create-case/associates")
def associates() -> str:
    """Associate lookup (placeholder)."""
    return ""
