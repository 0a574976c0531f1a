"""Group commit: the short write transactions of several threads in one COMMIT.

A device's sync writes three small things in three requests (its feed cursor, the
access log of what it received, its replication checkpoint), each a transaction whose
COMMIT waits for an fsync (about a millisecond here), one writer at a time. When many
devices sync at once, writers queue behind each other's fsyncs. Here the first writer
of a process becomes the leader: it opens the transaction, runs its own work, then the
work of every writer that arrived meanwhile (each in its own SAVEPOINT, in its own
thread, on the leader's connection, one at a time), and commits them all with one
fsync. Leadership then passes to the next writer waiting.

Nothing is acknowledged before it is durable: every member waits for the COMMIT and
fails with it, or with the leader if something unexpected stops the leader before it
(the group's transaction is then rolled back). A member whose own work raises is
rolled back to its savepoint alone and gets its own error; the others are unaffected.
If SQLite rolled the whole transaction back (a full disk does), every member of the
group gets the error.

Only for work that touches nothing but the connection it is given: a member's reads
through another connection would not see the group's uncommitted writes.

A group made with `durable=False` commits without waiting for the fsync (the leader
switches its connection to `synchronous=NORMAL` for that COMMIT): for bookkeeping whose
loss in a power cut the protocol tolerates, such as a device's replication
checkpoint. What it commits is visible to every reader at once, and is
made durable by the next durable COMMIT of the file (the WAL is synced in order), so a
crash can only lose a tail of such commits, never something a durable one depends on.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import weakref
from collections import deque
from collections.abc import Callable, Iterator

MAX_GROUP = 64  # members per COMMIT: bounds how long one leader holds the lock


class _Member:
    __slots__ = ("commit_error", "con", "state")

    def __init__(self) -> None:
        self.state = "waiting"  # → "lead" | "run" → "ran" → "committed"
        self.con: sqlite3.Connection | None = None
        self.commit_error: BaseException | None = None


class GroupCommit:
    """Group commits of one SQLite file in this process.

    `connection` gives the calling thread's connection, `turn` the writer's turn (the
    cross-process `WriterQueue`, or nothing), `mapped` turns an SQLite error into the
    one callers see (a full disk is `InsufficientStorage`)."""

    def __init__(
        self,
        connection: Callable[[], sqlite3.Connection],
        turn: Callable[[], contextlib.AbstractContextManager],
        mapped: Callable[[BaseException], BaseException],
        durable: bool = True,
    ):
        self.connection = connection
        self.turn = turn
        self.mapped = mapped
        self.durable = durable
        self._reset()
        reset = weakref.WeakMethod(self._reset)
        os.register_at_fork(after_in_child=lambda: (method := reset()) and method())

    def _reset(self) -> None:
        self._cond = threading.Condition()
        self._leading = False
        self._waiting: deque[_Member] = deque()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        if self.connection().in_transaction:  # it would wait for the turn it holds
            raise RuntimeError("a grouped write cannot run inside this thread's transaction")
        member = _Member()
        with self._cond:
            if self._leading:
                self._waiting.append(member)
                while member.state == "waiting":
                    self._cond.wait()
            else:
                self._leading = True
                member.state = "lead"
        if member.state == "lead":
            yield from self._lead()
        else:
            yield from self._follow(member)

    # ------------------------------------------------------------ leader

    def _lead(self) -> Iterator[sqlite3.Connection]:
        served: list[_Member] = []
        own_error: BaseException | None = None
        commit_error: BaseException | None = None
        try:
            with self.turn(), self._synchronous(self.connection()) as con:
                try:
                    con.execute("BEGIN IMMEDIATE")
                except sqlite3.Error as exc:
                    raise self.mapped(exc) from None
                errors: list[BaseException] = []
                with self._member(con, errors):
                    yield con
                own_error = errors[0] if errors else None
                while len(served) < MAX_GROUP - 1 and con.in_transaction:
                    follower = self._next_follower(con)
                    if follower is None:
                        break
                    served.append(follower)
                commit_error = self._commit(con)
        except BaseException as exc:  # unexpected, before the COMMIT: nobody's work stays
            if commit_error is None:
                commit_error = _leader_stopped(exc)
            raise
        finally:
            self._hand_over(served, commit_error)
        if own_error is not None:
            raise own_error
        if commit_error is not None:
            raise commit_error

    @contextlib.contextmanager
    def _synchronous(self, con: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
        """The connection as it is for a durable group; for the others switched to
        `synchronous=NORMAL` (no fsync at COMMIT) until the group is done. SQLite takes
        the setting only outside a transaction, hence around BEGIN … COMMIT. A group
        left unfinished by an error before the COMMIT is rolled back here: the
        connection is the leader thread's, and its next write must start afresh."""
        level = None
        if not self.durable:
            (level,) = con.execute("PRAGMA synchronous").fetchone()
            con.execute("PRAGMA synchronous=NORMAL")
        try:
            yield con
        finally:
            if con.in_transaction:
                con.execute("ROLLBACK")
            if level is not None:
                con.execute(f"PRAGMA synchronous={int(level)}")

    @contextlib.contextmanager
    def _member(self, con: sqlite3.Connection, errors: list) -> Iterator[None]:
        """One member's work in its own savepoint, leader's and followers' alike: its
        error is undone and kept in `errors` (raised to that member alone after the
        commit), so the rest of the group goes on."""
        try:
            con.execute("SAVEPOINT member")
            try:
                yield
            except BaseException as exc:
                errors.append(self._own(exc))
                _roll_back_member(con)
            else:
                con.execute("RELEASE member")
        except sqlite3.Error as exc:
            if not errors:
                errors.append(self.mapped(exc))

    def _own(self, exc: BaseException) -> BaseException:
        """A member's own error, as the caller of a plain transaction would see it."""
        return self.mapped(exc) if isinstance(exc, sqlite3.Error) else exc

    def _next_follower(self, con: sqlite3.Connection) -> _Member | None:
        """Let the next waiting writer run its work on `con`; wait until it has."""
        with self._cond:
            if not self._waiting:
                return None
            follower = self._waiting.popleft()
            follower.con, follower.state = con, "run"
            self._cond.notify_all()
            while follower.state == "run":
                self._cond.wait()
        return follower

    def _commit(self, con: sqlite3.Connection) -> BaseException | None:
        if not con.in_transaction:  # SQLite rolled it all back (a full disk)
            return self.mapped(sqlite3.OperationalError("the transaction was rolled back"))
        try:
            con.execute("COMMIT")
            return None
        except sqlite3.Error as exc:
            if con.in_transaction:
                con.execute("ROLLBACK")
            return self.mapped(exc)

    def _hand_over(self, served: list[_Member], commit_error: BaseException | None) -> None:
        """Tell the members the outcome; the next waiting writer leads."""
        with self._cond:
            for member in served:
                member.commit_error = commit_error
                member.state = "committed"
            if self._waiting:
                self._waiting.popleft().state = "lead"
            else:
                self._leading = False
            self._cond.notify_all()

    # ------------------------------------------------------------ follower

    def _follow(self, member: _Member) -> Iterator[sqlite3.Connection]:
        con = member.con
        errors: list[BaseException] = []
        try:
            with self._member(con, errors):
                yield con
        finally:
            with self._cond:
                member.state = "ran"
                self._cond.notify_all()
                while member.state != "committed":
                    self._cond.wait()
        if errors:
            raise errors[0]
        if member.commit_error is not None:
            raise member.commit_error


def _leader_stopped(exc: BaseException) -> BaseException:
    """What the followers of a leader that stopped before the COMMIT are told (each
    raises it in its own thread; the leader raises `exc` itself)."""
    error = RuntimeError(f"the group's leader stopped before its commit ({type(exc).__name__})")
    error.__cause__ = exc
    return error


def _roll_back_member(con: sqlite3.Connection) -> None:
    """Undo one member's work, unless SQLite already rolled everything back."""
    if con.in_transaction:
        con.execute("ROLLBACK TO member")
        con.execute("RELEASE member")
