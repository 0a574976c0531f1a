"""A SHA-256 hash chain over the rows of an append-only directory table.

Used by the audit log and the access log. Each row's hash covers the previous row's
hash and the row's own values, so removing, reordering or editing any row breaks the
chain from that point on (`verify`). The tables themselves refuse UPDATE and DELETE
(triggers in the migration); the chain is what shows an insider who dropped them.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from .directory.base import Directory

GENESIS = "0" * 64


def link_hash(prev_hash: str, values: Sequence) -> str:
    """The hash of one row: canonical JSON of the previous hash and the row's values."""
    body = json.dumps(
        [prev_hash, *values], sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(body.encode()).hexdigest()


@dataclass(frozen=True)
class HashChain:
    """The chained table `table`: `seq` key, `columns` (hashed in this order), hashes.

    Values of `json_columns` are stored as JSON text and hashed as the values they
    encode, so a reader hashes exactly what a writer hashed.
    """

    table: str
    columns: tuple[str, ...]
    json_columns: frozenset[str] = frozenset()
    optional: tuple[str, ...] = ()  # added later: hashed only when set, so old rows verify

    def append(self, con: sqlite3.Connection, values: dict) -> dict:
        """Insert one row after the last one (call inside a write transaction)."""
        return self.append_all(con, [values])[0]

    def append_all(self, con: sqlite3.Connection, rows: list[dict]) -> list[dict]:
        """Insert `rows` after the last one, in order, reading the head once (call
        inside a write transaction)."""
        last_seq, prev = self.head(con)
        columns = (*self.columns, *self.optional)
        names = ", ".join(columns)
        marks = ", ".join("?" * (len(columns) + 3))
        out, params = [], []
        for values in rows:
            values = {**{c: None for c in self.optional}, **values}
            digest = link_hash(prev, self._hashed(values))
            # The seq is the head's + 1, not the database's own counter: a rolled-back
            # append must leave no gap (a gap reads as a deleted row in `audit verify`).
            last_seq += 1
            params.append((last_seq, *(self._stored(c, values[c]) for c in columns), prev, digest))
            out.append({"seq": last_seq, **values, "prev_hash": prev, "hash": digest})
            prev = digest
        con.executemany(
            f"INSERT INTO {self.table} (seq, {names}, prev_hash, hash) VALUES ({marks})", params
        )
        return out

    def _hashed(self, values: dict) -> list:
        """The values a row's hash covers: the columns, then any optional one that is set."""
        extra = {c: values.get(c) for c in self.optional if values.get(c) is not None}
        return [values[c] for c in self.columns] + ([extra] if extra else [])

    def rows(self, directory: Directory, where: str = "", params: tuple = ()) -> list[dict]:
        """Rows in chain order, JSON columns decoded; `where` is a fixed SQL condition."""
        sql = f"SELECT * FROM {self.table}" + (f" WHERE {where}" if where else "")
        return [self._decoded(row) for row in directory.query(sql + " ORDER BY seq", params)]

    def verify(self, directory: Directory) -> int | None:
        """None if the chain is intact, else the seq of the first row that is not."""
        prev = GENESIS
        for row in self.rows(directory):
            expected = link_hash(prev, self._hashed(row))
            if row["prev_hash"] != prev or row["hash"] != expected:
                return row["seq"]
            prev = row["hash"]
        return None

    def head(self, con: sqlite3.Connection) -> tuple[int, str]:
        """The last row's seq and hash; (0, GENESIS) for an empty chain."""
        last = con.execute(f"SELECT seq, hash FROM {self.table} ORDER BY seq DESC LIMIT 1")
        row = last.fetchone()
        return (row[0], row[1]) if row else (0, GENESIS)

    def expected_hash(self, prev_hash: str, row: dict) -> str:
        """The hash a decoded row must carry after `prev_hash` (`sopu audit verify`)."""
        return link_hash(prev_hash, self._hashed(row))

    def decoded(self, row: sqlite3.Row) -> dict:
        """A stored row as the values it was hashed from (JSON columns decoded)."""
        return self._decoded(row)

    def _stored(self, column: str, value: object) -> object:
        return json.dumps(value, sort_keys=True) if column in self.json_columns else value

    def _decoded(self, row: sqlite3.Row) -> dict:
        out = dict(row)
        for column in self.json_columns:
            out[column] = json.loads(out[column])
        return out
