"""Revision ids and revision trees with CouchDB semantics. Pure: no I/O.

Every store (embedded SQLite, CouchDB/Cloudant mirror) and the replicator agree on
which revision wins and what conflicts exist only if they all run the *same* rules,
so those rules live here, once, and match CouchDB's (``couch_doc:to_doc_info``,
``couch_key_tree``) and PouchDB's (``pouchdb-merge``) so that unmodified PouchDB
clients see the same winner the server sees.

Revision ids are ``"N-hash"``. Sopu computes the hash deterministically from the
parent revision, the deleted flag and the body (:func:`rev_hash`), so two servers
that perform the same merge produce the same revision id and do not create a
spurious conflict between themselves.
"""

import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "TREE_JSON_VERSION",
    "InvalidRevision",
    "RevTree",
    "RevisionConflict",
    "canonical_json",
    "next_rev",
    "parse_rev",
    "rev_hash",
]

#: Version tag written into :meth:`RevTree.to_json`, so a stored tree can be migrated.
TREE_JSON_VERSION = 1

# Only canonical spellings are accepted (no sign, no leading zero, lowercase hex), so one
# revision has exactly one string form and string equality is revision equality.
_REV_RE = re.compile(r"([1-9][0-9]*)-([0-9a-f]+)", re.ASCII)
_HASH_RE = re.compile(r"[0-9a-f]+", re.ASCII)


class InvalidRevision(ValueError):
    """A revision id or ``_revisions`` value that is not well formed.

    A ``ValueError`` so generic input validation catches it; the offending value is kept
    in ``value`` so the HTTP layer can name it in CouchDB's ``bad_request`` reply.
    """

    def __init__(self, value: object, reason: str = "expected 'N-hex' with N >= 1") -> None:
        super().__init__(f"invalid revision {value!r}: {reason}")
        self.value = value


class RevisionConflict(Exception):
    """An interactive edit (``new_edits=true``) that does not extend a current leaf.

    CouchDB answers this with 409 ``conflict``; it is not a ValueError because the input
    is well formed, only stale.
    """


def parse_rev(rev: object) -> tuple[int, str]:
    """Split ``"N-hash"`` into ``(N, hash)``, rejecting every non-canonical spelling."""
    if not isinstance(rev, str):
        raise InvalidRevision(rev, "not a string")
    match = _REV_RE.fullmatch(rev)
    if match is None:
        raise InvalidRevision(rev)
    return int(match.group(1)), match.group(2)


def _rev_order(rev: str) -> tuple[int, str]:
    """Sort key ``(pos, hash)``: parents sort before children, ties break by hash."""
    pos, _, digest = rev.partition("-")
    return int(pos), digest


def canonical_json(body: Any) -> bytes:
    """Serialise ``body`` to one byte string per value, so hashes are reproducible."""
    text = json.dumps(
        body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return text.encode("utf-8")


def _content(body: Mapping[str, Any]) -> dict[str, Any]:
    """The body without CouchDB's reserved ``_`` keys, which are metadata, not content."""
    return {k: v for k, v in body.items() if not (isinstance(k, str) and k.startswith("_"))}


def rev_hash(parent_rev: str | None, deleted: bool, body: Mapping[str, Any]) -> str:
    """32 lowercase hex chars identifying one edit: same edit, same hash, on any node.

    The hash covers the parent (so equal bodies on different branches differ), the
    deleted flag (so a tombstone differs from a live doc with the same body) and every
    top-level key not starting with ``_``.
    """
    if parent_rev is not None:
        parse_rev(parent_rev)
    payload = canonical_json([parent_rev, bool(deleted), _content(body)])
    return hashlib.sha256(payload).digest()[:16].hex()


def next_rev(parent_rev: str | None, deleted: bool, body: Mapping[str, Any]) -> str:
    """The revision id of the edit of ``parent_rev`` (None: a new doc) giving ``body``."""
    pos = 0 if parent_rev is None else parse_rev(parent_rev)[0]
    return f"{pos + 1}-{rev_hash(parent_rev, deleted, body)}"


def _parse_revisions(revisions: object) -> list[str]:
    """Turn a ``_revisions`` object into full rev ids, newest first, validating it."""
    if not isinstance(revisions, Mapping):
        raise InvalidRevision(revisions, "_revisions must be an object")
    start, ids = revisions.get("start"), revisions.get("ids")
    if not isinstance(start, int) or isinstance(start, bool) or start < 1:
        raise InvalidRevision(revisions, "_revisions.start must be an integer >= 1")
    if not isinstance(ids, list) or not ids:
        raise InvalidRevision(revisions, "_revisions.ids must be a non-empty list")
    if len(ids) > start:
        raise InvalidRevision(revisions, "_revisions.ids is longer than start")
    for digest in ids:
        if not isinstance(digest, str) or _HASH_RE.fullmatch(digest) is None:
            raise InvalidRevision(revisions, f"bad revision hash {digest!r}")
    return [f"{start - i}-{digest}" for i, digest in enumerate(ids)]


@dataclass(slots=True)
class _Node:
    """One revision. ``deleted`` is None while only known as someone's ancestor."""

    parent: str | None
    deleted: bool | None
    children: set[str] = field(default_factory=set)


class RevTree:
    """The revision tree (a forest, after stemming) of one document.

    Nodes are keyed by full rev id; a node's parent always has position one lower and
    is either in the tree or None (a root). The structure is a set of facts, so adding
    the same paths in any order, any number of times, gives an equal tree.
    """

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __init__(self) -> None:
        self._nodes: dict[str, _Node] = {}

    # ----------------------------------------------------------------- inspection

    def __contains__(self, rev: object) -> bool:
        return isinstance(rev, str) and rev in self._nodes

    def __len__(self) -> int:
        return len(self._nodes)

    def __iter__(self) -> Iterator[str]:
        return iter(self.revs())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RevTree):
            return NotImplemented
        return self.to_json() == other.to_json()

    def __repr__(self) -> str:
        winner = self.winner() if self._nodes else None
        return f"RevTree(revs={len(self)}, leaves={len(self.leaves())}, winner={winner!r})"

    def revs(self) -> list[str]:
        """All rev ids, oldest position first (ties by hash), for deterministic output."""
        return sorted(self._nodes, key=_rev_order)

    def _node(self, rev: str) -> _Node:
        """The node for ``rev``; KeyError names the rev if the tree lacks it."""
        parse_rev(rev)
        try:
            return self._nodes[rev]
        except KeyError:
            raise KeyError(f"revision {rev!r} is not in the tree") from None

    def is_leaf(self, rev: str) -> bool:
        """True if ``rev`` is in the tree and has no children (an editable head)."""
        node = self._nodes.get(rev)
        return node is not None and not node.children

    def deleted(self, rev: str) -> bool:
        """The rev's deleted flag; False for an interior rev only known as an ancestor."""
        return bool(self._node(rev).deleted)

    def _rank(self, rev: str) -> tuple[bool, int, str]:
        """CouchDB's leaf order key: live beats deleted, then position, then hash."""
        pos, digest = _rev_order(rev)
        return (not self._nodes[rev].deleted, pos, digest)

    def leaves(self) -> list[tuple[str, bool]]:
        """``(rev, deleted)`` for every leaf, best first (the winner is first)."""
        heads = [rev for rev, node in self._nodes.items() if not node.children]
        heads.sort(key=self._rank, reverse=True)
        return [(rev, bool(self._nodes[rev].deleted)) for rev in heads]

    def winner(self) -> str:
        """The winning rev, exactly as CouchDB and PouchDB pick it.

        Raises LookupError for an empty tree: a stored document always has a revision.
        """
        if not self._nodes:
            raise LookupError("empty revision tree has no winner")
        return self.leaves()[0][0]

    def is_deleted(self) -> bool:
        """True if the document is deleted, i.e. its winning leaf is a tombstone."""
        return self.deleted(self.winner())

    def conflicts(self) -> list[str]:
        """Live leaves other than the winner (CouchDB ``_conflicts``), best first."""
        winner = self.winner()
        return [rev for rev, dead in self.leaves() if not dead and rev != winner]

    def deleted_conflicts(self) -> list[str]:
        """Deleted leaves other than the winner (``_deleted_conflicts``), best first."""
        winner = self.winner()
        return [rev for rev, dead in self.leaves() if dead and rev != winner]

    def _lineage(self, rev: str) -> Iterator[str]:
        """``rev`` and then its ancestors, newest first, up to its root."""
        self._node(rev)
        current: str | None = rev
        while current is not None:
            yield current
            current = self._nodes[current].parent

    def ancestors(self, rev: str) -> list[str]:
        """Full rev ids of the known ancestors of ``rev``, newest first, without ``rev``."""
        return list(self._lineage(rev))[1:]

    def path(self, rev: str) -> dict[str, Any]:
        """The CouchDB ``_revisions`` value for ``rev``: its hashes back to its root."""
        lineage = list(self._lineage(rev))
        return {
            "start": parse_rev(rev)[0],
            "ids": [r.partition("-")[2] for r in lineage],
        }

    def common_ancestor(self, rev_a: str, rev_b: str) -> str | None:
        """The newest rev that is ancestor-or-self of both: the base of a 3-way merge.

        None if their known histories do not meet (different roots, e.g. after stemming).
        """
        seen = set(self._lineage(rev_a))
        return next((rev for rev in self._lineage(rev_b) if rev in seen), None)

    # -------------------------------------------------------------- _revs_diff

    def missing(self, revs: Iterable[str]) -> list[str]:
        """The given revs that the tree lacks, in input order without duplicates."""
        result: list[str] = []
        for rev in revs:
            parse_rev(rev)
            if rev not in self._nodes and rev not in result:
                result.append(rev)
        return result

    def possible_ancestors(self, revs: str | Iterable[str]) -> list[str]:
        """Leaves that might be ancestors of the missing ones among ``revs``.

        Mirrors CouchDB's ``_revs_diff``: every leaf (deleted ones included) whose
        position is lower than that of at least one missing rev, best first.
        """
        missing = self.missing([revs] if isinstance(revs, str) else revs)
        if not missing:
            return []
        highest = max(parse_rev(rev)[0] for rev in missing)
        return [rev for rev, _ in self.leaves() if _rev_order(rev)[0] < highest]

    # ---------------------------------------------------------------- mutation

    def _attach(self, rev: str, parent: str | None, deleted: bool | None) -> None:
        """Insert a new node under an existing parent (or as a root)."""
        self._nodes[rev] = _Node(parent, deleted)
        if parent is not None:
            self._nodes[parent].children.add(rev)

    def _link(self, rev: str, parent: str) -> None:
        """Give a root (stemmed history) the parent a longer path reveals."""
        self._nodes[rev].parent = parent
        self._nodes[parent].children.add(rev)

    def _consistent_prefix(self, path: list[str]) -> list[str]:
        """Cut ``path`` (newest first) where it contradicts a parent the tree knows.

        Rev hashes cover the parent, so a contradiction means bogus input; the tree's
        existing structure wins and the contradicting older part is ignored.
        """
        for i, rev in enumerate(path[:-1]):
            node = self._nodes.get(rev)
            if node is not None and node.parent not in (None, path[i + 1]):
                return path[: i + 1]
        return path

    def add(self, revisions: Mapping[str, Any], deleted: bool) -> bool:
        """Merge one ``_revisions`` path whose newest rev is a leaf with ``deleted``.

        This is the ``new_edits=false`` (replication) write. Revs already in the tree are
        kept as they are: the path joins them, may give a stemmed root its parent, and
        fills in the deleted flag of a rev so far only known as an ancestor, but never
        changes a known flag. A path sharing no rev with the tree becomes a new root.
        Returns True if the newest rev was not in the tree before.
        """
        path = self._consistent_prefix(_parse_revisions(revisions))
        is_new = path[0] not in self._nodes
        parent: str | None = None
        for rev in reversed(path):
            node = self._nodes.get(rev)
            if node is None:
                self._attach(rev, parent, None)
            elif node.parent is None and parent is not None:
                self._link(rev, parent)
            parent = rev
        leaf = self._nodes[path[0]]
        if leaf.deleted is None:
            leaf.deleted = bool(deleted)
        return is_new

    def parent_for_new_edit(self, given_parent: str | None) -> str | None:
        """The parent an interactive (``new_edits=true``) write really extends.

        - ``given_parent`` set: it must be a current leaf (any leaf, winning or not,
          live or deleted), else RevisionConflict; it is returned unchanged.
        - ``given_parent`` None and the tree empty: a new document, returns None.
        - ``given_parent`` None and the document deleted: recreation continues from the
          winning tombstone (as CouchDB does), which is returned; the new rev is N+1.
        - ``given_parent`` None and the document live: RevisionConflict.
        """
        if given_parent is not None:
            parse_rev(given_parent)
            if not self.is_leaf(given_parent):
                raise RevisionConflict(f"revision {given_parent!r} is not a current leaf")
            return given_parent
        if not self._nodes:
            return None
        if self.is_deleted():
            return self.winner()
        raise RevisionConflict("document exists and no revision was given")

    def add_child(self, parent_rev: str | None, rev: str, deleted: bool) -> None:
        """Attach ``rev`` as the child of the leaf ``parent_rev`` (None: first revision).

        Resolve ``parent_rev`` with :meth:`parent_for_new_edit` first; this method only
        attaches. RevisionConflict if ``parent_rev`` is not a leaf, if it is None but the
        tree is not empty, or if ``rev`` already exists; InvalidRevision if ``rev``'s
        position is not the parent's plus one.
        """
        pos, _ = parse_rev(rev)
        if parent_rev is None:
            if self._nodes:
                raise RevisionConflict("document exists; a new revision needs a parent")
        elif not self.is_leaf(parent_rev):
            raise RevisionConflict(f"revision {parent_rev!r} is not a current leaf")
        if rev in self._nodes:
            raise RevisionConflict(f"revision {rev!r} already exists")
        expected = 1 if parent_rev is None else parse_rev(parent_rev)[0] + 1
        if pos != expected:
            raise InvalidRevision(rev, f"position must be {expected}")
        self._attach(rev, parent_rev, bool(deleted))

    def _kept_by_stemming(self, limit: int) -> set[str]:
        """Revs within ``limit`` steps (self included) of some leaf."""
        budget: dict[str, int] = {}
        for leaf, _ in self.leaves():
            current: str | None = leaf
            remaining = limit
            while current is not None and remaining > budget.get(current, 0):
                budget[current] = remaining
                current = self._nodes[current].parent
                remaining -= 1
        return set(budget)

    def stem(self, limit: int) -> list[str]:
        """Keep at most ``limit`` revs on each leaf's path (CouchDB ``revs_limit``).

        Revs not among any leaf's last ``limit`` revs are dropped; their kept children
        become roots. Kept revs keep their edges, so a leaf whose history meets a
        shorter branch's kept revs can retain a longer path, as in CouchDB's
        ``couch_key_tree:stem``. Leaves are never dropped. Returns the dropped revs,
        oldest first, so a store can decide what to do with their bodies.
        """
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
            raise ValueError(f"stem limit must be an integer >= 1, not {limit!r}")
        kept = self._kept_by_stemming(limit)
        dropped = [rev for rev in self.revs() if rev not in kept]
        for rev in dropped:
            node = self._nodes.pop(rev)
            if node.parent in self._nodes:
                self._nodes[node.parent].children.discard(rev)
            for child in node.children:
                if child in self._nodes:
                    self._nodes[child].parent = None
        return dropped

    # ---------------------------------------------------------------- storage

    def to_json(self) -> dict[str, Any]:
        """A compact JSON value for storage; equal trees give equal values.

        ``{"v": 1, "revs": [[rev, parent_index, deleted], ...]}`` with rows sorted by
        (position, hash); ``parent_index`` is the row index of the parent (always an
        earlier row) or null for a root; ``deleted`` is true, false, or null for a rev
        only known as an ancestor.
        """
        order = self.revs()
        index = {rev: i for i, rev in enumerate(order)}
        rows = []
        for rev in order:
            node = self._nodes[rev]
            parent = None if node.parent is None else index[node.parent]
            rows.append([rev, parent, node.deleted])
        return {"v": TREE_JSON_VERSION, "revs": rows}

    @staticmethod
    def path_json(revisions: Mapping[str, Any], deleted: bool) -> dict[str, Any]:
        """What ``to_json()`` gives for a tree holding just this one path, computed
        without building the tree: replicating a new document is the hot path."""
        ids = _parse_revisions(revisions)  # newest first, full rev ids
        rows = [[rev, None if i == 0 else i - 1, None] for i, rev in enumerate(reversed(ids))]
        rows[-1][2] = bool(deleted)
        return {"v": TREE_JSON_VERSION, "revs": rows}

    @classmethod
    def from_json(cls, data: Any) -> "RevTree":
        """Rebuild a tree from :meth:`to_json` output (or its JSON text); ValueError if bad."""
        if isinstance(data, str | bytes):
            data = json.loads(data)
        if not isinstance(data, Mapping) or data.get("v") != TREE_JSON_VERSION:
            raise ValueError(f"not a version {TREE_JSON_VERSION} revision tree: {data!r}")
        rows = data.get("revs")
        if not isinstance(rows, list):
            raise ValueError("revision tree JSON lacks a 'revs' list")
        tree = cls()
        order: list[str] = []
        for row in rows:
            tree._load_row(row, order)
            order.append(row[0])
        return tree

    def _load_row(self, row: Any, order: list[str]) -> None:
        """Validate and insert one stored row; its parent must be an earlier row."""
        if not isinstance(row, list) or len(row) != 3:
            raise ValueError(f"bad revision tree row {row!r}")
        rev, parent_index, deleted = row
        pos, _ = parse_rev(rev)
        if rev in self._nodes or not (deleted is None or type(deleted) is bool):
            raise ValueError(f"bad revision tree row {row!r}")
        parent = None
        if parent_index is not None:
            valid = type(parent_index) is int and 0 <= parent_index < len(order)
            if not valid or _rev_order(order[parent_index])[0] != pos - 1:
                raise ValueError(f"bad parent index in revision tree row {row!r}")
            parent = order[parent_index]
        self._attach(rev, parent, deleted)
