"""Field-aware three-way merge of one document, by the rules its schema declares. Pure.

Each field merges by its rule (`mobile_schema.base`): what only one side changed is
taken; what both changed alike is taken once; what both changed differently is
resolved by the rule and, where the two versions really differ, recorded as a
reconciliation entry naming both authors, so nothing is lost or silently hidden.
"""

from __future__ import annotations

from typing import Any

from mobile_schema.base import REVISION, STAMP, MergeField, merge_fields

from ..revisions import canonical_json
from .limits import fit, fits_in_item
from .sides import MergeError, Side, derived_id
from .text import merge_text

MISSING: Any = type("Missing", (), {"__repr__": lambda self: "MISSING"})()
RECONCILIATION = "reconciliation"


class DocumentMerge:
    """One merge of two sides (`ours` earlier, `theirs` later) against a base."""

    def __init__(self, ours: Side, theirs: Side) -> None:
        self.ours, self.theirs = ours, theirs
        self.collisions: list[dict] = []
        self.stamps: dict = theirs.doc

    def document(self, schema_cls: type, base: dict | None) -> dict:
        """The merged body, with new reconciliation entries appended to the old ones
        (within the document's limit on them, see `limits.fit`)."""
        self.stamps = stamp_source(schema_cls, base, self.ours.doc, self.theirs.doc)
        out = self.object(schema_cls, base, self.ours.doc, self.theirs.doc, "")
        entries = list(out.get(RECONCILIATION) or [])
        limit = merge_fields(schema_cls)[RECONCILIATION].max_length or len(entries) + 1
        if self.collisions or len(entries) > limit:
            fitted = fit(entries, self.collisions, limit, self._whole_field)
            before = {e.get("id") for e in entries}
            self.collisions = [e for e in fitted if e["id"] not in before]
            out[RECONCILIATION] = fitted
        return out

    def _whole_field(self, name: str, entries: list[dict]) -> dict | None:
        """Several collisions in one field as one item with both sides' whole field."""
        ours, theirs = self.ours.doc.get(name), self.theirs.doc.get(name)
        if not (fits_in_item(ours) and fits_in_item(theirs)):
            return None
        return self.entry(f"/{name}", "field", ours, theirs)

    def object(self, schema_cls: type, base: Any, ours: dict, theirs: dict, path: str) -> dict:
        """Merge two versions of one object field by field, in schema order."""
        fields = merge_fields(schema_cls)
        _check_known(fields, ours, theirs, path)
        base = base if isinstance(base, dict) else {}
        out: dict = {}
        for key, fld in fields.items():
            if fld.rule == REVISION:
                continue
            if fld.rule == STAMP:
                value = self.stamps.get(key, MISSING)
            else:
                trio = base.get(key, MISSING), ours.get(key, MISSING), theirs.get(key, MISSING)
                value = self.field(fld, *trio, f"{path}/{key}")
            if value is not MISSING:
                out[key] = value
        _repair_required(schema_cls, out, (theirs, ours, base))
        return out

    def field(self, fld: MergeField, b: Any, o: Any, t: Any, path: str) -> Any:
        """One field: one-sided and identical changes are taken; the rule settles the rest."""
        if o == t:
            return o
        if same(o, t) or same(o, b):
            return t
        if same(t, b):
            return o
        return getattr(self, "_" + fld.rule)(fld, b, o, t, path)

    # ------------------------------------------------------------ both changed

    def _immutable(self, fld: MergeField, b: Any, o: Any, t: Any, path: str) -> Any:
        """Fixed at creation: the original stays (the earlier side's, if both created it)."""
        self.record(path, "value", o, t)
        return b if b is not MISSING and b is not None else o

    def _scalar(self, fld: MergeField, b: Any, o: Any, t: Any, path: str) -> Any:
        """The later side's value stays; both are recorded."""
        self.record(path, "value", o, t)
        return t

    def _progress(self, fld: MergeField, b: Any, o: Any, t: Any, path: str) -> Any:
        """A lifecycle moves only forward: the furthest value implies the other one."""
        choices = fld.choices or ()
        if o not in choices or t not in choices:
            return self._scalar(fld, b, o, t, path)
        return o if choices.index(o) > choices.index(t) else t

    def _text(self, fld: MergeField, b: Any, o: Any, t: Any, path: str) -> Any:
        """Sentence by sentence; each overlapping edit is one reconciliation entry."""
        merged = merge_text(_str(b), _str(o), _str(t))
        if fld.max_length is not None and len(merged.text) > fld.max_length:
            self.record(path, "value", o, t)  # both in full; the field keeps the later text
            return t
        for ours_part, theirs_part in merged.collisions:
            self.record(path, "text", ours_part, theirs_part)
        if merged.text == "" and (o is None or o is MISSING or t is None or t is MISSING):
            return t if t is not MISSING else o
        return merged.text

    def _object(self, fld: MergeField, b: Any, o: Any, t: Any, path: str) -> Any:
        """Field by field; removed on one side and edited on the other: the edit stays."""
        if isinstance(o, dict) and isinstance(t, dict):
            return self.object(fld.nested, b, o, t, path)
        if isinstance(o, dict) or isinstance(t, dict):
            self.record(path, "removed_edited", o, t)
            return o if isinstance(o, dict) else t
        return self._scalar(fld, b, o, t, path)

    def _items(self, fld: MergeField, b: Any, o: Any, t: Any, path: str) -> list:
        """By item id: additions of both kept, removals applied unless the other side
        edited the item (then it stays, marked), both edits merged field by field.

        The document's own reconciliation items are special: removing one is how a
        worker resolves it, so a removal wins over the other side's acknowledgement,
        and their number is kept within bounds by `limits.fit`, not here.
        """
        own_items = path == f"/{RECONCILIATION}"
        base, ours, theirs = _by_id(b, path), _by_id(o, path), _by_id(t, path)
        kept: dict[str, dict] = {}
        for item_id in _union(theirs, ours, base):
            item = self._item(fld, item_id, base, ours, theirs, f"{path}/{item_id}", own_items)
            if item is not None:
                kept[item_id] = item
        merged = [kept[i] for i in _order(list(theirs), list(ours), kept)]
        return merged if own_items else self._within(fld, merged, o, t, path)

    def _item(self, fld, item_id, base, ours, theirs, path, quiet: bool) -> dict | None:
        """One item's fate; None when it is removed."""
        b, o, t = base.get(item_id), ours.get(item_id), theirs.get(item_id)
        if o is not None and t is not None:
            return t if o == t else self.object(fld.nested, b, o, t, path)
        present = o if o is not None else t
        if present is None:  # removed on both sides
            return None
        if b is None:  # added on one side
            return present
        if quiet or same(present, b):  # removed on one side, untouched on the other
            return None
        self.record(path, "removed_edited", o, t)
        return present

    def _set(self, fld: MergeField, b: Any, o: Any, t: Any, path: str) -> list:
        """Plain values: each side's additions and removals apply."""
        base, ours, theirs = _values(b, path), _values(o, path), _values(t, path)
        kept = {
            v: True
            for v in _union(theirs, ours, {})
            if not (v in base and (v not in ours or v not in theirs))
        }
        return self._within(fld, _order(list(theirs), list(ours), kept), o, t, path)

    def _within(self, fld: MergeField, merged: list, o: Any, t: Any, path: str) -> list:
        """A merged list longer than its field allows: the later list stays, and one
        item holds both whole lists (nothing either side wrote is out of sight)."""
        if fld.max_length is None or len(merged) <= fld.max_length:
            return merged
        self.record(path, "value", o, t)
        return list(t) if isinstance(t, list) else merged[: fld.max_length]

    # ------------------------------------------------------------- recording

    def record(self, path: str, kind: str, ours: Any, theirs: Any) -> None:
        """Keep a collision as a reconciliation entry of this merge."""
        self.collisions.append(self.entry(path, kind, ours, theirs))

    def entry(self, path: str, kind: str, ours: Any, theirs: Any) -> dict:
        """A reconciliation entry: both values as JSON text, both authors and times."""
        return reconciliation_entry(path, kind, (ours, self.ours), (theirs, self.theirs))


def reconciliation_entry(path: str, kind: str, ours: tuple, theirs: tuple, *salt) -> dict:
    """An entry from (value, side) pairs, its id derived from its content (and `salt`),
    so every node that records the same collision gives it the same id."""
    (ours_value, ours_side), (theirs_value, theirs_side) = ours, theirs
    entry = {
        "path": path,
        "kind": kind,
        "ours": _json(ours_value),
        "ours_by": ours_side.by,
        "ours_at": ours_side.at,
        "theirs": _json(theirs_value),
        "theirs_by": theirs_side.by,
        "theirs_at": theirs_side.at,
    }
    return {"id": derived_id(None, "reconciliation", entry, *salt), **entry}


def stamp_source(schema_cls: type, base: dict | None, ours: dict, theirs: dict) -> dict:
    """The side whose author/time/version the merged body carries: the later one, unless
    only the earlier one was written since the base (then the merge *is* that side)."""
    keys = [k for k, f in merge_fields(schema_cls).items() if f.rule == STAMP]
    if base is None:
        return theirs
    stamp = lambda d: [d.get(k) for k in keys]  # noqa: E731
    if stamp(theirs) == stamp(base) and stamp(ours) != stamp(base):
        return ours
    return theirs


def _check_known(fields: dict[str, MergeField], ours: dict, theirs: dict, path: str) -> None:
    """A field the schema does not know cannot be merged by a rule: refuse, not drop."""
    for doc in (ours, theirs):
        unknown = [k for k in doc if k not in fields]
        if unknown:
            raise MergeError(f"{path or '/'}: fields without a merge rule: {sorted(unknown)}")


def _repair_required(schema_cls: type, out: dict, sources: tuple) -> None:
    """Fields picked from different sides can break a `RequiredWhen` rule (an interpreter
    without a language): fill the missing value from a side that has it."""
    for rule in getattr(schema_cls, "required_when", ()):
        if not rule.applies(out):
            continue
        for key in rule.then:
            if out.get(key) is None:
                value = next((s.get(key) for s in sources if s.get(key) is not None), None)
                if value is not None:
                    out[key] = value


def _clean(value: Any) -> Any:
    """`value` with absent and null object members made the same (both mean "no value")."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return None if value is MISSING else value


def same(a: Any, b: Any) -> bool:
    """Equal, counting an absent value, null, and an object member that is null alike."""
    if a == b:
        return True
    if a is None or a is MISSING or b is None or b is MISSING:
        return (a is None or a is MISSING) and (b is None or b is MISSING)
    if type(a) is not type(b) or not isinstance(a, dict | list):
        return False
    return _clean(a) == _clean(b)


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _json(value: Any) -> str:
    return canonical_json(None if value is MISSING else value).decode("utf-8")


def _by_id(value: Any, path: str) -> dict[str, dict]:
    """A list of items keyed by `id`, refusing items without one or with a duplicate."""
    if value is MISSING or value is None:
        return {}
    if not isinstance(value, list):
        raise MergeError(f"{path}: expected a list of items")
    out: dict[str, dict] = {}
    for item in value:
        item_id = item.get("id") if isinstance(item, dict) else None
        if not isinstance(item_id, str):
            raise MergeError(f"{path}: every item needs a string id to merge by")
        if item_id in out:
            raise MergeError(f"{path}: item id {item_id} appears twice")
        out[item_id] = item
    return out


def _values(value: Any, path: str) -> dict:
    """A list of plain values as an ordered set."""
    if value is MISSING or value is None:
        return {}
    if not isinstance(value, list):
        raise MergeError(f"{path}: expected a list")
    try:
        return dict.fromkeys(value, True)
    except TypeError:
        raise MergeError(f"{path}: expected plain values") from None


def _union(*keyed: dict) -> list:
    """Keys of all the dicts, first-seen order."""
    out: dict = {}
    for d in keyed:
        out.update(dict.fromkeys(d))
    return list(out)


def _order(theirs: list, ours: list, kept: dict) -> list:
    """Result order: the later side's order, with what only the earlier side has placed
    right after its predecessor there (so both sides' additions at one spot keep the
    earlier side's first)."""
    out = [k for k in theirs if k in kept]
    placed = set(out)
    for index, k in enumerate(ours):
        if k not in kept or k in placed:
            continue
        before = next((p for p in reversed(ours[:index]) if p in placed), None)
        out.insert(0 if before is None else out.index(before) + 1, k)
        placed.add(k)
    return out
