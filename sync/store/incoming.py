"""Checks every store applies to documents before writing them. Pure: no I/O.

Shared by all stores so that a document one store rejects is rejected by every store
with the same error, and one bad document in a batch never stops the others.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from ..revisions import InvalidRevision, parse_rev
from .errors import BadRequest, DocumentTooLarge, InvalidDatabaseName, StoreError

DEFAULT_MAX_DOCUMENT_SIZE = 1024 * 1024  # bytes of canonical JSON
LOCAL_PREFIX = "_local/"
ALLOWED_SPECIAL = frozenset({"_id", "_rev", "_deleted", "_revisions"})
# CouchDB's rule: a lowercase letter, then lowercase letters, digits and _$()+-/
DB_NAME = re.compile(r"[a-z][a-z0-9_$()+/-]{0,237}")


@dataclass(frozen=True)
class Incoming:
    """A checked document ready to be written.

    `body` has no special (`_`) fields; `path` is the `_revisions` ancestry for
    replicated writes (new_edits=false), newest first, or None for interactive writes.
    """

    id: str
    rev: str | None
    deleted: bool
    body: dict
    path: dict | None
    body_json: str = ""  # compact JSON of `body` in its own key order, for storing


def check_database_name(name: object) -> str:
    if not isinstance(name, str) or not DB_NAME.fullmatch(name):
        raise InvalidDatabaseName(
            f"Name: {name!r}. Only lowercase characters (a-z), digits (0-9), and any of "
            "the characters _, $, (, ), +, -, and / are allowed. Must begin with a letter."
        )
    return name


def check_doc_id(doc_id: object) -> str:
    """A document id: a non-empty string not reserved for CouchDB's own documents."""
    if not isinstance(doc_id, str) or not doc_id:
        raise BadRequest("Document id must be a non-empty string.")
    if doc_id.startswith("_"):
        raise BadRequest(f"Only reserved document ids may start with underscore: {doc_id!r}.")
    return doc_id


def check_document(
    doc: Any, new_edits: bool, max_size: int = DEFAULT_MAX_DOCUMENT_SIZE
) -> Incoming:
    """Validate one document of a bulk write; raise a StoreError naming what is wrong."""
    if not isinstance(doc, dict):
        raise BadRequest("Document must be a JSON object.")
    doc_id = check_doc_id(doc.get("_id"))
    special = sorted(k for k in doc if k.startswith("_") and k not in ALLOWED_SPECIAL)
    if special:
        raise BadRequest(f"Bad special document member: {special[0]}")
    deleted = doc.get("_deleted", False)
    if not isinstance(deleted, bool):
        raise BadRequest("_deleted must be true or false.")
    rev, path = _revision(doc, new_edits)
    body = {k: v for k, v in doc.items() if not k.startswith("_")}
    body_json = _check_size(doc_id, body, max_size)
    return Incoming(doc_id, rev, deleted, body, path, body_json)


def _revision(doc: dict, new_edits: bool) -> tuple[str | None, dict | None]:
    rev = doc.get("_rev")
    try:
        if rev is not None:
            parse_rev(rev)
        if new_edits:
            return rev, None
        return rev, _path(doc, rev)
    except InvalidRevision as exc:
        raise BadRequest(f"Invalid rev format: {exc}") from None


def _path(doc: dict, rev: str | None) -> dict:
    """The `_revisions` ancestry of a replicated write, checked against `_rev`."""
    revisions = doc.get("_revisions")
    if revisions is None:
        if rev is None:
            raise BadRequest("Replicated writes (new_edits=false) need _rev or _revisions.")
        pos, digest = parse_rev(rev)
        return {"start": pos, "ids": [digest]}
    if not isinstance(revisions, dict) or not isinstance(revisions.get("ids"), list):
        raise BadRequest("_revisions must be an object with start and ids.")
    start, ids = revisions.get("start"), revisions["ids"]
    if not ids or not isinstance(start, int) or isinstance(start, bool) or start < len(ids):
        raise BadRequest("_revisions must have start >= number of ids and at least one id.")
    for offset, digest in enumerate(ids):
        parse_rev(f"{start - offset}-{digest}")
    if rev is not None and rev != f"{start}-{ids[0]}":
        raise BadRequest(f"_rev {rev} does not match _revisions {start}-{ids[0]}.")
    return {"start": start, "ids": list(ids)}


def _check_size(doc_id: str, body: dict, max_size: int) -> str:
    """The body as compact JSON (same length as its canonical form: only key order
    differs), rejected if it is not JSON or larger than `max_size` bytes."""
    try:
        text = json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise BadRequest(f"Document {doc_id} is not valid JSON: {exc}") from None
    size = len(text.encode("utf-8"))
    if size > max_size:
        raise DocumentTooLarge(f"Document {doc_id} is {size} bytes; the limit is {max_size}.")
    return text


def error_result(doc: Any, exc: StoreError) -> dict:
    """The per-document result CouchDB gives for a rejected document."""
    doc_id = doc.get("_id") if isinstance(doc, dict) else None
    return {"id": doc_id, "error": exc.error, "reason": exc.reason}
