"""Settling what a crash between a store write and its bookkeeping left behind.

A write to a case database is indexed before it and moves the case's head after it
(`heads.writing`). A process killed in between leaves a write in flight: its case
counts as changed for every reader, so no device misses it, but it is read on every
sync until the head moves. `interrupted` settles those writes (at start-up: only the
few cases that had one) and `everything` (in `sopu merge sweep`) rebuilds the index of
every case from its database's own `_changes`, which also repairs documents written
before writes were bracketed, or to the store another way.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sync.cases import database_name
from sync.store import Database, NotFound, StoreError
from sync.store.base import Seq

from ..site import Site

log = logging.getLogger(__name__)
PAGE = 1000  # change rows per read of a case's feed


@dataclass
class Repaired:
    cases: int = 0  # cases looked at
    settled: int = 0  # writes in flight settled
    documents: int = 0  # documents that were missing from the index


def interrupted(site: Site, at_start_up: bool = False) -> Repaired:
    """Settle the writes whose process is gone; re-index their cases from the store."""
    done = Repaired()
    for case_id, rows in site.heads.interrupted(at_start_up).items():
        _repair_case(site, case_id, rows, done)
    if done.settled:
        log.warning(
            "settled %d interrupted writes in %d cases (%d documents indexed)",
            done.settled, done.cases, done.documents,
        )  # fmt: skip
    return done


def at_start_up(site: Site) -> Repaired:
    """`interrupted` when a server process starts; a store that is down only defers
    it (the writes stay visible to readers until the next start or sweep)."""
    try:
        return interrupted(site, at_start_up=True)
    except StoreError as exc:
        log.warning("repair of interrupted writes deferred: %s", type(exc).__name__)
        return Repaired()


def everything(site: Site) -> Repaired:
    """Re-index every case that still has its database (the sweeper)."""
    pending = site.heads.interrupted()
    done = Repaired()
    rows = site.directory.query("SELECT id FROM cases WHERE shredded_at IS NULL ORDER BY id")
    for case_id in [row["id"] for row in rows]:
        _repair_case(site, case_id, pending.pop(case_id, []), done)
    for case_id, leftover in pending.items():  # shredded cases
        _repair_case(site, case_id, leftover, done)
    return done


def _repair_case(site: Site, case_id: str, rows: list[int], done: Repaired) -> None:
    try:
        doc_ids = _doc_ids(site, case_id)
    except NotFound:
        doc_ids = []  # no database (shredded): nothing to index, the rows just go
    done.cases += 1
    done.documents += site.heads.reindex(case_id, doc_ids, rows)
    done.settled += len(rows)


def _doc_ids(site: Site, case_id: str) -> list[str]:
    """Every document id in the case's database."""
    return changed_ids(site.store.database(database_name(case_id)), 0)


def changed_ids(db: Database, since: Seq) -> list[str]:
    """Ids of the documents changed after `since` (0: all), read page by page from
    the database's own `_changes`."""
    ids: list[str] = []
    while True:
        page = db.changes(since=since, limit=PAGE)
        ids += [row["id"] for row in page["results"]]
        if len(page["results"]) < PAGE:
            return ids
        since = page["last_seq"]
