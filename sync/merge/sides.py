"""The two sides of a merge, put in one canonical order. Pure.

Every node must compute the same merge whichever leaf it happens to call "ours", so
the sides are ordered by when and by whom they were written, then by their canonical
JSON: `ours` is always the earlier revision and `theirs` the later one, which wins
where a value has to be picked.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..revisions import canonical_json


class MergeError(ValueError):
    """The documents cannot be merged (different ids or types, malformed lists).

    The caller leaves the conflict in place: nothing is lost, a person resolves it.
    """


@dataclass(frozen=True)
class SideMeta:
    """What the caller knows about one side beyond its body.

    `rev` is the leaf's revision id (used for the merged revision's parent and the
    loser's deletion); `by`/`at` override the body's `updated_by`/`updated_at` as the
    author and time named in reconciliation entries and amendments.
    """

    rev: str | None = None
    by: str | None = None
    at: str | None = None


@dataclass(frozen=True)
class Side:
    """One side, resolved: its body (without `_` metadata but `_id`), author and time."""

    doc: dict[str, Any]
    by: str
    at: str
    rev: str | None = None
    _canonical: list = field(default_factory=list, compare=False, repr=False)

    @property
    def canonical(self) -> bytes:
        """The body's canonical JSON, computed once (it is only needed on ties)."""
        if not self._canonical:
            self._canonical.append(canonical_json(self.doc))
        return self._canonical[0]

    def order_key(self) -> tuple:
        return (_instant(self.at), self.by, self.at)


def side(doc: Any, meta: SideMeta | None) -> Side:
    """Resolve a side, checking it is a document."""
    if not isinstance(doc, dict):
        raise MergeError("each side of a merge must be a JSON object")
    meta = meta or SideMeta()
    body = strip_meta(doc)
    by = meta.by or str(doc.get("updated_by") or "")
    at = meta.at or str(doc.get("updated_at") or "")
    return Side(body, by, at, meta.rev)


def strip_meta(doc: dict[str, Any]) -> dict[str, Any]:
    """The body without CouchDB's `_` fields (`_rev`, `_revisions`, `_conflicts`...) but `_id`."""
    return {k: v for k, v in doc.items() if k == "_id" or not k.startswith("_")}


def ordered(a: Side, b: Side) -> tuple[Side, Side]:
    """(earlier, later): by time, then author, then canonical JSON, so any node agrees."""
    ka, kb = a.order_key(), b.order_key()
    if ka == kb:
        ka, kb = a.canonical, b.canonical
    return (a, b) if ka <= kb else (b, a)


def _instant(stamp: str) -> datetime:
    """An RFC 3339 timestamp as an instant; an unreadable one sorts first."""
    try:
        value = datetime.fromisoformat(stamp)
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def derived_id(key: bytes | None, *parts: Any) -> str:
    """A 32-hex id every node derives alike from `parts`.

    With `key` (e.g. the case's data key) it is an HMAC, so an id stored in the clear
    reveals nothing about the plaintext it was derived from; without, a SHA-256.
    """
    payload = canonical_json(list(parts))
    if key is None:
        return hashlib.sha256(payload).hexdigest()[:32]
    return hmac.new(key, payload, hashlib.sha256).hexdigest()[:32]
