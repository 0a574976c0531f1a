"""`/admin`: accounts, teams and the key status, for administrators only.

Accounts are created and changed through the same services and rules as the admin
API (`people.administration`): nobody changes their own role or deactivates
themselves, and deactivating revokes the person's devices (after a confirmation
page, since their phones wipe). Each account shows how many live sessions it has and
its devices; an administrator ends all of a person's sessions (a laptop left logged
in) or sets a new password (the person forgot theirs), which ends them too. The key
status is counts of case keys per KEK id (a public fingerprint), as `sopu keys status`
prints: never key material. Anyone else gets the 403 page, as the blueprint answers
every refusal.
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import redirect, request

from ..errors import ConflictError, Forbidden, InvalidInput, NotFoundError
from ..people.accounts import ROLES
from ..people.administration import change_account, create_account
from ..web.context import sessions, site
from .blueprint import bp
from .i18n import N_, _
from .pages import render, viewer

ROLE_LABELS = {
    "worker": N_("Instructor"),
    "supervisor": N_("Supervisor"),
    "admin": N_("Administrator"),
}
TEAM_NAME_LENGTH = 200  # as the API's TeamSchema
# What an outcome after a redirect says (`?done=` and the account's or team's id).
DONE = {
    "created": N_("The account %(name)s was created."),
    "role": N_("%(name)s now has another role; their sessions ended."),
    "deactivated": N_("%(name)s can no longer log in; their devices wipe at their next sync."),
    "reactivated": N_("%(name)s can log in again."),
    "sessions": N_("Every session of %(name)s ended: they log in again."),
    "password": N_("%(name)s has a new password; their sessions ended."),
    "team": N_("The team %(name)s was created."),
}
# Why the new account was refused, by the field the service named.
REFUSED = {
    "username": N_("A username is 1 to 100 characters and not taken yet."),
    "display_name": N_("A name is 1 to 200 characters."),
    "password": N_("A password is 12 to 1000 characters."),
    "role": N_("Choose a role."),
    "team_id": N_("Choose an existing team."),
}


def _admin() -> dict:
    me = viewer()
    if me["role"] != "admin":
        raise Forbidden(_("Administration is for administrators."))
    return me


@bp.get("/admin")
def admin():
    me = _admin()
    return _page(me, notice=_notice(request.args.get("done"), request.args.get("id")))


@bp.post("/admin/accounts")
def new_account():
    me = _admin()
    form = {k: request.form.get(k, "").strip() for k in ("username", "display_name", "role")}
    team_id = request.form.get("team_id") or None
    try:
        worker_id = create_account(
            site(), me["id"], password=request.form.get("password", ""), team_id=team_id, **form
        )
    except (InvalidInput, ConflictError, NotFoundError) as exc:
        field = exc.details.get("field")
        message = _(REFUSED.get(field, REFUSED["username"]))
        return _page(me, error=message, form=form | {"team_id": team_id}, status=400)
    return _done("created", worker_id)


@bp.post("/admin/accounts/<worker_id>/role")
def change_role(worker_id: str):
    me = _admin()
    role = request.form.get("role", "")
    if role not in ROLES:
        return _page(me, error=_(REFUSED["role"]), status=400)
    return _changed(me, worker_id, "role", role=role)


@bp.get("/admin/accounts/<worker_id>/deactivate")
def confirm_deactivate(worker_id: str):
    _admin()
    account = _account(worker_id)
    return render("admin_deactivate.html", account=account, devices=_active_devices(worker_id))


@bp.post("/admin/accounts/<worker_id>/deactivate")
def deactivate(worker_id: str):
    me = _admin()
    return _changed(me, worker_id, "deactivated", active=False)


@bp.post("/admin/accounts/<worker_id>/reactivate")
def reactivate(worker_id: str):
    me = _admin()
    return _changed(me, worker_id, "reactivated", active=True)


@bp.post("/admin/accounts/<worker_id>/sessions/end")
def end_sessions(worker_id: str):
    me = _admin()
    site().accounts.end_sessions(_account(worker_id)["id"], me["id"])
    return _done("sessions", worker_id)


@bp.get("/admin/accounts/<worker_id>/password")
def password_form(worker_id: str):
    _admin()
    return render("admin_password.html", account=_account(worker_id))


@bp.post("/admin/accounts/<worker_id>/password")
def reset_password(worker_id: str):
    me = _admin()
    account = _account(worker_id)
    try:
        change_account(site(), me["id"], account["id"], password=request.form.get("password", ""))
    except InvalidInput:
        error = _(REFUSED["password"])
        return render("admin_password.html", 400, account=account, error=error)
    return _done("password", worker_id)


@bp.post("/admin/teams")
def new_team():
    me = _admin()
    name = request.form.get("name", "").strip()
    if not 1 <= len(name) <= TEAM_NAME_LENGTH:
        error = _("A team's name is 1 to %(n)s characters.", n=TEAM_NAME_LENGTH)
        return _page(me, error=error, status=400)
    return _done("team", site().accounts.create_team(name, me["id"]))


def _changed(me: dict, worker_id: str, outcome: str, **change):
    """Apply `change` (the admin API's rules) and say so; one's own role and account
    stay (another administrator changes them)."""
    try:
        change_account(site(), me["id"], _account(worker_id)["id"], **change)
    except Forbidden:
        error = _("You cannot change your own role or deactivate yourself.")
        return _page(me, error=error, status=403)
    return _done(outcome, worker_id)


# ---------------------------------------------------------------- the page


def _page(me: dict, notice=None, error=None, form=None, status=200):
    teams = _teams()
    return render(
        "admin.html",
        status,
        accounts=_accounts(),
        teams=teams,
        team_names={team["id"]: team["name"] for team in teams},
        keys=_key_status(),
        roles=ROLE_LABELS,
        notice=notice,
        error=error,
        form=form or {},
    )


def _accounts() -> list[dict]:
    """Every account with its live sessions' count and its devices not revoked."""
    rows = site().directory.query(
        "SELECT id, username, display_name, role, team_id, active FROM workers ORDER BY username"
    )
    counts = sessions().live_counts()
    devices: dict[str, list[str]] = {}
    for device in site().directory.query(
        "SELECT worker_id, label FROM devices WHERE revoked_at IS NULL ORDER BY enrolled_at"
    ):
        devices.setdefault(device["worker_id"], []).append(device["label"])
    return [
        dict(row) | {"sessions": counts.get(row["id"], 0), "devices": devices.get(row["id"], [])}
        for row in rows
    ]


def _teams() -> list[dict]:
    rows = site().directory.query(
        "SELECT t.id, t.name, t.created_at, COUNT(w.id) AS members FROM teams t"
        " LEFT JOIN workers w ON w.team_id = t.id AND w.active = 1"
        " GROUP BY t.id ORDER BY t.name, t.id"
    )
    return [dict(row) for row in rows]


def _key_status() -> list[dict]:
    """Case keys per KEK: every KEK of the key file (the first wraps new keys), and any
    KEK the directory still names that the key file lacks (those keys cannot open)."""
    in_use = site().keys.keks_in_use()
    ring = site().keys.keks
    rows = [
        {
            "id": kid,
            "case_keys": in_use.get(kid, 0),
            "current": kid == ring.current_id,
            "known": True,
        }
        for kid in ring.keks
    ]
    rows += [
        {"id": kid, "case_keys": count, "current": False, "known": False}
        for kid, count in sorted(in_use.items())
        if kid not in ring.keks
    ]
    return rows


def _account(worker_id: str) -> dict:
    return site().accounts.get(worker_id)  # NotFoundError: the 404 page


def _active_devices(worker_id: str) -> list[dict]:
    return [d for d in site().devices.of_worker(worker_id) if not d["revoked_at"]]


def _done(outcome: str, subject_id: str):
    return redirect(f"/admin?{urlencode({'done': outcome, 'id': subject_id})}", 303)


def _notice(outcome: str | None, subject_id: str | None) -> str | None:
    if outcome not in DONE or not subject_id:
        return None
    if outcome == "team":
        row = site().directory.one("SELECT name FROM teams WHERE id = ?", (subject_id,))
    else:
        row = site().directory.one(
            "SELECT username AS name FROM workers WHERE id = ?", (subject_id,)
        )
    return _(DONE[outcome], name=row["name"]) if row else None
