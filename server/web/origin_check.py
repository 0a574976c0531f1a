"""Cross-site request forgery on cookie-authenticated requests: refused by their origin.

A browser attaches the session cookie to a request whatever page sent it, so a page of
another site could make a logged-in person's browser create a family or log out.
Before any work, a state-changing request (POST, PUT, PATCH, DELETE) that carries the
session cookie must come from this server's own origin:

- its `Origin`, or without one its `Referer`, must name this server's scheme and host
  (the scheme a trusted proxy reports, `trusted_proxies`; the `Host` the proxy
  passes). `Origin: null` (a sandboxed frame, a page that hides its origin) is another
  origin. Every browser sends `Origin` on such a request;
- with neither header, the request did not come from a browser's page unless it is
  a body a cross-site form can send without asking (form-urlencoded, multipart,
  text/plain): those are refused on the API and `/sync`. JSON bodies (a non-browser
  client: the reference device, an integration) need a CORS preflight from a page,
  which Sopu never grants, so they pass. The supervisor web's forms carry a CSRF
  token besides (`server.ui.security`), which decides there.

Requests without the cookie (a device's bearer token, `/api/devices/token`, a first
login) are not affected: PouchDB in Node sends no `Origin`.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import request

from ..errors import CrossOriginRefused
from .context import SESSION_COOKIE

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# The content types a page of another site can send without a CORS preflight.
FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data", "text/plain"})
API_PREFIXES = ("api", "sync")
DEFAULT_PORTS = {"http": 80, "https": 443}


def refuse_cross_origin() -> None:
    """A `before_request` hook: 403 `cross_origin_refused` for a forged request."""
    if request.method not in UNSAFE_METHODS or SESSION_COOKIE not in request.cookies:
        return
    claimed = request.headers.get("Origin") or request.headers.get("Referer")
    if claimed is not None:
        origin = _origin_of(claimed)
        if origin is None or origin != own_origin():
            raise CrossOriginRefused("this request came from another site's page")
        return
    if _on_api() and request.mimetype in FORM_TYPES:
        raise CrossOriginRefused(
            "a state-changing request with a session cookie and a form body needs an"
            " Origin header of this site"
        )


def own_origin() -> tuple[str, str, int] | None:
    """This server's origin as the client reached it (after ProxyFix)."""
    return _origin_of(f"{request.scheme}://{request.host}")


def _origin_of(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an origin or URL, default ports filled in; None for
    `null` or anything that names no http(s) host."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), (parts.hostname or "")
    if scheme not in DEFAULT_PORTS or not host:
        return None
    return scheme, host, port or DEFAULT_PORTS[scheme]


def _on_api() -> bool:
    return request.path.split("/")[1] in API_PREFIXES
