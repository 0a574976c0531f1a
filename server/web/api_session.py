"""Logging in and out (people, with a session cookie)."""

from __future__ import annotations

from flask import Blueprint, jsonify, session
from marshmallow import Schema, fields, validate

from .context import person, person_required, site
from .io import load
from .openapi import documented

bp = Blueprint("session", __name__, url_prefix="/api")


class LoginSchema(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=100))
    password = fields.String(required=True, validate=validate.Length(min=1, max=1000))


class AccountSchema(Schema):
    id = fields.String()
    username = fields.String()
    display_name = fields.String()
    role = fields.String()
    team_id = fields.String(allow_none=True)


def account_json(account: dict) -> dict:
    return AccountSchema().dump(account)


@bp.post("/login")
@documented(
    "Log in; sets the session cookie", request=LoginSchema, response=AccountSchema, tag="session"
)
def login():
    data = load(LoginSchema())
    account = site().accounts.authenticate(data["username"], data["password"])
    session.clear()
    session["worker_id"] = account["id"]
    session.permanent = True
    return jsonify(account_json(account))


@bp.post("/logout")
@documented("Log out", tag="session")
def logout():
    session.clear()
    return jsonify({"ok": True})


@bp.get("/me")
@person_required()
@documented("The logged-in person", response=AccountSchema, tag="session")
def me():
    return jsonify(account_json(person()))
