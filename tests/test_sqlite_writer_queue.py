"""Writers of the directory queue on a lock file, not in SQLite's busy handler.

SQLite's busy handler sleeps and polls (up to 100 ms between tries), so under many
concurrent writers a commit of a millisecond left others asleep for tens of them
(docs/performance.md). `WriterQueue` makes writers of every thread and process wait
in the kernel instead. These tests run SQLite with `busy_timeout=0`: any writer that
reached SQLite's lock while another held it would fail at once with "database is
locked", so a run without errors shows the writers queued in front of SQLite.
"""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from server.access_log import AccessLog
from server.directory import SQLiteDirectory as Directory
from sync.sqlite_connections import ThreadConnections, WriterQueue

IMPATIENT = ("journal_mode=WAL", "synchronous=FULL", "busy_timeout=0")
FORK = multiprocessing.get_context("fork")


def _counter(path: Path) -> None:
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("CREATE TABLE IF NOT EXISTS counter (id INTEGER PRIMARY KEY, n INTEGER)")
    con.execute("INSERT OR IGNORE INTO counter VALUES (1, 0)")
    con.commit()
    con.close()


def _increment(path: str, times: int, queue: bool, hold: float, errors) -> None:
    """`times` transactions, each reading and writing the counter (held `hold` s)."""
    connections = ThreadConnections(Path(path), IMPATIENT, queue_writers=queue)

    def work() -> None:
        for _ in range(times):
            try:
                with connections.transaction() as con:
                    (n,) = con.execute("SELECT n FROM counter").fetchone()
                    time.sleep(hold)
                    con.execute("UPDATE counter SET n = ?", (n + 1,))
            except sqlite3.OperationalError as exc:
                errors.put(str(exc))

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    connections.close()


def _run(path: Path, queue: bool, processes: int = 3, times: int = 15, hold: float = 0.002):
    errors = FORK.Queue()
    procs = [
        FORK.Process(target=_increment, args=(str(path), times, queue, hold, errors))
        for _ in range(processes)
    ]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=120)
        assert proc.exitcode == 0
    found = []
    while not errors.empty():
        found.append(errors.get())
    (n,) = sqlite3.connect(path).execute("SELECT n FROM counter").fetchone()
    return n, found


def test_writers_of_several_processes_and_threads_all_commit_in_turn(tmp_path):
    path = tmp_path / "queue.sqlite3"
    _counter(path)
    n, errors = _run(path, queue=True)
    assert errors == []
    assert n == 3 * 2 * 15  # no increment lost, none refused


def test_without_the_queue_the_same_writers_collide(tmp_path):
    """The control: the same load on SQLite's own lock, with no patience, fails."""
    path = tmp_path / "bare.sqlite3"
    _counter(path)
    n, errors = _run(path, queue=False)
    assert errors and all("locked" in e for e in errors)
    assert n == 3 * 2 * 15 - len(errors)


def _child_turn(queue: WriterQueue, started, done) -> None:
    with queue.turn():
        started.value = time.time()
    done.set()


def test_a_forked_process_waits_for_the_lock_its_parent_holds(tmp_path):
    """A child inherits the parent's open files and its thread lock's state; it must
    not inherit its turn (the parent forks while inside one, as a worker could)."""
    queue = WriterQueue(tmp_path / "fork.sqlite3")
    started, done = FORK.Value("d", 0.0), FORK.Event()
    with queue.turn():
        child = FORK.Process(target=_child_turn, args=(queue, started, done))
        child.start()
        assert not done.wait(0.5)  # the child waits: the parent holds the lock
        released = time.time()
    child.join(timeout=30)
    assert child.exitcode == 0
    assert started.value >= released
    queue.close()


def _append_accesses(path: str, worker: str, device: str, case: str, times: int) -> None:
    directory = Directory(path)
    log = AccessLog(directory)
    for n in range(times):
        log.record(worker, case, [f"{n:032x}"], "deliver", device)
    directory.close()


@pytest.mark.parametrize("processes", [4])
def test_the_access_log_chain_holds_when_processes_append_at_once(tmp_path, processes):
    """gunicorn's workers append to one hash chain; every entry links to the one before."""
    path = tmp_path / "directory.sqlite3"
    Directory(path).close()  # migrated once, before the workers start
    ids = [f"{i:032x}" for i in range(1, 1 + 3 * processes)]
    procs = [
        FORK.Process(
            target=_append_accesses,
            args=(str(path), ids[3 * i], ids[3 * i + 1], ids[3 * i + 2], 25),
        )
        for i in range(processes)
    ]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=120)
        assert proc.exitcode == 0
    directory = Directory(path)
    log = AccessLog(directory)
    assert len(log.entries()) == processes * 25
    assert log.verify() is None
    directory.close()
