"""Writes that reach a case database without passing through Sopu become visible to
every node's feed.

Every write Sopu makes (gateway, web, CLI, sweeper) moves the case's head in the
shared directory (`heads.writing`), which is how every node's feed learns of it. A
write made to the store another way — another program, a replication into the
CouchDB cluster, a restore of the store — moves no head, so devices would not
receive it until something of Sopu wrote to that case again. The follower reads the
store's own changes: for each case database whose `update_seq` differs from the one
it recorded (`store_seqs`), it reads that database's `_changes` since then, indexes
documents the directory did not know, moves the case's head once, and records the new
seq. Sopu's own writes since the last pass move the head once more too: a device then
re-reads that case at its next sync and finds nothing new, which costs one cheap
check, not a document.

Run it where the store is: `sopu store follow` (every few seconds; docs/deployment.md)
on one node or several (each pass is idempotent; two at once only move a head twice).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sync.cases import database_name
from sync.store import NotFound

from ..site import Site
from .repair import changed_ids


@dataclass
class Followed:
    cases: int = 0  # case databases looked at
    changed: int = 0  # of them, changed since the last pass
    documents: int = 0  # documents the directory's index did not know yet


def follow_once(site: Site, progress: Callable[[int, int], None] | None = None) -> Followed:
    """One pass over every case database that still exists."""
    rows = site.directory.query(
        "SELECT cases.id, store_seqs.seq FROM cases"
        " LEFT JOIN store_seqs ON store_seqs.case_id = cases.id"
        " WHERE cases.shredded_at IS NULL ORDER BY cases.id"
    )
    done = Followed()
    for n, (case_id, known) in enumerate(rows, start=1):
        _follow_case(site, case_id, known, done)
        if progress:
            progress(n, len(rows))
    return done


def _follow_case(site: Site, case_id: str, known: str | None, done: Followed) -> None:
    try:
        db = site.store.database(database_name(case_id))
        seq = str(db.info()["update_seq"])
    except NotFound:
        return  # no database yet (or any more): nothing to see
    done.cases += 1
    if seq == known:
        return
    doc_ids = changed_ids(db, _since(known))
    done.changed += 1
    done.documents += site.heads.saw_store(case_id, doc_ids, seq)


def _since(known: str | None) -> object:
    """The recorded seq as `_changes` takes it (pouchdb-server's are integers)."""
    return 0 if known is None else (int(known) if known.isdigit() else known)
