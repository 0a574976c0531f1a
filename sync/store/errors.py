"""Errors of the database contract, named after CouchDB's own error strings.

A whole-request failure raises one of these; a per-document failure inside
`bulk_docs` is reported in that document's result as ``{"id", "error", "reason"}``
with the same `error` strings, so the HTTP layer can pass both on unchanged.
"""

from __future__ import annotations


class StoreError(Exception):
    """Base class. `error` is CouchDB's error string, `status` its HTTP status."""

    error = "internal_server_error"
    status = 500

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason

    def to_json(self) -> dict:
        return {"error": self.error, "reason": self.reason}


class NotFound(StoreError):
    error, status = "not_found", 404


class DatabaseExists(StoreError):
    error, status = "file_exists", 412


class Conflict(StoreError):
    error, status = "conflict", 409


class BadRequest(StoreError):
    error, status = "bad_request", 400


class InvalidDatabaseName(BadRequest):
    error = "illegal_database_name"


class DocumentTooLarge(StoreError):
    error, status = "document_too_large", 413


class Forbidden(StoreError):
    error, status = "forbidden", 403


class Unavailable(StoreError):
    """The backing server could not be reached or answered nonsense: try again later.

    `retry_after` is the wait in seconds the other side asked for, if it said."""

    error, status = "service_unavailable", 503

    def __init__(self, reason: str, retry_after: float | None = None):
        super().__init__(reason)
        self.retry_after = retry_after


class InsufficientStorage(StoreError):
    """The store's disk (or its configured size limit) is full: nothing of the write
    was kept. Writes work again once there is room; reads work meanwhile."""

    error, status = "insufficient_storage", 507


class Unsupported(StoreError):
    """The backing server lacks an optional endpoint (e.g. `_bulk_get`)."""

    error, status = "not_implemented", 501
