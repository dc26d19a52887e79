"""Test and benchmark controls under /_emulator (no token; not counted in the stats)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from werkzeug.wrappers import Request, Response

from d365portal.emulator import errors
from d365portal.emulator.responses import error_response, json_response

if TYPE_CHECKING:  # pragma: no cover
    from d365portal.emulator.app import EmulatorApp


def control(app: EmulatorApp, request: Request, name: str) -> Response:
    """Stats, stats reset, reseed, and fault settings."""
    if name == "stats" and request.method == "GET":
        return json_response(app.stats.snapshot())
    if name == "stats/reset" and request.method == "POST":
        app.stats.reset()
        return json_response(app.stats.snapshot())
    if name == "reset" and request.method == "POST":
        app.store.reset()
        return json_response({"reset": True, "seed": app.store.seed_name})
    if name == "faults" and request.method in ("GET", "POST"):
        if request.method == "POST":
            try:
                values = json.loads(request.get_data() or b"{}")
                if not isinstance(values, dict):
                    raise ValueError("a JSON object is expected")
                if values.pop("clear", False):
                    app.faults.clear()
                app.faults.set(**values)
            except ValueError as exc:
                return json_response({"error": {"code": "", "message": str(exc)}}, status=400)
        return json_response(app.faults.snapshot())
    return error_response(errors.unknown_segment(name))
