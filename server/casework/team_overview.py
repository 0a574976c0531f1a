"""The numbers of the front page: per worker, their open cases by status, visits this
week, notes still drafts more than 3 working days after they happened, open
reconciliation items, and each device's last sync; and the team's totals.

Counts only, from directory data: cases and assignments, `case_visits` (the day of
each visit), the `reconciliation_items` index, the note index (`note_states`) and
`devices.last_sync_at`. No document is decrypted here (except once, for a case older
than the note index: `NoteStates.catch_up`), so the overview of a team with hundreds
of cases is a handful of queries. The concern zone is not among the numbers, ever.

A worker's cases are those assigned to them today (own, pair or substitute), so a
case worked in pairs counts for both; the totals count each case of the team once.
Visits count for every worker of the visit's case (the directory knows a visit's day,
not its participants).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from ..directory.base import Directory
from ..legal.deadlines import is_working_day
from .note_states import NoteStates

OPEN_STATUSES = ("pending", "assessment", "active")
DRAFT_WORKING_DAYS = 3  # a note is finalised within 3 working days of the event
IN_FORCE = "a.ended_at IS NULL AND a.start_date <= ? AND (a.end_date IS NULL OR a.end_date >= ?)"
TEAM_CASES = "SELECT id FROM cases WHERE team_id = ? AND status != 'closed' AND shredded_at IS NULL"
WORKER_CASES = (
    "SELECT a.case_id FROM assignments a JOIN cases c ON c.id = a.case_id"
    f" WHERE a.worker_id = ? AND {IN_FORCE}"
    " AND c.status != 'closed' AND c.shredded_at IS NULL"
)


@dataclass
class Load:
    """One worker's numbers, or the team's (`Overview.totals`)."""

    cases: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OPEN_STATUSES, 0))
    visits_this_week: int = 0
    late_drafts: int = 0
    open_items: int = 0

    @property
    def open_cases(self) -> int:
        return sum(self.cases.values())


@dataclass
class WorkerLoad:
    worker: dict  # id, username, display_name
    load: Load
    devices: list[dict]  # id, label, last_sync_at (devices not revoked)


@dataclass
class Overview:
    week: tuple[date, date]  # Monday and Sunday of this week
    late_since: date  # a draft that happened on or before this day is late
    workers: list[WorkerLoad]
    totals: Load
    unassigned: int  # open cases nobody is assigned to today


def week_of(day: date) -> tuple[date, date]:
    """Monday and Sunday of `day`'s week (Finnish weeks start on Monday)."""
    monday = day - timedelta(days=day.weekday())
    return monday, monday + timedelta(days=6)


def late_since(day: date, working_days: int = DRAFT_WORKING_DAYS) -> date:
    """The latest day a note can have happened on and be more than `working_days`
    working days old on `day` (`working_days_between(result, day) > working_days`)."""
    counted = 0
    while counted <= working_days:
        if is_working_day(day):
            counted += 1
        day -= timedelta(days=1)
    return day


class TeamOverview:
    def __init__(self, directory: Directory, notes: NoteStates):
        self.directory = directory
        self.notes = notes

    def of_team(self, team_id: str, day: date) -> Overview:
        """The team's instructors (and anyone else assigned one of its cases today)."""
        scope = (TEAM_CASES, (team_id,))
        assigned = self._assigned(scope, day)
        members = self.directory.query(
            "SELECT id FROM workers WHERE team_id = ? AND role = 'worker' AND active = 1",
            (team_id,),
        )
        ids = {row["id"] for row in members} | {w for ws in assigned.values() for w in ws}
        return self._overview(scope, day, assigned, sorted(ids))

    def of_worker(self, worker_id: str, day: date) -> Overview:
        """One worker's own numbers (the instructor's front page)."""
        scope = (WORKER_CASES, (worker_id, day.isoformat(), day.isoformat()))
        return self._overview(scope, day, self._assigned(scope, day), [worker_id])

    # ------------------------------------------------------------ assembling

    def _overview(self, scope, day: date, assigned, worker_ids: list[str]) -> Overview:
        statuses = self._statuses(scope)
        visits = self._per_case(
            "SELECT case_id, COUNT(*) AS n FROM case_visits WHERE day BETWEEN ? AND ?",
            [d.isoformat() for d in week_of(day)],
            scope,
        )
        items = self._per_case(
            "SELECT case_id, SUM(items) AS n FROM reconciliation_items WHERE 1 = 1", [], scope
        )
        self.notes.catch_up(*scope)
        late = self.notes.late_drafts(*scope, late_since(day))
        loads = {worker_id: Load() for worker_id in worker_ids}
        for case_id, workers in assigned.items():
            for worker_id in workers & loads.keys():
                load = loads[worker_id]
                load.cases[statuses[case_id]] += 1
                load.visits_this_week += visits.get(case_id, 0)
                load.open_items += items.get(case_id, 0)
        for worker_id, count in late.items():
            if worker_id in loads:
                loads[worker_id].late_drafts = count
        counted = Counter(statuses.values())
        totals = Load(
            cases={status: counted[status] for status in OPEN_STATUSES},
            visits_this_week=sum(visits.values()),
            late_drafts=sum(late.values()),
            open_items=sum(items.values()),
        )
        return Overview(
            week=week_of(day),
            late_since=late_since(day),
            workers=self._rows(loads),
            totals=totals,
            unassigned=sum(1 for case_id in statuses if not assigned.get(case_id)),
        )

    def _rows(self, loads: dict[str, Load]) -> list[WorkerLoad]:
        """Workers by name, each with their devices (newest sync first)."""
        if not loads:
            return []
        marks = ",".join("?" * len(loads))
        people = self.directory.query(
            f"SELECT id, username, display_name FROM workers WHERE id IN ({marks})",
            tuple(loads),
        )
        devices = defaultdict(list)
        for row in self.directory.query(
            "SELECT id, worker_id, label, kem, last_sync_at FROM devices"
            f" WHERE revoked_at IS NULL AND worker_id IN ({marks})"
            " ORDER BY last_sync_at IS NULL, last_sync_at DESC, enrolled_at",
            tuple(loads),
        ):
            devices[row["worker_id"]].append(dict(row))
        rows = [WorkerLoad(dict(p), loads[p["id"]], devices[p["id"]]) for p in people]
        return sorted(rows, key=lambda r: (r.worker["display_name"].casefold(), r.worker["id"]))

    # ------------------------------------------------------------ queries

    def _statuses(self, scope) -> dict[str, str]:
        sql, params = scope
        rows = self.directory.query(f"SELECT id, status FROM cases WHERE id IN ({sql})", params)
        return {row["id"]: row["status"] for row in rows if row["status"] in OPEN_STATUSES}

    def _assigned(self, scope, day: date) -> dict[str, set[str]]:
        """Case id → the workers assigned to it today."""
        sql, params = scope
        today = day.isoformat()
        rows = self.directory.query(
            f"SELECT a.case_id, a.worker_id FROM assignments a WHERE {IN_FORCE}"
            f" AND a.case_id IN ({sql})",
            (today, today, *params),
        )
        out: dict[str, set[str]] = defaultdict(set)
        for row in rows:
            out[row["case_id"]].add(row["worker_id"])
        return out

    def _per_case(self, select: str, params: list, scope) -> dict[str, int]:
        """`select` (of case_id and n, with a WHERE) narrowed to the scope, per case."""
        sql, scope_params = scope
        rows = self.directory.query(
            f"{select} AND case_id IN ({sql}) GROUP BY case_id", (*params, *scope_params)
        )
        return {row["case_id"]: row["n"] or 0 for row in rows}
