"""Bookkeeping that makes the per-worker feed cheap: which case changed when, where a
document lives, and which cases have visits on which day.

Written after the case database write has committed (see `directory.counter`).
"""

from __future__ import annotations

from collections.abc import Iterable

from ..directory import counter
from ..directory.db import Directory


class Heads:
    def __init__(self, directory: Directory):
        self.directory = directory

    def record(self, case_id: str, doc_ids: Iterable[str], visits: dict[str, str] | None = None):
        """Note that `doc_ids` of `case_id` were written; `visits` maps visit id → day."""
        with self.directory.transaction() as con:
            gseq = counter.next_value(con)
            con.execute(
                "INSERT INTO case_heads (case_id, gseq) VALUES (?, ?)"
                " ON CONFLICT (case_id) DO UPDATE SET gseq = excluded.gseq",
                (case_id, gseq),
            )
            con.executemany(
                "INSERT OR IGNORE INTO doc_index (doc_id, case_id) VALUES (?, ?)",
                [(doc_id, case_id) for doc_id in doc_ids],
            )
            con.executemany(
                "INSERT OR REPLACE INTO case_visits (case_id, visit_id, day) VALUES (?, ?, ?)",
                [(case_id, visit_id, day) for visit_id, day in (visits or {}).items()],
            )

    def case_of(self, doc_ids: list[str]) -> dict[str, str]:
        out = {}
        for start in range(0, len(doc_ids), 500):
            chunk = doc_ids[start : start + 500]
            rows = self.directory.query(
                f"SELECT doc_id, case_id FROM doc_index WHERE doc_id IN"
                f" ({','.join('?' * len(chunk))})",
                tuple(chunk),
            )
            out.update((row["doc_id"], row["case_id"]) for row in rows)
        return out

    def changed(self, case_ids: list[str], after: int) -> set[str]:
        """Which of `case_ids` changed after counter value `after`."""
        if not case_ids:
            return set()
        rows = self.directory.query(
            "SELECT case_id FROM case_heads WHERE gseq > ? AND case_id IN"
            f" ({','.join('?' * len(case_ids))})",
            (after, *case_ids),
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
