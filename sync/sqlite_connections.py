"""SQLite connections shared safely by threads: one connection per thread.

sqlite3 connections must stay in the thread that uses them, and every thread's
writes must be proper transactions. Both SQLite files of Sopu (the embedded store
and the server's directory) open their connections through this one class, so the
pragmas that make them crash-safe live in one place. Connections of threads that
have ended are closed when the next thread opens one, so short-lived threads do not
leak file descriptors.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .store.errors import InsufficientStorage

CRASH_SAFE = ("journal_mode=WAL", "synchronous=FULL", "busy_timeout=30000")


class ThreadConnections:
    def __init__(self, path: Path, pragmas: tuple[str, ...] = CRASH_SAFE, row_factory=None):
        self.path = path
        self.pragmas = pragmas
        self.row_factory = row_factory
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open: dict[int, sqlite3.Connection] = {}

    def get(self) -> sqlite3.Connection:
        """This thread's connection."""
        con = getattr(self._local, "con", None)
        if con is None:
            con = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            if self.row_factory is not None:
                con.row_factory = self.row_factory
            for pragma in self.pragmas:
                con.execute(f"PRAGMA {pragma}")
            self._local.con = con
            with self._lock:
                self._close_orphans()
                self._open[threading.get_ident()] = con
        return con

    def _close_orphans(self) -> None:
        alive = {thread.ident for thread in threading.enumerate()}
        for ident in [i for i in self._open if i not in alive]:
            self._open.pop(ident).close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction, taken at once (BEGIN IMMEDIATE) so writers queue instead
        of deadlocking on a lock upgrade; rolled back on any error, the COMMIT's too.

        A full disk (SQLITE_FULL, also a `max_page_count` reached) is raised as
        `InsufficientStorage`, with nothing of the transaction kept; SQLite may already
        have rolled it back, and the connection stays usable for when there is room."""
        con = self.get()
        try:
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
                con.execute("COMMIT")
            except BaseException:
                if con.in_transaction:
                    con.execute("ROLLBACK")
                raise
        except sqlite3.OperationalError as exc:
            if getattr(exc, "sqlite_errorcode", 0) & 0xFF == sqlite3.SQLITE_FULL:
                raise InsufficientStorage(f"{self.path.name} is full: {exc}") from None
            raise

    def close(self) -> None:
        with self._lock:
            for con in self._open.values():
                con.close()
            self._open.clear()
        self._local = threading.local()
