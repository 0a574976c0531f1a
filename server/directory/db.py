"""SQLite access for the directory: one connection per thread, migrations on open."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from sync.sqlite_connections import CRASH_SAFE, ThreadConnections

from .migrations import MIGRATIONS


def utcnow() -> str:
    """Timestamps are RFC 3339 UTC strings with seconds, as in the wire contract."""
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


class Directory:
    """The directory database at `path` (created and migrated on first open)."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._connections = ThreadConnections(
            self.path,
            (*CRASH_SAFE, "foreign_keys=ON", "secure_delete=ON"),
            sqlite3.Row,
            queue_writers=True,  # many short writers: see sync.sqlite_connections
        )
        self._migrate()

    def connection(self) -> sqlite3.Connection:
        return self._connections.get()

    def transaction(self):
        """A write transaction (BEGIN IMMEDIATE): all or nothing."""
        return self._connections.transaction()

    def grouped(self):
        """A write transaction that may commit together with other threads' (one
        fsync for several; `sync.group_commit`), all or nothing, durable on return.
        Only for work done entirely through the connection it gives."""
        return self._connections.group_transaction()

    def query(self, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
        return self.connection().execute(sql, params).fetchall()

    def one(self, sql: str, params: tuple = ()) -> sqlite3.Row | None:
        return self.connection().execute(sql, params).fetchone()

    def _migrate(self) -> None:
        with self.transaction() as con:
            (version,) = con.execute("PRAGMA user_version").fetchone()
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                for statement in _statements(script):
                    con.execute(statement)
                con.execute(f"PRAGMA user_version = {number}")

    def close(self) -> None:
        self._connections.close()


def _statements(script: str) -> list[str]:
    """Split a migration into statements (triggers contain `;` inside BEGIN…END)."""
    out, current = [], []
    for line in script.strip().splitlines():
        current.append(line)
        text = "\n".join(current).strip()
        if text.endswith(";") and sqlite3.complete_statement(text):
            out.append(text)
            current = []
    return out
