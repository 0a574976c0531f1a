"""What every directory backend offers: the SQL connection of this thread, write
transactions that are all or nothing, and the two read helpers.

The directory's code is written once, in the SQL both backends understand (`?`
placeholders, `INSERT … ON CONFLICT`, `RETURNING`); `sqlite.SQLiteDirectory` runs it
on the embedded file and `postgres.PostgresDirectory` on a PostgreSQL server shared
by several gateway nodes (docs/adr/016-directory-on-postgresql.md).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any


def utcnow() -> str:
    """Timestamps are RFC 3339 UTC strings with seconds, as in the wire contract."""
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


class Directory:
    """A directory database, created and migrated when it is opened.

    `transaction()` serialises writers on the whole directory (SQLite: BEGIN
    IMMEDIATE; PostgreSQL: a transaction-scoped advisory lock), so code that reads
    and then writes inside one — the hash chains' heads, the change counter, a
    refresh token's redemption — is correct however many threads, processes and
    nodes write at once."""

    #: "sqlite" or "postgresql": for the few places that must know (backup, tests).
    dialect: str = ""
    #: Set by `close()`: threads that watch the directory (live feeds) end.
    closed: bool = False

    def connection(self) -> Any:
        """This thread's connection (reads outside a transaction autocommit)."""
        raise NotImplementedError

    def transaction(self) -> AbstractContextManager[Any]:
        """A write transaction: all or nothing, one writer at a time."""
        raise NotImplementedError

    def grouped(self, durable: bool = True) -> AbstractContextManager[Any]:
        """A write transaction that may share its commit with other threads' where the
        backend gains from it (SQLite's fsync); otherwise a plain `transaction()`.

        `durable=False` is for bookkeeping whose loss in a power cut the protocol
        tolerates (a device's replication checkpoint, a feed cursor): committed and
        visible to all at once, but the commit does not wait for the disk; the
        backend's next durable commit makes it durable too. Never for the logs or
        client data. An id a lost commit hands out again must not be taken for the
        lost row's (a feed cursor's token carries a nonce of its row for that)."""
        return self.transaction()

    def query(self, sql: str, params: tuple = ()) -> list:
        return self.connection().execute(sql, params).fetchall()

    def one(self, sql: str, params: tuple = ()) -> Any:
        return self.connection().execute(sql, params).fetchone()

    def listen_for_changes(self, callback) -> bool:
        """Call `callback()` whenever another process or node commits a change-counter
        value, if the backend can say so (PostgreSQL's LISTEN/NOTIFY); False when it
        cannot (SQLite: the live-feed watcher's periodic check finds them)."""
        return False

    def schema_version(self) -> int:
        """The number of migrations applied."""
        raise NotImplementedError

    def compact(self) -> None:
        """Make freed pages really go (after a KEK's old wrapped keys are dropped)."""

    def describe(self) -> str:
        """Where the directory is, without secrets (for logs and messages)."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError
