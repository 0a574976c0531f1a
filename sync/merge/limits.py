"""Keeping a merged document within its own limits, without hiding anything. Pure.

A merge must never fail because its result would break the document's limits: the
push that caused it would error, and the server would keep two live leaves while every
device shows only one of them. Three limits can be reached by merging two valid
documents, and each has a rule that keeps every version visible:

- a text longer than its field allows: the field keeps the later text, and one item
  holds both whole texts (`DocumentMerge._text`);
- a list of items (or values) longer than its field allows: the field keeps the later
  list, and one item holds both whole lists (`DocumentMerge._items`, `_set`);
- more reconciliation items than a document may hold (`fit`): first the new
  collisions of each field are collapsed into one `field` item holding both sides'
  whole field, then the oldest items are moved, verbatim, into one `compacted` item.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mobile_schema.base import RECONCILED_VALUE_LIMIT

from ..revisions import canonical_json
from .sides import Side, derived_id


def fit(
    items: list[dict],
    new: list[dict],
    limit: int,
    collapse: Callable[[str, list[dict]], dict | None] | None = None,
) -> list[dict]:
    """`items` followed by the `new` ones, within `limit` items.

    `collapse(field, entries)` may turn several new entries of one top-level field into
    one; `None` keeps them as they are.
    """
    known = {item.get("id") for item in items}
    new = [entry for entry in new if entry["id"] not in known]
    if len(items) + len(new) > limit and collapse is not None:
        new = _collapsed(new, collapse)
    out = items + new
    if len(out) <= limit:
        return out
    return compact(out, len(out) - limit + 1)


def _collapsed(new: list[dict], collapse) -> list[dict]:
    """One item per top-level field that has several new collisions."""
    by_field: dict[str, list[dict]] = {}
    for entry in new:
        by_field.setdefault(top_field(entry["path"]), []).append(entry)
    out = []
    for name, entries in by_field.items():
        merged = collapse(name, entries) if len(entries) > 1 and name else None
        out.extend([merged] if merged is not None else entries)
    return out


def top_field(path: str) -> str:
    """`/goals/<id>/title` → `goals`; the whole document (``""``) → ``""``."""
    return path.split("/")[1] if path.startswith("/") else ""


def compact(items: list[dict], count: int) -> list[dict]:
    """Move the first `count` items into one `compacted` item, kept first in the list.

    Items already compacted are flattened into the new one, so compaction never nests
    and nothing is dropped.
    """
    moved: list[dict] = []
    for item in items[:count]:
        if item.get("kind") == "compacted":
            moved.extend(item.get("compacted") or [])
        else:
            moved.append(item)
    first = min(moved, key=lambda i: Side({}, i["ours_by"], i["ours_at"]).order_key())
    last = max(moved, key=lambda i: Side({}, i["theirs_by"], i["theirs_at"]).order_key())
    item = {
        "id": derived_id(None, "compacted", [i["id"] for i in moved]),
        "path": "",
        "kind": "compacted",
        "ours": "null",
        "ours_by": first["ours_by"],
        "ours_at": first["ours_at"],
        "theirs": "null",
        "theirs_by": last["theirs_by"],
        "theirs_at": last["theirs_at"],
        "compacted": moved,
    }
    return [item, *items[count:]]


def fits_in_item(value: Any) -> bool:
    """Can `value`, as JSON text, be one side of a reconciliation item?"""
    return len(canonical_json(value).decode("utf-8")) <= RECONCILED_VALUE_LIMIT
