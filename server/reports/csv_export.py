"""The statutory reports as CSV (RFC 4180, UTF-8, comma-separated, a header row of
stable column names), for a spreadsheet or THL's form. A cell that a spreadsheet would
run as a formula (`=`, `+`, `-`, `@` first) is quoted with a leading apostrophe."""

from __future__ import annotations

import csv
import io

from ..legal.processing_times import COLUMNS
from ..legal.social_reporting import SocialReport
from .processing_times import ProcessingTimesReport

ALL_TAGS = "(all)"  # the social report's first row: every observation of the span


def processing_times_csv(report: ProcessingTimesReport) -> str:
    rows = [("period", "starts", "ends", "team_id", "team", *COLUMNS)]
    period = report.period
    for team in report.teams:
        counts = team.counts.as_dict()
        rows.append(
            (period.code, period.start, period.end, team.team_id, team.name,
             *(counts[c] for c in COLUMNS))
        )  # fmt: skip
    return _csv(rows)


def social_report_csv(team_id: str, report: SocialReport) -> str:
    rows = [("team_id", "from", "to", "tag", "observations")]
    rows.append((team_id, report.first, report.last, ALL_TAGS, report.observations))
    rows += [(team_id, report.first, report.last, r.tag, r.count) for r in report.rows]
    return _csv(rows)


def _csv(rows) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        writer.writerow([_cell(value) for value in row])
    return out.getvalue()


def _cell(value) -> str:
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
