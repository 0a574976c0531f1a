"""What a merge returns, and the revision ids that make it the same on every node. Pure."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass

from ..revisions import canonical_json, next_rev, parse_rev


@dataclass(frozen=True)
class MergedRevisions:
    """Where the merged body goes in the revision tree.

    The merged revision `rev` is the child of `parent`, the longest of the merged
    leaves (CouchDB's winner among them, so every leaf a merge contains has a lower
    position than the merge: see `history`). `merged_from` lists every live leaf it
    merged, and goes into the merged revision's envelope. `deletions` lists
    (leaf, deletion rev) for every other live leaf and every device deletion the merge
    took in, so the conflict disappears; each deletion's body is `{"merged_into": rev}`,
    which tells the server's own deletions from the ones devices make.
    """

    parent: str
    rev: str
    deletions: tuple[tuple[str, str], ...]
    merged_from: tuple[str, ...] = ()

    @property
    def records_history(self) -> bool:
        """Does the merged revision contain more than its parent (so its envelope must
        say what it merged)?"""
        return any(leaf != self.parent for leaf in self.merged_from)


@dataclass(frozen=True)
class MergeResult:
    """The merged body (no `_rev`), what collided, and documents the merge creates.

    `collisions` are the reconciliation entries this merge added to `doc`;
    `extra_docs` are new documents to write alongside (amendments of a final note);
    `revisions` is set when the caller gave every leaf's `rev`.
    """

    doc: dict
    collisions: tuple[dict, ...] = ()
    extra_docs: tuple[dict, ...] = ()
    revisions: MergedRevisions | None = None

    @property
    def clean(self) -> bool:
        """True if nothing collided and no amendment was needed."""
        return not self.collisions and not self.extra_docs


def merged_revisions(
    leaves: Sequence[str],
    body: dict,
    key: bytes | None = None,
    deleted: Sequence[str] = (),
) -> MergedRevisions:
    """The revision ids of a merge of live `leaves` (and device deletions `deleted`)
    into `body`, the same on every node.

    The merged rev is computed from the *plaintext* merged body (an envelope's random
    nonce would make it differ per node), its parent and the leaves it merged. With
    `key` (derived from the case key, which every node that can merge holds) the hash
    is an HMAC, so a revision id stored in the clear in CouchDB is no hash of plaintext
    that a cloud operator could test guesses against. Deletions are
    `next_rev(leaf, True, {"merged_into": rev})`.
    """
    revs = sorted(set(leaves), key=_rank)
    if not revs:
        raise ValueError("a merge needs at least one leaf revision")
    parent = revs[-1]
    rev = _child(parent, body, key, revs)
    losers = [*revs[:-1], *sorted(set(deleted), key=_rank)]
    deletions = tuple((leaf, merge_tombstone_rev(leaf, rev)) for leaf in losers)
    return MergedRevisions(parent, rev, deletions, tuple(revs))


def merge_tombstone_rev(leaf: str, merged_rev: str) -> str:
    """The deletion a merge writes on top of a leaf it took in (body `{"merged_into"}`)."""
    return next_rev(leaf, True, {"merged_into": merged_rev})


def _rank(rev: str) -> tuple[int, str]:
    """CouchDB's order of live leaves: the longest path wins, then the greater hash."""
    pos, digest = parse_rev(rev)
    return pos, digest


def _child(parent: str, body: dict, key: bytes | None, merged_from: list[str]) -> str:
    content = {k: v for k, v in body.items() if not k.startswith("_")}
    if len(merged_from) > 1:  # a merge of several leaves: its id covers what it merged
        content = {"merged_from": merged_from, "body": content}
    if key is None:
        return next_rev(parent, False, content)
    payload = canonical_json([parent, False, content])
    digest = hmac.new(key, payload, hashlib.sha256).hexdigest()[:32]
    return f"{parse_rev(parent)[0] + 1}-{digest}"
