"""THL processing times of service-need assessments (SHL 36 §), counted per half-year.
Pure: facts about cases in, counts out.

THL asks twice a year how the statutory time limits of the service-need assessment
were kept, for a child who may need special support: started by the 7th working day
after the matter became pending, complete within three months of it
(`server.legal.deadlines`). Its periods are 1 April–30 September and 1 October–
31 March. Here `2026H1` is 1.4.–30.9.2026 and `2026H2` is 1.10.2026–31.3.2027 (the
half-year named by the year it starts in).

Which period a case counts in, following THL's collection ("vireille tulleet asiat",
"valmistuneet arvioinnit"):

- **Start**: a matter counts in the period in which it became pending. It is
  *started in time* (started on or before the 7th working day), *started late*, *open
  and overdue* (not started yet, the 7th working day passed) or *not yet due* — as
  known on the day the report is made. A matter closed before its assessment started
  counts as *ended without an assessment* (the law's "obviously unnecessary").
- **Completion**: an assessment counts in the period in which it was completed, *in
  time* (on or before the three-month date) or *late*.
- **Still open and overdue**: at the end of the period (or today, for the period
  under way), the matters pending since before it whose assessment was neither
  complete nor ended by then and whose three-month date had passed: the backlog on
  that day, whenever the matter became pending.

Only cases with a child who may need special support have these limits; other cases
are not counted (the law says "without undue delay", no date).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import date

from .deadlines import assessment_deadlines

_PERIOD = re.compile(r"^((?:19|2[0-9])[0-9]{2})H([12])$")  # 1900–2999


class PeriodInvalid(ValueError):
    """A period that is not YYYYH1 or YYYYH2."""


@dataclass(frozen=True, order=True)
class Period:
    """One THL half-year: H1 is 1.4.–30.9. of `year`, H2 1.10. of `year`–31.3. after."""

    year: int
    half: int

    @property
    def start(self) -> date:
        return date(self.year, 4, 1) if self.half == 1 else date(self.year, 10, 1)

    @property
    def end(self) -> date:
        return date(self.year, 9, 30) if self.half == 1 else date(self.year + 1, 3, 31)

    @property
    def code(self) -> str:
        return f"{self.year}H{self.half}"

    def __contains__(self, day: date) -> bool:
        return self.start <= day <= self.end

    def previous(self) -> Period:
        return Period(self.year, 1) if self.half == 2 else Period(self.year - 1, 2)

    def next(self) -> Period:
        return Period(self.year, 2) if self.half == 1 else Period(self.year + 1, 1)


def parse_period(text: str) -> Period:
    match = _PERIOD.match(text or "")
    if not match:
        raise PeriodInvalid("a period is YYYYH1 (1.4.–30.9.) or YYYYH2 (1.10.–31.3.), 1900–2999")
    return Period(int(match[1]), int(match[2]))


def period_of(day: date) -> Period:
    """The half-year `day` falls in (January–March belong to the previous year's H2)."""
    if day.month < 4:
        return Period(day.year - 1, 2)
    return Period(day.year, 1 if day.month < 10 else 2)


@dataclass(frozen=True)
class AssessmentFacts:
    """What the counting needs of one case (from its case and assessment documents)."""

    team_id: str | None
    pending_since: date | None
    special_support: bool
    started_on: date | None
    completed_on: date | None
    closed_on: date | None = None


@dataclass
class Counts:
    """One team's figures for one period (see the module docstring for each)."""

    became_pending: int = 0
    started_in_time: int = 0
    started_late: int = 0
    start_overdue: int = 0  # not started yet, the 7th working day passed
    start_not_yet_due: int = 0
    ended_unstarted: int = 0  # closed before an assessment started
    completed_in_time: int = 0
    completed_late: int = 0
    open_overdue: int = 0  # at the period's end (or today): not complete, 3 months passed

    def add(self, other: Counts) -> None:
        for name in COLUMNS:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in COLUMNS}


COLUMNS = tuple(f.name for f in fields(Counts))


def count_case(facts: AssessmentFacts, period: Period, today: date) -> Counts:
    """What one case adds to `period`'s figures, as known on `today`."""
    counts = Counts()
    if not facts.special_support or facts.pending_since is None:
        return counts
    due = assessment_deadlines(facts.pending_since, True)
    assert due.start_by is not None and due.complete_by is not None  # special support
    if facts.pending_since in period and facts.pending_since <= today:
        counts.became_pending = 1
        _count_start(counts, facts, due.start_by, today)
    if facts.completed_on is not None and facts.completed_on in period:
        late = facts.completed_on > due.complete_by
        counts.completed_late, counts.completed_in_time = int(late), int(not late)
    cutoff = min(period.end, today)
    if _open_on(facts, cutoff) and due.complete_by < cutoff:
        counts.open_overdue = 1
    return counts


def _count_start(counts: Counts, facts: AssessmentFacts, start_by: date, today: date) -> None:
    if facts.started_on is not None:
        late = facts.started_on > start_by
        counts.started_late, counts.started_in_time = int(late), int(not late)
    elif facts.closed_on is not None and facts.closed_on <= today:
        counts.ended_unstarted = 1
    elif start_by < today:
        counts.start_overdue = 1
    else:
        counts.start_not_yet_due = 1


def _open_on(facts: AssessmentFacts, day: date) -> bool:
    """Whether the assessment was still under way on `day` (pending, not complete, not
    ended by closing the case)."""
    assert facts.pending_since is not None
    if facts.pending_since > day:
        return False
    if facts.completed_on is not None and facts.completed_on <= day:
        return False
    return facts.closed_on is None or facts.closed_on > day


def by_team(facts: Iterable[AssessmentFacts], period: Period, today: date) -> dict[str, Counts]:
    """Every team's figures for `period` (a team with no counted case is absent)."""
    teams: dict[str, Counts] = {}
    for case in facts:
        counts = count_case(case, period, today)
        if any(counts.as_dict().values()):
            teams.setdefault(case.team_id or "", Counts()).add(counts)
    return teams


def total(teams: dict[str, Counts]) -> Counts:
    summed = Counts()
    for counts in teams.values():
        summed.add(counts)
    return summed
