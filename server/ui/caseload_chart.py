"""Server-drawn caseload chart: one horizontal bar per worker, stacked by case status.

No JavaScript and no inline style: this module computes the rectangles, the template
draws them as `<rect>`s with a class per status (`sopu.css`) and a `<title>` each, and
the table beside the chart holds the same numbers. Pure: counts in, coordinates out.
"""

from __future__ import annotations

from dataclasses import dataclass

STATUSES = ("pending", "assessment", "active")
LABEL_WIDTH = 190  # worker names, left of the bars
PLOT_WIDTH = 420
TOTAL_WIDTH = 40  # the total, right of each bar
BAR_HEIGHT, GAP, TOP, AXIS = 22, 10, 8, 28


@dataclass(frozen=True)
class Segment:
    status: str
    count: int
    x: float
    width: float


@dataclass(frozen=True)
class Bar:
    name: str
    total: int
    y: float
    segments: list[Segment]
    end: float  # x where the bar ends (the total is written after it)

    @property
    def middle(self) -> float:
        return self.y + BAR_HEIGHT / 2


@dataclass(frozen=True)
class CaseloadChart:
    bars: list[Bar]
    ticks: list[tuple[float, int]]  # x, value
    width: int
    height: int
    left: int = LABEL_WIDTH
    right: int = LABEL_WIDTH + PLOT_WIDTH
    axis_y: float = 0
    bar_height: int = BAR_HEIGHT


def caseload_chart(loads: list[tuple[str, dict[str, int]]]) -> CaseloadChart:
    """The chart of `(worker name, {status: open cases})` rows, in the given order."""
    most = max((sum(cases.get(s, 0) for s in STATUSES) for _, cases in loads), default=0)
    scale = PLOT_WIDTH / max(most, 1)
    bars = [_bar(name, cases, TOP + n * (BAR_HEIGHT + GAP), scale) for n, (name, cases) in
            enumerate(loads)]  # fmt: skip
    axis_y = TOP + len(loads) * (BAR_HEIGHT + GAP)
    return CaseloadChart(
        bars=bars,
        ticks=[(LABEL_WIDTH + value * scale, value) for value in _ticks(most)],
        width=LABEL_WIDTH + PLOT_WIDTH + TOTAL_WIDTH,
        height=int(axis_y + AXIS),
        axis_y=axis_y,
    )


def _bar(name: str, cases: dict[str, int], y: float, scale: float) -> Bar:
    x, segments = float(LABEL_WIDTH), []
    for status in STATUSES:
        count = cases.get(status, 0)
        if count:
            segments.append(Segment(status, count, x, count * scale))
            x += count * scale
    return Bar(name, sum(s.count for s in segments), y, segments, x)


def _ticks(most: int) -> list[int]:
    """0, the maximum, and round steps between (at most about six labels)."""
    if most <= 0:
        return [0]
    steps = (1, 2, 5, 10, 20, 50, 100, 200, 500)
    step = next((s for s in steps if most / s <= 6), -(-most // 5))
    values = list(range(0, most + 1, step))
    if values[-1] != most:
        if most - values[-1] < step / 2 and len(values) > 1:
            values.pop()  # too close to the maximum to label both
        values.append(most)
    return values
