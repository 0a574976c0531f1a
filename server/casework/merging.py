"""Resolving conflicts in case databases with the merge engine, so no edit is hidden.

CouchDB (and PouchDB) keep concurrent revisions as a conflict and show one winner.
Here, right after a push creates a conflict (and in `sopu merge sweep` for conflicts
that reached a store another way), every live leaf of the document is decrypted,
merged against their common ancestor from the revision archive (`sync.merge`), and
the merged body is written as the child of the winning leaf while every other leaf
gets its deletion revision. The revision ids are derived from the merged plaintext
under a key derived from the case key, so two servers resolving the same conflict at
once write the same revisions and converge. A final note edited concurrently keeps
its content; the edit becomes an amendment note.

The same path handles an edit that reaches an already final note without a conflict
(`restore_final`): the edit stays in the history, a revision restoring the final
content goes on top, and the edit becomes an amendment.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from mobile_schema import validate_document
from sync.cases import database_name
from sync.crypto import open_envelope, seal
from sync.merge import SideMeta, merge, merge_all, merged_revisions
from sync.revisions import RevTree, parse_rev

from ..site import Site


@dataclass
class Resolution:
    doc_id: str
    merged_rev: str
    collisions: int
    amendments: list[str]


def _path(rev: str, parent_path: dict) -> dict:
    """`_revisions` of a child of the revision whose path is `parent_path`."""
    return {"start": parent_path["start"] + 1, "ids": [parse_rev(rev)[1], *parent_path["ids"]]}


class Resolver:
    def __init__(self, site: Site):
        self.site = site

    def merge_key(self, case_id: str) -> bytes:
        """A key every node holding the case can derive, for ids derived from plaintext."""
        first = self.site.keys.get(case_id, 1).key
        return hmac.new(first, b"sopu-merge-ids-v1", hashlib.sha256).digest()

    def conflicted(self, case_id: str, doc_ids: list[str]) -> list[str]:
        db = self.site.store.database(database_name(case_id))
        return [d for d in doc_ids if "_conflicts" in db.get(d, conflicts=True)]

    def resolve(self, case_id: str, doc_id: str) -> Resolution | None:
        """Merge every live leaf of `doc_id`; None if there is nothing to merge."""
        db = self.site.store.database(database_name(case_id))
        leaves = [
            x["ok"]
            for x in db.get(doc_id, open_revs="all", revs=True)
            if "ok" in x and not x["ok"].get("_deleted")
        ]
        if len(leaves) < 2:
            return None
        plain = [open_envelope(leaf, self.site.keys.lookup) for leaf in leaves]
        base = self._base(db, doc_id, leaves)
        metas = [SideMeta(rev=leaf["_rev"]) for leaf in leaves]
        key = self.merge_key(case_id)
        result = merge_all(base, plain, metas, key=key)
        revisions = result.revisions or merged_revisions([m.rev for m in metas], result.doc, key)
        paths = {leaf["_rev"]: leaf["_revisions"] for leaf in leaves}
        writes = [
            self._sealed(
                case_id, result.doc, revisions.rev, _path(revisions.rev, paths[revisions.parent])
            )
        ]
        writes += [
            {"_id": doc_id, "_rev": dead, "_deleted": True, "_revisions": _path(dead, paths[loser])}
            for loser, dead in revisions.deletions
        ]
        return self._write(case_id, doc_id, writes, revisions.rev, result)

    def restore_final(
        self,
        case_id: str,
        doc_id: str,
        final: dict,
        edited: dict,
        edited_rev: str,
        edited_path: dict,
    ) -> Resolution:
        """An edit reached a final note: keep it in history, restore the final content
        on top of it, and turn the edit into an amendment."""
        key = self.merge_key(case_id)
        result = merge(final, final, edited, SideMeta(rev=None), SideMeta(rev=edited_rev), key=key)
        revisions = merged_revisions([edited_rev], result.doc, key)
        writes = [
            self._sealed(case_id, result.doc, revisions.rev, _path(revisions.rev, edited_path))
        ]
        return self._write(case_id, doc_id, writes, revisions.rev, result)

    def _base(self, db, doc_id: str, leaves: list[dict]) -> dict | None:
        """The newest common ancestor of all leaves, decrypted from the archive."""
        tree = RevTree()
        for leaf in leaves:
            tree.add(leaf["_revisions"], False)
        common = leaves[0]["_rev"]
        for leaf in leaves[1:]:
            common = tree.common_ancestor(common, leaf["_rev"]) if common else None
        envelope = db.archived(doc_id, common) if common else None
        if envelope is None or envelope.get("_deleted"):
            return None
        return open_envelope(envelope, self.site.keys.lookup)

    def _sealed(self, case_id: str, doc: dict, rev: str, path: dict) -> dict:
        envelope = seal(validate_document(doc), self.site.keys.current(case_id))
        return {**envelope, "_rev": rev, "_revisions": path}

    def _write(self, case_id: str, doc_id: str, writes: list[dict], rev: str, result) -> Resolution:
        db = self.site.store.database(database_name(case_id))
        db.bulk_docs(writes, new_edits=False)
        amendments = []
        for extra in result.extra_docs:
            sealed = seal(validate_document(extra), self.site.keys.current(case_id))
            if db.bulk_docs([sealed])[0].get("ok"):
                amendments.append(extra["_id"])
        self.site.heads.record(case_id, [doc_id, *amendments])
        self.site.reconciliation.note(case_id, result.doc | {"_id": doc_id})
        return Resolution(doc_id, rev, len(result.collisions), amendments)


def sweep(site: Site, progress=None) -> list[Resolution]:
    """Resolve every conflict in every case database (e.g. written directly to CouchDB
    by another node); returns what was merged. Recorded in the audit log."""
    resolver = Resolver(site)
    cases = [
        row["id"]
        for row in site.directory.query(
            "SELECT id FROM cases WHERE shredded_at IS NULL ORDER BY id"
        )
    ]
    done: list[Resolution] = []
    for number, case_id in enumerate(cases, 1):
        db = site.store.database(database_name(case_id))
        conflicted = [
            c["id"] for c in db.changes(style="all_docs")["results"] if len(c["changes"]) > 1
        ]
        for doc_id in conflicted:
            resolution = resolver.resolve(case_id, doc_id)
            if resolution:
                done.append(resolution)
                site.audit.record(
                    "sweeper",
                    "merge.swept",
                    case_id,
                    {
                        "doc_id": doc_id,
                        "rev": resolution.merged_rev,
                        "collisions": resolution.collisions,
                    },
                )
        if progress:
            progress(number, len(cases))
    return done
