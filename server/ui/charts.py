"""Server-drawn charts: the geometry of an SVG line chart of a goal's 0–10 ratings.

No JavaScript and no inline style (the pages' Content-Security-Policy forbids both):
this module computes coordinates, the template draws `<polyline>`s and markers with
classes from `sopu.css`. One line per rater (parent, child, worker), x = the day of the
rating, y = 0–10. Each rater also has its own marker shape and dash pattern, so the
lines are told apart without colour. Pure: dates and numbers in, numbers out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

RATERS = ("parent", "child", "worker")
WIDTH, HEIGHT = 560, 240
LEFT, RIGHT, TOP, BOTTOM = 44, 40, 28, 36  # margins: y labels, x labels' ends, legend, x labels
MAX_VALUE = 10
MAX_X_LABELS = 6


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    day: date
    value: int


@dataclass
class Series:
    rater: str
    points: list[Point] = field(default_factory=list)

    @property
    def polyline(self) -> str:
        """The `points` attribute of the series' `<polyline>`."""
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)


@dataclass
class RatingsChart:
    series: list[Series]
    days: list[date]  # every day with a rating, oldest first
    x_ticks: list[tuple[float, date]]
    y_ticks: list[tuple[float, int]]
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = WIDTH - RIGHT
    top: int = TOP
    bottom: int = HEIGHT - BOTTOM

    def table(self) -> list[tuple[date, dict[str, list[int]]]]:
        """The same data by day, for the table beside the chart: day → rater → values."""
        rows = {day: {rater: [] for rater in RATERS} for day in self.days}
        for series in self.series:
            for point in series.points:
                rows[point.day][series.rater].append(point.value)
        return list(rows.items())


def ratings_chart(ratings: list[dict]) -> RatingsChart | None:
    """The chart of a goal's ratings (None: nothing rated yet). Ratings that are not a
    dated 0–10 value of a known rater are left out (a document that passed the wire
    contract has none)."""
    rated = sorted(
        (date.fromisoformat(r["rated_on"]), r["rated_by"], r["value"], r.get("id", ""))
        for r in ratings
        if _valid(r)
    )
    if not rated:
        return None
    days = sorted({day for day, *_ in rated})
    x_of = _x_scale(days[0], days[-1])
    by_rater = {rater: Series(rater) for rater in RATERS}
    for day, rater, value, _id in rated:
        by_rater[rater].points.append(Point(x_of(day), _y(value), day, value))
    return RatingsChart(
        series=[s for s in by_rater.values() if s.points],
        days=days,
        x_ticks=[(x_of(day), day) for day in _spread(days, MAX_X_LABELS)],
        y_ticks=[(_y(value), value) for value in range(0, MAX_VALUE + 1, 2)],
    )


def _valid(rating: object) -> bool:
    if not isinstance(rating, dict) or rating.get("rated_by") not in RATERS:
        return False
    value = rating.get("value")
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_VALUE:
        return False
    try:
        date.fromisoformat(str(rating.get("rated_on")))
    except ValueError:
        return False
    return True


def _x_scale(first: date, last: date):
    """Days onto the plot's width; a single day sits in the middle."""
    span = (last - first).days
    width = WIDTH - RIGHT - LEFT
    if span == 0:
        return lambda _day: LEFT + width / 2
    return lambda day: LEFT + width * (day - first).days / span


def _y(value: int) -> float:
    height = HEIGHT - BOTTOM - TOP
    return TOP + height * (MAX_VALUE - value) / MAX_VALUE


def _spread(days: list[date], most: int) -> list[date]:
    """At most `most` of the days to label, always the first and the last."""
    if len(days) <= most:
        return days
    step = (len(days) - 1) / (most - 1)
    return [days[round(i * step)] for i in range(most)]
