"""THL processing times, counted per half-year (server/legal/processing_times.py): the
period boundaries around 31.3./1.4. and 30.9./1.10., late by one working day across a
holiday, the backlog at a period's end, and property tests of the counting."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.legal import processing_times as pt
from server.legal.processing_times import AssessmentFacts, Period

pytestmark = pytest.mark.both_directories

LATER = date(2029, 1, 1)  # a report made long after every period below


def case(pending, started=None, completed=None, closed=None, special=True, team="t1"):
    return AssessmentFacts(team, pending, special, started, completed, closed)


def counted(facts, period: str, today: date = LATER) -> dict:
    figures = pt.count_case(facts, pt.parse_period(period), today).as_dict()
    return {name: n for name, n in figures.items() if n}


@pytest.mark.parametrize(
    ("day", "period"),
    [
        (date(2027, 3, 31), "2026H2"),
        (date(2027, 4, 1), "2027H1"),
        (date(2026, 9, 30), "2026H1"),
        (date(2026, 10, 1), "2026H2"),
        (date(2027, 1, 1), "2026H2"),
        (date(2026, 12, 31), "2026H2"),
    ],
)
def test_a_day_falls_in_one_half_year(day, period):
    assert pt.period_of(day).code == period
    assert day in pt.parse_period(period)


def test_the_half_years_are_thls():
    h1, h2 = pt.parse_period("2026H1"), pt.parse_period("2026H2")
    assert (h1.start, h1.end) == (date(2026, 4, 1), date(2026, 9, 30))
    assert (h2.start, h2.end) == (date(2026, 10, 1), date(2027, 3, 31))
    assert h1.next() == h2 and h2.previous() == h1 and h2.next() == Period(2027, 1)


@pytest.mark.parametrize(
    "text", ["2026", "2026H3", "26H1", "2026h1", "", "2026H1 ", "0000H1", "9999H2"]
)
def test_a_period_is_yyyyh1_or_yyyyh2(text):
    with pytest.raises(pt.PeriodInvalid):
        pt.parse_period(text)


def test_a_matter_counts_in_the_half_year_it_became_pending():
    begun = {"became_pending": 1, "started_in_time": 1}
    on_31_march = case(date(2027, 3, 31), date(2027, 4, 2), date(2027, 5, 3))
    assert counted(on_31_march, "2026H2") == begun
    assert counted(on_31_march, "2027H1") == {"completed_in_time": 1}
    on_1_april = case(date(2027, 4, 1), date(2027, 4, 2), date(2027, 5, 3))
    assert counted(on_1_april, "2027H1") == begun | {"completed_in_time": 1}
    assert counted(on_1_april, "2026H2") == {}
    on_30_september = case(date(2026, 9, 30), date(2026, 10, 1), date(2026, 12, 1))
    assert counted(on_30_september, "2026H1") == begun
    assert counted(on_30_september, "2026H2") == {"completed_in_time": 1}
    on_1_october = case(date(2026, 10, 1), date(2026, 10, 2), date(2026, 12, 1))
    assert counted(on_1_october, "2026H2") == begun | {"completed_in_time": 1}
    assert counted(on_1_october, "2026H1") == {}
    never_completed = case(date(2027, 3, 31), date(2027, 4, 2))
    assert counted(never_completed, "2027H1") == {"open_overdue": 1}  # due 30.6.2027


def test_started_one_working_day_late_across_christmas():
    # Pending Thu 17.12.2026: the 7th working day is Wed 30.12. (Christmas Eve, Day and
    # Boxing Day and the weekend are not counted); Thu 31.12. is one working day late.
    done = date(2027, 2, 1)
    assert counted(case(date(2026, 12, 17), date(2026, 12, 30), done), "2026H2") == {
        "became_pending": 1,
        "started_in_time": 1,
        "completed_in_time": 1,
    }
    assert counted(case(date(2026, 12, 17), date(2026, 12, 31), done), "2026H2") == {
        "became_pending": 1,
        "started_late": 1,
        "completed_in_time": 1,
    }


def test_completed_one_working_day_late_across_easter_counts_when_completed():
    # Pending Mon 5.1.2026: three months is Easter Sunday 5.4., so the assessment is due
    # on Tue 7.4. (after Easter Monday); Wed 8.4. is one working day late. Completion
    # counts in the half-year of the completion (2026H1), the start in 2025H2.
    in_time = case(date(2026, 1, 5), started=date(2026, 1, 8), completed=date(2026, 4, 7))
    late = case(date(2026, 1, 5), started=date(2026, 1, 8), completed=date(2026, 4, 8))
    assert counted(in_time, "2026H1") == {"completed_in_time": 1}
    assert counted(late, "2026H1") == {"completed_late": 1}
    assert counted(late, "2025H2") == {"became_pending": 1, "started_in_time": 1}


def test_the_backlog_at_the_end_of_a_half_year():
    # Pending 1.6.2026, due 1.9.2026, completed only on 15.10.: open and overdue on
    # 30.9. (2026H1's end), then completed late in 2026H2.
    facts = case(date(2026, 6, 1), started=date(2026, 6, 3), completed=date(2026, 10, 15))
    assert counted(facts, "2026H1") == {
        "became_pending": 1,
        "started_in_time": 1,
        "open_overdue": 1,
    }
    assert counted(facts, "2026H2") == {"completed_late": 1}
    # Still open: overdue at the end of every later period, and today in the current one.
    open_case = case(date(2026, 6, 1), started=date(2026, 6, 3))
    assert counted(open_case, "2026H2", today=date(2026, 12, 1)) == {"open_overdue": 1}
    assert counted(open_case, "2026H1", today=date(2026, 8, 31)) == {
        "became_pending": 1,
        "started_in_time": 1,
    }  # not due until 1.9.


def test_not_started_closed_and_no_special_support():
    overdue = case(date(2026, 12, 1))
    assert counted(overdue, "2026H2", today=date(2026, 12, 21)) == {
        "became_pending": 1,
        "start_overdue": 1,
    }
    assert counted(overdue, "2026H2", today=date(2026, 12, 9)) == {
        "became_pending": 1,
        "start_not_yet_due": 1,
    }
    closed = case(date(2026, 12, 1), closed=date(2026, 12, 4))
    assert counted(closed, "2026H2") == {"became_pending": 1, "ended_unstarted": 1}
    no_support = case(date(2026, 12, 1), completed=date(2027, 6, 1), special=False)
    assert counted(no_support, "2026H2") == {} and counted(no_support, "2027H1") == {}


def test_teams_are_counted_apart_and_totalled():
    facts = [
        case(date(2026, 10, 5), started=date(2026, 10, 6), team="a"),
        case(date(2026, 10, 5), started=date(2026, 11, 30), team="a"),
        case(date(2026, 10, 5), started=date(2026, 10, 6), team="b"),
        case(date(2026, 4, 5), team="c"),  # another period, and not open then
    ]
    teams = pt.by_team(facts, pt.parse_period("2026H2"), LATER)
    assert set(teams) == {"a", "b", "c"}  # c: still open and overdue at 31.3.2027
    assert (teams["a"].started_in_time, teams["a"].started_late) == (1, 1)
    assert teams["c"].as_dict() == {**pt.Counts().as_dict(), "open_overdue": 1}
    assert pt.total(teams).became_pending == 3


# ---------------------------------------------------------------- properties

days = st.dates(date(2025, 1, 1), date(2028, 6, 30))
periods = st.builds(Period, st.integers(2024, 2028), st.sampled_from([1, 2]))


@st.composite
def facts(draw):
    pending = draw(days)
    started = draw(st.none() | st.integers(0, 40).map(lambda n: pending + timedelta(n)))
    completed = None
    if started is not None:
        completed = draw(st.none() | st.integers(0, 150).map(lambda n: started + timedelta(n)))
    closed = draw(st.none() | st.integers(0, 200).map(lambda n: pending + timedelta(n)))
    return case(pending, started, completed, closed, special=draw(st.booleans()))


START = ("started_in_time", "started_late", "start_overdue", "start_not_yet_due",
         "ended_unstarted")  # fmt: skip


@given(facts(), periods, days)
def test_every_matter_that_became_pending_has_exactly_one_start_outcome(facts, period, today):
    counts = pt.count_case(facts, period, today).as_dict()
    assert sum(counts[name] for name in START) == counts["became_pending"] <= 1
    if not facts.special_support:
        assert not any(counts.values())


@given(facts())
def test_a_case_starts_and_completes_in_exactly_one_half_year(facts):
    every = [Period(y, h) for y in range(2024, 2030) for h in (1, 2)]
    counts = [pt.count_case(facts, p, date(2031, 1, 1)).as_dict() for p in every]
    became = sum(c["became_pending"] for c in counts)
    completed = sum(c["completed_in_time"] + c["completed_late"] for c in counts)
    assert became == int(facts.special_support)
    assert completed == int(facts.special_support and facts.completed_on is not None)


@given(facts(), periods)
def test_late_means_after_the_statutory_date(facts, period):
    counts = pt.count_case(facts, period, LATER)
    due = pt.assessment_deadlines(facts.pending_since, True)
    if counts.started_late:
        assert facts.started_on > due.start_by
    if counts.started_in_time:
        assert facts.started_on <= due.start_by
    if counts.completed_late:
        assert facts.completed_on > due.complete_by
    if counts.open_overdue:
        assert due.complete_by < period.end
