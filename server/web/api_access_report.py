"""`GET /api/families/<family_id>/access-report`: the client's access report as JSON.

Every processing of the family's data (or one member's, `?member=`) over a period
(`?from=&to=`, days inclusive; by default the two years up to today): read, delivered,
viewed on a device, changed, disclosed — who (name, role), when, which documents
(type and date, never content), on what basis (`server.legal.access_report`). Who may
ask and what it covers: `server.casework.access_reports` (a supervisor of the team,
the instructors assigned today; never an administrator: 404). Producing it is written
to the access log (purpose `client_report`).
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from marshmallow import Schema, fields

from ..legal.access_report import KINDS, parse_period
from .context import person, person_required, site, today
from .openapi import documented, query_parameter

bp = Blueprint("access_report", __name__, url_prefix="/api")

DATE = {"type": "string", "format": "date"}
QUERY = (
    query_parameter("from", DATE, "first day (default: two years before `to`); 400 invalid_date"),
    query_parameter("to", DATE, "last day (default today); before `from`: 400 invalid_period"),
    query_parameter("member", {"type": "string"}, "one family member's id (400 unknown_member)"),
)


class PersonSchema(Schema):
    id = fields.String()
    name = fields.String(metadata={"description": "empty for the server itself"})
    role = fields.String(metadata={"enum": ["worker", "supervisor", "admin", "system", "unknown"]})


class DocumentRefSchema(Schema):
    id = fields.String()
    type = fields.String(metadata={"description": "a case document type, or unavailable"})
    date = fields.String(allow_none=True, metadata={"description": "the day it is about"})


class EntrySchema(Schema):
    kind = fields.String(metadata={"enum": list(KINDS)})
    at = fields.String(metadata={"description": "when the server recorded it"})
    day = fields.String(metadata={"description": "the Helsinki day it happened"})
    who = fields.Nested(PersonSchema)
    case_id = fields.String()
    documents = fields.List(fields.Nested(DocumentRefSchema))
    basis = fields.String(
        metadata={
            "description": "a read's purpose; the worker's assignment role (own_worker,"
            " pair_worker, substitute) or supervision / case_work; a disclosure's"
            " consent, statute or client"
        }
    )
    device_at = fields.String(allow_none=True, metadata={"description": "viewed: device time"})
    uploaded_at = fields.String(allow_none=True, metadata={"description": "viewed: upload"})
    recipient = fields.String(allow_none=True)
    consent_id = fields.String(allow_none=True)
    statute = fields.String(allow_none=True)


class SummarySchema(Schema):
    who = fields.Nested(PersonSchema)
    counts = fields.Dict(keys=fields.String(), values=fields.Integer())


class AccessReportSchema(Schema):
    family_id = fields.String()
    member_id = fields.String(allow_none=True)
    from_ = fields.String(data_key="from")
    to = fields.String()
    produced_at = fields.String()
    produced_by = fields.Nested(PersonSchema)
    case_ids = fields.List(fields.String())
    summary = fields.List(fields.Nested(SummarySchema))
    entries = fields.List(fields.Nested(EntrySchema))


@bp.get("/families/<family_id>/access-report")
@person_required()
@documented(
    "The client's access report of a family (or one member) for a period: every read,"
    " delivery, device-side view, change and disclosure with who, when, which"
    " documents (type and date) and on what basis; producing it is access-logged"
    " (client_report). Administrators: 404.",
    response=AccessReportSchema,
    tag="legal",
    query=QUERY,
)
def access_report(family_id: str):
    account = person()
    start, end = parse_period(request.args.get("from"), request.args.get("to"), today())
    report = site().access_reports.produce(
        family_id, account, start, end, today(), member_id=request.args.get("member") or None
    )
    return jsonify(AccessReportSchema().dump(report | {"from_": report["from"]}))
