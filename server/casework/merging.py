"""Resolving conflicts in case databases with the merge engine, so no edit is hidden.

CouchDB (and PouchDB) keep concurrent revisions as a conflict and show one winner.
Here, right after a push creates a conflict (and in `sopu merge sweep` for conflicts
that reached a store another way), every live leaf of the document is decrypted and
merged (`sync.merge.merge_leaves`), each step against the newest state both sides
already contain — read from the revision archive as the merge asks for it, since
every merge revision names the leaves it merged (`merged_from` in its envelope). The
merged body is written as the child of the winning leaf, and only then every other
leaf gets its deletion revision (`{"merged_into": <merged rev>}`), so a refused
write never leaves a leaf deleted without its merge.

A deletion a device pushed (recorded at push, `deletions`) while another device edited
the document is a side too: the document stays, with a `deleted_edited` item naming
who deleted it, and the deletion gets the same kind of deletion on top, which marks it
as taken in.

The revision ids are derived from the merged plaintext under a key derived from the
case key, so two servers resolving the same conflict at once write the same revisions
and converge. A final note edited concurrently keeps its content and stamps; the edit
becomes an amendment.

The same path handles an edit that reaches an already final note without a conflict
(`restore_final`): the edit stays in the history, a revision restoring the final
content goes on top, and the edit becomes an amendment.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass

from mobile_schema import validate_document
from sync.cases import database_name
from sync.crypto import CryptoError, open_envelope, seal
from sync.merge import Deletion, Graph, SideMeta, merge, merge_leaves, merged_revisions
from sync.merge.result import MergedRevisions, MergeResult
from sync.revisions import parse_rev

from .. import metrics
from ..site import Site

log = logging.getLogger(__name__)
MERGED_FROM, MERGED_INTO = "merged_from", "merged_into"


@dataclass
class Resolution:
    doc_id: str
    merged_rev: str
    collisions: int
    amendments: list[str]


def _path(rev: str, parent_path: dict) -> dict:
    """`_revisions` of a child of the revision whose path is `parent_path`."""
    return {"start": parent_path["start"] + 1, "ids": [parse_rev(rev)[1], *parent_path["ids"]]}


def current_deletions(leaves: list[dict]) -> dict[str, bool]:
    """Deletions that still stand: deleted leaves without `merged_into` (True: no merge
    has marked them yet) and the deletions a merge marked (False)."""
    out: dict[str, bool] = {}
    for leaf in leaves:
        if not leaf.get("_deleted"):
            continue
        if MERGED_INTO not in leaf:
            out[leaf["_rev"]] = True
        elif len(leaf["_revisions"]["ids"]) > 1:
            path = leaf["_revisions"]
            out.setdefault(f"{path['start'] - 1}-{path['ids'][1]}", False)
    return out


def needs_merge(leaves: list[dict], deletions: list[Deletion]) -> bool:
    """Several live leaves, or a live leaf beside a device's deletion nobody merged."""
    live = sum(1 for leaf in leaves if not leaf.get("_deleted"))
    return live > 1 or (live == 1 and bool(deletions))


class Resolver:
    def __init__(self, site: Site):
        self.site = site

    def merge_key(self, case_id: str) -> bytes:
        """A key every node holding the case can derive, for ids derived from plaintext."""
        first = self.site.keys.get(case_id, 1).key
        return hmac.new(first, b"sopu-merge-ids-v1", hashlib.sha256).digest()

    def conflicted(self, case_id: str, doc_ids: list[str]) -> list[str]:
        """Which of these documents need a merge (see `needs_merge`)."""
        db = self.site.store.database(database_name(case_id))
        out = []
        for doc_id in doc_ids:
            leaves = [x["ok"] for x in db.get(doc_id, open_revs="all", revs=True) if "ok" in x]
            if needs_merge(leaves, self._deletions(case_id, doc_id, leaves)):
                out.append(doc_id)
        return out

    def resolve(self, case_id: str, doc_id: str) -> Resolution | None:
        """Merge every live leaf of `doc_id` (and the deletions that met them); None if
        there is nothing to merge."""
        db = self.site.store.database(database_name(case_id))
        leaves = [x["ok"] for x in db.get(doc_id, open_revs="all", revs=True) if "ok" in x]
        deletions = self._deletions(case_id, doc_id, leaves)
        if not needs_merge(leaves, deletions):
            return None
        live = [leaf for leaf in leaves if not leaf.get("_deleted")]
        graph = Graph.from_paths(leaf["_revisions"] for leaf in leaves)
        plain = [open_envelope(leaf, self.site.keys.lookup) for leaf in live]
        for leaf, body in zip(live, plain, strict=True):
            graph.learn(leaf["_rev"], leaf.get(MERGED_FROM) or (), body)
        plan = merge_leaves(
            graph,
            plain,
            [SideMeta(rev=leaf["_rev"]) for leaf in live],
            deletions,
            key=self.merge_key(case_id),
        )
        result = self._run(plan, db, doc_id, graph)
        paths = {leaf["_rev"]: leaf["_revisions"] for leaf in leaves}
        resolution = self._write_merge(case_id, doc_id, result, paths)
        metrics.MERGES.inc()
        reported = [(d.rev, d.by) for d in deletions]
        if reported:
            self.site.deletions.merged(case_id, doc_id, reported, resolution.merged_rev)
        return resolution

    def _deletions(self, case_id: str, doc_id: str, leaves: list[dict]) -> list[Deletion]:
        """The devices' deletions that still stand and no merge has reported yet (one per
        worker: two workers who delete the same revision push the same deletion)."""
        standing = current_deletions(leaves)
        if not standing:
            return []
        rows = self.site.deletions.unmerged(case_id, doc_id, set(standing))
        return [Deletion(rev, by, at, standing[rev]) for rev, by, at in rows]

    def _run(self, plan, db, doc_id: str, graph: Graph) -> MergeResult:
        """Drive the merge, reading the revisions it asks for from the archive."""
        try:
            need = next(plan)
            while True:
                for rev in need.revs:
                    envelope = db.archived(doc_id, rev)
                    merged_from = (envelope or {}).get(MERGED_FROM) or ()
                    graph.learn(rev, merged_from, self._opened(envelope))
                need = plan.send(None)
        except StopIteration as done:
            return done.value

    def _opened(self, envelope: dict | None) -> dict | None:
        if envelope is None or envelope.get("_deleted"):
            return None
        try:
            return open_envelope(envelope, self.site.keys.lookup)
        except CryptoError:  # a key shredded since: this revision cannot be a base
            return None

    def _write_merge(self, case_id, doc_id, result: MergeResult, paths) -> Resolution:
        revisions: MergedRevisions = result.revisions
        merged = self._sealed(
            case_id, result.doc, revisions.rev, _path(revisions.rev, paths[revisions.parent])
        )
        if revisions.records_history:
            merged[MERGED_FROM] = list(revisions.merged_from)
        deletions = [
            {
                "_id": doc_id,
                "_rev": dead,
                "_deleted": True,
                MERGED_INTO: revisions.rev,
                "_revisions": _path(dead, paths[leaf]),
            }
            for leaf, dead in revisions.deletions
        ]
        return self._write(case_id, doc_id, [merged], deletions, revisions.rev, result)

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
        return self._write(case_id, doc_id, writes, [], revisions.rev, result)

    def _sealed(self, case_id: str, doc: dict, rev: str, path: dict) -> dict:
        envelope = seal(validate_document(doc), self.site.keys.current(case_id))
        return {**envelope, "_rev": rev, "_revisions": path}

    def _write(self, case_id, doc_id, writes, deletions, rev: str, result) -> Resolution:
        """The merged revision first; the deletions only once it is stored."""
        db = self.site.store.database(database_name(case_id))
        extra_ids = [extra["_id"] for extra in result.extra_docs]
        with self.site.heads.writing(case_id, [doc_id, *extra_ids]):  # indexed first
            _stored(db.bulk_docs(writes, new_edits=False), doc_id)
            if deletions:
                _stored(db.bulk_docs(deletions, new_edits=False), doc_id)
            amendments = []
            for extra in result.extra_docs:
                sealed = seal(validate_document(extra), self.site.keys.current(case_id))
                if db.bulk_docs([sealed])[0].get("ok"):
                    amendments.append(extra["_id"])
        self.site.reconciliation.note(case_id, result.doc | {"_id": doc_id})
        written = [e for e in result.extra_docs if e["_id"] in amendments]
        self.site.notes.note(case_id, [result.doc | {"_id": doc_id}, *written])
        return Resolution(doc_id, rev, len(result.collisions), amendments)


class MergeNotStored(RuntimeError):
    """The store refused a merge's write; the conflict stays as it was (nothing lost)."""


def _stored(results: list[dict], doc_id: str) -> None:
    failed = [r for r in results if "error" in r]
    if failed:
        log.error("merge of %s not stored: %s", doc_id, failed[0].get("error"))
        raise MergeNotStored(f"{doc_id}: {failed[0].get('error')}: {failed[0].get('reason')}")


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
