"""Devices: a logged-in worker enrols a device; tokens for it; listing and revocation."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from marshmallow import Schema, fields, validate

from ..errors import Forbidden
from ..people.revocation import may_revoke, revoke_device
from .context import device, device_required, person, person_required, site, today
from .io import load
from .openapi import documented

bp = Blueprint("devices", __name__, url_prefix="/api/devices")


class PublicKeySchema(Schema):
    kem = fields.String(required=True, validate=validate.OneOf(["x25519", "mlkem768-x25519"]))
    x25519 = fields.String(required=True)
    mlkem768 = fields.String()


class EnrolSchema(Schema):
    label = fields.String(required=True, validate=validate.Length(min=1, max=100))
    public_key = fields.Nested(PublicKeySchema, required=True)


class TokenSchema(Schema):
    device_id = fields.String()
    access_token = fields.String()
    refresh_token = fields.String()
    token_type = fields.String()
    expires_in = fields.Integer()


class RefreshSchema(Schema):
    refresh_token = fields.String(required=True)


class RevokeSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class DeviceSchema(Schema):
    id = fields.String()
    worker_id = fields.String()
    label = fields.String()
    kem = fields.String()
    enrolled_at = fields.String()
    revoked_at = fields.String(allow_none=True)
    revoke_reason = fields.String(allow_none=True)


class ColleagueSchema(Schema):
    id = fields.String()
    name = fields.String()


def tokens():
    return current_app.extensions["sopu.tokens"]


@bp.post("")
@person_required("worker")
@documented(
    "Enrol a device of the logged-in worker; returns its tokens",
    request=EnrolSchema,
    response=TokenSchema,
    status=201,
    tag="devices",
)
def enrol():
    data = load(EnrolSchema())
    account = person()
    device = site().devices.enrol(account["id"], data["label"], data["public_key"], account["id"])
    return jsonify(tokens().issue(device["id"])), 201


@bp.post("/token")
@documented(
    "Exchange a refresh token for new tokens; the old pair stops working at once, and a"
    " refresh token used twice revokes every token of the device (401 refresh_reused)",
    request=RefreshSchema,
    response=TokenSchema,
    tag="devices",
    errors=(401,),
)
def refresh():
    return jsonify(tokens().refresh(load(RefreshSchema())["refresh_token"]))


@bp.get("")
@person_required()
@documented(
    "Devices: your own (workers), your team's (supervisors), all (admins)",
    response=DeviceSchema,
    many=True,
    tag="devices",
)
def list_devices():
    return jsonify(DeviceSchema(many=True).dump(_visible_devices(person())))


@bp.get("/colleagues")
@device_required
@documented(
    "The names of the people a device's documents can name as authors (its worker's"
    " team and everyone ever assigned to its cases), for a field app to show who wrote"
    " what; with the device's access token (Authorization: Bearer)",
    response=ColleagueSchema,
    many=True,
    tag="devices",
    errors=(401,),
)
def colleagues():
    return jsonify(ColleagueSchema(many=True).dump(_colleagues(device()["worker_id"])))


def _colleagues(worker_id: str) -> list[dict]:
    """The worker's team and everyone ever assigned to the worker's cases (a former
    substitute's edits stay in the notes), by name. Names only: no role, no username."""
    cases = site().cases.of_worker(worker_id, today())
    marks = ",".join("?" * len(cases)) or "NULL"
    rows = site().directory.query(
        "SELECT id, display_name FROM workers WHERE id = ?"
        " OR team_id = (SELECT team_id FROM workers WHERE id = ?)"
        f" OR id IN (SELECT worker_id FROM assignments WHERE case_id IN ({marks}))"
        " ORDER BY display_name, id",
        (worker_id, worker_id, *cases),
    )
    return [{"id": row["id"], "name": row["display_name"]} for row in rows]


@bp.post("/<device_id>/revoke")
@person_required()
@documented(
    "Revoke a device: it wipes at its next request; its cases get new keys",
    request=RevokeSchema,
    response=DeviceSchema,
    tag="devices",
)
def revoke(device_id: str):
    data = load(RevokeSchema())
    account = person()
    device = site().devices.get(device_id)
    if not may_revoke(site(), account, device):
        raise Forbidden("you may revoke only your own devices or your team's")
    revoked = revoke_device(site(), device_id, account["id"], data["reason"])
    return jsonify(DeviceSchema().dump(revoked))


def _visible_devices(account: dict) -> list[dict]:
    if account["role"] == "admin":
        rows = site().directory.query("SELECT * FROM devices ORDER BY enrolled_at")
        return [dict(r) for r in rows]
    if account["role"] == "supervisor":
        rows = site().directory.query(
            "SELECT d.* FROM devices d JOIN workers w ON w.id = d.worker_id"
            " WHERE w.team_id = ? ORDER BY d.enrolled_at",
            (account["team_id"],),
        )
        return [dict(r) for r in rows]
    return site().devices.of_worker(account["id"])
