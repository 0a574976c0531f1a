"""Purging a case from a device, over a protocol that cannot replicate purges.

CouchDB's `_purge` does not replicate, so a device that loses a case gets, for every
live leaf of every document of that case, a deletion revision on top of that leaf.
Its revision id is deterministic (`next_rev(leaf, True, {})`), so the gateway can
recognise and serve it without storing it anywhere; the case database itself is not
touched, other workers keep their documents. The device also receives the deletion
of the case's keyring, so whatever ciphertext remains (unpushed local edits,
uncompacted revisions) can no longer be read.

If the case is later given back to the worker, the gateway first writes those same
deletions into the case database followed by a revision that restores each leaf's
body (`resurrect`), so the device's tombstones are superseded by real revisions.
"""

from __future__ import annotations

from sync.revisions import next_rev, parse_rev
from sync.store import Database

EMPTY: dict = {}


def tombstone_rev(leaf: str) -> str:
    return next_rev(leaf, True, EMPTY)


def live_leaves(db: Database, doc_id: str) -> list[dict]:
    """The non-deleted leaves of a document, with their `_revisions`."""
    leaves = db.get(doc_id, open_revs="all", revs=True)
    return [leaf["ok"] for leaf in leaves if "ok" in leaf and not leaf["ok"].get("_deleted")]


def tombstone_doc(leaf: dict) -> dict:
    """The deletion revision on top of `leaf` (a doc with `_revisions`)."""
    rev = tombstone_rev(leaf["_rev"])
    path = leaf["_revisions"]
    return {
        "_id": leaf["_id"],
        "_rev": rev,
        "_deleted": True,
        "_revisions": {"start": path["start"] + 1, "ids": [parse_rev(rev)[1], *path["ids"]]},
    }


def purge_changes(db: Database) -> list[dict]:
    """`_changes` rows deleting every live document of a case database."""
    rows = []
    for change in db.changes(style="all_docs")["results"]:
        if change.get("deleted") and len(change["changes"]) == 1:
            continue
        for leaf in live_leaves(db, change["id"]):
            rows.append(
                {
                    "id": leaf["_id"],
                    "changes": [{"rev": tombstone_rev(leaf["_rev"])}],
                    "deleted": True,
                }
            )
    return rows


def find(db: Database, doc_id: str, rev: str) -> dict | None:
    """The synthesized deletion `rev` of `doc_id`, if it is one."""
    for leaf in live_leaves(db, doc_id):
        if tombstone_rev(leaf["_rev"]) == rev:
            return tombstone_doc(leaf)
    return None


def resurrect(db: Database) -> list[str]:
    """Make the device-side deletions real and restore every leaf on top of them."""
    writes, ids = [], []
    for change in db.changes(style="all_docs")["results"]:
        for leaf in live_leaves(db, change["id"]):
            tomb = tombstone_doc(leaf)
            body = {k: v for k, v in leaf.items() if not k.startswith("_")}
            rev = next_rev(tomb["_rev"], False, body)
            path = {
                "start": tomb["_revisions"]["start"] + 1,
                "ids": [parse_rev(rev)[1], *tomb["_revisions"]["ids"]],
            }
            writes += [tomb, {"_id": leaf["_id"], "_rev": rev, "_revisions": path, **body}]
            ids.append(leaf["_id"])
    if writes:
        db.bulk_docs(writes, new_edits=False)
    return ids
