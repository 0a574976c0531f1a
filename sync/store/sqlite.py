"""The embedded store: every database of a site in one SQLite file.

Why one file: the sync gateway reads across all the case databases a worker is
assigned to, and a single WAL-mode file makes that one indexed query instead of
opening hundreds of files. Why it is safe: every `bulk_docs` is one `BEGIN IMMEDIATE`
transaction with `synchronous=FULL`, so an acknowledged write survives `kill -9` and a
power cut, and an interrupted one leaves nothing half-written. A full disk (or the
store's own `max_size`) fails the whole transaction with `InsufficientStorage`; writes
work again as soon as there is room.

Tables: `dbs` (name, update_seq), `docs` (one row per document: its revision tree as
JSON, winning rev, deleted flag, latest seq), `revs` (the body of every revision ever
accepted — the revision archive; never pruned, not even by stemming; a rowid table,
because bodies are large and WITHOUT ROWID tables insert large rows several times
slower), `locals`.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ..private_files import private_dir
from ..revisions import InvalidRevision, RevisionConflict, RevTree, next_rev
from ..sqlite_connections import ThreadConnections
from .base import Database, DocResult, Seq, Store
from .errors import BadRequest, DatabaseExists, NotFound, StoreError
from .incoming import (
    DEFAULT_MAX_DOCUMENT_SIZE,
    Incoming,
    check_database_name,
    check_document,
    error_result,
)

FILENAME = "sopu.sqlite3"
SCHEMA = """
CREATE TABLE IF NOT EXISTS dbs (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, update_seq INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS docs (
    db INTEGER NOT NULL, id TEXT NOT NULL, tree TEXT NOT NULL, winner TEXT NOT NULL,
    deleted INTEGER NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (db, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS docs_by_seq ON docs (db, seq);
CREATE TABLE IF NOT EXISTS revs (
    db INTEGER NOT NULL, id TEXT NOT NULL, rev TEXT NOT NULL, deleted INTEGER NOT NULL,
    body TEXT NOT NULL, UNIQUE (db, id, rev)
);
CREATE TABLE IF NOT EXISTS locals (
    db INTEGER NOT NULL, id TEXT NOT NULL, rev INTEGER NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (db, id)
) WITHOUT ROWID;
"""
CHUNK = 500  # ids per IN (...) query, well under SQLite's variable limit
UNLIMITED_PAGES = 2**32 - 2  # SQLite's largest max_page_count (it clamps to its own)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _chunks(items: list, size: int = CHUNK) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _doc(doc_id: str, rev: str, deleted: bool, body_json: str) -> dict:
    """A document as CouchDB returns it: `_id`, `_rev`, the body, `_deleted` if so."""
    doc = {"_id": doc_id, "_rev": rev, **json.loads(body_json)}
    if deleted:
        doc["_deleted"] = True
    return doc


class SQLiteStore(Store):
    """All databases of one site in `<directory>/sopu.sqlite3`."""

    def __init__(
        self,
        directory: Path | str,
        max_document_size: int = DEFAULT_MAX_DOCUMENT_SIZE,
        revs_limit: int = 1000,
        max_size: int | None = None,
    ):
        self.directory = Path(directory)
        private_dir(self.directory)
        self.path = self.directory / FILENAME
        self.url = f"sqlite:///{self.directory}"
        self.max_document_size = max_document_size
        self.revs_limit = revs_limit
        self._limited = False
        self.max_size = max_size
        self._connections = ThreadConnections(self.path)
        self.connection().executescript(SCHEMA)
        (self._page_size,) = self.connection().execute("PRAGMA page_size").fetchone()

    @property
    def max_size(self) -> int | None:
        """The size in bytes past which writes are refused as if the disk were full
        (None: only the disk's own size). May be changed while the store is open."""
        return self._max_size

    @max_size.setter
    def max_size(self, value: int | None) -> None:
        self._max_size = value
        self._limited = self._limited or value is not None

    def connection(self) -> sqlite3.Connection:
        """This thread's connection."""
        return self._connections.get()

    def write(self):
        """One write transaction (see `ThreadConnections.transaction`); a write that
        would grow the file past `max_size` bytes raises `InsufficientStorage`, as a
        full disk does (SQLite's per-connection `max_page_count`, set before each write
        so a changed limit applies to every thread's connection)."""
        if self._limited:
            size = self._max_size
            pages = UNLIMITED_PAGES if size is None else max(1, size // self._page_size)
            self.connection().execute(f"PRAGMA max_page_count = {pages}")
        return self._connections.transaction()

    def db_id(self, name: str, con: sqlite3.Connection | None = None) -> int:
        row = (
            (con or self.connection())
            .execute("SELECT id FROM dbs WHERE name = ?", (name,))
            .fetchone()
        )
        if row is None:
            raise NotFound(f"Database does not exist: {name}")
        return row[0]

    def database(self, name: str) -> SQLiteDatabase:
        self.db_id(name)
        return SQLiteDatabase(self, name)

    def create_database(self, name: str) -> SQLiteDatabase:
        check_database_name(name)
        try:
            with self.write() as con:
                con.execute("INSERT INTO dbs (name) VALUES (?)", (name,))
        except sqlite3.IntegrityError:
            raise DatabaseExists(f"The database could not be created, {name} exists.") from None
        return SQLiteDatabase(self, name)

    def delete_database(self, name: str) -> None:
        with self.write() as con:
            db = self.db_id(name, con)
            for table in ("docs", "revs", "locals"):
                con.execute(f"DELETE FROM {table} WHERE db = ?", (db,))
            con.execute("DELETE FROM dbs WHERE id = ?", (db,))

    def list_databases(self) -> list[str]:
        rows = self.connection().execute("SELECT name FROM dbs ORDER BY name")
        return [name for (name,) in rows]

    def close(self) -> None:
        self._connections.close()


class SQLiteDatabase(Database):
    def __init__(self, store: SQLiteStore, name: str):
        self.store = store
        self.name = name

    def _con(self) -> sqlite3.Connection:
        return self.store.connection()

    def _id(self) -> int:
        return self.store.db_id(self.name)

    # ------------------------------------------------------------------ info

    def info(self) -> dict:
        con = self._con()
        db = self._id()
        live, dead = con.execute(
            "SELECT COALESCE(SUM(deleted = 0), 0), COALESCE(SUM(deleted), 0)"
            " FROM docs WHERE db = ?",
            (db,),
        ).fetchone()
        (seq,) = con.execute("SELECT update_seq FROM dbs WHERE id = ?", (db,)).fetchone()
        return {"db_name": self.name, "doc_count": live, "doc_del_count": dead, "update_seq": seq}

    # ------------------------------------------------------------------ writes

    def bulk_docs(self, docs: list[Any], new_edits: bool = True) -> list[DocResult]:
        results: list[DocResult | None] = [None] * len(docs)
        checked: list[tuple[int, Incoming]] = []
        for index, doc in enumerate(docs):
            try:
                checked.append(
                    (index, check_document(doc, new_edits, self.store.max_document_size))
                )
            except StoreError as exc:
                results[index] = error_result(doc, exc)
        if checked:
            with self.store.write() as con:
                db = self.store.db_id(self.name, con)
                ids = [incoming.id for _, incoming in checked]
                writer = _BatchWriter(con, db, self.store.revs_limit, ids)
                for index, incoming in checked:
                    results[index] = writer.apply(incoming, new_edits)
                writer.flush()
        return results  # type: ignore[return-value]

    # ------------------------------------------------------------------ reads

    def changes(
        self,
        since: Seq = 0,
        limit: int | None = None,
        style: str = "main_only",
        include_docs: bool = False,
        doc_ids: Iterable[str] | None = None,
    ) -> dict:
        db = self._id()
        start = self._since(since, db)
        rows = self._change_rows(db, start, limit, include_docs, doc_ids)
        results = [_change(row, style, include_docs) for row in rows]
        last = results[-1]["seq"] if results else start
        return {"results": results, "last_seq": last}

    def _since(self, since: Seq, db: int) -> int:
        if since is None:
            return 0
        if since == "now":
            (seq,) = (
                self._con().execute("SELECT update_seq FROM dbs WHERE id = ?", (db,)).fetchone()
            )
            return seq
        try:
            value = int(since)
        except (TypeError, ValueError):
            raise BadRequest(f"Malformed since value: {since!r}") from None
        if value < 0:
            raise BadRequest(f"Malformed since value: {since!r}")
        return value

    def _change_rows(self, db, start, limit, include_docs, doc_ids) -> list[tuple]:
        sql = (
            "SELECT d.id, d.seq, d.tree, d.winner, d.deleted, "
            + ("r.body" if include_docs else "NULL")
            + " FROM docs d"
            + (
                " JOIN revs r ON r.db = d.db AND r.id = d.id AND r.rev = d.winner"
                if include_docs
                else ""
            )
            + " WHERE d.db = ? AND d.seq > ?"
        )
        params: list[Any] = [db, start]
        if doc_ids is not None:
            ids = list(doc_ids)
            sql += f" AND d.id IN ({','.join('?' * len(ids))})"
            params += ids
        sql += " ORDER BY d.seq"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(max(int(limit), 0))
        return self._con().execute(sql, params).fetchall()

    def revs_diff(self, revs: dict[str, list[str]]) -> dict[str, dict]:
        trees = self._trees(list(revs))
        out = {}
        for doc_id, wanted in revs.items():
            tree = trees.get(doc_id)
            missing = list(dict.fromkeys(wanted)) if tree is None else tree.missing(wanted)
            if not missing:
                continue
            entry: dict[str, list[str]] = {"missing": missing}
            ancestors = tree.possible_ancestors(missing) if tree is not None else []
            if ancestors:
                entry["possible_ancestors"] = ancestors
            out[doc_id] = entry
        return out

    def bulk_get(self, requests: list[dict], revs: bool = True) -> dict:
        """One answer per request, in order. Trees and bodies are read with one query
        per 500 documents, not one per document: a sync batch is hundreds of them."""
        con, db = self._con(), self._id()
        asked = [_asked(request) for request in requests]
        trees = _load_trees(con, db, [doc_id for doc_id, _ in asked if isinstance(doc_id, str)])
        chosen = [_choose(trees.get(doc_id), rev) for doc_id, rev in asked]
        pairs = zip(asked, chosen, strict=True)
        bodies = _load_bodies(con, db, [(i, rev) for (i, _), rev in pairs if isinstance(rev, str)])
        results = []
        for (doc_id, asked_rev), rev in zip(asked, chosen, strict=True):
            entry = _bulk_get_entry(doc_id, asked_rev, rev, trees.get(doc_id), bodies, revs)
            results.append({"id": doc_id, "docs": [entry]})
        return {"results": results}

    def get(
        self,
        doc_id: str,
        rev: str | None = None,
        revs: bool = False,
        open_revs: list[str] | str | None = None,
        conflicts: bool = False,
    ) -> Any:
        tree = self._trees([doc_id]).get(doc_id)
        if open_revs is not None:
            return self._open_revs(doc_id, tree, open_revs, revs)
        if tree is None:
            raise NotFound("missing")
        if rev is None:
            if tree.is_deleted():
                raise NotFound("deleted")
            rev = tree.winner()
        doc = self._revision(doc_id, rev, tree if revs else None)
        if conflicts and tree.conflicts():
            doc["_conflicts"] = tree.conflicts()
        return doc

    def _open_revs(self, doc_id: str, tree: RevTree | None, open_revs, revs: bool) -> list:
        if open_revs == "all":
            wanted = [rev for rev, _ in tree.leaves()] if tree else []
        elif isinstance(open_revs, list):
            wanted = open_revs
        else:
            raise BadRequest('open_revs must be "all" or a list of revisions.')
        out = []
        for rev in wanted:
            try:
                if tree is None:
                    raise NotFound("missing")
                out.append({"ok": self._revision(doc_id, rev, tree if revs else None)})
            except NotFound:
                out.append({"missing": rev})
        return out

    def _revision(self, doc_id: str, rev: Any, tree: RevTree | None) -> dict:
        """The stored body of one revision; with `tree`, its `_revisions` too."""
        doc = self.archived(doc_id, rev) if isinstance(rev, str) else None
        if doc is None or (tree is not None and rev not in tree):
            raise NotFound("missing")
        if tree is not None:
            doc["_revisions"] = tree.path(rev)
        return doc

    def all_docs(self, include_docs: bool = False, keys: list[str] | None = None) -> dict:
        db = self._id()
        con = self._con()
        (total,) = con.execute(
            "SELECT COUNT(*) FROM docs WHERE db = ? AND deleted = 0", (db,)
        ).fetchone()
        if keys is None:
            rows = con.execute(
                "SELECT d.id, d.winner, d.deleted, r.body FROM docs d JOIN revs r"
                " ON r.db = d.db AND r.id = d.id AND r.rev = d.winner"
                " WHERE d.db = ? AND d.deleted = 0 ORDER BY d.id",
                (db,),
            ).fetchall()
            return {"total_rows": total, "rows": [_all_docs_row(r, include_docs) for r in rows]}
        found = {}
        for chunk in _chunks([k for k in keys if isinstance(k, str)]):
            found.update(
                (r[0], r)
                for r in con.execute(
                    "SELECT d.id, d.winner, d.deleted, r.body FROM docs d JOIN revs r"
                    " ON r.db = d.db AND r.id = d.id AND r.rev = d.winner"
                    f" WHERE d.db = ? AND d.id IN ({','.join('?' * len(chunk))})",
                    [db, *chunk],
                )
            )
        rows = [
            _all_docs_row(found[k], include_docs)
            if k in found
            else {"key": k, "error": "not_found"}
            for k in keys
        ]
        return {"total_rows": total, "rows": rows}

    def archived(self, doc_id: str, rev: str) -> dict | None:
        row = (
            self._con()
            .execute(
                "SELECT deleted, body FROM revs WHERE db = ? AND id = ? AND rev = ?",
                (self._id(), doc_id, rev),
            )
            .fetchone()
        )
        return None if row is None else _doc(doc_id, rev, bool(row[0]), row[1])

    def _trees(self, ids: list[str]) -> dict[str, RevTree]:
        return _load_trees(self._con(), self._id(), ids)

    # ------------------------------------------------------------------ _local

    def get_local(self, local_id: str) -> dict:
        row = (
            self._con()
            .execute("SELECT rev, body FROM locals WHERE db = ? AND id = ?", (self._id(), local_id))
            .fetchone()
        )
        if row is None:
            raise NotFound("missing")
        return {"_id": f"_local/{local_id}", "_rev": f"0-{row[0]}", **json.loads(row[1])}

    def put_local(self, local_id: str, doc: dict) -> dict:
        if not isinstance(local_id, str) or not local_id:
            raise BadRequest("A _local document needs a non-empty id.")
        body = {k: v for k, v in doc.items() if not k.startswith("_")}
        with self.store.write() as con:
            db = self.store.db_id(self.name, con)
            row = con.execute(
                "SELECT rev FROM locals WHERE db = ? AND id = ?", (db, local_id)
            ).fetchone()
            rev = (row[0] if row else 0) + 1
            con.execute(
                "INSERT OR REPLACE INTO locals (db, id, rev, body) VALUES (?, ?, ?, ?)",
                (db, local_id, rev, _dumps(body)),
            )
        return {"id": f"_local/{local_id}", "rev": f"0-{rev}", "ok": True}

    def delete_local(self, local_id: str) -> None:
        with self.store.write() as con:
            cursor = con.execute(
                "DELETE FROM locals WHERE db = ? AND id = ?",
                (self.store.db_id(self.name, con), local_id),
            )
            if cursor.rowcount == 0:
                raise NotFound("missing")


def _load_trees(con: sqlite3.Connection, db: int, ids: list[str]) -> dict[str, RevTree]:
    trees = {}
    for chunk in _chunks(list(dict.fromkeys(ids))):
        rows = con.execute(
            f"SELECT id, tree FROM docs WHERE db = ? AND id IN ({','.join('?' * len(chunk))})",
            [db, *chunk],
        )
        trees.update((doc_id, RevTree.from_json(tree)) for doc_id, tree in rows)
    return trees


def _load_bodies(
    con: sqlite3.Connection, db: int, pairs: list[tuple[str, str]]
) -> dict[tuple[str, str], tuple[int, str]]:
    """`{(id, rev): (deleted, body JSON)}` of the archived revisions among `pairs`."""
    found = {}
    for chunk in _chunks(list(dict.fromkeys(pairs))):
        values = ",".join(["(?, ?)"] * len(chunk))
        rows = con.execute(
            f"WITH wanted (id, rev) AS (VALUES {values})"
            " SELECT r.id, r.rev, r.deleted, r.body FROM wanted w"
            " JOIN revs r ON r.db = ? AND r.id = w.id AND r.rev = w.rev",
            [*(part for pair in chunk for part in pair), db],
        )
        found.update(((doc_id, rev), (deleted, body)) for doc_id, rev, deleted, body in rows)
    return found


def _asked(request: Any) -> tuple[Any, Any]:
    """(id, rev) of one `_bulk_get` request; (None, None) if it is not an object."""
    if not isinstance(request, dict):
        return None, None
    return request.get("id"), request.get("rev")


def _choose(tree: RevTree | None, rev: Any) -> Any:
    """The revision to read for a request (the winner if it names none), or the
    StoreError that answers it."""
    if tree is None:
        return NotFound("missing")
    if rev is None:
        return NotFound("deleted") if tree.is_deleted() else tree.winner()
    return rev if isinstance(rev, str) else NotFound("missing")


def _bulk_get_entry(
    doc_id: Any, asked_rev: Any, rev: Any, tree: RevTree | None, bodies: dict, revs: bool
) -> dict:
    if isinstance(rev, str):
        found = bodies.get((doc_id, rev))
        if found is not None and tree is not None and not (revs and rev not in tree):
            doc = _doc(doc_id, rev, bool(found[0]), found[1])
            if revs:
                doc["_revisions"] = tree.path(rev)
            return {"ok": doc}
        error: StoreError = NotFound("missing")
    else:
        error, rev = rev, asked_rev
    return {"error": {"id": doc_id, "rev": rev, "error": error.error, "reason": error.reason}}


def _change(row: tuple, style: str, include_docs: bool) -> dict:
    doc_id, seq, tree_json, winner, deleted, body = row
    if style == "all_docs":
        revs = [rev for rev, _ in RevTree.from_json(tree_json).leaves()]
    elif style == "main_only":
        revs = [winner]
    else:
        raise BadRequest(f"style must be main_only or all_docs, not {style!r}")
    change: dict[str, Any] = {"seq": seq, "id": doc_id, "changes": [{"rev": r} for r in revs]}
    if deleted:
        change["deleted"] = True
    if include_docs:
        change["doc"] = _doc(doc_id, winner, bool(deleted), body)
    return change


def _all_docs_row(row: tuple, include_docs: bool) -> dict:
    doc_id, winner, deleted, body = row
    value: dict[str, Any] = {"rev": winner}
    if deleted:
        value["deleted"] = True
    out: dict[str, Any] = {"id": doc_id, "key": doc_id, "value": value}
    if include_docs:
        out["doc"] = None if deleted else _doc(doc_id, winner, False, body)
    return out


class _BatchWriter:
    """Applies one batch of checked documents inside one transaction.

    Trees of the whole batch are loaded with one query per 500 ids, and rows are
    written with `executemany` at the end: a bulk write costs a few statements, not
    a few per document.
    """

    def __init__(self, con: sqlite3.Connection, db: int, revs_limit: int, ids: list[str]):
        self.con = con
        self.db = db
        self.revs_limit = revs_limit
        (self.seq,) = con.execute("SELECT update_seq FROM dbs WHERE id = ?", (db,)).fetchone()
        self.trees: dict[str, RevTree] = _load_trees(con, db, ids)
        self.fresh: dict[str, dict] = {}  # doc id -> tree JSON of a new replicated doc
        self.rev_rows: list[tuple] = []
        self.doc_rows: list[tuple] = []

    def apply(self, doc: Incoming, new_edits: bool) -> DocResult:
        if doc.id in self.fresh:  # written earlier in this batch by the fast path
            self.trees[doc.id] = RevTree.from_json(self.fresh.pop(doc.id))
        if not new_edits and doc.id not in self.trees:
            return self._first_replicated(doc)
        tree = self.trees.setdefault(doc.id, RevTree())
        try:
            if new_edits:
                rev, changed = self._edit(tree, doc), True
            else:
                rev = f"{doc.path['start']}-{doc.path['ids'][0]}"
                before = tree.to_json() if rev in tree else None
                changed = tree.add(doc.path, doc.deleted)
                if before is not None and tree.to_json() != before:
                    self._save_tree(doc.id, tree)  # history added to a known revision
        except RevisionConflict:
            return {"id": doc.id, "error": "conflict", "reason": "Document update conflict."}
        except InvalidRevision as exc:
            return {"id": doc.id, "error": "bad_request", "reason": str(exc)}
        self._store(doc, rev, tree, changed)
        return {"id": doc.id, "rev": rev, "ok": True}

    def _first_replicated(self, doc: Incoming) -> DocResult:
        """A replicated document this database has never seen: its tree is just the
        path it came with, so no tree is built (the hot path of an initial pull)."""
        if len(doc.path["ids"]) > self.revs_limit:
            self.trees[doc.id] = RevTree()
            return self.apply(doc, new_edits=False)
        tree = RevTree.path_json(doc.path, doc.deleted)
        rev = tree["revs"][-1][0]
        self.fresh[doc.id] = tree
        self.rev_rows.append(
            (self.db, doc.id, rev, int(doc.deleted), doc.body_json or _dumps(doc.body))
        )
        self.seq += 1
        self.doc_rows.append((self.db, doc.id, _dumps(tree), rev, int(doc.deleted), self.seq))
        return {"id": doc.id, "rev": rev, "ok": True}

    @staticmethod
    def _edit(tree: RevTree, doc: Incoming) -> str:
        parent = tree.parent_for_new_edit(doc.rev)
        rev = next_rev(parent, doc.deleted, doc.body)
        tree.add_child(parent, rev, doc.deleted)
        return rev

    def _store(self, doc: Incoming, rev: str, tree: RevTree, changed: bool) -> None:
        self.rev_rows.append(
            (self.db, doc.id, rev, int(doc.deleted), doc.body_json or _dumps(doc.body))
        )
        if not changed:
            return
        if len(tree) > self.revs_limit:  # no path can be longer than the whole tree
            tree.stem(self.revs_limit)
        winner, deleted = tree.leaves()[0]  # best first: CouchDB's winner
        self.seq += 1
        self.doc_rows.append(
            (self.db, doc.id, _dumps(tree.to_json()), winner, int(deleted), self.seq)
        )

    def _save_tree(self, doc_id: str, tree: RevTree) -> None:
        """Store a tree whose leaves did not change (no new seq: nothing to replicate)."""
        self.con.execute(
            "UPDATE docs SET tree = ? WHERE db = ? AND id = ?",
            (_dumps(tree.to_json()), self.db, doc_id),
        )

    def flush(self) -> None:
        self.con.executemany(
            "INSERT OR IGNORE INTO revs (db, id, rev, deleted, body) VALUES (?, ?, ?, ?, ?)",
            self.rev_rows,
        )
        self.con.executemany(
            "INSERT OR REPLACE INTO docs (db, id, tree, winner, deleted, seq)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            self.doc_rows,
        )
        self.con.execute("UPDATE dbs SET update_seq = ? WHERE id = ?", (self.seq, self.db))
