"""Logging in and out of the supervisor web, and choosing its language.

The same accounts, throttling and server-side sessions as `/api/login`
(`server.people`): a page login is an API login with a form around it.
"""

from __future__ import annotations

import contextlib
from urllib.parse import urlsplit

from flask import make_response, redirect, request

from ..errors import InvalidCredentials, LoginThrottled, Unauthenticated
from ..web.api_session import with_new_session
from ..web.context import SESSION_COOKIE, client_address, person, sessions, site
from ..web.context import session_id as current_session_id
from . import i18n
from .blueprint import bp
from .i18n import _
from .pages import render


@bp.get("/login")
def login_form():
    i18n.choose(None)
    return render("login.html", next=_local(request.args.get("next")))


@bp.post("/login")
def login():
    i18n.choose(None)
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    target = _local(request.form.get("next")) or "/"
    try:
        account = site().accounts.authenticate(username, password, client_address())
    except InvalidCredentials:
        error = _("Unknown username or wrong password.")
        return render("login.html", 401, error=error, next=target, username=username)
    except LoginThrottled as exc:
        wait = exc.details.get("retry_after", 60)
        error = _("Too many failed logins. Try again in %(seconds)s seconds.", seconds=wait)
        page = render("login.html", 429, error=error, next=target, username=username)
        return (*page, {"Retry-After": str(wait)})
    return with_new_session(redirect(target, 303), account["id"])


@bp.post("/logout")
def logout():
    current = current_session_id()
    if current:
        sessions().end(current)
    response = redirect("/login", 303)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True)
    return response


@bp.post("/language")
def language():
    chosen = request.form.get("language")
    if chosen not in i18n.LANGUAGES:
        chosen = i18n.DEFAULT
    response = make_response(redirect(_local(request.form.get("back")) or "/", 303))
    response.set_cookie(i18n.COOKIE, chosen, max_age=365 * 86400, path="/", samesite="Lax")
    if current_session_id():
        with contextlib.suppress(Unauthenticated):  # logged out meanwhile: the cookie will do
            site().accounts.set_language(person()["id"], chosen)
    return response


def _local(target: str | None) -> str | None:
    """Only a path on this site (never `//evil.example` or `https://…`), and never one
    with a control character or a backslash (a browser reads `/\\evil` as `//evil`; a
    line break cannot go into a `Location` header at all)."""
    if not target or any(c < " " or c in "\\\x7f" for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target
