"""Validate documents against the wire contract and explain every problem found."""

from __future__ import annotations

from marshmallow import Schema, ValidationError

from . import errors
from .envelope import EnvelopeSchema
from .errors import DocumentInvalid, Problem
from .registry import DOC_TYPES
from .versions import CURRENT_VERSION, OLDEST_SUPPORTED, upgrade

_SCHEMAS: dict[str, Schema] = {name: cls() for name, cls in DOC_TYPES.items()}
_ENVELOPE = EnvelopeSchema()


def validate_document(doc: object) -> dict:
    """Return `doc` upgraded to the current schema version, or raise DocumentInvalid."""
    doc_id = _doc_id(doc)
    if not isinstance(doc, dict):
        raise _invalid(doc_id, "", errors.INVALID_TYPE, "Expected a JSON object.")
    doc_type = doc.get("type")
    if doc_type not in _SCHEMAS:
        if doc_type is None:
            raise _invalid(doc_id, "/type", errors.REQUIRED, "Missing document type.")
        known = ", ".join(sorted(_SCHEMAS))
        message = f"Unknown document type {doc_type!r}; known types: {known}."
        raise _invalid(doc_id, "/type", errors.UNKNOWN_DOC_TYPE, message)
    _check_version(doc_id, doc.get("schema_version"))
    upgraded = upgrade(doc)
    _load(_SCHEMAS[doc_type], upgraded, doc_id)
    return upgraded


def validate_envelope(doc: object) -> dict:
    """Check an envelope's routing fields and encodings (it cannot see inside)."""
    doc_id = _doc_id(doc)
    if not isinstance(doc, dict):
        raise _invalid(doc_id, "", errors.INVALID_TYPE, "Expected a JSON object.")
    if isinstance(doc.get("schema_version"), int) and not doc.get("_deleted"):
        _check_version(doc_id, doc["schema_version"])
    _load(_ENVELOPE, doc, doc_id)
    return doc


def problems_of(doc: object, envelope: bool = False) -> list[Problem]:
    """All problems of one document (empty when it is valid)."""
    try:
        (validate_envelope if envelope else validate_document)(doc)
    except DocumentInvalid as exc:
        return exc.problems
    return []


def _check_version(doc_id: str | None, version: object) -> None:
    if version is None:
        raise _invalid(doc_id, "/schema_version", errors.REQUIRED, "Missing schema version.")
    if isinstance(version, bool) or not isinstance(version, int) or version < OLDEST_SUPPORTED:
        message = f"Expected an integer schema version from {OLDEST_SUPPORTED}."
        raise _invalid(doc_id, "/schema_version", errors.INVALID_TYPE, message)
    if version > CURRENT_VERSION:
        message = (
            f"Schema version {version} is newer than this server understands "
            f"(up to {CURRENT_VERSION}); update the server before these devices sync."
        )
        raise _invalid(doc_id, "/schema_version", errors.UNSUPPORTED_SCHEMA_VERSION, message)


def _load(schema: Schema, doc: dict, doc_id: str | None) -> None:
    try:
        schema.load(doc)
    except ValidationError as exc:
        raise DocumentInvalid(list(_flatten(exc.messages, [], doc_id))) from None


def _flatten(messages: object, path: list, doc_id: str | None):
    """Turn marshmallow's nested error dict into one Problem per message."""
    if isinstance(messages, dict):
        for key, value in messages.items():
            sub = path if key == "_schema" else [*path, key]
            yield from _flatten(value, sub, doc_id)
    elif isinstance(messages, list):
        for message in messages:
            yield from _flatten(message, path, doc_id)
    else:
        code, text = errors.split_coded(str(messages))
        yield Problem(doc_id, errors.json_pointer(path), code, text)


def _invalid(doc_id: str | None, path: str, code: str, message: str) -> DocumentInvalid:
    return DocumentInvalid([Problem(doc_id, path, code, message)])


def _doc_id(doc: object) -> str | None:
    if isinstance(doc, dict) and isinstance(doc.get("_id"), str):
        return doc["_id"]
    return None
