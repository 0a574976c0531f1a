"""The one place where errors become HTTP responses, with stable machine-readable codes.

Every error body has CouchDB's shape, `{"error": <code>, "reason": <message>}` plus any
details, so PouchDB, the CouchDB replicator and Sopu's own apps read all of them the
same way. A device that receives `"wipe": true` must delete its local data.
"""

from __future__ import annotations

import logging

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from mobile_schema import DocumentInvalid
from sync.crypto import CryptoError
from sync.store.errors import StoreError

from . import errors

log = logging.getLogger(__name__)

STATUS = {
    errors.NotFoundError: 404,
    errors.InvalidInput: 400,
    errors.Forbidden: 403,
    errors.ConflictError: 409,
    errors.DeviceRevoked: 401,
    errors.TokenExpired: 401,
    errors.InvalidCredentials: 401,
    errors.Unauthenticated: 401,
    errors.LoginThrottled: 429,
}


def error_body(code: str, reason: str, **details) -> dict:
    return {"error": code, "reason": reason, **details}


def domain_error(exc: errors.DomainError):
    status = next((s for cls, s in STATUS.items() if isinstance(exc, cls)), 400)
    response = jsonify(error_body(exc.code, exc.message, **exc.details))
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="sopu"'
    return response


def store_error(exc: StoreError):
    return jsonify(error_body(exc.error, exc.reason)), exc.status


def document_invalid(exc: DocumentInvalid):
    problems = [p.to_json() for p in exc.problems]
    return jsonify(error_body("doc_validation", str(exc), problems=problems)), 400


def crypto_error(exc: CryptoError):
    return jsonify(error_body(exc.code, str(exc))), 400


def http_error(exc: HTTPException):
    code = (exc.name or "error").lower().replace(" ", "_")
    return jsonify(error_body(code, exc.description or exc.name)), exc.code


def unexpected(exc: Exception):
    log.exception("unhandled error")  # the traceback names code, never client data
    return jsonify(error_body("internal_server_error", "Internal server error")), 500


def register(app: Flask) -> None:
    app.register_error_handler(errors.DomainError, domain_error)
    app.register_error_handler(StoreError, store_error)
    app.register_error_handler(DocumentInvalid, document_invalid)
    app.register_error_handler(CryptoError, crypto_error)
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(Exception, unexpected)
