"""`/devices`: the devices per worker (label, KEM suite, enrolled, last sync, revoked),
revoking one with a confirmation step, and the quarantine of held pushes.

Who sees what follows the API (`GET /api/devices`): an administrator every device, a
supervisor their team's, an instructor their own. Revoking goes through the same
service as `POST /api/devices/<id>/revoke` (`people.revocation`): the worker's cases
get new keys, the device's keyrings empty, and its next sync tells it to wipe. The
quarantine (supervisors and administrators, as `GET /api/quarantine`) lists who,
which device, why and when, and the document id: never a document's content, which
stays the ciphertext the device sent. Nothing here is client data, so nothing is
written to the access log.
"""

from __future__ import annotations

from flask import redirect, request

from ..errors import Forbidden, NotFoundError
from ..people.revocation import may_revoke, revoke_device
from ..web.context import site
from .blueprint import bp
from .i18n import N_, _
from .pages import render, viewer

REASON_LENGTH = 500  # as the API's RevokeSchema
HELD_BECAUSE = {
    "device_revoked": N_("Sent after the device was revoked"),
    "not_assigned": N_("The case was no longer assigned to the worker"),
}


@bp.get("/devices")
def devices():
    me = viewer()
    rows = _visible(me)
    revoked = request.args.get("revoked")
    notice = next((d for d in rows if d["id"] == revoked and d["revoked_at"]), None)
    return render(
        "devices.html",
        devices=rows,
        revocable={d["id"] for d in rows if not d["revoked_at"] and may_revoke(site(), me, d)},
        quarantine=_quarantine(me),
        held_because=HELD_BECAUSE,
        notice=notice,
    )


@bp.get("/devices/<device_id>/revoke")
def confirm_revoke(device_id: str):
    """The confirmation step: what revoking does, and the reason to record."""
    me = viewer()
    return _confirmation(_revocable(me, device_id))


@bp.post("/devices/<device_id>/revoke")
def revoke(device_id: str):
    me = viewer()
    device = _revocable(me, device_id)
    reason = request.form.get("reason", "").strip()
    if not 1 <= len(reason) <= REASON_LENGTH:
        error = _("Write why the device is revoked (at most %(n)s characters).", n=REASON_LENGTH)
        return _confirmation(device, error=error, status=400, reason=reason)
    if not device["revoked_at"]:
        revoke_device(site(), device_id, me["id"], reason)
    return redirect(f"/devices?revoked={device_id}", 303)


def _confirmation(device: dict, error=None, status=200, reason=""):
    return render(
        "devices_revoke.html",
        status,
        device=device,
        error=error,
        reason=reason,
        limit=REASON_LENGTH,
    )


def _revocable(me: dict, device_id: str) -> dict:
    """The device, if this person sees it (else 404) and may revoke it (else 403)."""
    device = next((d for d in _visible(me) if d["id"] == device_id), None)
    if device is None:
        raise NotFoundError(f"no device {device_id}")
    if not may_revoke(site(), me, device):
        raise Forbidden(_("Only a supervisor of the worker's team revokes their devices."))
    return device


def _visible(me: dict) -> list[dict]:
    """Devices with their worker's name: all, the team's, or one's own; by worker."""
    sql = (
        "SELECT d.id, d.worker_id, d.label, d.kem, d.enrolled_at, d.last_sync_at,"
        " d.revoked_at, d.revoke_reason, w.display_name AS worker_name"
        " FROM devices d JOIN workers w ON w.id = d.worker_id"
    )
    if me["role"] == "admin":
        where, params = "", ()
    elif me["role"] == "supervisor" and me["team_id"]:
        where, params = " WHERE w.team_id = ?", (me["team_id"],)
    else:
        where, params = " WHERE d.worker_id = ?", (me["id"],)
    rows = site().directory.query(sql + where + " ORDER BY w.display_name, d.enrolled_at", params)
    return [dict(row) for row in rows]


def _quarantine(me: dict) -> list[dict] | None:
    """Held pushes (None: this person does not see the quarantine), newest first."""
    if me["role"] == "admin":
        items = site().quarantine.items()
    elif me["role"] == "supervisor" and me["team_id"]:
        team = site().directory.query("SELECT id FROM workers WHERE team_id = ?", (me["team_id"],))
        items = site().quarantine.items([row["id"] for row in team])
    else:
        return None
    names = _names({i["worker_id"] for i in items})
    labels = _labels({i["device_id"] for i in items})
    return [
        {
            "at": item["at"],
            "worker": names.get(item["worker_id"]),
            "device": labels.get(item["device_id"]),
            "reason": item["reason"],
            "doc_id": item["doc_id"],
        }
        for item in reversed(items)
    ]


def _names(worker_ids: set) -> dict[str, str]:
    ids = [i for i in worker_ids if i]
    if not ids:
        return {}
    rows = site().directory.query(
        f"SELECT id, display_name FROM workers WHERE id IN ({','.join('?' * len(ids))})",
        tuple(ids),
    )
    return {row["id"]: row["display_name"] for row in rows}


def _labels(device_ids: set) -> dict[str, str]:
    ids = [i for i in device_ids if i]
    if not ids:
        return {}
    rows = site().directory.query(
        f"SELECT id, label FROM devices WHERE id IN ({','.join('?' * len(ids))})", tuple(ids)
    )
    return {row["id"]: row["label"] for row in rows}
