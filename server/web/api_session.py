"""Logging in and out (people, with a server-side session named by a cookie)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request
from marshmallow import Schema, fields, pre_dump, validate

from .context import SESSION_COOKIE, client_address, person, person_required, sessions, site
from .context import session_id as current_session_id
from .io import load
from .openapi import documented

bp = Blueprint("session", __name__, url_prefix="/api")


class LoginSchema(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=100))
    password = fields.String(required=True, validate=validate.Length(min=1, max=1000))


class PasswordChangeSchema(Schema):
    current_password = fields.String(required=True, validate=validate.Length(min=1, max=1000))
    new_password = fields.String(required=True, validate=validate.Length(min=12, max=1000))


class AccountSchema(Schema):
    id = fields.String()
    username = fields.String()
    display_name = fields.String()
    role = fields.String()
    team_id = fields.String(allow_none=True)
    active = fields.Boolean()

    @pre_dump
    def _active_as_boolean(self, account: dict, **_) -> dict:
        """The directory stores the flag as 0/1; the API says false/true."""
        return {**account, "active": bool(account.get("active", 1))}


def account_json(account: dict) -> dict:
    return AccountSchema().dump(account)


@bp.post("/login")
@documented(
    "Log in; sets the session cookie. Throttled per username and client address"
    " (429 login_throttled with Retry-After)",
    request=LoginSchema,
    response=AccountSchema,
    tag="session",
    errors=(401, 429),
)
def login():
    data = load(LoginSchema())
    account = site().accounts.authenticate(data["username"], data["password"], client_address())
    return with_new_session(jsonify(account_json(account)), account["id"])


@bp.post("/logout")
@documented("Log out: the session ends on the server, its cookie is worthless", tag="session")
def logout():
    current = current_session_id()
    if current:
        sessions().end(current)
    response = jsonify({"ok": True})
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True)
    return response


@bp.get("/me")
@person_required()
@documented("The logged-in person", response=AccountSchema, tag="session")
def me():
    return jsonify(account_json(person()))


@bp.post("/me/password")
@person_required()
@documented(
    "Change your own password: every session of yours ends, this client gets a new one",
    request=PasswordChangeSchema,
    response=AccountSchema,
    tag="session",
    errors=(403, 429),
)
def change_password():
    data = load(PasswordChangeSchema())
    account = person()
    site().accounts.change_own_password(
        account["id"], data["current_password"], data["new_password"], client_address()
    )
    return with_new_session(jsonify(account_json(account)), account["id"])


def with_new_session(response: Response, worker_id: str) -> Response:
    """Start a session (ending the one the client showed) and set its cookie: HttpOnly,
    and Secure whenever the client came over HTTPS (directly or through a trusted proxy)."""
    new_id = sessions().start(worker_id, replacing=current_session_id())
    config = current_app.config
    response.set_cookie(
        SESSION_COOKIE,
        new_id,
        max_age=int(sessions().lifetime),
        path="/",
        secure=request.is_secure or config.get("SESSION_COOKIE_SECURE", False),
        httponly=True,
        samesite=config.get("SESSION_COOKIE_SAMESITE", "Lax"),
    )
    return response
