"""The supervisor web's blueprint: its templates, static files and error pages.

Pages are HTML for people (`text/html`), never JSON: an error a person meets is a page
in their language (403, 404), and an ended session sends them to the login page.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from flask import Blueprint, current_app, g, redirect, request, send_from_directory
from werkzeug.exceptions import NotFound

from ..errors import Forbidden, NotFoundError, Unauthenticated
from ..web.context import person
from . import i18n, security
from .i18n import _
from .pages import render

bp = Blueprint(
    "ui",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/static/ui",
)
HDS_FILES = {"base.min.css", "components/all.min.css"}  # CSS only; fonts would load off-site


@bp.before_request
def _before() -> None:
    security.check_csrf()


bp.after_request(security.protect)


@bp.errorhandler(Unauthenticated)
def _log_in_first(_exc):
    target = _this_page() if request.method == "GET" else "/"
    return redirect(f"/login?next={quote(target, safe='/')}" if target != "/" else "/login", 303)


def _this_page() -> str:
    """The path and query asked for, as sent on the wire: the path is decoded by then,
    and a `%0d%0a` in it would otherwise be a line break in the `Location` header."""
    query = request.query_string.decode("latin-1")
    return quote(request.path) + (f"?{query}" if query else "")


@bp.errorhandler(Forbidden)
def _forbidden(exc):
    _speak()
    return render("error.html", 403, title=_("Not allowed"), message=exc.message)


@bp.errorhandler(NotFoundError)
@bp.errorhandler(NotFound)
def _not_found(_exc):
    _speak()
    return render("error.html", 404, title=_("Not found"), message=_("There is no such page."))


def _speak() -> None:
    """An error page speaks the person's language even if the view failed early."""
    if "ui_language" not in g:
        try:
            i18n.choose(person())
        except Unauthenticated:  # not logged in: the browser's language
            i18n.choose(None)


def assets_dir() -> Path:
    return Path(current_app.extensions["sopu.config"].ui_assets)


@bp.get("/assets/hds/<path:name>")
def hds(name: str):
    """The Helsinki Design System's CSS, from its npm package (`npm ci`)."""
    if name not in HDS_FILES:
        raise NotFound()
    return send_from_directory(assets_dir(), name, max_age=3600)
