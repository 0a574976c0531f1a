"""Server-drawn chart of the THL processing times: per team, one bar for the starts of
the matters that became pending (in time, late, not started and overdue) and one for
the completions (in time, late, open and overdue at the period's end), stacked.

No JavaScript and no inline style: this computes the rectangles, the template draws
them as `<rect>`s with a class per outcome and a `<title>` each, and the table beside
the chart holds the same numbers. Pure: counts in, coordinates out.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..legal.processing_times import Counts
from .caseload_chart import _ticks

# (bar, [(outcome class, Counts field)]): what each bar stacks, in order.
BARS = (
    ("start", (("in_time", "started_in_time"), ("late", "started_late"),
               ("overdue", "start_overdue"))),
    ("complete", (("in_time", "completed_in_time"), ("late", "completed_late"),
                  ("overdue", "open_overdue"))),
)  # fmt: skip
LABEL_WIDTH = 230
PLOT_WIDTH = 400
TOTAL_WIDTH = 40
BAR_HEIGHT, BAR_GAP, TEAM_GAP, TOP, AXIS = 20, 4, 16, 8, 28


@dataclass(frozen=True)
class Segment:
    outcome: str  # in_time, late, overdue
    field: str  # the Counts field (its label in the template)
    count: int
    x: float
    width: float


@dataclass(frozen=True)
class Bar:
    team: str
    kind: str  # start, complete
    y: float
    segments: list[Segment]
    total: int
    end: float

    @property
    def middle(self) -> float:
        return self.y + BAR_HEIGHT / 2


@dataclass(frozen=True)
class ProcessingChart:
    bars: list[Bar]
    ticks: list[tuple[float, int]]
    width: int
    height: int
    axis_y: float
    left: int = LABEL_WIDTH
    right: int = LABEL_WIDTH + PLOT_WIDTH
    bar_height: int = BAR_HEIGHT


def processing_chart(teams: list[tuple[str, Counts]]) -> ProcessingChart:
    """The chart of `(team name, counts)` rows, two bars per team, in the given order."""
    sums = [sum(getattr(c, f) for _, f in parts) for _, c in teams for _, parts in BARS]
    most = max(sums, default=0)
    scale = PLOT_WIDTH / max(most, 1)
    bars, y = [], float(TOP)
    for name, counts in teams:
        for kind, parts in BARS:
            bars.append(_bar(name, kind, parts, counts, y, scale))
            y += BAR_HEIGHT + BAR_GAP
        y += TEAM_GAP
    return ProcessingChart(
        bars=bars,
        ticks=[(LABEL_WIDTH + v * scale, v) for v in _ticks(most)],
        width=LABEL_WIDTH + PLOT_WIDTH + TOTAL_WIDTH,
        height=int(y + AXIS),
        axis_y=y,
    )


def _bar(team: str, kind: str, parts, counts: Counts, y: float, scale: float) -> Bar:
    x, segments = float(LABEL_WIDTH), []
    for outcome, field in parts:
        count = getattr(counts, field)
        if count:
            segments.append(Segment(outcome, field, count, x, count * scale))
            x += count * scale
    return Bar(team, kind, y, segments, sum(s.count for s in segments), x)
