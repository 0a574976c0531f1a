"""Deterministic three-way merge of concurrent revisions of one document. Pure: no I/O.

    result = merge(base, ours, theirs, SideMeta(rev=rev_a), SideMeta(rev=rev_b), key=k)
    result.doc          # the merged body (plaintext, no _rev)
    result.collisions   # reconciliation entries this merge added to result.doc
    result.extra_docs   # new documents to write too (amendments of a final note)
    result.revisions    # parent, merged rev, what it merged, the deletions (if revs given)

Rules (DESIGN.md, "Merge"): what only one side changed is taken; lists of items merge
by item id; free text merges sentence by sentence (`text`); what truly collides keeps
both versions in the document, in its `reconciliation` list naming both authors and
times; an edit that meets a final note becomes an amendment (`final`); a deletion
that meets an edit keeps the document and names the deleter (`deleted_edited`); a
merged document never breaks its own limits (`limits`). How each field merges is
declared next to its schema (`mobile_schema.merge_rules`).

Every node computes the same result: the sides are put in a canonical order (earlier
revision first, see `sides`), so merge(base, a, b) == merge(base, b, a) byte for byte,
and the merged revision id is derived from the merged body (`merged_revisions`).
More than two leaves are folded one at a time in that order.

The server merges the leaves of a stored document with `merge_leaves`, which finds the
base of each step in the document's history (`history`): the newest state both sides
contain, which after an earlier merge is newer than their common ancestor in the
revision tree. `merge` and `merge_all` take one given base.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import Any

from mobile_schema import DOC_TYPES, OLDEST_SUPPORTED
from mobile_schema.base import RECONCILIATION_LIMIT, merge_fields
from mobile_schema.versions import CURRENT_VERSION, upgrade

from .document import RECONCILIATION, DocumentMerge, reconciliation_entry
from .final import is_frozen, merge_frozen
from .history import Graph, Need, bases
from .limits import fit
from .result import MergedRevisions, MergeResult, merged_revisions
from .sides import MergeError, Side, SideMeta, ordered, side, strip_meta
from .text import TextMerge, merge_text

__all__ = [
    "Deletion",
    "Graph",
    "MergeError",
    "MergeResult",
    "MergedRevisions",
    "Need",
    "SideMeta",
    "TextMerge",
    "merge",
    "merge_all",
    "merge_leaves",
    "merge_text",
    "merged_revisions",
]

MAX_VIRTUAL_BASE_DEPTH = 3  # criss-cross merges nested deeper take the newest candidate


@dataclass(frozen=True)
class Deletion:
    """A deletion a device pushed while another device edited the document: who (the
    pushing device's worker) and when (the server received it). `leaf` is False when an
    earlier merge already put its deletion on top (another worker pushed the very same
    deletion since: two deletions of one revision are one revision)."""

    rev: str
    by: str
    at: str
    leaf: bool = True


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
    """Merge any number of conflicting leaves against one common ancestor `base`.

    The leaves are ordered canonically and folded pairwise, so every node that merges
    the same leaves, in whatever order it received them, gets the same body.
    """
    sides = _sides(leaves, metas)
    base_body = strip_meta(_current(base)) if isinstance(base, dict) else None
    schema = _schema(base_body, sides)
    fold = _fold(schema, sides, key, lambda _ours, _theirs: _given(base_body))
    merged, collisions, extras = _finish(fold)
    revs = [s.rev for s in sides]
    revisions = merged_revisions(revs, merged.doc, key) if all(revs) else None
    return MergeResult(_copy(merged.doc), tuple(collisions), tuple(_copy(extras)), revisions)


def merge_leaves(
    graph: Graph,
    leaves: Sequence[dict],
    metas: Sequence[SideMeta],
    deletions: Sequence[Deletion] = (),
    *,
    key: bytes | None = None,
) -> Generator[Need, None, MergeResult]:
    """Merge the live `leaves` of a stored document (each meta names its `rev`), and
    the device `deletions` that met them, each step against the newest state both
    sides contain (`history.bases`).

    A generator: it yields a `Need` whenever it must read revisions from the archive;
    the caller `graph.learn`s them and resumes it. Returns the MergeResult.
    """
    sides = _sides(leaves, metas)
    if not all(s.rev for s in sides):
        raise MergeError("merge_leaves needs the revision of every leaf")
    schema = _schema(None, sides)

    def base_of(ours: set[str], theirs: set[str]):
        return _base_body(graph, schema, ours, theirs, key, 0)

    merged, collisions, extras = yield from _fold(schema, sides, key, base_of)
    doc = merged.doc
    if deletions:
        doc, added = _with_deletions(schema, merged, deletions)
        collisions.extend(added)
    taken_in = sorted({d.rev for d in deletions if d.leaf})
    revisions = merged_revisions([s.rev for s in sides], doc, key, taken_in)
    return MergeResult(_copy(doc), tuple(collisions), tuple(_copy(extras)), revisions)


def _sides(leaves: Sequence[dict], metas) -> list[Side]:
    metas = list(metas) if metas is not None else [None] * len(leaves)
    sides = [side(_current(doc), meta) for doc, meta in zip(leaves, metas, strict=True)]
    if not sides:
        raise MergeError("nothing to merge")
    return sides


def _fold(schema: type, sides: list[Side], key, base_of):
    """Fold the distinct sides in canonical order: (merged side, new entries, amendments).

    A generator (the base of each step may need reading); `base_of(ours revs, theirs
    revs)` is a generator returning the base body of one step.
    """
    unique = _canonical_order(sides)
    merged, collisions, extras = unique[0], [], {}
    folded = _revs_of(sides, unique[0])
    for later in unique[1:]:
        base = yield from base_of(folded, _revs_of(sides, later))
        first, second = ordered(merged, later)
        doc, found, made = _merge_pair(schema, base, first, second, key)
        merged = Side(doc, *_stamps(doc, second))
        collisions.extend(found)
        extras.update((a["_id"], a) for a in made if a["_id"] not in extras)
        folded |= _revs_of(sides, later)
    return merged, collisions, list(extras.values())


def _revs_of(sides: list[Side], one: Side) -> set[str]:
    """The revisions of every side with the same body as `one` (deduplicated leaves)."""
    return {s.rev for s in sides if s.doc == one.doc and s.rev}


def _given(body):
    """A base that needs no reading (merge_all's one base), as a generator."""
    return body
    yield  # pragma: no cover - makes this a generator


def _finish(generator):
    """Run a generator that never needs to read anything to its result."""
    try:
        next(generator)
    except StopIteration as done:
        return done.value
    raise MergeError("this merge needs the document's history: use merge_leaves")


def _base_body(graph: Graph, schema: type, ours, theirs, key, depth: int):
    """The body of the newest state both sides contain. After a criss-cross merge
    there are several; they are merged themselves (recursively) into a virtual base,
    as git's recursive merge does, so no side's change looks new twice."""
    found = yield from bases(graph, ours, theirs)
    live = sorted((r for r in found if graph.bodies.get(r) is not None), key=_rank)
    if not live:
        return None
    if len(live) == 1 or depth >= MAX_VIRTUAL_BASE_DEPTH:
        return strip_meta(_current(graph.bodies[live[-1]]))
    candidates = [side(_current(graph.bodies[r]), SideMeta(rev=r)) for r in live]

    def base_of(a: set[str], b: set[str]):
        return _base_body(graph, schema, a, b, key, depth + 1)

    merged, _collisions, _amendments = yield from _fold(schema, candidates, key, base_of)
    return merged.doc


def _rank(rev: str) -> tuple[int, str]:
    pos, _, digest = rev.partition("-")
    return int(pos), digest


def _with_deletions(schema: type, merged: Side, deletions: Sequence[Deletion]):
    """The kept document with one `deleted_edited` item per deletion that met it."""
    doc = dict(merged.doc)
    added = []
    for deletion in sorted(deletions, key=lambda d: (d.at, d.by, d.rev)):
        deleter = Side({}, deletion.by, deletion.at)
        pairs = sorted([(None, deleter), (doc["_id"], merged)], key=lambda p: p[1].order_key())
        added.append(reconciliation_entry("", "deleted_edited", *pairs, deletion.rev))
    limit = merge_fields(schema)[RECONCILIATION].max_length or RECONCILIATION_LIMIT
    doc[RECONCILIATION] = fit(list(doc.get(RECONCILIATION) or []), added, limit)
    return doc, added


def _merge_pair(schema: type, base: dict | None, first: Side, second: Side, key):
    """One pairwise merge: (body, new reconciliation entries, amendments)."""
    if is_frozen(schema, base) or is_frozen(schema, first.doc) or is_frozen(schema, second.doc):
        return merge_frozen(schema, base, first, second, key)
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
