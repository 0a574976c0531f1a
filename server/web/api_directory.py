"""The directory API: families, cases, their status and their assignments.

Who may do what: admins everything; supervisors their team's families and cases;
workers read the cases they are assigned to today (and those cases' families).
Writes answer with directory metadata only; client data (the decrypted family and
case documents) comes only from the GETs, and each such read is written to the access
log. The rules live in the services (`server/cases.py`, `server/families.py`); this
module translates HTTP to them. See docs/adr/008-families-and-cases-api.md.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from marshmallow import Schema, fields

from mobile_schema import fields as f
from mobile_schema.base import RequiredWhen, StrictSchema
from mobile_schema.case import (
    ASSIGNMENT_ROLES,
    CLOSURE_REASONS,
    SERVICE_TASKS,
    STATUSES,
    ReferralSchema,
)
from mobile_schema.family import MemberSchema
from mobile_schema.json_schema import object_schema

from ..casework.cases import in_force, may_manage_team
from ..errors import Forbidden, InvalidInput
from .context import person, person_required, site, today
from .io import load
from .openapi import documented, not_after, query_parameter

bp = Blueprint("directory", __name__, url_prefix="/api")

MANAGERS = ("supervisor", "admin")
END_REASONS = ("reassigned", "absence_ended", "left_team", "workload", "other")


# ---------------------------------------------------------------- request bodies
# Built from the wire contract's own fields, so the API accepts what devices accept.


class MemberBodySchema(MemberSchema):
    """A family member; the server gives one without an `id` a random id."""

    id = f.doc_id(required=False)


class FamilyBodySchema(StrictSchema):
    """A family document without the fields the server stamps (_id, type, versions)."""

    display_name = f.name(required=False)
    members = f.items(MemberBodySchema, required=True, limit=30)
    address = f.text(f.MEDIUM_TEXT)


class CaseDetailsSchema(StrictSchema):
    """What opening a case needs: service task, vireilletulo, referral, special support."""

    service_task = f.choice(SERVICE_TASKS)
    pending_since = f.date(required=True)
    referral = f.Nested(ReferralSchema, required=True)
    special_support_need = f.flag()


class NewFamilySchema(StrictSchema):
    """A family and its first case (a family document always lives in a case)."""

    team_id = f.doc_id(required=False)
    family = f.Nested(FamilyBodySchema, required=True)
    first_case = f.Nested(CaseDetailsSchema, required=True)


class NewCaseSchema(CaseDetailsSchema):
    family_id = f.doc_id()


class CaseStatusSchema(StrictSchema):
    required_when = (RequiredWhen("status", "closed", ("closure_reason",)),)

    status = f.choice(STATUSES)
    on = f.date()
    closure_reason = f.choice(CLOSURE_REASONS, required=False)


class CloseCaseSchema(StrictSchema):
    closed_on = f.date()
    closure_reason = f.choice(CLOSURE_REASONS)


class NewAssignmentSchema(StrictSchema):
    required_when = (RequiredWhen("role", "substitute", ("end_date",)),)

    worker_id = f.doc_id()
    role = f.choice(ASSIGNMENT_ROLES)
    start_date = f.date()
    end_date = f.date()


class EndAssignmentSchema(StrictSchema):
    """A reason from a fixed list: free text here could carry client data into the logs."""

    reason = f.choice(END_REASONS, required=False)


# The OpenAPI description of these bodies is the wire contract's own JSON Schema export
# of the very schemas above (apispec cannot translate the contract's strict field
# types), nested types inlined: the document accepts exactly what the server accepts.


def _request_doc(schema_cls: type[StrictSchema], description: str) -> dict:
    schema = object_schema(schema_cls)
    defs = schema.pop("$defs", {})
    return {**_inlined(schema, defs), "description": description}


def _inlined(node: object, defs: dict) -> object:
    if isinstance(node, dict):
        ref = node.get("$ref", "")
        if ref.startswith("#/$defs/"):
            return _inlined(defs[ref.removeprefix("#/$defs/")], defs)
        return {key: _inlined(value, defs) for key, value in node.items()}
    if isinstance(node, list):
        return [_inlined(value, defs) for value in node]
    return node


def new_family_doc() -> dict:
    doc = _request_doc(
        NewFamilySchema, "A family document (minus what the server stamps) and its first case"
    )
    _not_in_the_future(doc["properties"]["first_case"]["properties"]["pending_since"])
    return doc


def new_case_doc() -> dict:
    doc = _request_doc(NewCaseSchema, "A new case of a family: what opening it needs")
    _not_in_the_future(doc["properties"]["pending_since"])
    return doc


def _not_in_the_future(date_doc: dict) -> None:
    """The server refuses a case pending since a future day (`casework.cases`)."""
    date_doc["allOf"] = [{"pattern": not_after(today())}]
    date_doc["description"] = "not after today"


STATUS_QUERY = query_parameter(
    "status", {"type": "string", "enum": list(STATUSES)}, "only cases in this status"
)


# ---------------------------------------------------------------- responses


class FamilyMetaSchema(Schema):
    id = fields.String()
    team_id = fields.String()
    created_at = fields.String()


class FamilyViewSchema(FamilyMetaSchema):
    case_ids = fields.List(fields.String())
    source_case_id = fields.String(allow_none=True)
    document = fields.Dict(allow_none=True)


class CaseViewSchema(Schema):
    id = fields.String()
    family_id = fields.String()
    team_id = fields.String(allow_none=True)
    service_task = fields.String(allow_none=True)
    status = fields.String()
    status_since = fields.String(allow_none=True)
    created_at = fields.String()
    closed_on = fields.String(allow_none=True)
    retention_starts_on = fields.String(allow_none=True)
    shredded_at = fields.String(allow_none=True)
    document = fields.Dict(allow_none=True)


class CreatedFamilySchema(Schema):
    family = fields.Nested(FamilyMetaSchema)
    case = fields.Nested(CaseViewSchema)


class AssignmentViewSchema(Schema):
    id = fields.String()
    case_id = fields.String()
    worker_id = fields.String()
    role = fields.String()
    start_date = fields.String()
    end_date = fields.String(allow_none=True)
    ended_at = fields.String(allow_none=True)
    in_force = fields.Boolean()


def case_json(case: dict, document: dict | None = None, with_document: bool = False) -> dict:
    """A case's metadata; the decrypted document only where a read was logged."""
    out = CaseViewSchema().dump(case)
    if with_document:
        out["document"] = document
    return out


def assignment_json(row: dict) -> dict:
    """An assignment with `in_force`: whether it grants access today (substitutes expire)."""
    return AssignmentViewSchema().dump(row | {"in_force": in_force(row, today())})


# ---------------------------------------------------------------- families


@bp.post("/families")
@person_required(*MANAGERS)
@documented(
    "Create a family with its first case; the family document is sealed in that case",
    request=new_family_doc,
    response=CreatedFamilySchema,
    status=201,
    tag="directory",
    errors=(404,),
)
def create_family():
    schema = NewFamilySchema()
    body = schema.dump(load(schema))
    account = person()
    team_id = _team_of_new_family(account, body.get("team_id"))
    family_id, case_id = site().families.create(
        team_id, body["family"], body["first_case"], account["id"], today()
    )
    created = {"family": site().families.get(family_id), "case": site().cases.get(case_id)}
    return jsonify(CreatedFamilySchema().dump(created)), 201


@bp.get("/families/<family_id>")
@person_required()
@documented(
    "A family with its latest family document (decrypted; the read is access-logged;"
    " an administrator gets the directory data only, `document` null)",
    response=FamilyViewSchema,
    tag="directory",
    errors=(403,),
)
def get_family(family_id: str):
    account = person()
    family = site().families.get(family_id)
    cases = site().families.readable_cases(family_id, account, today())
    if not cases and not may_manage_team(account, family["team_id"]):
        raise Forbidden("you may read only families of your team or of your cases")
    found = None if reads_no_content(account) else site().families.read(cases, account["id"])
    document, source = found if found else (None, None)
    view = family | {"case_ids": [c["id"] for c in cases], "source_case_id": source}
    return jsonify(FamilyViewSchema().dump(view | {"document": document}))


def _team_of_new_family(account: dict, team_id: str | None) -> str:
    """Supervisors create families in their own team; admins name the team."""
    if account["role"] == "admin":
        if not team_id:
            raise InvalidInput("an admin must name the team_id", field="team_id")
        return team_id
    if team_id and team_id != account["team_id"]:
        raise Forbidden("supervisors create families in their own team only")
    if not account["team_id"]:
        raise Forbidden("you belong to no team")
    return account["team_id"]


# ---------------------------------------------------------------- cases


@bp.post("/cases")
@person_required(*MANAGERS)
@documented(
    "Open a case for a family (a copy of its latest family document goes with it)",
    request=new_case_doc,
    response=CaseViewSchema,
    status=201,
    tag="directory",
    errors=(404, 409),
)
def create_case():
    schema = NewCaseSchema()
    body = schema.dump(load(schema))
    account = person()
    family = site().families.get(body.pop("family_id"))
    if not may_manage_team(account, family["team_id"]):
        raise Forbidden("you may open cases only for families of your team")
    case_id = site().families.open_case(family["id"], body, account["id"], today())
    return jsonify(case_json(site().cases.get(case_id))), 201


@bp.get("/cases")
@person_required()
@documented(
    "Cases you may see (workers: assigned today; supervisors: the team's; admins: all);"
    " ?status=pending|assessment|active|closed",
    response=CaseViewSchema,
    many=True,
    tag="directory",
    query=(STATUS_QUERY,),
)
def list_cases():
    status = request.args.get("status")
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(STATUSES)}", field="status")
    cases = site().cases.visible(person(), status, today())
    return jsonify([case_json(case) for case in cases])


@bp.get("/cases/<case_id>")
@person_required()
@documented(
    "A case: directory metadata and the decrypted case document (the read is access-logged;"
    " an administrator gets the directory metadata only, `document` null)",
    response=CaseViewSchema,
    tag="directory",
    errors=(403,),
)
def get_case(case_id: str):
    case = _readable_case(case_id)
    if reads_no_content(person()):
        return jsonify(case_json(case, None, with_document=True))
    document = site().casework.read(case, person()["id"])
    return jsonify(case_json(case, document, with_document=True))


def reads_no_content(account: dict) -> bool:
    """Administrators manage the directory and read no client content (DESIGN.md): a
    case or family is theirs to see as directory data, never its decrypted document."""
    return account["role"] == "admin"


@bp.post("/cases/<case_id>/status")
@person_required(*MANAGERS)
@documented(
    "Move a case to its next status (pending → assessment → active → closed) from a date",
    request=CaseStatusSchema,
    response=CaseViewSchema,
    tag="directory",
    errors=(409,),
)
def change_status(case_id: str):
    case = _managed_case(case_id)
    data = load(CaseStatusSchema())
    account, day = person(), data.get("on") or today()
    if data["status"] == "closed":
        changed = site().casework.close(
            case["id"], day, data["closure_reason"], account["id"], today()
        )
    else:
        changed = site().casework.change_status(
            case["id"], data["status"], day, account["id"], today()
        )
    return jsonify(case_json(changed))


@bp.post("/cases/<case_id>/close")
@person_required(*MANAGERS)
@documented(
    "Close a case: ends every assignment, rotates the case key, starts retention",
    request=CloseCaseSchema,
    response=CaseViewSchema,
    tag="directory",
    errors=(409,),
)
def close_case(case_id: str):
    case = _managed_case(case_id)
    data = load(CloseCaseSchema())
    closed_on = data.get("closed_on") or today()
    closed = site().casework.close(
        case["id"], closed_on, data["closure_reason"], person()["id"], today()
    )
    return jsonify(case_json(closed))


def _readable_case(case_id: str) -> dict:
    """The case if this person may read it: 404 if unknown, 403 if not theirs."""
    case = site().cases.get(case_id)
    if not site().cases.may_read(person(), case, today()):
        raise Forbidden("you may read only your team's cases or cases assigned to you")
    return case


def _managed_case(case_id: str) -> dict:
    case = site().cases.get(case_id)
    if not site().cases.may_manage(person(), case):
        raise Forbidden("you may manage only your team's cases")
    return case


# ---------------------------------------------------------------- assignments


@bp.post("/cases/<case_id>/assignments")
@person_required(*MANAGERS)
@documented(
    "Assign a worker (own worker, pair worker, or a substitute until end_date)",
    request=NewAssignmentSchema,
    response=AssignmentViewSchema,
    status=201,
    tag="directory",
    errors=(409,),
)
def assign(case_id: str):
    case = _managed_case(case_id)
    data = load(NewAssignmentSchema())
    assignment = site().casework.assign(
        case["id"],
        data["worker_id"],
        data["role"],
        person()["id"],
        data.get("start_date"),
        data.get("end_date"),
        today(),
    )
    return jsonify(assignment_json(assignment)), 201


@bp.get("/cases/<case_id>/assignments")
@person_required()
@documented(
    "Every assignment of a case, ended ones too; `in_force` says who has access today",
    response=AssignmentViewSchema,
    many=True,
    tag="directory",
    errors=(403,),
)
def list_assignments(case_id: str):
    case = _readable_case(case_id)
    return jsonify([assignment_json(row) for row in site().cases.assignments(case["id"])])


@bp.post("/assignments/<assignment_id>/end")
@person_required(*MANAGERS)
@documented(
    "End an assignment now: the worker's devices lose the case, its key rotates",
    request=EndAssignmentSchema,
    response=AssignmentViewSchema,
    tag="directory",
    errors=(409,),
)
def end_assignment(assignment_id: str):
    assignment = site().cases.assignment(assignment_id)
    _managed_case(assignment["case_id"])
    data = load(EndAssignmentSchema())
    ended = site().casework.end_assignment(
        assignment_id, person()["id"], data.get("reason") or "ended", today()
    )
    return jsonify(assignment_json(ended))
