"""What each revision of a document already contains, and so the right base of a merge. Pure.

A merged revision has one parent in CouchDB's revision tree, but it contains every leaf
it merged. If the next conflict were merged against the common ancestor in the tree
alone, a leaf that lost an earlier merge would be compared with a base older than what
that merge already took from it, and its changes since the merge would be merged
against the wrong text: an edit made there could be silently undone (docs/adr/
011-merge-history.md). So every merge revision records the leaves it merged
(`merged_from`, in its envelope), and a revision *contains* itself, what its parent
contains and what each leaf it merged contains. The base of two sides is the newest
state both contain.

Finding it is git's merge-base walk ("paint down to common"): both sides' revisions are
painted from the newest down; a revision painted by both is a candidate and everything
below it is stale; the walk stops when only stale revisions are left. A revision's
position (the N of `N-hash`) is a generation number here: a parent is one lower, and a
merge is written as the child of the longest of the leaves it merges, so everything a
revision contains has a lower position. Processing one position at a time newest first
therefore sees every revision after all revisions that contain it, and the candidates
are exactly the newest common states, with no redundant ones.

The walk asks for what it does not know yet (`Need`): the caller reads those revisions'
envelopes from the revision archive and `learn`s them, then resumes the generator. No
I/O happens here.
"""

from __future__ import annotations

import heapq
from collections.abc import Generator, Iterable, Mapping
from dataclasses import dataclass, field

from ..revisions import parse_rev

OURS, THEIRS, STALE = 1, 2, 4
BOTH = OURS | THEIRS


@dataclass(frozen=True)
class Need:
    """Revisions whose record (`merged_from` and plaintext body) the walk needs next."""

    revs: tuple[str, ...]


@dataclass
class Graph:
    """One document's revisions: tree parents, and what the caller has learned so far.

    `parents` comes from the leaves' `_revisions` paths; `merged_from` and `bodies` are
    filled in by `learn` as the walk asks for them (a body is None for a deletion or a
    revision the archive never held).
    """

    parents: dict[str, str | None] = field(default_factory=dict)
    merged_from: dict[str, tuple[str, ...]] = field(default_factory=dict)
    bodies: dict[str, dict | None] = field(default_factory=dict)

    @classmethod
    def from_paths(cls, paths: Iterable[Mapping]) -> Graph:
        """The graph of the revisions named by CouchDB `_revisions` paths."""
        parents: dict[str, str | None] = {}
        for path in paths:
            revs = [f"{path['start'] - i}-{digest}" for i, digest in enumerate(path["ids"])]
            for rev, parent in zip(revs, [*revs[1:], None], strict=True):
                if parents.get(rev) is None:
                    parents[rev] = parent
        return cls(parents)

    def learn(self, rev: str, merged_from: Iterable[str] = (), body: dict | None = None) -> None:
        self.merged_from[rev] = tuple(merged_from)
        self.bodies[rev] = body

    def known(self, rev: str) -> bool:
        return rev in self.merged_from

    def edges(self, rev: str) -> list[str]:
        """What `rev` contains directly: its tree parent and the leaves it merged."""
        parent = self.parents.get(rev)
        out = [parent] if parent is not None else []
        out += [m for m in self.merged_from.get(rev, ()) if m != parent]
        return out


Walk = Generator[Need, None, list[str]]


def bases(graph: Graph, ours: Iterable[str], theirs: Iterable[str]) -> Walk:
    """The newest revisions both `ours` and `theirs` contain (usually one; several
    after a criss-cross merge; none if their histories never meet), newest first.

    A generator: it yields a `Need` whenever it must know revisions it has not
    learned, and returns the list when done.
    """
    flags: dict[str, int] = {}
    heap: list[tuple[int, str]] = []

    def paint(rev: str, flag: int) -> None:
        if rev not in flags:
            heapq.heappush(heap, (-parse_rev(rev)[0], rev))
        flags[rev] = flags.get(rev, 0) | flag

    for rev in ours:
        paint(rev, OURS)
    for rev in theirs:
        paint(rev, THEIRS)
    found: list[str] = []
    while any(not flags[rev] & STALE for _, rev in heap):
        level = _pop_level(heap)
        missing = tuple(rev for rev in level if not graph.known(rev))
        if missing:
            yield Need(missing)
        for rev in sorted(level, reverse=True):
            flag = flags[rev]
            if flag & BOTH == BOTH and not flag & STALE:
                found.append(rev)
                flag |= STALE
            for contained in graph.edges(rev):
                paint(contained, flag)
    return found


def _pop_level(heap: list[tuple[int, str]]) -> list[str]:
    """Every queued revision at the highest position (one batch of archive reads)."""
    top = heap[0][0]
    level = []
    while heap and heap[0][0] == top:
        level.append(heapq.heappop(heap)[1])
    return level


def contains(graph: Graph, rev: str, other: str) -> bool:
    """Does `rev` contain `other`, as far as the graph has learned? (For tests and
    checks; the walk above never needs the whole set.)"""
    seen, todo = set(), [rev]
    while todo:
        current = todo.pop()
        if current == other:
            return True
        if current not in seen:
            seen.add(current)
            todo.extend(graph.edges(current))
    return False
