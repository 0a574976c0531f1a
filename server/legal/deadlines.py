"""Statutory deadlines of family social guidance, in Finnish working days. Pure: no I/O.

Saturdays, Sundays and Finnish public holidays (the `holidays` package: New Year,
Epiphany, Easter, May Day, Ascension, Midsummer Eve and Day, All Saints', Independence
Day, Christmas Eve, Christmas and Boxing Day) are not working days, and the day the
matter became pending is not counted. A deadline that would fall on a day that is not
a working day moves to the next working day (the act on reckoning statutory time
limits, 150/1930).

SHL 36 §: for a child who may need special support, the service-need assessment must
start by the 7th working day after the matter became pending and be complete within
three months of it. SHL 39 §: the client plan is reviewed by its review date (by
default three months after it was drawn up or last reviewed).
"""

from __future__ import annotations

import calendar
import functools
from dataclasses import dataclass
from datetime import date, timedelta

import holidays

START_WITHIN = 7  # working days (SHL 36 §, a child who may need special support)
COMPLETE_WITHIN = 3  # months
REVIEW_EVERY = 3  # months (SHL 39 §, the client plan)


@functools.cache
def _holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.Finland(years=year))


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _holidays(day.year)


def next_working_day(day: date) -> date:
    """`day` itself if it is a working day, else the first working day after it."""
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def add_working_days(start: date, count: int) -> date:
    """The `count`th working day after `start` (`start` itself is not counted)."""
    if count < 1:
        raise ValueError("count working days from 1")
    day = start
    while count:
        day += timedelta(days=1)
        if is_working_day(day):
            count -= 1
    return day


def working_days_between(start: date, end: date) -> int:
    """Working days after `start` up to and including `end`; negative (the working days
    after `end` up to and including `start`) when `end` is earlier."""
    if end < start:
        return -working_days_between(end, start)
    return sum(1 for n in range(1, (end - start).days + 1) if is_working_day(start + timedelta(n)))


def add_months(day: date, months: int) -> date:
    """The same day of the month `months` later (the month's last day if it is shorter)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class AssessmentDeadlines:
    """When the service-need assessment must start and be complete (None: the law sets
    no date, only "without delay")."""

    start_by: date | None
    complete_by: date | None


def assessment_deadlines(pending_since: date, special_support: bool) -> AssessmentDeadlines:
    if not special_support:
        return AssessmentDeadlines(None, None)
    return AssessmentDeadlines(
        add_working_days(pending_since, START_WITHIN),
        next_working_day(add_months(pending_since, COMPLETE_WITHIN)),
    )


def plan_review_by(review_on: date | None, last_reviewed: date) -> date:
    """When the client plan must be reviewed: its review date, or three months after it
    was drawn up or last reviewed."""
    return next_working_day(review_on or add_months(last_reviewed, REVIEW_EVERY))


@dataclass(frozen=True)
class DeadlineState:
    """What is left of a deadline, as a supervisor reads it in the queue."""

    deadline: date
    working_days_left: int  # after today, up to and including the deadline; < 0 overdue
    overdue: bool
    due_this_week: bool  # not overdue, and falls in today's week (weeks start on Monday)


def state(deadline: date, today: date) -> DeadlineState:
    left = working_days_between(today, deadline)
    overdue = deadline < today
    monday = today - timedelta(days=today.weekday())
    this_week = not overdue and deadline < monday + timedelta(days=7)
    return DeadlineState(deadline, left, overdue, this_week)
