"""Request context: the Site, the logged-in person, the authenticated device.

People use a signed session cookie (`/api/login`); devices use bearer tokens
(`Authorization: Bearer …`). Views declare what they need with `person_required`
or `device_required`; the check and its error codes live only here.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import wraps

from flask import current_app, g, request, session

from ..errors import Forbidden, Unauthenticated
from ..site import Site


def site() -> Site:
    return current_app.extensions["sopu.site"]


def today() -> date:
    """Today's date; tests set `SOPU_TODAY` (a callable) to move the clock."""
    clock = current_app.config.get("SOPU_TODAY")
    return clock() if clock else date.today()


def person() -> dict:
    """The logged-in person (worker, supervisor or admin), or Unauthenticated."""
    if "person" not in g:
        worker_id = session.get("worker_id")
        if not worker_id:
            raise Unauthenticated("log in first (POST /api/login)")
        account = site().accounts.get(worker_id)
        if not account["active"]:
            session.clear()
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

    return wrapper
