"""The directory in one SQLite file (the embedded default): one connection per
thread, migrations on open."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sync.private_files import private_dir
from sync.sqlite_connections import CRASH_SAFE, ThreadConnections

from .base import Directory
from .migrations import MIGRATIONS


class SQLiteDirectory(Directory):
    """The directory database at `path` (created and migrated on first open)."""

    dialect = "sqlite"

    def __init__(self, path: Path | str):
        self.path = Path(path)
        private_dir(self.path.parent)
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

    def grouped(self, durable: bool = True):
        """A write transaction that may commit together with other threads' (one
        fsync for several; `sync.group_commit`), all or nothing, durable on return
        (with `durable=False`: committed, made durable by the next durable commit).
        Only for work done entirely through the connection it gives."""
        return self._connections.group_transaction(durable)

    def schema_version(self) -> int:
        return self.connection().execute("PRAGMA user_version").fetchone()[0]

    def _migrate(self) -> None:
        with self.transaction() as con:
            (version,) = con.execute("PRAGMA user_version").fetchone()
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                for statement in _statements(script):
                    con.execute(statement)
                con.execute(f"PRAGMA user_version = {number}")

    def compact(self) -> None:
        """secure_delete zeroes freed pages in the file; the WAL still holds the old
        ones until it is checkpointed and truncated."""
        self.connection().execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def describe(self) -> str:
        return str(self.path)

    def close(self) -> None:
        self.closed = True
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
