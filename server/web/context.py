"""Request context: the Site, the logged-in person, the authenticated device.

People use a session cookie (`/api/login`) holding only a random session id, resolved
in the directory on every request (`server.people.sessions`), so a session that ended
— logout, a password or role change, deactivation, timeouts — is refused by every
process at once; devices use bearer tokens (`Authorization: Bearer …`). Views declare
what they need with `person_required` or `device_required`; the check and its error
codes live only here.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import wraps

from flask import current_app, g, request

from ..errors import Forbidden, Unauthenticated
from ..people.sessions import Sessions
from ..site import Site

SESSION_COOKIE = "sopu_session"


def site() -> Site:
    return current_app.extensions["sopu.site"]


def today() -> date:
    """Today's date; tests set `SOPU_TODAY` (a callable) to move the clock."""
    clock = current_app.config.get("SOPU_TODAY")
    return clock() if clock else date.today()


def sessions() -> Sessions:
    return current_app.extensions["sopu.sessions"]


def session_id() -> str | None:
    """The session id the request's cookie carries, if any."""
    return request.cookies.get(SESSION_COOKIE) or None


def client_address() -> str | None:
    """The client's address: the peer's, or with `trusted_proxies` set the one the
    outermost trusted proxy put in X-Forwarded-For (ProxyFix, in the app factory)."""
    return request.remote_addr


def person() -> dict:
    """The logged-in person (worker, supervisor or admin), or Unauthenticated."""
    if "person" not in g:
        current = session_id()
        if not current:
            raise Unauthenticated("log in first (POST /api/login)")
        account = site().accounts.get(sessions().resolve(current))
        if not account["active"]:
            raise Unauthenticated("this account is no longer active")
        g.person = account
    return g.person


def person_required(*roles: str) -> Callable:
    """Only logged-in people with one of `roles` (any role if none are given)."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            account = person()
            if roles and account["role"] not in roles:
                raise Forbidden(f"this needs the role {' or '.join(roles)}")
            return view(*args, **kwargs)

        wrapper.sopu_roles = roles or ("worker", "supervisor", "admin")
        return wrapper

    return decorate


def bearer_token() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("a device needs `Authorization: Bearer <access token>`")
    return token.strip()


def device() -> dict:
    """The authenticated, active device (DeviceRevoked tells a revoked one to wipe)."""
    if "device" not in g:
        g.device = current_app.extensions["sopu.tokens"].device_for(bearer_token())
    return g.device


def device_required(view: Callable) -> Callable:
    @wraps(view)
    def wrapper(*args, **kwargs):
        device()
        return view(*args, **kwargs)

    wrapper.sopu_device = True  # the OpenAPI description names the bearer scheme
    return wrapper
