"""The directory on PostgreSQL, for several gateway nodes sharing one directory.

The directory's code speaks the sqlite3 subset it always did (`execute` with `?`
placeholders, rows by index and by name, `rowcount`, `fetchone`/`fetchall`); this
module gives it that over psycopg 3 connections, one per thread as on SQLite, in
autocommit outside transactions. Every write transaction first takes one
transaction-scoped advisory lock, so writers are serialised in the database — across
threads, processes and nodes — exactly as SQLite's BEGIN IMMEDIATE serialises them
on one host: the hash chains' heads, the change counter and a refresh token's
redemption stay correct without any lock held in a process
(docs/adr/016-directory-on-postgresql.md).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from decimal import Decimal

import psycopg
from psycopg import adapt, errors, pq

from sync.store.errors import InsufficientStorage

from .base import Directory
from .dialect import redacted, to_pyformat
from .postgres_migrations import MIGRATIONS

#: The advisory lock every directory writer holds until its transaction ends.
WRITER_LOCK = 0x50_0D_1D_EC  # "sopu directory"
#: The lock migrations hold, so nodes starting together migrate once.
MIGRATION_LOCK = WRITER_LOCK + 1
#: The channel every committed change-counter value is announced on.
CHANNEL = "sopu_changes"


class Row:
    """A result row by index and by column name, like sqlite3.Row (`dict(row)` works)."""

    __slots__ = ("_index", "_values")

    def __init__(self, index: dict[str, int], values: tuple):
        self._index = index
        self._values = values

    def __getitem__(self, key: int | str | slice):
        if isinstance(key, str):
            return self._values[self._index[key]]
        return self._values[key]

    def keys(self) -> list[str]:
        return list(self._index)

    def __iter__(self) -> Iterator:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __eq__(self, other: object) -> bool:
        return tuple(self) == tuple(other) if isinstance(other, Row | tuple) else NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Row({dict(zip(self._index, self._values, strict=True))!r})"


def _rows(cursor: psycopg.Cursor):
    index = {column.name: i for i, column in enumerate(cursor.description or ())}
    return lambda values: Row(index, values)


class _BoolAsInteger(adapt.Dumper):
    """Flags are integers in the schema (as on SQLite): Python's True goes as 1."""

    oid = psycopg.postgres.types["int8"].oid

    def dump(self, obj: bool) -> bytes:
        return b"1" if obj else b"0"


class _NumericAsNumber(adapt.Loader):
    """SUM() of integers is NUMERIC on PostgreSQL: read back as int (or float), as
    SQLite gives it, so the JSON of every answer is the same on both backends."""

    def load(self, data) -> int | float:
        value = Decimal(bytes(data).decode())
        return int(value) if value == value.to_integral_value() else float(value)


class Connection:
    """A psycopg connection with the sqlite3-style calls the directory's code makes."""

    def __init__(self, raw: psycopg.Connection):
        self.raw = raw

    def execute(self, sql: str, params: tuple | list = ()) -> psycopg.Cursor:
        cursor = self.raw.cursor()
        cursor.execute(to_pyformat(sql), tuple(params))
        return cursor

    def executemany(self, sql: str, rows) -> psycopg.Cursor:
        cursor = self.raw.cursor()
        rows = [tuple(row) for row in rows]
        if rows:
            cursor.executemany(to_pyformat(sql), rows)
        return cursor

    def announce_changes(self) -> None:
        """Tell every listener that a change commits with this transaction."""
        self.raw.execute(f"NOTIFY {CHANNEL}")

    @property
    def in_transaction(self) -> bool:
        return self.raw.info.transaction_status != pq.TransactionStatus.IDLE


class PostgresDirectory(Directory):
    """The directory in the PostgreSQL database at `url` (migrated on open)."""

    dialect = "postgresql"

    def __init__(self, url: str):
        self.url = url
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open: dict[int, Connection] = {}
        self._pid = os.getpid()
        self._migrate()

    def connection(self) -> Connection:
        """This thread's connection; a broken one (the server restarted) is replaced,
        and a process forked from the one that opened it opens its own."""
        con = getattr(self._local, "con", None)
        if os.getpid() != self._pid:
            self._forget_parent()
            con = None
        if con is None or con.raw.broken or con.raw.closed:
            con = Connection(self._connect())
            self._local.con = con
            with self._lock:
                self._close_orphans()
                self._open[threading.get_ident()] = con
        return con

    def _connect(self) -> psycopg.Connection:
        try:
            raw = psycopg.connect(self.url, autocommit=True, row_factory=_rows)
        except psycopg.OperationalError as exc:
            raise psycopg.OperationalError(
                f"cannot reach the directory at {redacted(self.url)}: {exc}"
            ) from None
        raw.adapters.register_dumper(bool, _BoolAsInteger)
        raw.adapters.register_loader("numeric", _NumericAsNumber)
        return raw

    def _forget_parent(self) -> None:
        """The parent's sockets are its own: drop them unclosed (closing would end the
        parent's sessions), and start afresh."""
        self._local = threading.local()
        self._open = {}
        self._lock = threading.Lock()
        self._pid = os.getpid()

    def _close_orphans(self) -> None:
        alive = {thread.ident for thread in threading.enumerate()}
        for ident in [i for i in self._open if i not in alive]:
            self._open.pop(ident).raw.close()

    def transaction(self) -> AbstractContextManager[Connection]:
        """A write transaction holding the directory's writer lock until it ends; the
        BEGIN and the lock go to the server in one round trip."""
        return self._transaction(durable=True)

    def grouped(self, durable: bool = True) -> AbstractContextManager[Connection]:
        """PostgreSQL groups concurrent commits itself; `durable=False` commits this
        transaction asynchronously (`synchronous_commit = off`: WAL order keeps it
        behind every earlier commit, and the next synchronous commit flushes it)."""
        return self._transaction(durable)

    @contextmanager
    def _transaction(self, durable: bool) -> Iterator[Connection]:
        con = self.connection()
        raw = con.raw
        lazy = "" if durable else " SET LOCAL synchronous_commit TO off;"
        try:
            raw.execute(f"BEGIN;{lazy} SELECT pg_advisory_xact_lock({WRITER_LOCK})")
            try:
                yield con
                raw.execute("COMMIT")
            except BaseException:
                if con.in_transaction and not raw.broken:
                    raw.execute("ROLLBACK")
                raise
        except errors.DiskFull as exc:
            raise InsufficientStorage(f"the directory's database is full: {exc}") from None

    def listen_for_changes(self, callback) -> bool:
        """A thread with a connection of its own that LISTENs and calls `callback` for
        every notification (and once after reconnecting, for what it may have missed)."""
        threading.Thread(
            target=self._listen, args=(callback,), name="sopu-directory-listener", daemon=True
        ).start()
        return True

    def _listen(self, callback) -> None:
        while not self.closed:
            try:
                with psycopg.connect(self.url, autocommit=True) as raw:
                    raw.execute(f"LISTEN {CHANNEL}")
                    callback()
                    for _ in raw.notifies():
                        callback()
            except psycopg.Error:
                time.sleep(1)  # the server restarts: listen again

    def schema_version(self) -> int:
        row = self.one("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
        return row[0]

    def _migrate(self) -> None:
        con = self.connection()
        with con.raw.transaction():
            con.raw.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            con.raw.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations"
                " (version BIGINT PRIMARY KEY, applied_at TEXT NOT NULL)"
            )
            done = con.raw.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
            (version,) = done.fetchone()
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                con.raw.execute(script)
                con.raw.execute(
                    "INSERT INTO schema_migrations (version, applied_at) VALUES (%s, now()::text)",
                    (number,),
                )

    def describe(self) -> str:
        return redacted(self.url)

    def close(self) -> None:
        self.closed = True
        with self._lock:
            if os.getpid() == self._pid:
                for con in self._open.values():
                    con.raw.close()
            self._open.clear()
        self._local = threading.local()
