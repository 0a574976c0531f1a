"""`/reports`: the statutory reports on the web — THL processing times with a chart
(`/reports/processing-times`, `.csv`) and social reporting with its observation form
(`/reports/observations`, `.csv`).

The same reports, rules and access as the API (`server.web.api_reports`,
`server.reports.scope`): processing times for a supervisor's own team and for an
administrator every team (counts only); the social report and the form for a team's
instructors and supervisor, an administrator any team's counts without the text.
Counts and observations are no client data, so the pages write no access log entry
(the processing times' counting logs its own reads, purpose `statistics`).
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Response, redirect, request

from mobile_schema import DocumentInvalid

from ..errors import Forbidden, InvalidInput
from ..legal.processing_times import period_of
from ..legal.social_reporting import SUPPRESSED, THRESHOLD
from ..reports import scope
from ..reports.csv_export import processing_times_csv, social_report_csv
from ..web.api_reports import processing_times_report, social_report_of_request
from ..web.context import site, today
from .blueprint import bp
from .i18n import N_, _
from .pages import render, viewer
from .processing_chart import processing_chart

# The processing times' columns, in words (the CSV keeps the codes).
START_COLUMNS = {
    "became_pending": N_("Became pending"),
    "started_in_time": N_("Started within 7 working days"),
    "started_late": N_("Started late"),
    "start_overdue": N_("Not started, overdue"),
    "start_not_yet_due": N_("Not started, not yet due"),
    "ended_unstarted": N_("Ended without an assessment"),
}
COMPLETE_COLUMNS = {
    "completed_in_time": N_("Completed within 3 months"),
    "completed_late": N_("Completed late"),
    "open_overdue": N_("Open and overdue at the period's end"),
}
BAR_LABELS = {"start": N_("Start"), "complete": N_("Completion")}
OUTCOMES = {"in_time": N_("In time"), "late": N_("Late"), "overdue": N_("Open and overdue")}
RECORDERS = ("worker", "supervisor")


@bp.get("/reports")
def reports_index():
    me = viewer()
    return render("reports_index.html", processing=me["role"] in ("supervisor", "admin"))


@bp.get("/reports/processing-times")
def processing_times_page():
    me = viewer()
    if me["role"] not in ("supervisor", "admin"):
        raise Forbidden(_("The processing times are for supervisors and administrators."))
    try:
        report = processing_times_report()
    except InvalidInput as exc:  # back to the half-year under way, saying what was wrong
        return redirect(_invalid("/reports/processing-times", exc, keep=("team",)), 303)
    current = period_of(today())
    chart = processing_chart([(t.name, t.counts) for t in report.teams])
    return render(
        "reports_processing_times.html",
        report=report,
        chart=chart,
        periods=_periods(current),
        start_columns=START_COLUMNS,
        complete_columns=COMPLETE_COLUMNS,
        bar_labels=BAR_LABELS,
        outcomes=OUTCOMES,
        team=request.args.get("team", ""),
        teams=site().processing_times.teams() if me["role"] == "admin" else {},
        error=_invalid_notice(request.args.get("invalid")),
    )


@bp.get("/reports/processing-times.csv")
def processing_times_download():
    me = viewer()
    if me["role"] not in ("supervisor", "admin"):
        raise Forbidden(_("The processing times are for supervisors and administrators."))
    report = processing_times_report()
    return _csv(processing_times_csv(report), f"processing-times-{report.period.code}.csv")


@bp.get("/reports/observations")
def observations_page():
    me = viewer()
    return _observations_page(me, notice=_recorded(request.args.get("recorded")))


@bp.post("/reports/observations")
def record_observation():
    """The form: one observation of the own team, then back to the report (303)."""
    me = viewer()
    tags = [t.strip().lower() for t in request.form.get("tags", "").replace(",", " ").split()]
    body = {
        "observed_in": request.form.get("observed_in", ""),
        "phenomenon_tags": [t for t in tags if t],
        "text": request.form.get("text", "").strip(),
    }
    try:
        site().observations.record(me, body)
    except (DocumentInvalid, InvalidInput):
        error = _("Check the month, the tags and the text.")
        return _observations_page(me, error=error, form=request.form, status=400)
    return redirect(f"/reports/observations?recorded={body['observed_in']}", 303)


@bp.get("/reports/observations.csv")
def observations_download():
    viewer()
    team_id, report = social_report_of_request()
    name = f"social-report-{report.first}-{report.last}.csv"
    return _csv(social_report_csv(team_id, report), name)


def _observations_page(me: dict, notice=None, error=None, form=None, status: int = 200):
    teams = site().processing_times.teams()
    day = today()
    try:
        months = scope.months(request.args.get("from"), request.args.get("to"), day)
        team_id, report = None, None
        if me["role"] != "admin" or request.args.get("team"):
            team_id, report = social_report_of_request()
    except InvalidInput as exc:
        return redirect(_invalid("/reports/observations", exc, keep=("team",)), 303)
    return render(
        "reports_observations.html",
        status,
        report=report,
        team_id=team_id,
        team_name=teams.get(team_id or "", ""),
        teams=teams if me["role"] == "admin" else {},
        records=me["role"] in RECORDERS and bool(me.get("team_id")),
        months=months,
        this_month=f"{day.year}-{day.month:02d}",
        suppressed=SUPPRESSED,
        threshold=THRESHOLD,
        notice=notice,
        error=error or _invalid_notice(request.args.get("invalid")),
        form=form or {},
    )


# A report asked for with a parameter that is not one (`?invalid=`), in words.
INVALID = {
    "period": N_(
        "“Half-year” is not a half-year YYYYH1 (1.4.–30.9.) or YYYYH2 (1.10.–31.3.): "
        "this is the half-year under way."
    ),
    "from": N_("“From month” is not a month YYYY-MM: this is the report of this year."),
    "to": N_("“To month” is not a month YYYY-MM: this is the report of this year."),
}


def _invalid(path: str, exc: InvalidInput, keep: tuple[str, ...]) -> str:
    """The report's own page without the parameter that was wrong, naming it."""
    query = {k: request.args[k] for k in keep if request.args.get(k)}
    wrong = exc.details.get("parameter")
    if wrong in INVALID:
        query["invalid"] = wrong
    return f"{path}?{urlencode(query)}" if query else path


def _invalid_notice(parameter: str | None) -> str | None:
    return _(INVALID[parameter]) if parameter in INVALID else None


def _recorded(month: str | None) -> str | None:
    return _("The observation was recorded.") if month else None


def _periods(current):
    """The half-year under way and the three before it, newest first (the select)."""
    periods = [current]
    for _n in range(3):
        periods.append(periods[-1].previous())
    return periods


def _csv(text: str, filename: str) -> Response:
    response = Response(text, mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
