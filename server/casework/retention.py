"""Destroying cases whose retention has ended (crypto-shredding), keeping the record.

When a case's retention period (`legal.retention`) has run out, the law requires the
case file to be destroyed. Sopu destroys it by destroying its keys (`KeyService.shred`):
every envelope of the case — in the store, in its backups, on a lost phone — then stays
ciphertext for ever, so the store's copies are left where they are. What stays is the
statutory record that the case was destroyed, when and under which rule
(`case_destructions`), the directory row of the case (ids and dates: it is in no list
any more) and the logs, which name ids only.

Whatever else the directory holds about the case goes with the keys, in the same
transaction: its note index (`note_states`: author, state and day of each note), visit
days (`case_visits`), reconciliation index, deletion authors (`deletions`) and the
pushes held in quarantine (a device's push may hold anything). The keyrings that carried
the keys to devices become tombstones right after (`Keyrings.forget_shredded`; a crash
in between is caught by the next run), which also tells each device to forget the case.
Assignments stay: ids and dates of who had access, which the access log refers to.

`DailyRetention` runs this once a day before the first request (as `expiry` does);
`retention_daily = "report"` makes it only log how many cases are due, for a site that
runs `sopu retention shred --due` itself.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from ..audit import AuditLog
from ..directory.base import Directory, utcnow
from ..errors import ConflictError
from ..keys.keyrings import Keyrings
from ..keys.service import KeyService
from ..legal import retention
from ..legal.retention import RetentionTable
from .daily import OncePerDay

ACTOR = "retention"
log = logging.getLogger(__name__)
Progress = Callable[[int, int], None]
ONE_DAY = timedelta(days=1)

# Directory tables that hold more than ids about a case; emptied when it is destroyed.
TRACES = (
    "note_states",
    "note_states_cases",
    "case_visits",
    "reconciliation_items",
    "deletions",
    "quarantine",
)


class NotDue(ConflictError):
    """The case's retention has not ended (or it was never closed, or is gone already)."""

    code = "retention_not_due"


@dataclass(frozen=True)
class DueCase:
    """A case whose retention has ended: what `sopu retention due` lists."""

    case_id: str
    team_id: str | None
    service_task: str | None
    closed_on: date
    rule: retention.Rule
    due_since: date


class Retention:
    def __init__(
        self,
        directory: Directory,
        keys: KeyService,
        keyrings: Keyrings,
        audit: AuditLog,
        table: RetentionTable | None = None,
    ):
        self.directory = directory
        self.keys = keys
        self.keyrings = keyrings
        self.audit = audit
        self.table = table or retention.table()

    def due(self, today: date) -> list[DueCase]:
        """Every case not yet destroyed whose retention ended before `today`, oldest first.

        The query only narrows by the shortest period (indexed); the rule decides.
        """
        latest = date(today.year - self.table.shortest, 12, 31).isoformat()
        rows = self.directory.query(
            "SELECT id, team_id, service_task, retention_starts_on FROM cases"
            " WHERE shredded_at IS NULL AND retention_starts_on IS NOT NULL"
            " AND retention_starts_on <= ? ORDER BY retention_starts_on, id",
            (latest,),
        )
        return [case for case in map(self._due_case, rows) if case.due_since <= today]

    def _due_case(self, row) -> DueCase:
        closed_on = date.fromisoformat(row["retention_starts_on"])
        rule = self.table.rule_for(row["service_task"])
        return DueCase(
            row["id"],
            row["team_id"],
            row["service_task"],
            closed_on,
            rule,
            retention.retention_ends(closed_on, rule.years) + ONE_DAY,
        )

    def shred(self, case_id: str, actor: str, today: date) -> DueCase:
        """Destroy one due case: its keys, its traces, and write the statutory record.

        Refused (`NotDue`) unless its retention has ended by `today` — checked again
        inside the transaction, so two processes never destroy a case twice.
        """
        with self.directory.transaction() as con:
            row = con.execute(
                "SELECT id, team_id, service_task, retention_starts_on FROM cases"
                " WHERE id = ? AND shredded_at IS NULL AND retention_starts_on IS NOT NULL",
                (case_id,),
            ).fetchone()
            case = self._due_case(row) if row is not None else None
            if case is None or case.due_since > today:
                raise NotDue(f"the retention of case {case_id} has not ended", case_id=case_id)
            destroyed = self.keys.shred(case_id, actor, con)
            _erase_traces(con, case_id)
            self._record(con, case, actor, destroyed)
        self.keyrings.forget_shredded()
        return case

    def forget_shredded(self, case_id: str) -> None:
        """After `sopu keys shred` (a case destroyed before its time, e.g. on a court
        order): remove its traces and keyrings as a retention run does."""
        with self.directory.transaction() as con:
            if con.execute(
                "SELECT 1 FROM cases WHERE id = ? AND shredded_at IS NOT NULL", (case_id,)
            ).fetchone():
                _erase_traces(con, case_id)
        self.keyrings.forget_shredded()
        self.keys.flush_deleted()

    def _record(self, con, case: DueCase, actor: str, key_versions: int) -> None:
        con.execute(
            "INSERT INTO case_destructions (case_id, team_id, service_task, closed_on, rule,"
            " retention_years, destroyed_at, destroyed_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                case.case_id,
                case.team_id,
                case.service_task,
                case.closed_on.isoformat(),
                case.rule.name,
                case.rule.years,
                utcnow(),
                actor,
            ),
        )
        details = {
            "closed_on": case.closed_on.isoformat(),
            "rule": case.rule.name,
            "retention_years": case.rule.years,
            "key_versions_destroyed": key_versions,
        }
        self.audit.record(actor, "case.destroyed", case.case_id, details, con)

    def shred_due(self, actor: str, today: date, progress: Progress | None = None) -> list[DueCase]:
        """Destroy every due case, one transaction each (an interrupted run loses
        nothing; a rerun continues); then flush the write-ahead log."""
        pending, done = self.due(today), []
        for number, case in enumerate(pending, 1):
            with contextlib.suppress(NotDue):  # another process destroyed it meanwhile
                done.append(self.shred(case.case_id, actor, today))
            if progress:
                progress(number, len(pending))
        self.keyrings.forget_shredded()
        if done:
            self.keys.flush_deleted()
        return done

    def destructions(self) -> list[dict]:
        """The statutory record of destroyed cases, oldest first."""
        rows = self.directory.query(
            "SELECT * FROM case_destructions ORDER BY destroyed_at, case_id"
        )
        return [dict(row) for row in rows]


def _erase_traces(con, case_id: str) -> None:
    for table in TRACES:
        con.execute(f"DELETE FROM {table} WHERE case_id = ?", (case_id,))


class DailyRetention(OncePerDay):
    """Runs the retention check at most once per day per process (`daily.OncePerDay`).

    `mode` "shred" destroys the due cases (the law requires it when retention ends);
    "report" only logs how many are due.
    """

    failure = "the daily retention check failed; retrying on the next request"

    def __init__(
        self, service: Retention, clock: Callable[[], date] = date.today, mode: str = "shred"
    ):
        super().__init__(clock)
        self.service = service
        self.mode = mode

    def run(self, day: date) -> list[DueCase]:
        if self.mode == "report":
            due = self.service.due(day)
            if due:
                log.warning(
                    "%d cases are past their retention; run: sopu retention shred --due", len(due)
                )
            return due
        done = self.service.shred_due(ACTOR, day)
        if done:
            log.info("destroyed %d cases whose retention ended (as of %s)", len(done), day)
        return done
