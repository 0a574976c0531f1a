"""Statutory deadlines in Finnish working days: table tests around the holidays and
property tests of the arithmetic."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.legal import deadlines as d


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2026, 12, 4), True),  # Friday
        (date(2026, 12, 5), False),  # Saturday
        (date(2026, 12, 6), False),  # Independence Day (a Sunday this year)
        (date(2027, 12, 6), False),  # Independence Day on a Monday
        (date(2026, 12, 24), False),  # Christmas Eve
        (date(2026, 5, 1), False),  # May Day
        (date(2026, 6, 19), False),  # Midsummer Eve
        (date(2026, 4, 3), False),  # Good Friday
        (date(2026, 4, 6), False),  # Easter Monday
        (date(2026, 5, 14), False),  # Ascension Day
        (date(2026, 4, 7), True),
    ],
)
def test_working_days(day, working):
    assert d.is_working_day(day) is working


@pytest.mark.parametrize(
    ("pending", "start_by"),
    [
        # Pending on Wednesday 1 April 2026: Good Friday and Easter Monday do not count.
        (date(2026, 4, 1), date(2026, 4, 14)),
        # Pending on Thursday 30 April: May Day (Fri) and the weekend do not count.
        (date(2026, 4, 30), date(2026, 5, 12)),
        # Pending on Tuesday 16 June: Midsummer Eve (Fri 19 June) does not count.
        (date(2026, 6, 16), date(2026, 6, 26)),
        # Pending on Tuesday 1 December: Independence Day is a Sunday this year.
        (date(2026, 12, 1), date(2026, 12, 10)),
        # Pending on Friday 18 December: Christmas Eve, Christmas Day, Boxing Day off.
        (date(2026, 12, 18), date(2026, 12, 31)),
        # Pending on Friday 3 December 2027: Independence Day is a Monday.
        (date(2027, 12, 3), date(2027, 12, 15)),
    ],
)
def test_the_assessment_starts_by_the_seventh_working_day(pending, start_by):
    assert d.assessment_deadlines(pending, special_support=True).start_by == start_by


def test_the_assessment_is_complete_within_three_months_on_a_working_day():
    # 6 Sep 2026 + 3 months = Sunday 6 Dec (Independence Day) -> Monday 7 Dec
    assert d.assessment_deadlines(date(2026, 9, 6), True).complete_by == date(2026, 12, 7)
    # 30 Nov + 3 months = 28 Feb 2027 (a Sunday; February is short) -> Monday 1 Mar
    assert d.assessment_deadlines(date(2026, 11, 30), True).complete_by == date(2027, 3, 1)
    # 24 Sep + 3 months = Christmas Eve (Thu) -> Christmas, Boxing Day, weekend -> Mon 28
    assert d.assessment_deadlines(date(2026, 9, 24), True).complete_by == date(2026, 12, 28)


def test_without_special_support_the_law_sets_no_date():
    assert d.assessment_deadlines(date(2026, 4, 1), False) == d.AssessmentDeadlines(None, None)


def test_the_plan_is_reviewed_by_its_date_or_three_months_on():
    assert d.plan_review_by(date(2026, 6, 19), date(2026, 3, 1)) == date(2026, 6, 22)
    assert d.plan_review_by(None, date(2026, 9, 24)) == date(2026, 12, 28)


def test_what_is_left_of_a_deadline():
    wednesday = date(2026, 12, 2)
    due = d.state(date(2026, 12, 4), wednesday)
    assert (due.working_days_left, due.overdue, due.due_this_week) == (2, False, True)
    # Next week's Tuesday: Monday 7 and Tuesday 8 are working days.
    later = d.state(date(2026, 12, 8), wednesday)
    assert (later.working_days_left, later.due_this_week) == (4, False)
    late = d.state(date(2026, 11, 27), wednesday)  # Friday last week
    assert (late.working_days_left, late.overdue) == (-3, True)


days = st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31))


@given(days, st.integers(1, 300))
def test_a_deadline_never_lands_on_a_day_off(start, count):
    assert d.is_working_day(d.add_working_days(start, count))
    assert d.is_working_day(d.next_working_day(start))
    found = d.assessment_deadlines(start, special_support=True)
    assert d.is_working_day(found.start_by) and d.is_working_day(found.complete_by)
    assert start < found.start_by < found.complete_by


@given(days, st.integers(1, 200), st.integers(1, 200))
def test_adding_working_days_is_monotonic_and_counts_back(start, a, b):
    first, second = d.add_working_days(start, a), d.add_working_days(start, a + b)
    assert first < second
    assert d.working_days_between(start, first) == a
    assert d.working_days_between(first, second) == b
    assert d.working_days_between(second, start) == -(a + b)


@given(days, days)
def test_counting_is_antisymmetric_and_only_counts_working_days(a, b):
    assert d.working_days_between(a, b) == -d.working_days_between(b, a)
    span = abs((b - a).days)
    assert abs(d.working_days_between(a, b)) <= span
    assert d.working_days_between(a, a + timedelta(days=7)) <= 5
