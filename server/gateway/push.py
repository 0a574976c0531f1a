"""Checking what a device pushes, document by document.

Each document is checked on its own — authorization, envelope, decryption, the wire
contract, state rules — and a rejected one is answered in CouchDB's per-document error
format while the rest of the batch is written. The error carries `"name": "forbidden"`
so PouchDB's replicator records it as denied and carries on instead of aborting, and
a stable `code` saying exactly why.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mobile_schema import DocumentInvalid, validate_document, validate_envelope
from sync.crypto import CryptoError, open_envelope

STATUS_ORDER = ("pending", "assessment", "active", "closed")
STAMP_FIELDS = ("updated_at", "updated_by", "_rev", "_revisions")


class Rejected(Exception):
    def __init__(self, code: str, reason: str, **details):
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.details = details


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

    def __init__(self, assigned: set[str], index: dict[str, str], keys, parent_of):
        self.assigned = assigned
        self.index = index
        self.keys = keys
        self.parent_of = parent_of  # (case_id, doc_id, rev) -> plaintext or None

    def check(self, position: int, doc: object, new_edits: bool) -> Accepted:
        if not isinstance(doc, dict) or not isinstance(doc.get("_id"), str):
            raise Rejected("bad_request", "a document is a JSON object with an _id")
        if doc.get("type") == "keyring":
            raise Rejected("keyring_read_only", "keyrings are written by the server only")
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

    def _deletion(self, position: int, doc: dict, new_edits: bool) -> Accepted:
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
        return parent if final and _content(parent) != _content(plaintext) else None


def _content(doc: dict) -> dict:
    return {k: v for k, v in doc.items() if k not in STAMP_FIELDS}
