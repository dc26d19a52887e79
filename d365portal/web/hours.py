"""PLACEHOLDER (issue 5 replaces this file): the hour banks (Vigencia Soporte) and their detail."""

from __future__ import annotations

from uuid import UUID

from flask import Blueprint

bp = Blueprint("hours", __name__, url_prefix="/<lang>/vigencia-soporte")


@bp.get("/")
def index() -> str:
    """Hour banks (placeholder)."""
    return ""


@bp.get("/<uuid:entitlement_id>")
def detail(entitlement_id: UUID) -> str:
    """One hour bank (placeholder)."""
    return ""
