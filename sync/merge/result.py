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

    The merged revision `rev` is the child of the winning leaf `parent` (CouchDB's
    winner among the merged leaves); every other leaf gets its deletion revision, as
    listed in `deletions` (losing leaf, deletion rev), so the conflict disappears.
    """

    parent: str
    rev: str
    deletions: tuple[tuple[str, str], ...]


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
    leaves: Sequence[str], body: dict, key: bytes | None = None
) -> MergedRevisions:
    """The revision ids of a merge of `leaves` into `body`, the same on every node.

    The merged rev is computed from the *plaintext* merged body (an envelope's random
    nonce would make it differ per node): `next_rev(parent, False, body)`. With `key`
    (the case's data key, which every node that can merge holds) the hash is an HMAC,
    so a revision id stored in the clear in CouchDB is no hash of plaintext that a cloud
    operator could test guesses against. Deletions use `next_rev(leaf, True, {})`, as
    the gateway's tombstones do.
    """
    revs = sorted(set(leaves), key=_rank)
    if not revs:
        raise ValueError("a merge needs at least one leaf revision")
    parent = revs[-1]
    deletions = tuple((leaf, next_rev(leaf, True, {})) for leaf in revs[:-1])
    return MergedRevisions(parent, _child(parent, body, key), deletions)


def _rank(rev: str) -> tuple[int, str]:
    """CouchDB's order of live leaves: the longest path wins, then the greater hash."""
    pos, digest = parse_rev(rev)
    return pos, digest


def _child(parent: str, body: dict, key: bytes | None) -> str:
    if key is None:
        return next_rev(parent, False, body)
    content = {k: v for k, v in body.items() if not k.startswith("_")}
    payload = canonical_json([parent, False, content])
    digest = hmac.new(key, payload, hashlib.sha256).hexdigest()[:32]
    return f"{parse_rev(parent)[0] + 1}-{digest}"
