"""A final note never changes: an edit that meets a finalisation becomes an amendment. Pure.

The legal record (DESIGN.md, "Legal record keeping") requires that a finalised note
stays exactly as it was finalised — its content and its author/time stamps — and that
corrections are separate amendment notes that keep the original readable. Offline pair
work breaks the usual order of events: one instructor finalises the note while the
other, on another device, is still editing it, or finalises it too. The merge then
keeps the first finalised version as the note and turns each other version into an
amendment (`kind: amendment`, `amends`: the note) authored by the person who wrote it,
with an id every node derives alike, so the amendment is created once however many
nodes perform the merge:

- an edit of a draft (or of the final note itself) becomes a *draft* amendment holding
  what that edit changed;
- a second finalisation with other content is kept as it was given, as a *final*
  amendment, and a `finalised_twice` item on the note names both finalisers.

The note's reconciliation items are not its content: acknowledgements of its items
from any side are kept, and items are added (never removed) by merges.
"""

from __future__ import annotations

from typing import Any

from mobile_schema.base import IMMUTABLE, RECONCILIATION_LIMIT, REVISION, STAMP, merge_fields

from .document import RECONCILIATION, reconciliation_entry, same
from .limits import fit
from .sides import Side, derived_id, ordered

REASON_FIELD = "amendment_reason"
ACKNOWLEDGED = "acknowledged"
_CONCURRENT = (
    "Muutos tehtiin toisella laitteella samaan aikaan, kun kirjaus viimeisteltiin, joten "
    "se tallennettiin korjauksena. (Concurrent offline edit of a note finalised on "
    "another device, kept as an amendment.)"
)
_AFTER_FINAL = (
    "Muutos tehtiin jo viimeisteltyyn kirjaukseen, joten se tallennettiin korjauksena. "
    "(Edit of a note that was already final, kept as an amendment.)"
)
_FINALISED_TWICE = (
    "Kirjaus viimeisteltiin toisella laitteella samaan aikaan eri sisällöllä; tämä "
    "versio säilytettiin sellaisenaan. (The note was finalised on another device at "
    "the same time with other content; this version is kept as it was finalised.)"
)


def is_frozen(schema_cls: type, doc: dict | None) -> bool:
    """Is `doc` in the state its schema declares immutable (a final note)?"""
    rule = getattr(schema_cls, "immutable_when", None)
    return rule is not None and isinstance(doc, dict) and doc.get(rule[0]) == rule[1]


def merge_frozen(
    schema_cls: type, base: dict | None, ours: Side, theirs: Side, key: bytes | None
) -> tuple[dict, list[dict], list[dict]]:
    """(the note as finalised, new reconciliation items on it, amendments to create)."""
    if is_frozen(schema_cls, base):
        note, note_side, reason = base, None, _AFTER_FINAL
    else:
        note_side = _first_finalised(schema_cls, ours, theirs)
        note, reason = note_side.doc, _CONCURRENT
    same_note = [s for s in (ours, theirs) if _frozen_part(s.doc) == _frozen_part(note)]
    amendments, added = [], []
    for editor in (s for s in (ours, theirs) if s not in same_note):
        if note_side is not None and is_frozen(schema_cls, editor.doc):
            amendment = _final_amendment(schema_cls, note, editor, key)
            if amendment is not None:
                added.append(_finalised_twice(note, note_side, editor, amendment))
        else:
            amendment = _amendment(schema_cls, note, base or {}, editor, reason, key)
        if amendment is not None:
            amendments.append(amendment)
    doc = _frozen_part(note) | {"_id": note["_id"]}
    limit = merge_fields(schema_cls)[RECONCILIATION].max_length or RECONCILIATION_LIMIT
    items = fit(_note_items(note, same_note, (ours, theirs)), added, limit)
    if items:
        doc[RECONCILIATION] = items
    return doc, added, amendments


def _frozen_part(doc: dict) -> dict:
    """What never changes on a final note: everything but its reconciliation items."""
    return {k: v for k, v in doc.items() if k != RECONCILIATION and not k.startswith("_")}


def _note_items(note: dict, same_note: list[Side], sides: tuple[Side, ...]) -> list[dict]:
    """The note's items: those of every version of the same final note, with every
    side's acknowledgements of them."""
    items: dict[str, dict] = {}
    for version in [note, *(s.doc for s in same_note)]:
        for item in version.get(RECONCILIATION) or []:
            items.setdefault(item["id"], dict(item))
    for s in sides:
        for item in s.doc.get(RECONCILIATION) or []:
            if item.get("id") in items:
                _add_acknowledgements(items[item["id"]], item.get(ACKNOWLEDGED) or [])
    return list(items.values())


def _add_acknowledgements(item: dict, acks: list[dict]) -> None:
    known = {a.get("id") for a in item.get(ACKNOWLEDGED) or []}
    fresh = [a for a in acks if a.get("id") not in known]
    if fresh:
        item[ACKNOWLEDGED] = [*(item.get(ACKNOWLEDGED) or []), *fresh]


def _first_finalised(schema_cls: type, ours: Side, theirs: Side) -> Side:
    """Of two finalisations, the first one made is the legal record."""
    finals = [s for s in (ours, theirs) if is_frozen(schema_cls, s.doc)]
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


def _amendable(schema_cls: type) -> list[str]:
    """Note fields an amendment can carry: the content, not identity, stamps or lifecycle."""
    skip = _lifecycle(schema_cls) | {RECONCILIATION, REASON_FIELD}
    return [
        k
        for k, f in merge_fields(schema_cls).items()
        if f.rule not in (IMMUTABLE, STAMP, REVISION) and k not in skip
    ]


def _amendment(schema_cls, note: dict, base: dict, editor: Side, reason: str, key) -> dict | None:
    """The draft amendment carrying what `editor` changed that the final note does not say."""
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


def _final_amendment(schema_cls, note: dict, editor: Side, key) -> dict | None:
    """A second finalisation with other content, kept exactly as it was finalised."""
    e = editor.doc
    fields = _amendable(schema_cls)
    if all(same(e.get(k), note.get(k)) for k in fields):
        return None  # both finalised the same text: one record is enough
    doc = _amendment_doc(note, editor, [k for k in fields if k in e], _FINALISED_TWICE, key)
    doc["state"] = "final"
    for k in _lifecycle(schema_cls) - {"state"}:
        doc[k] = e.get(k)
    return doc


def _finalised_twice(note: dict, note_side: Side, editor: Side, amendment: dict) -> dict:
    """The item on the note that names both finalisers and where each version is."""
    first, second = sorted(
        [(note["_id"], note_side), (amendment["_id"], editor)], key=lambda p: p[1].order_key()
    )
    return reconciliation_entry("", "finalised_twice", first, second)


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
