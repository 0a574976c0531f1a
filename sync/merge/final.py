"""A final note never changes: an edit that meets a finalisation becomes an amendment. Pure.

The legal record (DESIGN.md, "Legal record keeping") requires that a finalised note
stays exactly as it was finalised and that corrections are separate amendment notes
that keep the original readable. Offline pair work breaks the usual order of events:
one instructor finalises the note while the other, on another device, is still
editing it. The merge then keeps the finalised version as the note and turns the other
side's edit into an amendment (`kind: amendment`, `amends`: the note), authored by the
person who made the edit, with an id every node derives alike, so the amendment is
created once however many nodes perform the merge. An edit to a note that was already
final in the base is treated the same way.
"""

from __future__ import annotations

from typing import Any

from mobile_schema.base import IMMUTABLE, REVISION, STAMP, merge_fields

from .document import RECONCILIATION, same, stamp_source
from .sides import Side, derived_id, ordered

REASON_FIELD = "amendment_reason"
_CONCURRENT = (
    "Muutos tehtiin toisella laitteella samaan aikaan, kun kirjaus viimeisteltiin, joten "
    "se tallennettiin korjauksena. (Concurrent offline edit of a note finalised on "
    "another device, kept as an amendment.)"
)
_AFTER_FINAL = (
    "Muutos tehtiin jo viimeisteltyyn kirjaukseen, joten se tallennettiin korjauksena. "
    "(Edit of a note that was already final, kept as an amendment.)"
)


def is_frozen(schema_cls: type, doc: dict | None) -> bool:
    """Is `doc` in the state its schema declares immutable (a final note)?"""
    rule = getattr(schema_cls, "immutable_when", None)
    return rule is not None and isinstance(doc, dict) and doc.get(rule[0]) == rule[1]


def merge_frozen(
    schema_cls: type, base: dict | None, ours: Side, theirs: Side, key: bytes | None
) -> tuple[dict, list[dict]]:
    """The merged note (the finalised version, untouched) and the amendments to create."""
    if is_frozen(schema_cls, base):
        note, editors, reason = base, [ours, theirs], _AFTER_FINAL
    else:
        finals = [s for s in (ours, theirs) if is_frozen(schema_cls, s.doc)]
        first = _first_finalised(finals)
        editors = [s for s in (ours, theirs) if s is not first]
        note, reason = first.doc, _CONCURRENT
    doc = _with_stamps(schema_cls, note, base, ours.doc, theirs.doc)
    amendments = [_amendment(schema_cls, note, base or {}, s, reason, key) for s in editors]
    return doc, [a for a in amendments if a is not None]


def _first_finalised(finals: list[Side]) -> Side:
    """Of two finalisations, the first one made is the legal record."""
    if len(finals) == 1:
        return finals[0]
    a, b = finals
    earlier, _ = ordered(
        Side(a.doc, str(a.doc.get("finalised_by") or ""), str(a.doc.get("finalised_at") or "")),
        Side(b.doc, str(b.doc.get("finalised_by") or ""), str(b.doc.get("finalised_at") or "")),
    )
    return a if earlier.doc is a.doc else b


def _lifecycle(schema_cls: type) -> set[str]:
    state = schema_cls.immutable_when[0]
    return {state} | {k for r in schema_cls.required_when if r.when == state for k in r.then}


def _with_stamps(schema_cls: type, note: dict, base, ours: dict, theirs: dict) -> dict:
    """The note's content exactly as finalised, with the merge's author/time stamps."""
    fields = merge_fields(schema_cls)
    stamps = stamp_source(schema_cls, base, ours, theirs)
    out = {}
    for key, fld in fields.items():
        if fld.rule == REVISION:
            continue
        source = stamps if fld.rule == STAMP else note
        if key in source:
            out[key] = source[key]
    return out


def _amendable(schema_cls: type) -> list[str]:
    """Note fields an amendment can carry: the content, not identity, stamps or lifecycle."""
    skip = _lifecycle(schema_cls) | {RECONCILIATION, REASON_FIELD}
    return [
        k
        for k, f in merge_fields(schema_cls).items()
        if f.rule not in (IMMUTABLE, STAMP, REVISION) and k not in skip
    ]


def _amendment(schema_cls, note: dict, base: dict, editor: Side, reason: str, key) -> dict | None:
    """The amendment carrying what `editor` changed that the final note does not say."""
    e = editor.doc
    changed = [
        k
        for k in _amendable(schema_cls)
        if not same(e.get(k), base.get(k)) and not same(e.get(k), note.get(k))
    ]
    own_reason = e.get(REASON_FIELD)
    if own_reason and not same(own_reason, base.get(REASON_FIELD)):
        if not same(own_reason, note.get(REASON_FIELD)):
            reason = f"{reason}\n\n{own_reason}"
    else:
        own_reason = None
    known = {entry.get("id") for entry in note.get(RECONCILIATION) or []}
    open_entries = [x for x in e.get(RECONCILIATION) or [] if x.get("id") not in known]
    if not changed and own_reason is None and not open_entries:
        return None
    reason = f"{reason} Muutetut kentät / changed fields: {', '.join(changed) or '-'}."
    doc = _amendment_doc(note, editor, changed, reason, key)
    if open_entries:  # collisions the editor's version still held stay open, here
        doc[RECONCILIATION] = open_entries
    return doc


def _amendment_doc(note: dict, editor: Side, changed: list[str], reason: str, key) -> dict:
    e = editor.doc
    doc: dict[str, Any] = {
        "_id": derived_id(key, "amendment", note["_id"], e),
        "type": note["type"],
        "schema_version": e.get("schema_version", note.get("schema_version")),
        "case_id": note["case_id"],
        "kind": "amendment",
        "amends": note["_id"],
        "amendment_reason": reason,
        "occurred_at": e.get("occurred_at") or note.get("occurred_at"),
        "state": "draft",
        "created_at": editor.at,
        "created_by": editor.by,
        "updated_at": editor.at,
        "updated_by": editor.by,
    }
    if note.get("visit_id"):
        doc["visit_id"] = note["visit_id"]
    for k in changed:
        doc[k] = e.get(k)  # null too: the editor emptied the field
    return doc
