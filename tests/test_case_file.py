"""The pure parts of the case page: the timeline's order, the ratings chart's geometry
and the assessment's deadlines (the page itself is tests/test_ui_case.py)."""

from __future__ import annotations

from datetime import date

import pytest

from server.casework.case_file import CaseFile, UnknownDocType, check_doc_type
from server.ui.case_plan import deadline
from server.ui.charts import HEIGHT, TOP, WIDTH, ratings_chart

CASE = "c" * 32


def doc(doc_id: str, doc_type: str, **fields) -> dict:
    return {"_id": doc_id * 32, "type": doc_type, "case_id": CASE, **fields}


def test_the_timeline_orders_by_the_moment_whatever_the_offset_and_keeps_amendments_beside():
    visit = doc("a", "visit", starts_at="2026-05-04T09:30:00+03:00")  # 06:30 UTC
    note = doc("b", "note", kind="entry", occurred_at="2026-05-04T07:00:00Z")
    fix = doc("c", "note", kind="amendment", amends="b" * 32, occurred_at="2026-06-01T08:00:00Z")
    later = doc("d", "note", kind="entry", occurred_at="2026-05-20T08:00:00Z")
    orphan = doc("e", "note", kind="amendment", amends="f" * 32, occurred_at="2026-05-10T08:00:00Z")
    file = CaseFile(CASE, [later, fix, note, visit, orphan, doc("9", "plan")])
    shown = [
        (entry.doc["_id"][0], [a["_id"][0] for a in entry.amendments]) for entry in file.timeline()
    ]
    assert shown == [("a", []), ("b", ["c"]), ("e", []), ("d", [])]


def test_only_case_document_types_filter():
    assert check_doc_type(None) is None and check_doc_type("consent") == "consent"
    with pytest.raises(UnknownDocType) as refused:
        check_doc_type("observation")
    assert refused.value.code == "unknown_doc_type"


def rating(day: str, value: int, by: str) -> dict:
    return {"id": f"{day}{by}", "rated_on": day, "value": value, "rated_by": by}


def test_the_chart_puts_days_on_x_and_0_to_10_on_y_one_series_per_rater():
    too_high = {"rated_on": "2026-03-06", "value": 11, "rated_by": "child"}
    chart = ratings_chart([
        rating("2026-03-01", 0, "parent"), rating("2026-03-11", 10, "parent"),
        rating("2026-03-06", 5, "worker"), too_high,
    ])  # fmt: skip
    assert [s.rater for s in chart.series] == ["parent", "worker"]  # the 11 is left out
    parent, worker = chart.series
    (x0, y0), (x1, y1) = [(p.x, p.y) for p in parent.points]
    assert x0 == chart.left and x1 == chart.right and y0 == chart.bottom and y1 == TOP
    assert worker.points[0].x == pytest.approx((chart.left + chart.right) / 2)
    assert 0 < chart.right <= WIDTH and chart.bottom < HEIGHT
    assert [values for _day, values in chart.table()] == [
        {"parent": [0], "child": [], "worker": []},
        {"parent": [], "child": [], "worker": [5]},
        {"parent": [10], "child": [], "worker": []},
    ]


def test_one_day_sits_in_the_middle_and_many_days_get_at_most_six_labels():
    single = ratings_chart([rating("2026-03-01", 4, "child")])
    assert single.series[0].points[0].x == pytest.approx((single.left + single.right) / 2)
    assert ratings_chart([]) is None
    many = ratings_chart([rating(f"2026-03-{d:02d}", d % 11, "parent") for d in range(1, 21)])
    days = [day for _x, day in many.x_ticks]
    assert len(days) == 6 and days[0] == date(2026, 3, 1) and days[-1] == date(2026, 3, 20)


def test_a_deadline_met_late_counts_working_days_and_an_open_one_what_is_left():
    due = date(2026, 4, 2)  # Thursday before Easter: Good Friday and Easter Monday are off
    late = deadline("start", due, date(2026, 4, 7), date(2026, 4, 20))
    assert late.late_by == 1 and late.left is None
    in_time = deadline("start", due, date(2026, 4, 1), date(2026, 4, 20))
    assert in_time.late_by == 0
    open_ = deadline("complete", due, None, date(2026, 4, 7))
    assert open_.left.overdue and open_.left.working_days_left == -1
