"""Checking what a device pushes, document by document.

Each document is checked on its own — authorization, envelope, decryption, the wire
contract, state rules — and a rejected one is answered in CouchDB's per-document error
format while the rest of the batch is written. The error carries `"name": "forbidden"`
so PouchDB's replicator records it as denied and carries on instead of aborting, and
a stable `code` saying exactly why.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from mobile_schema import DocumentInvalid, validate_document, validate_envelope
from mobile_schema.envelope import MAX_REVISION_HASH, MAX_REVISION_POSITION
from sync.crypto import CryptoError, open_envelope

STATUS_ORDER = ("pending", "assessment", "active", "closed")
REVISION_FIELDS = ("_rev", "_revisions")
TOMBSTONE_FIELDS = frozenset({"_id", "_rev", "_deleted", "_revisions"})
SERVER_ONLY = ("merged_from", "merged_into")  # what the server's merge writes
# The bounds of the wire contract (`mobile_schema.envelope`), checked here before any
# lookup reads a revision.
# The canonical spelling `sync.revisions` takes, with both parts bounded.
_REV = re.compile(r"([1-9][0-9]{0,8})-([0-9a-f]{1,128})")
_REV_HASH = re.compile(r"[0-9a-f]{1,128}")


class Rejected(Exception):
    def __init__(self, code: str, reason: str, **details):
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.details = details


def revision_problem(rev: object) -> str | None:
    """Why `rev` is not a revision id the server takes (None if it is one)."""
    if not isinstance(rev, str):
        return "a revision id is a string"
    if not _REV.fullmatch(rev):
        return (
            f"{shown(rev)} is not a revision id (N-hex: N from 1 to {MAX_REVISION_POSITION},"
            f" up to {MAX_REVISION_HASH} lowercase hex digits)"
        )
    return None


def revisions_problem(revisions: object) -> str | None:
    """Why a `_revisions` value is not a revision path (None if it is one)."""
    if not isinstance(revisions, dict):
        return "_revisions must be an object with start and ids"
    start, ids = revisions.get("start"), revisions.get("ids")
    if not isinstance(start, int) or isinstance(start, bool):
        return "_revisions.start must be an integer"
    if not 1 <= start <= MAX_REVISION_POSITION:
        return f"_revisions.start must be from 1 to {MAX_REVISION_POSITION}"
    if not isinstance(ids, list) or not ids or len(ids) > start:
        return "_revisions.ids must be a list of 1 to start revision hashes"
    if not all(isinstance(i, str) and _REV_HASH.fullmatch(i) for i in ids):
        return f"_revisions.ids holds up to {MAX_REVISION_HASH} lowercase hex digits each"
    return None


def shown(value: object, limit: int = 40) -> str:
    """A client's value quoted in an error message (to the client only, never a log)."""
    text = value if isinstance(value, str) else repr(value)
    return json.dumps(text if len(text) <= limit else text[:limit] + "…")


def rejection(doc_id: object, exc: Rejected) -> dict:
    return {
        "id": doc_id,
        "error": "forbidden",
        "name": "forbidden",
        "reason": exc.reason,
        "code": exc.code,
        **exc.details,
    }


@dataclass
class Accepted:
    index: int
    case_id: str
    envelope: dict
    plaintext: dict | None  # None for a deletion
    visits: dict[str, str] = field(default_factory=dict)
    final_parent: dict | None = None  # set when this edits a final note: amend it


class PushChecker:
    """Checks one pushed document; needs the worker's cases, the doc index and keys."""

    def __init__(self, assigned: set[str], index: dict[str, str], keys, parent_of, worker: str):
        self.assigned = assigned
        self.index = index
        self.keys = keys
        self.parent_of = parent_of  # (case_id, doc_id, rev) -> plaintext or None
        self.worker = worker

    def check(self, position: int, doc: object, new_edits: bool) -> Accepted:
        if not isinstance(doc, dict) or not isinstance(doc.get("_id"), str):
            raise Rejected("bad_request", "a document is a JSON object with an _id")
        if doc.get("type") == "keyring":
            raise Rejected("keyring_read_only", "keyrings are written by the server only")
        self._revision_fields(doc, new_edits)
        reserved = [k for k in SERVER_ONLY if k in doc]
        if reserved:
            raise Rejected(
                "server_field", f"{reserved[0]} is written by the server's merge, never pushed"
            )
        if doc.get("_deleted") and "ciphertext" not in doc:
            return self._deletion(position, doc, new_edits)
        envelope = self._envelope(doc)
        case_id = self._case(doc["_id"], envelope["case_id"])
        plaintext = self._open(envelope)
        final_parent = self._state_rules(case_id, doc, plaintext, new_edits)
        visits = {}
        if plaintext.get("type") == "visit":
            visits[plaintext["_id"]] = plaintext["starts_at"][:10]
        return Accepted(position, case_id, doc, plaintext, visits, final_parent)

    def sealed(self, doc: object, new_edits: bool) -> tuple[dict, dict]:
        """The envelope and the opened, valid document of a push that is not a deletion,
        whatever its case (access events are checked against the cases a device held,
        not the ones assigned today: `device_views`)."""
        if not isinstance(doc, dict) or not isinstance(doc.get("_id"), str):
            raise Rejected("bad_request", "a document is a JSON object with an _id")
        self._revision_fields(doc, new_edits)
        reserved = [k for k in SERVER_ONLY if k in doc]
        if reserved:
            raise Rejected(
                "server_field", f"{reserved[0]} is written by the server's merge, never pushed"
            )
        envelope = self._envelope(doc)
        return envelope, self._open(envelope)

    def _deletion(self, position: int, doc: dict, new_edits: bool) -> Accepted:
        extra = sorted(set(doc) - TOMBSTONE_FIELDS)
        if extra:
            raise Rejected(
                "bad_envelope",
                f"a deletion carries only _id, _rev and _deleted (and _revisions): {extra[0]}",
            )
        case_id = self.index.get(doc["_id"])
        if case_id is None:
            raise Rejected("unknown_document", f"there is no document {doc['_id']} to delete")
        self._case(doc["_id"], case_id)
        parent = self._parent(case_id, doc, new_edits)
        if parent and parent.get("type") == "note" and parent.get("state") == "final":
            raise Rejected(
                "final_note_immutable", "a final note cannot be deleted; write an amendment instead"
            )
        return Accepted(position, case_id, doc, None)

    @staticmethod
    def _revision_fields(doc: dict, new_edits: bool) -> None:
        """`_rev` (and, replicated, `_revisions`) well formed and bounded: the parent
        lookups below read them before the store does."""
        problem = None if doc.get("_rev") is None else revision_problem(doc["_rev"])
        if problem is None and not new_edits and doc.get("_revisions") is not None:
            problem = revisions_problem(doc["_revisions"])
        if problem:
            raise Rejected("bad_request", f"document {shown(doc['_id'])}: {problem}")

    def _envelope(self, doc: dict) -> dict:
        try:
            return validate_envelope(doc)
        except DocumentInvalid as exc:
            raise Rejected(
                "bad_envelope", str(exc), problems=[p.to_json() for p in exc.problems]
            ) from None

    def _case(self, doc_id: str, case_id: str) -> str:
        if case_id not in self.assigned:
            raise Rejected("not_assigned", f"case {case_id} is not assigned to you")
        known = self.index.get(doc_id)
        if known is not None and known != case_id:
            raise Rejected("case_mismatch", f"document {doc_id} belongs to another case")
        return case_id

    def _open(self, envelope: dict) -> dict:
        try:
            plaintext = open_envelope(envelope, self.keys)
        except CryptoError as exc:
            raise Rejected(exc.code, str(exc)) from None
        try:
            plaintext = validate_document(plaintext)
        except DocumentInvalid as exc:
            raise Rejected(
                "doc_validation", str(exc), problems=[p.to_json() for p in exc.problems]
            ) from None
        if plaintext.get("type") == "observation":
            raise Rejected(
                "unsupported_doc_type",
                "observations are reported to the team, not stored in a case",
            )
        inner_case = plaintext["_id"] if plaintext["type"] == "case" else plaintext.get("case_id")
        if inner_case not in (None, envelope["case_id"]):
            raise Rejected("case_mismatch", "the document names another case than its envelope")
        return plaintext

    def _parent(self, case_id: str, doc: dict, new_edits: bool) -> dict | None:
        if new_edits:
            parent_rev = doc.get("_rev")
        else:
            path = doc.get("_revisions") or {}
            ids = path.get("ids") or []
            parent_rev = f"{path['start'] - 1}-{ids[1]}" if len(ids) > 1 else None
        return self.parent_of(case_id, doc["_id"], parent_rev) if parent_rev else None

    def _state_rules(self, case_id: str, doc: dict, plaintext: dict, new_edits: bool):
        """Refuse what can never be right; return the final parent of an edit that must
        become an amendment (the edit is kept, the note keeps its final content)."""
        parent = self._parent(case_id, doc, new_edits)
        self._acknowledgements(parent, plaintext)
        if parent is None:
            return None
        if parent.get("type") != plaintext.get("type"):
            raise Rejected("type_changed", "a document cannot change its type")
        final = parent.get("type") == "note" and parent.get("state") == "final"
        if parent.get("type") == "case":
            before, after = parent.get("status"), plaintext.get("status")
            if STATUS_ORDER.index(after) < STATUS_ORDER.index(before):
                raise Rejected(
                    "invalid_transition", f"case status cannot go back from {before} to {after}"
                )
        return parent if final and not _only_acknowledged(parent, plaintext) else None

    def _acknowledgements(self, parent: dict | None, plaintext: dict) -> None:
        """A worker acknowledges items in their own name only."""
        for ack in _new_acknowledgements(parent, plaintext):
            if ack.get("by") != self.worker:
                raise Rejected(
                    "acknowledgement_not_yours",
                    f"acknowledgement {ack.get('id')} names another worker than this "
                    "device's; a worker acknowledges items in their own name",
                )


def _acks(doc: dict | None) -> dict[str, dict[str, dict]]:
    """item id → {acknowledgement id → acknowledgement} of a document's items."""
    return {
        item.get("id"): {a.get("id"): a for a in item.get("acknowledged") or []}
        for item in (doc or {}).get("reconciliation") or []
    }


def _new_acknowledgements(parent: dict | None, doc: dict) -> list[dict]:
    before = _acks(parent)
    return [
        ack
        for item_id, acks in _acks(doc).items()
        for ack_id, ack in acks.items()
        if ack_id not in before.get(item_id, {})
    ]


def _only_acknowledged(final: dict, doc: dict) -> bool:
    """Is `doc` the final note exactly as it was, with items acknowledged and nothing
    else changed (content, stamps and items)? Then it is stored as it is."""
    strip = lambda d: {  # noqa: E731
        k: v for k, v in d.items() if k != "reconciliation" and k not in REVISION_FIELDS
    }
    if strip(final) != strip(doc):
        return False
    unacked = lambda d: [  # noqa: E731
        {k: v for k, v in item.items() if k != "acknowledged"}
        for item in d.get("reconciliation") or []
    ]
    if unacked(final) != unacked(doc):
        return False
    before, after = _acks(final), _acks(doc)
    return all(set(before[i]) <= set(after.get(i, {})) for i in before)
