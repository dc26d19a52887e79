"""Test and benchmark controls under /_emulator (no token; not counted in the stats)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from werkzeug.wrappers import Request, Response

from d365portal.emulator import errors
from d365portal.emulator.protection import LIMIT_FIELDS
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
    if name == "tracking/expire" and request.method == "POST":  # every delta token issued so far expires
        app.store.expire_change_tracking()
        return json_response({"tracking_floor": app.store.tracking_floor})
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
    if name == "protection" and request.method in ("GET", "POST"):
        if request.method == "POST":  # {"requests": 100, "seconds": 20, "concurrent": 5, "window": 60}
            try:
                values = json.loads(request.get_data() or b"{}")
                if not isinstance(values, dict) or set(values) - set(LIMIT_FIELDS):
                    raise ValueError("expected an object with requests, seconds, concurrent, window")
                app.protection.configure(
                    requests=values.get("requests"), seconds=values.get("seconds"),
                    concurrent=values.get("concurrent"), window=float(values.get("window", 300)),
                )  # fmt: skip
            except (ValueError, TypeError) as exc:
                return json_response({"error": {"code": "", "message": str(exc)}}, status=400)
        return json_response(app.protection.snapshot())
    return error_response(errors.unknown_segment(name))
