"""Group commit: several threads' small write transactions share one COMMIT (one
fsync), and nothing is acknowledged before it is durable (sync/group_commit.py).

Each test writes through `ThreadConnections.group_transaction`, as the gateway writes
feed cursors, delivery log entries and checkpoints, and checks with a separate
connection what a reader (or the next process after a crash) would find.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from functools import partial

import pytest

from sync.sqlite_connections import CRASH_SAFE, ThreadConnections
from sync.store.errors import InsufficientStorage


class CountingConnections(ThreadConnections):
    """Counts the COMMITs of every connection it opens, and keeps each connection's
    statements in order (`statements`: one list per connection)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.commits = 0
        self.statements: list[list[str]] = []
        self._count_lock = threading.Lock()

    def get(self) -> sqlite3.Connection:
        con = super().get()
        if not getattr(con, "_counted", False):
            log: list[str] = []
            with self._count_lock:
                self.statements.append(log)
            con.set_trace_callback(partial(self._trace, log))
            con._counted = True
        return con

    def _trace(self, log: list[str], sql: str) -> None:
        log.append(sql)
        if sql.strip().upper() == "COMMIT":
            with self._count_lock:
                self.commits += 1


@pytest.fixture
def path(tmp_path):
    path = tmp_path / "group.sqlite3"
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("CREATE TABLE notes (writer TEXT PRIMARY KEY, body TEXT)")
    con.commit()
    con.close()
    return path


def visible(path, writer: str) -> bool:
    """What a separate connection (another process) finds committed."""
    con = sqlite3.connect(path)
    try:
        return con.execute("SELECT 1 FROM notes WHERE writer = ?", (writer,)).fetchone() is not None
    finally:
        con.close()


class Connection(sqlite3.Connection):
    """sqlite3.Connection takes no new attributes; this one may be marked as counted."""


def counted_connections(path, monkeypatch) -> CountingConnections:
    real_connect = sqlite3.connect
    monkeypatch.setattr(
        sqlite3, "connect", lambda *a, **k: real_connect(*a, factory=Connection, **k)
    )
    return CountingConnections(path, CRASH_SAFE, queue_writers=True)


def in_threads(work, count: int) -> None:
    """`work(0)` … `work(count - 1)`, each in its own thread, all at once."""
    threads = [threading.Thread(target=work, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)


def test_writers_arriving_during_a_transaction_commit_with_it(path, monkeypatch):
    connections = counted_connections(path, monkeypatch)
    first_inside = threading.Event()
    seen_after_return: dict[str, bool] = {}

    def write(name: str, linger: float = 0.0) -> None:
        with connections.group_transaction() as con:
            con.execute("INSERT INTO notes VALUES (?, ?)", (name, "x"))
            if linger:
                first_inside.set()
                time.sleep(linger)  # the others arrive meanwhile
        seen_after_return[name] = visible(path, name)

    first = threading.Thread(target=write, args=("first", 0.3))
    first.start()
    assert first_inside.wait(10)
    others = [threading.Thread(target=write, args=(f"w{i}",)) for i in range(5)]
    for thread in others:
        thread.start()
    for thread in [first, *others]:
        thread.join(30)
    assert seen_after_return == {name: True for name in ["first", "w0", "w1", "w2", "w3", "w4"]}
    assert connections.commits == 1  # six transactions, one COMMIT (one fsync)
    connections.close()


def test_many_threads_lose_nothing_and_share_commits(path, monkeypatch):
    connections = counted_connections(path, monkeypatch)
    missing: list[str] = []

    def work(thread: int) -> None:
        for n in range(25):
            name = f"{thread}-{n}"
            with connections.group_transaction() as con:
                con.execute("INSERT INTO notes VALUES (?, ?)", (name, "x"))
            if not visible(path, name):
                missing.append(name)

    in_threads(work, 12)
    assert missing == []  # every acknowledged write was committed before the return
    (count,) = sqlite3.connect(path).execute("SELECT COUNT(*) FROM notes").fetchone()
    assert count == 12 * 25
    assert connections.commits <= 12 * 25
    connections.close()


def test_a_member_that_fails_is_undone_alone(path):
    connections = ThreadConnections(path, CRASH_SAFE, queue_writers=True)
    inside = threading.Event()
    outcome: dict[str, object] = {}

    def leader() -> None:
        with connections.group_transaction() as con:
            con.execute("INSERT INTO notes VALUES ('leader', 'x')")
            inside.set()
            time.sleep(0.3)
        outcome["leader"] = "ok"

    def failing() -> None:
        try:
            with connections.group_transaction() as con:
                con.execute("INSERT INTO notes VALUES ('failing', 'x')")
                raise ValueError("the caller's own check failed")
        except ValueError as exc:
            outcome["failing"] = str(exc)

    def duplicate() -> None:
        try:
            with connections.group_transaction() as con:
                con.execute("INSERT INTO notes VALUES ('dup', 'x')")
                con.execute("INSERT INTO notes VALUES ('leader', 'again')")  # a conflict
        except sqlite3.IntegrityError:
            outcome["duplicate"] = "refused"

    def fine() -> None:
        with connections.group_transaction() as con:
            con.execute("INSERT INTO notes VALUES ('fine', 'x')")
        outcome["fine"] = "ok"

    first = threading.Thread(target=leader)
    first.start()
    assert inside.wait(10)
    rest = [threading.Thread(target=f) for f in (failing, duplicate, fine)]
    for thread in rest:
        thread.start()
    for thread in [first, *rest]:
        thread.join(30)
    assert outcome == {
        "leader": "ok",
        "failing": "the caller's own check failed",
        "duplicate": "refused",
        "fine": "ok",
    }
    assert visible(path, "leader") and visible(path, "fine")
    assert not visible(path, "failing") and not visible(path, "dup")
    connections.close()


def test_a_leader_failing_before_its_commit_acknowledges_no_follower(path, monkeypatch):
    """Something unexpected stops the leader after a follower's work ran on its
    connection and before the COMMIT (here: the hand-over of the next follower). The
    follower is told it failed, nothing of the group is stored, and the leader's
    connection is not left inside the transaction: its thread's next write goes
    through."""
    connections = ThreadConnections(path, CRASH_SAFE, queue_writers=True)
    group = connections._group
    real_next = group._next_follower
    calls = {"n": 0}

    def next_then_fail(con):
        calls["n"] += 1
        if calls["n"] == 2:  # the follower ran; the leader looks for another
            raise RuntimeError("the leader's thread was stopped")
        return real_next(con)

    monkeypatch.setattr(group, "_next_follower", next_then_fail)
    inside = threading.Event()
    outcome: dict[str, object] = {}

    def leader() -> None:
        try:
            with connections.group_transaction() as con:
                con.execute("INSERT INTO notes VALUES ('leader', 'x')")
                inside.set()
                time.sleep(0.3)
        except RuntimeError as exc:
            outcome["leader"] = str(exc)
        with connections.group_transaction() as con:
            con.execute("INSERT INTO notes VALUES ('after', 'x')")
        outcome["after"] = "ok"

    def follower() -> None:
        try:
            with connections.group_transaction() as con:
                con.execute("INSERT INTO notes VALUES ('follower', 'x')")
            outcome["follower"] = "acknowledged"
        except RuntimeError as exc:
            outcome["follower"] = str(exc)

    first = threading.Thread(target=leader)
    first.start()
    assert inside.wait(10)
    second = threading.Thread(target=follower)
    second.start()
    for thread in (first, second):
        thread.join(30)
    assert outcome == {
        "leader": "the leader's thread was stopped",
        "follower": "the group's leader stopped before its commit (RuntimeError)",
        "after": "ok",
    }
    assert not visible(path, "leader") and not visible(path, "follower")
    assert visible(path, "after")
    connections.close()


def test_a_full_disk_is_never_acknowledged(path):
    """A write that fills the disk fails with InsufficientStorage; whatever SQLite
    then rolls back, no writer is told its write is stored when it is not."""
    con = sqlite3.connect(path)
    (pages,) = con.execute("PRAGMA page_count").fetchone()
    con.close()
    limited = (*CRASH_SAFE, f"max_page_count={pages + 3}")
    connections = ThreadConnections(path, limited, queue_writers=True)
    inside = threading.Event()
    returned: list[str] = []
    errors: dict[str, type] = {}

    def write(name: str, size: int, linger: float = 0.0) -> None:
        try:
            with connections.group_transaction() as con:
                con.execute("INSERT INTO notes VALUES (?, ?)", (name, "x" * size))
                if linger:
                    inside.set()
                    time.sleep(linger)
            returned.append(name)
        except (InsufficientStorage, sqlite3.OperationalError) as exc:
            errors[name] = type(exc)

    first = threading.Thread(target=write, args=("small0", 10, 0.3))
    first.start()
    assert inside.wait(10)
    rest = [
        threading.Thread(target=write, args=("huge", 200_000)),
        threading.Thread(target=write, args=("small1", 10)),
    ]
    for thread in rest:
        thread.start()
    for thread in [first, *rest]:
        thread.join(30)
    assert errors.get("huge") is InsufficientStorage
    assert "huge" not in returned and not visible(path, "huge")
    for name in returned:  # acknowledged means committed
        assert visible(path, name)
    connections.close()


def test_a_grouped_write_inside_a_transaction_is_refused_not_stuck(path):
    connections = ThreadConnections(path, CRASH_SAFE, queue_writers=True)
    with connections.transaction() as con:
        con.execute("INSERT INTO notes VALUES ('outer', 'x')")
        with pytest.raises(RuntimeError), connections.group_transaction():
            pass
    assert visible(path, "outer")
    with connections.group_transaction() as con:  # and the group works afterwards
        con.execute("INSERT INTO notes VALUES ('after', 'x')")
    assert visible(path, "after")
    connections.close()


def test_bookkeeping_groups_skip_the_fsync_and_every_durable_commit_keeps_it(path, monkeypatch):
    """`durable=False` groups commit with synchronous=NORMAL (no fsync); durable groups
    and later transactions of the same threads commit with FULL again, so a checkpoint
    written without waiting for the disk never makes a note's commit skip the fsync."""
    connections = counted_connections(path, monkeypatch)
    lost: list[str] = []

    def work(thread: int) -> None:
        for n in range(20):
            durable = n % 3 == 0
            name = f"{'durable' if durable else 'lazy'}-{thread}-{n}"
            with connections.group_transaction(durable=durable) as con:
                con.execute(f"INSERT INTO notes VALUES ('{name}', 'x')")
            if not visible(path, name):  # committed before the return, both kinds
                lost.append(name)

    in_threads(work, 8)
    assert lost == []
    commits = [commit for log in connections.statements for commit in _commits(log)]
    assert len({name for names, _ in commits for name in names}) == 8 * 20
    for names, level in commits:
        kinds = {name.split("-")[0] for name in names}
        assert kinds in ({"durable"}, {"lazy"}), names  # a group is of one kind
        assert level == ("FULL" if kinds == {"durable"} else "NORMAL"), names
    connections.close()


def _commits(log: list[str]) -> list[tuple[list[str], str]]:
    """Per COMMIT in one connection's statements: the rows it inserted and the
    synchronous level in force."""
    level, names, out = "FULL", [], []
    for sql in log:
        text = sql.strip()
        if text.startswith("PRAGMA synchronous="):
            level = {"NORMAL": "NORMAL", "1": "NORMAL"}.get(text.partition("=")[2], "FULL")
        elif text.startswith("INSERT INTO notes"):
            names.append(text.split("'")[1])
        elif text == "COMMIT":
            out.append((names, level))
            names = []
    return out
