"""Social reporting counts (server/legal/social_reporting.py): a cell of 1–4 is "< 5",
free text only under the tags counted 5 or more, the order of suppressed cells tells
nothing, and property tests of the suppression."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.legal.social_reporting import (
    SUPPRESSED,
    MonthInvalid,
    Observation,
    check_span,
    social_report,
)

pytestmark = pytest.mark.both_directories


def seen(month: str, *tags: str, text: str = "") -> Observation:
    return Observation(month, tags, text or f"{month} {' '.join(tags)}")


def test_a_tag_seen_fewer_than_five_times_is_suppressed_and_its_text_never_shown():
    observations = [seen("2026-10", "housing", text=f"asunto {n}") for n in range(5)]
    observations += [seen("2026-11", "debt", "housing", text="velka ja asunto")]
    observations += [seen("2026-11", "debt", text="velka 2")]
    report = social_report(observations, "2026-10", "2026-12")
    rows = {row.tag: row for row in report.rows}
    assert rows["housing"].count == 6 and not rows["housing"].suppressed
    assert "asunto 0" in rows["housing"].excerpts and "velka ja asunto" in rows["housing"].excerpts
    assert rows["debt"].count == SUPPRESSED == "< 5" and rows["debt"].suppressed
    assert rows["debt"].excerpts == ()
    assert "velka 2" not in str(report)
    assert report.observations == 7


def test_months_outside_the_span_are_not_counted_and_a_small_total_is_suppressed():
    observations = [seen("2026-09", "housing")] * 5 + [seen("2026-10", "housing")] * 2
    report = social_report(observations, "2026-10", "2026-10")
    assert report.observations == SUPPRESSED
    assert [(r.tag, r.count) for r in report.rows] == [("housing", SUPPRESSED)]
    assert social_report([], "2026-10", "2026-10").observations == 0


def test_the_shown_cells_come_first_by_size_and_the_suppressed_by_name():
    observations = [seen("2026-10", "b")] * 4 + [seen("2026-10", "a")] + [seen("2026-10", "c")] * 7
    observations += [seen("2026-10", "d")] * 5
    report = social_report(observations, "2026-10", "2026-10")
    assert [r.tag for r in report.rows] == ["c", "d", "a", "b"]


def test_an_administrators_report_has_no_free_text():
    observations = [seen("2026-10", "housing")] * 6
    [row] = social_report(observations, "2026-10", "2026-10", excerpts=False).rows
    assert row.count == 6 and row.excerpts == ()


@pytest.mark.parametrize(("first", "last"), [("2026-13", "2026-12"), ("2026-1", "2026-02"),
                                             ("2026-00", "2026-04"), ("", "2026-01")])  # fmt: skip
def test_a_span_is_two_months(first, last):
    with pytest.raises(MonthInvalid):
        check_span(first, last)


def test_a_span_given_backwards_is_the_same_span():
    assert (
        check_span("2026-05", "2026-04")
        == ("2026-04", "2026-05")
        == check_span("2026-04", "2026-05")
    )


months = st.sampled_from(["2026-01", "2026-02", "2026-03"])
tags = st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=1, max_size=3)
observations = st.lists(st.builds(lambda m, t, n: seen(m, *t, text=f"text-{n}"), months, tags,
                                  st.integers(0, 10**6)), max_size=40)  # fmt: skip


@given(observations)
def test_no_shown_number_is_between_one_and_four_and_no_text_of_a_small_cell(observations):
    report = social_report(observations, "2026-01", "2026-03")
    for row in report.rows:
        assert row.count == SUPPRESSED or row.count >= 5
        if row.suppressed:
            assert row.excerpts == ()
        else:
            assert row.count == len(row.excerpts)  # each observation once under its tag
    for row in report.rows:
        for text in row.excerpts:
            assert any(o.text == text and row.tag in o.tags for o in observations)
