"""What keeps the supervisor web's forms and pages safe in a browser.

- CSRF: every form carries a token and every POST is refused without the right one
  (403). Logged in, the token is an HMAC of the session id under the app's secret key
  (nothing stored; it changes with the session). Before login, the login form uses a
  random value in a cookie and in the form (double submit).
- A Content-Security-Policy with no inline script and no inline style (charts are
  server-drawn SVG), framing refused, and `Cache-Control: no-store` on every page:
  they show client data, which no browser or proxy cache may keep.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from flask import current_app, request
from werkzeug.wrappers import Response

from ..errors import Forbidden
from ..web.context import session_id

FIELD = "csrf_token"
LOGIN_COOKIE = "sopu_login_csrf"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; form-action 'self'; base-uri 'none'; object-src 'none'; "
    "frame-ancestors 'none'"
)


def csrf_token() -> str:
    """The token the current page's forms carry."""
    current = session_id()
    if current:
        key = current_app.config["SECRET_KEY"].encode()
        return hmac.new(key, f"csrf:{current}".encode(), hashlib.sha256).hexdigest()
    return login_token()


def login_token() -> str:
    """The login form's token: the cookie's value, or a new one (set by `protect`)."""
    token = request.cookies.get(LOGIN_COOKIE)
    if not token:
        token = getattr(request, "_sopu_new_login_token", None) or secrets.token_hex(16)
        request._sopu_new_login_token = token
    return token


def check_csrf() -> None:
    """Before a POST of the web: the form's token must be this session's."""
    if request.method != "POST":
        return
    sent = request.form.get(FIELD, "")
    if not sent or not hmac.compare_digest(sent, csrf_token()):
        raise Forbidden("the form was not sent from this site (CSRF token missing or wrong)")


def protect(response: Response) -> Response:
    """After every page: the policy, no caching, and the login token's cookie."""
    response.headers["Content-Security-Policy"] = CSP
    if response.mimetype == "text/html":
        response.headers["Cache-Control"] = "no-store"
    fresh = getattr(request, "_sopu_new_login_token", None)
    if fresh:
        response.set_cookie(
            LOGIN_COOKIE, fresh, path="/", httponly=True, samesite="Strict",
            secure=request.is_secure,
        )  # fmt: skip
    return response
