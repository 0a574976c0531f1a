"""Administration: teams and accounts (administrators), quarantine (supervisors)."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, jsonify
from marshmallow import Schema, fields, validate

from ..people.administration import change_account as apply_change
from ..people.administration import create_account as new_account
from .api_session import AccountSchema
from .context import person, person_required, sessions, site
from .io import load
from .openapi import documented

bp = Blueprint("admin", __name__, url_prefix="/api")


class TeamSchema(Schema):
    id = fields.String(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))


class NewAccountSchema(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=100))
    display_name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    role = fields.String(required=True, validate=validate.OneOf(["worker", "supervisor", "admin"]))
    team_id = fields.String(load_default=None, allow_none=True)
    password = fields.String(required=True, validate=validate.Length(min=12, max=1000))


class AccountChangeSchema(Schema):
    role = fields.String(validate=validate.OneOf(["worker", "supervisor", "admin"]))
    active = fields.Boolean()
    password = fields.String(validate=validate.Length(min=12, max=1000))


class SessionTimesSchema(Schema):
    """A live session by its times (UTC, ISO 8601): never its id or the id's hash."""

    created_at = fields.String()
    last_seen = fields.String()
    expires_at = fields.String()


class AccountDeviceSchema(Schema):
    id = fields.String()
    label = fields.String()
    enrolled_at = fields.String()
    last_sync_at = fields.String(allow_none=True)
    revoked_at = fields.String(allow_none=True)


class AccountDetailSchema(AccountSchema):
    sessions = fields.List(fields.Nested(SessionTimesSchema))
    devices = fields.List(fields.Nested(AccountDeviceSchema))


class SessionsEndedSchema(Schema):
    sessions_ended = fields.Integer()


def _iso(seconds: float) -> str:
    """Sessions keep Unix seconds (like the login throttle); the API speaks ISO 8601."""
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds")


class QuarantineSchema(Schema):
    id = fields.Integer()
    at = fields.String()
    device_id = fields.String()
    worker_id = fields.String(allow_none=True)
    case_id = fields.String(allow_none=True)
    doc_id = fields.String(allow_none=True)
    reason = fields.String()
    envelope = fields.Dict()


@bp.post("/teams")
@person_required("admin")
@documented("Create a team", request=TeamSchema, response=TeamSchema, status=201, tag="admin")
def create_team():
    data = load(TeamSchema())
    team_id = site().accounts.create_team(data["name"], person()["id"])
    return jsonify({"id": team_id, "name": data["name"]}), 201


@bp.get("/teams")
@person_required("admin", "supervisor")
@documented("Teams (a supervisor sees their own)", response=TeamSchema, many=True, tag="admin")
def list_teams():
    rows = site().directory.query("SELECT id, name FROM teams ORDER BY name")
    account = person()
    teams = [dict(r) for r in rows if account["role"] == "admin" or r["id"] == account["team_id"]]
    return jsonify(teams)


@bp.post("/accounts")
@person_required("admin")
@documented(
    "Create a worker, supervisor or administrator account",
    request=NewAccountSchema,
    response=AccountSchema,
    status=201,
    tag="admin",
)
def create_account():
    data = load(NewAccountSchema())
    worker_id = new_account(site(), person()["id"], **data)
    return jsonify(AccountSchema().dump(site().accounts.get(worker_id))), 201


@bp.patch("/accounts/<worker_id>")
@person_required("admin")
@documented(
    "Change an account's role, active flag or password (each optional); every session of"
    " that person ends, and deactivating also revokes (and so wipes) their devices",
    request=AccountChangeSchema,
    response=AccountSchema,
    tag="admin",
)
def change_account(worker_id: str):
    data = load(AccountChangeSchema())
    account = apply_change(site(), person()["id"], worker_id, **data)
    return jsonify(AccountSchema().dump(account))


@bp.get("/accounts/<worker_id>")
@person_required("admin")
@documented(
    "One account with its live sessions (times only) and its devices (revoked ones too)",
    response=AccountDetailSchema,
    tag="admin",
)
def account_detail(worker_id: str):
    account = site().accounts.get(worker_id)
    detail = {
        **account,
        "sessions": [
            {key: _iso(seconds) for key, seconds in row.items()}
            for row in sessions().of_worker(worker_id)
        ],
        "devices": site().devices.of_worker(worker_id),
    }
    return jsonify(AccountDetailSchema().dump(detail))


@bp.post("/accounts/<worker_id>/sessions/end")
@person_required("admin")
@documented(
    "End every session of the person (they log in again); their devices keep syncing",
    response=SessionsEndedSchema,
    tag="admin",
)
def end_sessions(worker_id: str):
    ended = site().accounts.end_sessions(worker_id, person()["id"])
    return jsonify({"sessions_ended": ended})


@bp.get("/accounts")
@person_required("admin", "supervisor")
@documented(
    "Accounts (a supervisor sees their team)", response=AccountSchema, many=True, tag="admin"
)
def list_accounts():
    account = person()
    if account["role"] == "admin":
        rows = site().directory.query("SELECT * FROM workers ORDER BY username")
    else:
        rows = site().directory.query(
            "SELECT * FROM workers WHERE team_id = ? ORDER BY username", (account["team_id"],)
        )
    return jsonify(AccountSchema(many=True).dump([dict(r) for r in rows]))


@bp.get("/quarantine")
@person_required("admin", "supervisor")
@documented(
    "Pushes that could not be accepted (e.g. from revoked devices), kept for review",
    response=QuarantineSchema,
    many=True,
    tag="admin",
)
def quarantine():
    account = person()
    workers = None
    if account["role"] == "supervisor":
        rows = site().directory.query(
            "SELECT id FROM workers WHERE team_id = ?", (account["team_id"],)
        )
        workers = [r["id"] for r in rows]
    return jsonify(QuarantineSchema(many=True).dump(site().quarantine.items(workers)))
