"""The statutory reports in the API: THL processing times, recording observations for
social reporting (SHL 7 §), and the social report. Who sees which team's figures is
`server.reports.scope`; the counting rules are `server.legal.processing_times` and
`server.legal.social_reporting`. The web pages (`server.ui.reports`) show the same."""

from __future__ import annotations

import copy
from functools import wraps

from flask import Blueprint, jsonify, request
from marshmallow import Schema, fields

from mobile_schema import fields as f
from mobile_schema.base import StrictSchema
from mobile_schema.json_schema import object_schema
from mobile_schema.observation import ObservationSchema

from ..errors import Forbidden, Unauthenticated
from ..legal.processing_times import COLUMNS
from ..legal.social_reporting import SUPPRESSED, THRESHOLD, SocialReport, social_report
from ..reports import scope
from ..reports.processing_times import ProcessingTimesReport
from .context import device, person, person_required, site, today
from .io import load
from .openapi import documented, query_parameter

bp = Blueprint("reports", __name__, url_prefix="/api")
_OBSERVATION = ObservationSchema._declared_fields
MONTH_PATTERN = r"^[0-9]{4}-(0[1-9]|1[0-2])$"
TAGS_LIMIT = 20  # as the wire document's phenomenon_tags


class NewObservationSchema(StrictSchema):
    """An observation as a person sends it: the server adds the id and the stamps; the
    team is the sender's own (`team_id`, if given, must be it)."""

    team_id = f.doc_id(required=False)
    # Tighter than the wire document, as `Observations.record` checks: a month of the
    # calendar, and a tag to count it under.
    observed_in = f.String(
        required=True, validate=f.Pattern(MONTH_PATTERN, "Expected a month as YYYY-MM, 01–12.")
    )
    phenomenon_tags = f.List(
        copy.deepcopy(_OBSERVATION["phenomenon_tags"].inner),
        validate=f.non_empty(TAGS_LIMIT),
        required=True,
    )
    text = copy.deepcopy(_OBSERVATION["text"])


def new_observation_doc() -> dict:
    schema = object_schema(NewObservationSchema)
    schema.pop("$defs", None)
    return {**schema, "description": "A social-reporting observation (no case, no family)"}


class RecordedObservationSchema(Schema):
    id = fields.String(required=True)
    team_id = fields.String(required=True)
    observed_in = fields.String(required=True)
    phenomenon_tags = fields.List(fields.String(), required=True)


CountsSchema = Schema.from_dict(
    {name: fields.Integer(required=True) for name in COLUMNS}, name="ProcessingTimeCounts"
)


class TeamFiguresSchema(Schema):
    team_id = fields.String(required=True)
    name = fields.String(required=True)
    counts = fields.Nested(CountsSchema, required=True)


class ProcessingTimesSchema(Schema):
    period = fields.String(required=True, metadata={"description": "YYYYH1 or YYYYH2"})
    starts = fields.Date(required=True)
    ends = fields.Date(required=True)
    as_of = fields.Date(required=True, metadata={"description": "figures as known this day"})
    teams = fields.List(fields.Nested(TeamFiguresSchema), required=True)
    total = fields.Nested(CountsSchema, required=True)


SHOWN_COUNT = {"description": f'a number, or "{SUPPRESSED}" for 1–{THRESHOLD - 1} (suppressed)'}


class TagRowSchema(Schema):
    tag = fields.String(required=True)
    count = fields.Raw(required=True, metadata=SHOWN_COUNT)
    suppressed = fields.Boolean(required=True)
    excerpts = fields.List(
        fields.String(),
        required=True,
        metadata={"description": "observations' text, only under a count of 5 or more"},
    )


class SocialReportSchema(Schema):
    team_id = fields.String(required=True)
    from_ = fields.String(required=True, data_key="from")
    to = fields.String(required=True)
    threshold = fields.Integer(required=True)
    observations = fields.Raw(required=True, metadata=SHOWN_COUNT)
    tags = fields.List(fields.Nested(TagRowSchema), required=True)


PERIOD_QUERY = query_parameter(
    "period",
    {"type": "string", "pattern": "^(19|2[0-9])[0-9]{2}H[12]$"},
    "YYYYH1 (1.4.–30.9.) or YYYYH2 (1.10.–31.3. of the next year); default: the current one",
)
TEAM_QUERY = query_parameter(
    "team", {"type": "string"}, "a team id (an administrator's choice; others: their own)"
)
MONTH = {"type": "string", "pattern": "^[0-9]{4}-(0[1-9]|1[0-2])$"}
FROM_QUERY = query_parameter(
    "from", MONTH, "first month, YYYY-MM (default: January); from and to in either order"
)
TO_QUERY = query_parameter("to", MONTH, "last month, YYYY-MM (default: this month)")


@bp.get("/reports/processing-times")
@person_required("supervisor", "admin")
@documented(
    "THL processing times of service-need assessments (SHL 36 §) for a half-year, per"
    " team: a supervisor's own team, an administrator's every team (counts only)",
    response=ProcessingTimesSchema,
    tag="reports",
    errors=(404,),
    query=(PERIOD_QUERY, TEAM_QUERY),
)
def processing_times():
    return jsonify(processing_times_json(processing_times_report()))


def processing_times_report() -> ProcessingTimesReport:
    """The report the request asks for (`period=`, `team=`), for the web page too."""
    account = person()
    period = scope.half_year(request.args.get("period"), today())
    service = site().processing_times
    teams = scope.processing_time_teams(account, request.args.get("team"), service.teams())
    return service.report(account["id"], teams, period, today())


def processing_times_json(report: ProcessingTimesReport) -> dict:
    body = {
        "period": report.period.code,
        "starts": report.period.start,
        "ends": report.period.end,
        "as_of": report.as_of,
        "teams": [
            {"team_id": t.team_id, "name": t.name, "counts": t.counts.as_dict()}
            for t in report.teams
        ],
        "total": report.total.as_dict(),
    }
    return ProcessingTimesSchema().dump(body)


def sender() -> dict:
    """Who records: the logged-in person, or the worker of the device whose bearer
    token the request carries (a phone sends what it collected offline)."""
    if request.headers.get("Authorization"):
        account = site().accounts.get(device()["worker_id"])
        if not account["active"]:
            raise Unauthenticated("this account is no longer active")
        return account
    return person()


def person_or_device(*roles: str):
    """Like `person_required`, for a person's session or a device's token."""

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if sender()["role"] not in roles:
                raise Forbidden(f"this needs the role {' or '.join(roles)}")
            return view(*args, **kwargs)

        wrapper.sopu_roles = roles
        return wrapper

    return decorate


@bp.post("/observations")
@person_or_device("worker", "supervisor")
@documented(
    "Record an observation for social reporting (SHL 7 §) for your own team: a month,"
    " phenomenon tags and anonymised text; never linked to a case or family. A session,"
    " or a device's `Authorization: Bearer` access token (its worker records it)",
    request=new_observation_doc,
    response=RecordedObservationSchema,
    status=201,
    tag="reports",
)
def record_observation():
    body = NewObservationSchema().dump(load(NewObservationSchema()))
    recorded = site().observations.record(sender(), body)
    return jsonify(RecordedObservationSchema().dump(recorded)), 201


@bp.get("/reports/observations")
@person_required()
@documented(
    "Social reporting: a team's observations over months counted per phenomenon tag;"
    ' a count of 1–4 is "< 5"; excerpts only under tags counted 5 or more, never for'
    " an administrator (who names the team)",
    response=SocialReportSchema,
    tag="reports",
    errors=(404,),
    query=(TEAM_QUERY, FROM_QUERY, TO_QUERY),
)
def observations_report():
    team_id, report = social_report_of_request()
    return jsonify(social_report_json(team_id, report))


def social_report_of_request() -> tuple[str, SocialReport]:
    """The team and its report the request asks for (`team=`, `from=`, `to=`)."""
    account = person()
    first, last = scope.months(request.args.get("from"), request.args.get("to"), today())
    teams = site().processing_times.teams()
    team_id = scope.social_report_team(account, request.args.get("team"), teams)
    observations = site().observations.of_team(team_id, first, last)
    return team_id, social_report(observations, first, last, scope.with_excerpts(account))


def social_report_json(team_id: str, report: SocialReport) -> dict:
    body = {
        "team_id": team_id,
        "from_": report.first,
        "to": report.last,
        "threshold": THRESHOLD,
        "observations": report.observations,
        "tags": [
            {"tag": r.tag, "count": r.count, "suppressed": r.suppressed, "excerpts": r.excerpts}
            for r in report.rows
        ],
    }
    return SocialReportSchema().dump(body)
