"""The state and day of every note, so the team overview counts late drafts without
decrypting a single note.

A note's `state` (draft or final), its author and the day it happened on are inside
its envelope. This index of (case, note, author, state, day) is updated wherever the
server sees a note's plaintext: server-side writes (`Records.write`), every accepted
push and every merge (the gateway and `merging`), and a deletion removes the row.

Cases created before the index existed (older than its migration) are indexed once,
lazily, the first time someone counts their notes (`catch_up`): their notes are
decrypted in memory, only the four facts are kept, and the case is marked done.
`rebuild` (in `sopu merge sweep`) re-reads every case, which also repairs what a
crash between a store write and this index, or a write straight to CouchDB, left out.
Nothing here stores or logs a word of a note.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sync.cases import database_name
from sync.crypto import CryptoError, open_envelope
from sync.store import NotFound, Store

from ..directory.base import Directory, utcnow
from ..directory.dialect import upsert
from ..keys.service import KeyService

HELSINKI = ZoneInfo("Europe/Helsinki")  # the day a note happened on, as the team sees it


class NoteStates:
    def __init__(self, directory: Directory, store: Store, keys: KeyService):
        self.directory = directory
        self.store = store
        self.keys = keys

    # ------------------------------------------------------------ keeping it current

    def note(self, case_id: str, docs: Iterable[dict], con=None) -> None:
        """Record the notes among `docs` (plaintext; other types are ignored)."""
        rows = [_row(case_id, doc) for doc in docs if doc.get("type") == "note"]
        if not rows:
            return
        if con is not None:
            _store_rows(con, rows, replace=True)
            return
        with self.directory.transaction() as own:
            _store_rows(own, rows, replace=True)

    def forget(self, case_id: str, doc_ids: Iterable[str]) -> None:
        """Deleted documents (rows of ids that were no note are simply absent)."""
        ids = [(case_id, doc_id) for doc_id in doc_ids]
        if ids:
            with self.directory.transaction() as con:
                con.executemany("DELETE FROM note_states WHERE case_id = ? AND doc_id = ?", ids)

    # ------------------------------------------------------------ older cases

    def catch_up(self, scope_sql: str, params: tuple) -> int:
        """Index the cases of `scope_sql` (a SELECT of case ids) that are older than the
        index and not indexed yet; returns how many were."""
        rows = self.directory.query(
            f"SELECT id FROM cases WHERE id IN ({scope_sql}) AND shredded_at IS NULL"
            " AND created_at < (SELECT MIN(at) FROM note_states_since)"
            " AND id NOT IN (SELECT case_id FROM note_states_cases)",
            params,
        )
        for row in rows:
            self._index_case(row["id"], replace=False)
        return len(rows)

    def rebuild(self) -> int:
        """Re-read the notes of every case that still has its keys; returns how many
        cases were read."""
        with self.directory.transaction() as con:  # a shredded case keeps no trace here
            con.execute(
                "DELETE FROM note_states WHERE case_id IN"
                " (SELECT id FROM cases WHERE shredded_at IS NOT NULL)"
            )
        rows = self.directory.query("SELECT id FROM cases WHERE shredded_at IS NULL")
        for row in rows:
            self._index_case(row["id"], replace=True)
        return len(rows)

    def _index_case(self, case_id: str, replace: bool) -> None:
        """The notes the case's database holds now. Catching up never overwrites a row
        a newer write made meanwhile (`replace=False`); a rebuild replaces them all."""
        notes = self._read_notes(case_id)
        with self.directory.transaction() as con:
            if replace:
                con.execute("DELETE FROM note_states WHERE case_id = ?", (case_id,))
            _store_rows(con, [_row(case_id, doc) for doc in notes], replace)
            con.execute(
                upsert("note_states_cases", ("case_id", "indexed_at"), ("case_id",)),
                (case_id, utcnow()),
            )

    def _read_notes(self, case_id: str) -> list[dict]:
        """The case's live notes, decrypted in memory (an unreadable one is skipped: a
        tampered envelope is the store's problem, not a count's)."""
        try:
            rows = self.store.database(database_name(case_id)).all_docs(include_docs=True)
        except NotFound:
            return []
        notes = []
        for row in rows["rows"]:
            envelope = row.get("doc") or {}
            if envelope.get("doc_type") != "note":
                continue
            try:
                notes.append(open_envelope(envelope, self.keys.lookup))
            except CryptoError:
                continue
        return notes

    # ------------------------------------------------------------ reading

    def late_drafts(self, scope_sql: str, params: tuple, on_or_before: date) -> dict[str, int]:
        """Author → how many of their notes in the cases of `scope_sql` are still drafts
        and happened on or before `on_or_before`."""
        rows = self.directory.query(
            "SELECT author, COUNT(*) AS n FROM note_states"
            f" WHERE state = 'draft' AND occurred_on <= ? AND case_id IN ({scope_sql})"
            " GROUP BY author",
            (on_or_before.isoformat(), *params),
        )
        return {row["author"]: row["n"] for row in rows}


NOTE_COLUMNS = ("case_id", "doc_id", "author", "state", "occurred_on", "updated_at")


def _store_rows(con, rows: list[tuple], replace: bool) -> None:
    """Rows replace those of the same note, or (`replace=False`) leave them as they are."""
    if replace:
        sql = upsert("note_states", NOTE_COLUMNS, ("case_id", "doc_id"))
    else:
        sql = (
            f"INSERT INTO note_states ({', '.join(NOTE_COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT DO NOTHING"
        )
    con.executemany(sql, rows)


def _row(case_id: str, doc: dict) -> tuple:
    author = doc.get("created_by") or doc.get("updated_by") or ""
    return (
        case_id,
        doc["_id"],
        author,
        doc.get("state") or "draft",
        occurred_on(doc.get("occurred_at") or doc.get("updated_at")),
        utcnow(),
    )


def occurred_on(timestamp: str | None) -> str:
    """The Helsinki day of an RFC 3339 timestamp (`YYYY-MM-DD`; empty if none)."""
    if not timestamp:
        return ""
    moment = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=HELSINKI)
    return moment.astimezone(HELSINKI).date().isoformat()
