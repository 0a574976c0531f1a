"""What every request and response gets: a request id, the body size limit, the
cross-site check of cookie-authenticated writes (`origin_check`), security headers, and
a log line for unexpected errors that holds no request values.

The request id is the only handle on a request the logs keep: it is returned on every
response (`X-Request-Id`), so a worker or an app can quote it, and an operator finds
the log line. A proxy's id is echoed when it looks like one (hex digits and dashes, so
it cannot carry a name); otherwise the server makes one.
"""

from __future__ import annotations

import re
import secrets
import traceback
from functools import partial

from flask import Flask, Response, current_app, g, has_request_context, request

from ..errors import RequestTooLarge
from .origin_check import refuse_cross_origin

REQUEST_ID = "X-Request-Id"
_PROXY_ID = re.compile(r"[0-9A-Fa-f-]{8,64}")
HSTS = "max-age=31536000; includeSubDomains"
# Client data travels only under these prefixes: never kept by a cache.
NO_STORE_PREFIXES = ("api", "sync")
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    # Other sites get no Referer; our own pages' form posts keep their real Origin
    # (under no-referrer a browser sends `Origin: null`, which origin_check refuses).
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
}


def install(app: Flask, max_request_size: int, behind_tls: bool) -> None:
    """Register the hooks; call before any other `before_request` so every request,
    even one refused early, has its id."""
    app.before_request(assign_request_id)
    app.before_request(partial(refuse_oversized, max_request_size))
    app.before_request(refuse_cross_origin)  # CSRF: before any view does work
    app.after_request(partial(stamp, behind_tls))


def request_id() -> str:
    """This request's id ("-" outside a request)."""
    if not has_request_context():
        return "-"
    if "request_id" not in g:
        assign_request_id()
    return g.request_id


def assign_request_id() -> None:
    """The first hook of every request: later readers find `g.request_id` set."""
    offered = request.headers.get(REQUEST_ID, "")
    g.request_id = offered if _PROXY_ID.fullmatch(offered) else secrets.token_hex(16)


def refuse_oversized(limit: int) -> None:
    """413 from the declared length, before a byte of the body is read."""
    length = request.content_length
    if length is not None and length > limit:
        raise RequestTooLarge(too_large_reason(limit), limit=limit)


def read_body() -> bytes:
    """The request body, at most `max_request_size` bytes. A streamed body (no
    Content-Length) is read only one byte past the limit (Flask's MAX_CONTENT_LENGTH is
    set one higher), so one that goes on is a 413 too, never silently cut short."""
    data = request.get_data(cache=True)
    limit = current_app.config["MAX_CONTENT_LENGTH"] - 1
    if len(data) > limit:
        raise RequestTooLarge(too_large_reason(limit), limit=limit)
    return data


def too_large_reason(limit: int) -> str:
    return f"the request body is larger than {limit} bytes (max_request_size)"


def stamp(behind_tls: bool, response: Response) -> Response:
    headers = response.headers
    headers[REQUEST_ID] = request_id()
    for name, value in SECURITY_HEADERS.items():
        headers.setdefault(name, value)
    if request.path.split("/")[1] in NO_STORE_PREFIXES:
        headers["Cache-Control"] = "no-store"
    if behind_tls:
        headers["Strict-Transport-Security"] = HSTS
    return response


def describe_unexpected(exc: BaseException) -> str:
    """A log line for an unexpected error: request id, method, route rule (never the URL
    with its values), the exception's type and where it was raised. Never `str(exc)`:
    an exception's message may quote what the client sent."""
    rule = request.url_rule.rule if has_request_context() and request.url_rule else "-"
    method = request.method if has_request_context() else "-"
    chain, cause = [], exc
    while cause is not None and len(chain) < 5:
        chain.append(type(cause).__qualname__)
        cause = cause.__cause__ or cause.__context__
    frames = "".join(traceback.format_list(traceback.extract_tb(exc.__traceback__)))
    return (
        f"internal_server_error request={request_id()} {method} {rule}: "
        f"{' <- '.join(chain)}\n{frames}"
    )
