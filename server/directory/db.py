"""SQLite access for the directory: one connection per thread, migrations on open."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from .migrations import MIGRATIONS


def utcnow() -> str:
    """Timestamps are RFC 3339 UTC strings with seconds, as in the wire contract."""
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


class Directory:
    """The directory database at `path` (created and migrated on first open)."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._all: list[sqlite3.Connection] = []
        self._migrate()

    def connection(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            con = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            con.row_factory = sqlite3.Row
            for pragma in (
                "journal_mode=WAL",
                "synchronous=FULL",
                "busy_timeout=30000",
                "foreign_keys=ON",
                "secure_delete=ON",
            ):
                con.execute(f"PRAGMA {pragma}")
            self._local.con = con
            with self._lock:
                self._all.append(con)
        return con

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (BEGIN IMMEDIATE): all or nothing."""
        con = self.connection()
        con.execute("BEGIN IMMEDIATE")
        try:
            yield con
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")

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
        with self._lock:
            for con in self._all:
                con.close()
            self._all.clear()
        self._local = threading.local()


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
