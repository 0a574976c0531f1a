"""Deterministic three-way merge of concurrent revisions of one document. Pure: no I/O.

    result = merge(base, ours, theirs, SideMeta(rev=rev_a), SideMeta(rev=rev_b), key=k)
    result.doc          # the merged body (plaintext, no _rev)
    result.collisions   # reconciliation entries this merge added to result.doc
    result.extra_docs   # new documents to write too (amendments of a final note)
    result.revisions    # parent, merged rev and the losers' deletions (if revs given)

Rules (DESIGN.md, "Merge"): what only one side changed is taken; lists of items merge
by item id; free text merges sentence by sentence (`text`); what truly collides keeps
both versions in the document, in its `reconciliation` list naming both authors and
times; an edit that meets a final note becomes an amendment (`final`). How each field
merges is declared next to its schema (`mobile_schema.merge_rules`).

Every node computes the same result: the sides are put in a canonical order (earlier
revision first, see `sides`), so merge(base, a, b) == merge(base, b, a) byte for byte,
and the merged revision id is derived from the merged body (`merged_revisions`).
More than two leaves are merged with `merge_all`, which orders them canonically
first, so every node folds them in the same order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mobile_schema import DOC_TYPES, OLDEST_SUPPORTED
from mobile_schema.versions import CURRENT_VERSION, upgrade

from .document import DocumentMerge
from .final import is_frozen, merge_frozen
from .result import MergedRevisions, MergeResult, merged_revisions
from .sides import MergeError, Side, SideMeta, ordered, side, strip_meta
from .text import TextMerge, merge_text

__all__ = [
    "MergeError",
    "MergeResult",
    "MergedRevisions",
    "SideMeta",
    "TextMerge",
    "merge",
    "merge_all",
    "merge_text",
    "merged_revisions",
]


def merge(
    base: dict | None,
    ours: dict,
    theirs: dict,
    ours_meta: SideMeta | None = None,
    theirs_meta: SideMeta | None = None,
    *,
    key: bytes | None = None,
) -> MergeResult:
    """Merge two concurrent revisions of one plaintext document against their common
    ancestor `base` (None: both sides created the document independently).

    Which side is passed as `ours` does not matter. `key`, if given (the case's data
    key), keys the ids the merge derives (amendment ids, merged revision id) so they
    reveal nothing about the plaintext. Raises MergeError if the two cannot be merged.
    """
    return merge_all(base, [ours, theirs], [ours_meta, theirs_meta], key=key)


def merge_all(
    base: dict | None,
    leaves: Sequence[dict],
    metas: Sequence[SideMeta | None] | None = None,
    *,
    key: bytes | None = None,
) -> MergeResult:
    """Merge any number of conflicting leaves against their common ancestor `base`.

    The leaves are ordered canonically and folded pairwise, so every node that merges
    the same leaves, in whatever order it received them, gets the same body.
    """
    metas = list(metas) if metas is not None else [None] * len(leaves)
    sides = [side(_current(doc), meta) for doc, meta in zip(leaves, metas, strict=True)]
    if not sides:
        raise MergeError("nothing to merge")
    base_body = strip_meta(_current(base)) if isinstance(base, dict) else None
    schema = _schema(base_body, sides)
    unique = _canonical_order(sides)
    merged, collisions, extras = unique[0], [], {}
    for later in unique[1:]:
        first, second = ordered(merged, later)
        doc, found, made = _merge_pair(schema, base_body, first, second, key)
        merged = Side(doc, *_stamps(doc, second))
        collisions.extend(found)
        extras.update((a["_id"], a) for a in made if a["_id"] not in extras)
    doc = merged.doc
    revs = [s.rev for s in sides]
    revisions = merged_revisions(revs, doc, key) if all(revs) else None
    amendments = tuple(_copy(list(extras.values())))
    return MergeResult(_copy(doc), tuple(collisions), amendments, revisions)


def _merge_pair(schema: type, base: dict | None, first: Side, second: Side, key):
    """One pairwise merge: (body, new reconciliation entries, amendments)."""
    if is_frozen(schema, base) or is_frozen(schema, first.doc) or is_frozen(schema, second.doc):
        doc, amendments = merge_frozen(schema, base, first, second, key)
        return doc, [], amendments
    merger = DocumentMerge(first, second)
    return merger.document(schema, base), merger.collisions, []


def _canonical_order(sides: list[Side]) -> list[Side]:
    """Distinct bodies, earliest first; equal times and authors ordered by canonical JSON
    (computed only then: it is the costly part)."""
    distinct: list[Side] = []
    for s in sides:
        if not any(s.doc == d.doc for d in distinct):
            distinct.append(s)
    distinct.sort(key=Side.order_key)
    keys = [s.order_key() for s in distinct]
    if len(set(keys)) < len(keys):
        distinct.sort(key=lambda s: (s.order_key(), s.canonical))
    return distinct


def _stamps(doc: dict, later: Side) -> tuple[str, str]:
    """Author and time of an intermediate merged body: its own stamps, which came from
    one of the sides (the later side's author/time as the caller named them, if same)."""
    by, at = str(doc.get("updated_by") or later.by), str(doc.get("updated_at") or later.at)
    if (doc.get("updated_by"), doc.get("updated_at")) == (
        later.doc.get("updated_by"),
        later.doc.get("updated_at"),
    ):
        return later.by, later.at
    return by, at


def _schema(base: dict | None, sides: list[Side]) -> type:
    """The one schema all versions share; refuses to merge different documents."""
    docs = [s.doc for s in sides] + ([base] if base is not None else [])
    ids = {d.get("_id") for d in docs}
    types = {d.get("type") for d in docs}
    if len(ids) != 1:
        raise MergeError(f"cannot merge different documents: {sorted(map(str, ids))}")
    if len(types) != 1:
        raise MergeError(f"a document cannot change its type: {sorted(map(str, types))}")
    doc_type = types.pop()
    if doc_type not in DOC_TYPES:
        raise MergeError(f"unknown document type {doc_type!r}")
    return DOC_TYPES[doc_type]


def _current(doc: Any) -> Any:
    """An older-version body upgraded to the current contract (e.g. an old base)."""
    if not isinstance(doc, dict):
        return doc
    version = doc.get("schema_version")
    if type(version) is int and OLDEST_SUPPORTED <= version < CURRENT_VERSION:
        return upgrade(doc)
    return doc


def _copy(value: Any) -> Any:
    """A fresh copy of JSON data, so the result shares nothing with the inputs."""
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value
