"""THL processing times per team (`server.legal.processing_times` counts; this reads).

The directory knows each case's team and closing day but not when its matter became
pending, whether a child may need special support or when the assessment started and
was completed: those are client data, in the sealed case and assessment documents. So
the report opens the case document of every case of the teams counted that can count
(a case the directory says was closed before the period began cannot), and the
assessment documents only of the cases with a child who may need special support (the
envelope names its type in the clear, nothing else is decrypted), in memory, for the
counting. The plaintext never leaves this module; the answer is counts per team. Each
case opened is written to the access log with the purpose `statistics`, naming the
documents read, so the client's access report shows that the case was counted.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sync.store.errors import NotFound

from ..access_log import AccessLog
from ..casework.case_file import CaseFiles
from ..casework.cases import Cases
from ..directory.base import Directory
from ..errors import NotFoundError
from ..legal.processing_times import AssessmentFacts, Counts, Period, by_team, total

PURPOSE = "statistics"


@dataclass(frozen=True)
class TeamFigures:
    team_id: str
    name: str
    counts: Counts


@dataclass(frozen=True)
class ProcessingTimesReport:
    period: Period
    as_of: date  # the day the report was made (its figures are as known then)
    teams: list[TeamFigures]
    total: Counts


class ProcessingTimes:
    def __init__(self, directory: Directory, cases: Cases, files: CaseFiles, access_log: AccessLog):
        self.directory = directory
        self.cases = cases
        self.files = files
        self.access_log = access_log

    def teams(self) -> dict[str, str]:
        """Every team, id → name, by name (an administrator's report covers them all)."""
        rows = self.directory.query("SELECT id, name FROM teams ORDER BY name, id")
        return {row["id"]: row["name"] for row in rows}

    def report(
        self, reader_id: str, team_ids: Iterable[str], period: Period, today: date
    ) -> ProcessingTimesReport:
        """The figures of `period` for each of `team_ids` (a team with nothing to count
        shows zeros), as known on `today`."""
        wanted = list(dict.fromkeys(team_ids))
        facts = [fact for t in wanted for fact in self._facts(reader_id, t, period)]
        counted = by_team(facts, period, today)
        names = self.teams()
        teams = [TeamFigures(t, names.get(t, t), counted.get(t, Counts())) for t in wanted]
        return ProcessingTimesReport(period, today, teams, total(counted))

    def _facts(self, reader_id: str, team_id: str, period: Period) -> list[AssessmentFacts]:
        """The facts of the team's cases that can count in `period`: a case closed
        before the period began cannot (its matter, start and completion all came
        before its closing day), so it is never opened — the directory says so."""
        facts = []
        for case in self.cases.find(team_id=team_id):
            if case["shredded_at"] or (case["closed_on"] or "9") < period.start.isoformat():
                continue
            fact = self._case_facts(reader_id, case)
            if fact is not None:
                facts.append(fact)
        return facts

    def _case_facts(self, reader_id: str, case: dict) -> AssessmentFacts | None:
        """One case's facts (None: no case document to read), its reads logged."""
        try:
            case_doc = self.files.document(case["id"], case["id"])
        except (NotFound, NotFoundError):
            return None
        read = [case["id"]]
        special = bool(case_doc.get("special_support_need"))
        assessments: list[dict] = []
        if special:
            with contextlib.suppress(NotFoundError):
                assessments = self.files.open(case["id"], "assessment").documents
            read += [doc["_id"] for doc in assessments]
        self.access_log.record(reader_id, case["id"], read, "read", purpose=PURPOSE)
        return AssessmentFacts(
            team_id=case["team_id"],
            pending_since=_day(case_doc.get("pending_since")),
            special_support=special,
            started_on=_day(case_doc.get("assessment_started_on"))
            or _earliest(assessments, "started_on"),
            completed_on=_earliest(assessments, "completed_on"),
            closed_on=_day(case["closed_on"] or case_doc.get("closed_on")),
        )


def _day(value: object) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) and value else None
    except ValueError:
        return None


def _earliest(docs: list[dict], key: str) -> date | None:
    days = [d for d in (_day(doc.get(key)) for doc in docs) if d]
    return min(days) if days else None
