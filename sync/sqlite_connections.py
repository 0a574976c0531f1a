"""SQLite connections shared safely by threads: one connection per thread.

sqlite3 connections must stay in the thread that uses them, and every thread's
writes must be proper transactions. Both SQLite files of Sopu (the embedded store
and the server's directory) open their connections through this one class, so the
pragmas that make them crash-safe live in one place. Connections of threads that
have ended are closed when the next thread opens one, so short-lived threads do not
leak file descriptors.

Writers of a file can also queue on a lock file (`WriterQueue`) instead of in SQLite's
busy handler, which sleeps and polls (1, 2, 5 … up to 100 ms between tries): under
many concurrent writers a commit that takes a millisecond left the next writer asleep
for tens of milliseconds. A lock held in the kernel wakes the next writer at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .group_commit import GroupCommit
from .private_files import open_private, private_file
from .store.errors import InsufficientStorage

CRASH_SAFE = ("journal_mode=WAL", "synchronous=FULL", "busy_timeout=30000")


class WriterQueue:
    """One writer at a time across threads and processes: a thread lock, then an
    exclusive `flock` on `<file>.writers` (released by the kernel if the process dies).

    SQLite's own lock stays in force (and its busy handler for writers that do not
    queue here, such as another program); this only makes the wait short. The lock
    file is opened once per process: a forked child gets its own open file, since an
    inherited one would share the parent's lock."""

    def __init__(self, path: Path):
        self.path = Path(f"{path}.writers")
        self._fd: int | None = None
        self._pid = 0
        self._reset()
        # A child forked while another thread held the lock would never see it freed.
        child = weakref.WeakMethod(self._reset_in_child)
        os.register_at_fork(after_in_child=lambda: (reset := child()) and reset())

    def _reset(self) -> None:
        self._thread_lock = threading.RLock()
        self._depth = 0

    def _reset_in_child(self) -> None:
        """The parent's open lock file is not this process's: closing the inherited
        copy leaves the parent's lock as it is (flock belongs to the open file)."""
        self._reset()
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
        self._fd = None

    @contextmanager
    def turn(self) -> Iterator[None]:
        with self._thread_lock:
            self._depth += 1
            try:
                if self._depth > 1:  # nested in this thread: SQLite refuses it, as before
                    yield
                    return
                fd = self._file()
                fcntl.flock(fd, fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                self._depth -= 1

    def _file(self) -> int:
        if self._fd is None or self._pid != os.getpid():
            self._fd = open_private(self.path, os.O_RDWR | os.O_CREAT)
            self._pid = os.getpid()
        return self._fd

    def close(self) -> None:
        if self._fd is not None and self._pid == os.getpid():
            os.close(self._fd)
        self._fd = None


class ThreadConnections:
    def __init__(
        self,
        path: Path,
        pragmas: tuple[str, ...] = CRASH_SAFE,
        row_factory=None,
        queue_writers: bool = False,
    ):
        self.path = private_file(path)  # SQLite gives -wal and -shm the file's mode
        self.pragmas = pragmas
        self.row_factory = row_factory
        self.writers = WriterQueue(path) if queue_writers else None
        self._group = GroupCommit(self.get, self._turn, self._mapped)
        self._lazy_group = GroupCommit(self.get, self._turn, self._mapped, durable=False)
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
        with self._turn(), self._transaction() as con:
            yield con

    def group_transaction(
        self, durable: bool = True
    ) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        """A write transaction that may share its COMMIT (and fsync) with other
        threads' (`sync.group_commit`): for work that uses only the connection given.
        With `durable=False` the COMMIT does not wait for the disk: for bookkeeping a
        power cut may lose (see `sync.group_commit`)."""
        return (self._group if durable else self._lazy_group).transaction()

    def _turn(self) -> contextlib.AbstractContextManager:
        return self.writers.turn() if self.writers is not None else contextlib.nullcontext()

    def _mapped(self, exc: BaseException) -> BaseException:
        """A full disk (SQLITE_FULL, also a `max_page_count` reached) as
        `InsufficientStorage`; any other error as it is."""
        if getattr(exc, "sqlite_errorcode", 0) & 0xFF == sqlite3.SQLITE_FULL:
            return InsufficientStorage(f"{self.path.name} is full: {exc}")
        return exc

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
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
            mapped = self._mapped(exc)
            if mapped is not exc:
                raise mapped from None
            raise

    def close(self) -> None:
        with self._lock:
            for con in self._open.values():
                con.close()
            self._open.clear()
        self._local = threading.local()
        if self.writers is not None:
            self.writers.close()
