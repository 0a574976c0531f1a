"""Which device-side views the access log accepts. Pure: no I/O.

A device records each time its worker opens client documents as an `access_event`
(mobile_schema/access_event.py) and pushes it with the next sync. The server cannot
see the view happen, so it accepts only what the device could truthfully claim: a
view by the device's own worker on this very device, of documents that belong to the
event's case, of a case this device held. Events are append-only: an event id is
accepted once, with one revision; sending that same revision again is harmless (no
second row), anything else under its id — an edit, a deletion, another first
revision — is refused. The gateway gathers the facts (`Facts`) and writes; this module
only decides, so the rules can be tested on their own (docs/adr/013-device-side-views.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# Stable codes of a refused event, answered per document in `_bulk_docs`.
IMMUTABLE = "access_event_immutable"  # an edit, a deletion, or a reused event id
NOT_YOURS = "access_event_not_yours"  # another worker's or another device's event
NOT_HELD = "case_not_held"  # a case this device never held
UNKNOWN_DOCUMENT = "unknown_document"  # a viewed id the server has no document of
CASE_MISMATCH = "case_mismatch"  # a viewed document of another case than the event's
TYPE_CHANGED = "type_changed"  # an event under the id of an existing document


@dataclass(frozen=True)
class Refusal:
    code: str
    reason: str


@dataclass(frozen=True)
class Facts:
    """What the server knows about one pushed event, gathered before the verdict."""

    worker_id: str  # the authenticated device's worker
    device_id: str  # the authenticated device
    held: bool  # this device held the event's case (delivered, pushed, or purged)
    doc_cases: Mapping[str, str]  # viewed doc id → its case, for the ids the server knows
    recorded_rev: str | None = None  # the revision accepted before under this event id
    is_document: bool = False  # the event id is the id of a case document


def first_revision(rev: str, revisions: object) -> bool:
    """Is `rev` (with its replicated `_revisions`, if any) a document's first revision?"""
    if isinstance(revisions, Mapping):
        return revisions.get("start") == 1
    return rev.startswith("1-")


def again(rev: str, facts: Facts) -> bool:
    """The same event sent again: accepted, and nothing more is written."""
    return facts.recorded_rev == rev


def edit_refusal(event_id: str | None, recorded_rev: str | None) -> Refusal | None:
    """Why a deletion, or a document of another type, under `event_id` is refused:
    None if no event was recorded under that id (it is then no event at all)."""
    if recorded_rev is None:
        return None
    return Refusal(
        IMMUTABLE,
        f"access event {event_id} is kept as it was first pushed: an access event is "
        "never changed or deleted (write a new one)",
    )


def refusal(event: Mapping, case_id: str, rev: str, first: bool, facts: Facts) -> Refusal | None:
    """Why the opened event `event` of case `case_id`, pushed as revision `rev`, is
    refused; None: accept it. `first` says whether `rev` is a first revision; the same
    event sent again (`again`) is answered before this is asked."""
    event_id = event["_id"]
    if facts.is_document:
        return Refusal(TYPE_CHANGED, f"{event_id} is a document of a case, not an access event")
    if facts.recorded_rev is not None or not first:
        return Refusal(
            IMMUTABLE,
            f"access event {event_id} is written once and never changed: this is an edit "
            "of it (write a new event with a new id)",
        )
    if event.get("updated_by") != facts.worker_id or event.get("created_by") not in (
        None,
        facts.worker_id,
    ):
        return Refusal(NOT_YOURS, "an access event names the device's own worker as its author")
    if event.get("device_id") != facts.device_id:
        return Refusal(NOT_YOURS, "an access event names the device that pushes it")
    if not facts.held:
        return Refusal(NOT_HELD, f"this device never held case {case_id}")
    return _documents_refusal(event.get("doc_ids") or [], case_id, facts)


def _documents_refusal(doc_ids: list[str], case_id: str, facts: Facts) -> Refusal | None:
    for doc_id in doc_ids:
        known = facts.doc_cases.get(doc_id)
        if known is None:
            return Refusal(
                UNKNOWN_DOCUMENT,
                f"there is no document {doc_id} (push a document before a view of it)",
            )
        if known != case_id:
            return Refusal(CASE_MISMATCH, f"document {doc_id} is not a document of case {case_id}")
    return None
