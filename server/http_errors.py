"""The one place where errors become HTTP responses, with stable machine-readable codes.

Every error body has CouchDB's shape, `{"error": <code>, "reason": <message>}` plus any
details, so PouchDB, the CouchDB replicator and Sopu's own apps read all of them the
same way. A device that receives `"wipe": true` must delete its local data.
"""

from __future__ import annotations

import logging

import requests
from flask import Flask, current_app, jsonify
from werkzeug.exceptions import HTTPException

from mobile_schema import DocumentInvalid
from sync.crypto import CryptoError
from sync.store.errors import InsufficientStorage, StoreError, Unavailable

from . import errors, metrics
from .web.hygiene import describe_unexpected, request_id, too_large_reason
from .web.observability import count_directory_error

log = logging.getLogger(__name__)

STATUS = {
    errors.NotFoundError: 404,
    errors.InvalidInput: 400,
    errors.RequestTooLarge: 413,
    errors.CrossOriginRefused: 403,
    errors.Forbidden: 403,
    errors.ConflictError: 409,
    errors.DeviceRevoked: 401,
    errors.TokenExpired: 401,
    errors.RefreshReused: 401,
    errors.SessionExpired: 401,
    errors.InvalidCredentials: 401,
    errors.Unauthenticated: 401,
    errors.LoginThrottled: 429,
    errors.TooManyLiveFeeds: 503,
}


def error_body(code: str, reason: str, **details) -> dict:
    return {"error": code, "reason": reason, **details}


def domain_error(exc: errors.DomainError):
    status = next((s for cls, s in STATUS.items() if isinstance(exc, cls)), 400)
    response = jsonify(error_body(exc.code, exc.message, **exc.details))
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="sopu"'
    if status in (429, 503) and "retry_after" in exc.details:
        response.headers["Retry-After"] = str(exc.details["retry_after"])
    return response


# Store faults a device waits out: code, status, seconds for `Retry-After`, reason.
STORE_FAULTS = {
    Unavailable: (
        "store_unavailable", 503, 5,
        "The document store is unavailable; nothing of this request was lost. Retry.",
    ),
    InsufficientStorage: (
        "insufficient_storage", 507, 60,
        "The server is out of storage; nothing of this write was kept. Retry later.",
    ),
}  # fmt: skip


def store_error(exc: StoreError):
    return jsonify(error_body(exc.error, exc.reason)), exc.status


def store_fault(exc: Exception):
    """The store is down, cut off or full: a stable code and `Retry-After`, never 500.

    The cause goes to the log (Sopu's own text: the store's address without password,
    the failure's type), not to the device."""
    if isinstance(exc, requests.RequestException):  # one that escaped the store's wrapping
        exc = Unavailable(f"{type(exc).__name__} talking to the store")
    code, status, retry_after, reason = next(
        fault for cls, fault in STORE_FAULTS.items() if isinstance(exc, cls)
    )
    metrics.STORE_ERRORS.labels(code).inc()
    log.warning("%s request=%s: %s", code, request_id(), getattr(exc, "reason", ""))
    response = jsonify(error_body(code, reason))
    response.status_code = status
    response.headers["Retry-After"] = str(retry_after)
    return response


def document_invalid(exc: DocumentInvalid):
    problems = [p.to_json() for p in exc.problems]
    return jsonify(error_body("doc_validation", str(exc), problems=problems)), 400


def crypto_error(exc: CryptoError):
    return jsonify(error_body(exc.code, str(exc))), 400


def http_error(exc: HTTPException):
    """Werkzeug's errors (routing, 405 with its `Allow` header, a body cut off at the
    size limit) in the same shape and codes as ours."""
    code = (exc.name or "error").lower().replace(" ", "_")
    reason = exc.description or exc.name
    if exc.code == 413:
        code = errors.RequestTooLarge.code
        reason = too_large_reason(current_app.config["MAX_CONTENT_LENGTH"] - 1)
    response = jsonify(error_body(code, reason))
    response.status_code = exc.code
    for name, value in exc.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def unexpected(exc: Exception):
    """Logged with the request id, route and exception type only (never the exception's
    message, which may quote request values); the id is in the answer to quote."""
    log.error(describe_unexpected(exc))
    count_directory_error(exc)
    rid = request_id()
    reason = f"Internal server error (request {rid})"
    return jsonify(error_body("internal_server_error", reason, request_id=rid)), 500


# What a 429 or 503 answer that names no wait of its own tells the client to wait.
DEFAULT_RETRY_AFTER = {429: 60, 503: 5}


def retry_after(response):
    """Every 429 and 503 says when to try again (`Retry-After`), whichever part of the
    app answered it (`/readyz`, a page, a proxy-facing error): clients back off by it."""
    if response.status_code in DEFAULT_RETRY_AFTER and "Retry-After" not in response.headers:
        response.headers["Retry-After"] = str(DEFAULT_RETRY_AFTER[response.status_code])
    return response


def register(app: Flask) -> None:
    app.after_request(retry_after)
    app.register_error_handler(errors.DomainError, domain_error)
    app.register_error_handler(StoreError, store_error)
    for fault in (*STORE_FAULTS, requests.RequestException):
        app.register_error_handler(fault, store_fault)
    app.register_error_handler(DocumentInvalid, document_invalid)
    app.register_error_handler(CryptoError, crypto_error)
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(Exception, unexpected)
