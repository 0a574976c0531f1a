"""Bookkeeping that makes the per-worker feed cheap: which case changed when, where a
document lives, and which cases have visits on which day.

A write to a case database lives in another file than this bookkeeping, so the two
cannot commit together; the order of the writes makes a crash between them harmless
(docs/adr/012-index-before-store.md). `writing` brackets every write to a case
database:

1. before it, one directory transaction indexes the documents (doc id → case,
   idempotent) and records the write as in flight (`case_writes`);
2. the store write;
3. after it, one transaction moves the case's head (`directory.counter`), notes visit
   days and removes the in-flight row.

An index row whose document never reached the store is harmless: reads go to the
store, which answers "missing". A case with a write in flight counts as changed for
every reader, so a write whose head never moved (the process was killed after step 2)
is still delivered; `repair` settles such rows at start-up and in the sweeper.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from ..directory import counter
from ..directory.base import Directory, utcnow
from ..directory.dialect import upsert

# A write in flight names the process making it ("host:pid"): a row of a dead process
# on this host is settled at once, any other only when older than STALE_WRITE (longer
# than any store request takes).
STALE_WRITE = timedelta(minutes=10)


def owner() -> str:
    """This process, asked at each write: gunicorn's workers fork after import."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class Write:
    """One write in flight; set `visits` (visit id → day) for what was stored."""

    case_id: str
    row_id: int
    visits: dict[str, str] = field(default_factory=dict)


class Heads:
    def __init__(self, directory: Directory):
        self.directory = directory

    # ------------------------------------------------------------ writes

    @contextlib.contextmanager
    def writing(self, case_id: str, doc_ids: Iterable[str]) -> Iterator[Write]:
        """Bracket a write of `doc_ids` to `case_id`'s database (see the module
        docstring). The head moves on the way out even if the write failed: the store
        may have committed before the error (a timeout), and a needless move only makes
        devices look at the case once more."""
        write = self._announce(case_id, list(doc_ids))
        try:
            yield write
        except BaseException:
            with contextlib.suppress(Exception):  # the in-flight row keeps it visible
                self._settle(write)
            raise
        self._settle(write)

    def _announce(self, case_id: str, doc_ids: list[str]) -> Write:
        with self.directory.transaction() as con:
            (row_id,) = con.execute(
                "INSERT INTO case_writes (case_id, owner, started_at) VALUES (?, ?, ?)"
                " RETURNING id",
                (case_id, owner(), utcnow()),
            ).fetchone()
            _index(con, case_id, doc_ids)
        return Write(case_id, row_id)

    def _settle(self, write: Write) -> None:
        with self.directory.transaction() as con:
            _move_head(con, write.case_id)
            con.executemany(
                upsert("case_visits", ("case_id", "visit_id", "day"), ("case_id", "visit_id")),
                [(write.case_id, visit_id, day) for visit_id, day in write.visits.items()],
            )
            con.execute("DELETE FROM case_writes WHERE id = ?", (write.row_id,))
        counter.CHANGES.notify()  # committed: this process's waiting feeds look now

    # ------------------------------------------------------------ repair

    def interrupted(self, at_start_up: bool = False) -> dict[str, list[int]]:
        """Writes in flight whose process is gone: case id → row ids.

        At start-up a row with this very process id is a previous process's (pids are
        reused, in containers often), since this one has not written yet."""
        before = (datetime.now(UTC) - STALE_WRITE).replace(microsecond=0)
        stale = before.isoformat().replace("+00:00", "Z")  # as `utcnow` writes them
        out: dict[str, list[int]] = {}
        for row in self.directory.query("SELECT id, case_id, owner, started_at FROM case_writes"):
            if row["started_at"] < stale or _gone(row["owner"], at_start_up):
                out.setdefault(row["case_id"], []).append(row["id"])
        return out

    def reindex(self, case_id: str, doc_ids: list[str], settled: list[int]) -> int:
        """Index every document the case's database holds, move its head if anything
        was missing or a write was cut off, and settle those writes. Returns how many
        documents were missing from the index."""
        with self.directory.transaction() as con:
            known = _cases_of(con, doc_ids)
            missing = [doc_id for doc_id in doc_ids if doc_id not in known]
            _index(con, case_id, missing)
            if missing or settled:
                _move_head(con, case_id)
            con.executemany("DELETE FROM case_writes WHERE id = ?", [(i,) for i in settled])
        counter.CHANGES.notify()
        return len(missing)

    def saw_store(self, case_id: str, doc_ids: list[str], store_seq: str) -> int:
        """The store's own changes of a case (`store_follower`): index the documents
        not known yet, move the head so every node's feed looks again, and record the
        store's seq seen. Returns how many documents were missing from the index."""
        with self.directory.transaction() as con:
            known = _cases_of(con, doc_ids)
            missing = [doc_id for doc_id in doc_ids if doc_id not in known]
            _index(con, case_id, missing)
            _move_head(con, case_id)
            con.execute(
                upsert("store_seqs", ("case_id", "seq"), ("case_id",)), (case_id, store_seq)
            )
        counter.CHANGES.notify()
        return len(missing)

    # ------------------------------------------------------------ reads

    def case_of(self, doc_ids: list[str]) -> dict[str, str]:
        return _cases_of(self.directory.connection(), doc_ids)

    def changed(self, case_ids: list[str], after: int) -> set[str]:
        """Which of `case_ids` changed after counter value `after`, or have a write in
        flight (whose head may never move if its process was killed)."""
        if not case_ids:
            return set()
        marks = ",".join("?" * len(case_ids))
        rows = self.directory.query(
            f"SELECT case_id FROM case_heads WHERE gseq > ? AND case_id IN ({marks})"
            f" UNION SELECT case_id FROM case_writes WHERE case_id IN ({marks})",
            (after, *case_ids, *case_ids),
        )
        return {row["case_id"] for row in rows}

    def with_visits_on(self, case_ids: list[str], days: list[str]) -> set[str]:
        if not case_ids:
            return set()
        rows = self.directory.query(
            f"SELECT DISTINCT case_id FROM case_visits WHERE day IN ({','.join('?' * len(days))})"
            f" AND case_id IN ({','.join('?' * len(case_ids))})",
            (*days, *case_ids),
        )
        return {row["case_id"] for row in rows}

    def current(self) -> int:
        return counter.current(self.directory.connection())


def _cases_of(con, doc_ids: list[str]) -> dict[str, str]:
    """doc id → case id of the indexed documents among `doc_ids`."""
    out = {}
    for start in range(0, len(doc_ids), 500):
        chunk = doc_ids[start : start + 500]
        rows = con.execute(
            f"SELECT doc_id, case_id FROM doc_index WHERE doc_id IN ({','.join('?' * len(chunk))})",
            tuple(chunk),
        )
        out.update((doc_id, case_id) for doc_id, case_id in rows)
    return out


def _index(con, case_id: str, doc_ids: list[str]) -> None:
    con.executemany(
        "INSERT INTO doc_index (doc_id, case_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
        [(doc_id, case_id) for doc_id in doc_ids],
    )


def _move_head(con, case_id: str) -> None:
    con.execute(
        "INSERT INTO case_heads (case_id, gseq) VALUES (?, ?)"
        " ON CONFLICT (case_id) DO UPDATE SET gseq = excluded.gseq",
        (case_id, counter.next_value(con)),
    )


def _gone(writer: str, at_start_up: bool) -> bool:
    """True if `writer` ("host:pid") is a process of this host that no longer runs."""
    host, _, pid_text = writer.rpartition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return at_start_up
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, another user's
    return False
