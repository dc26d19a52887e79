"""The home page of options (manual: "Seleccione la opción") and the bare-root redirect."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, url_for
from werkzeug.wrappers import Response

from d365portal.web.auth_context import login_required

bp = Blueprint("main", __name__)


@bp.get("/")
def root() -> Response:
    """Send the bare address to the default language's home page."""
    lang = current_app.config["SETTINGS"].default_language
    return redirect(url_for("main.home", lang=lang))


@bp.get("/<lang>/")
@login_required
def home() -> str:
    """The options a signed-in customer can choose from."""
    return render_template("main/home.html")
