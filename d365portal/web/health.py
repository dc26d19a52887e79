"""PLACEHOLDER (issue 6 replaces this file): /healthz and /readyz."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> dict[str, str]:
    """Liveness: answers without touching Dataverse."""
    return {"status": "ok"}
