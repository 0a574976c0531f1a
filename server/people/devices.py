"""Devices: enrolment with a public key, listing, revocation.

Revoking a device stops delivery to it, rotates the key of every case its worker can
reach (so nothing written from now on is readable with keys the device held), and
makes every later request from it fail with `device_revoked`, which tells it to wipe.
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime, timedelta

from sync.crypto import DevicePublicKey, MalformedEnvelope

from ..audit import AuditLog
from ..directory import counter
from ..directory.base import Directory, utcnow
from ..errors import DeviceRevoked, InvalidInput, NotFoundError
from ..keys.service import KeyService

# How stale `last_sync_at` may get before a request writes it again: a sync is dozens
# of requests, and the overview shows the minute, so one write a minute is enough.
SYNC_MARK_EVERY = timedelta(minutes=1)


class Devices:
    def __init__(self, directory: Directory, keys: KeyService, audit: AuditLog):
        self.directory = directory
        self.keys = keys
        self.audit = audit

    def enrol(self, worker_id: str, label: str, public_key: object, actor: str) -> dict:
        """Register a device's public key (`{"kem", "x25519", "mlkem768"?}`)."""
        try:
            public = DevicePublicKey.from_json(public_key)
        except MalformedEnvelope as exc:
            raise InvalidInput(f"public_key: {exc}", field="public_key") from None
        if not isinstance(label, str) or not 1 <= len(label) <= 100:
            raise InvalidInput("label: 1 to 100 characters", field="label")
        device_id = secrets.token_hex(16)
        with self.directory.transaction() as con:
            con.execute(
                "INSERT INTO devices (id, worker_id, label, kem, public_key, enrolled_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (device_id, worker_id, label, public.kem, json.dumps(public.to_json()), utcnow()),
            )
            self.audit.record(
                actor,
                "device.enrolled",
                device_id,
                {"worker_id": worker_id, "kem": public.kem},
                con,
            )
        return self.get(device_id)

    def get(self, device_id: str) -> dict:
        row = self.directory.one("SELECT * FROM devices WHERE id = ?", (device_id,))
        if row is None:
            raise NotFoundError(f"no device {device_id}")
        return dict(row)

    def of_worker(self, worker_id: str) -> list[dict]:
        rows = self.directory.query(
            "SELECT * FROM devices WHERE worker_id = ? ORDER BY enrolled_at", (worker_id,)
        )
        return [dict(row) for row in rows]

    def check_active(self, device_id: str) -> dict:
        """The device, or DeviceRevoked (with the wipe instruction) if it was revoked."""
        return self.active(self.get(device_id))

    @staticmethod
    def active(device: dict) -> dict:
        """`device` (a row already read), or DeviceRevoked if it was revoked."""
        device_id = device["id"]
        if device["revoked_at"]:
            raise DeviceRevoked(
                f"device {device_id} was revoked at {device['revoked_at']}: wipe local data",
                wipe=True,
                device_id=device_id,
            )
        return device

    def mark_synced(self, device: dict) -> None:
        """The device is syncing now (`last_sync_at`, for the overview and /devices);
        written at most once a minute per device."""
        now = utcnow()
        last = device.get("last_sync_at")
        if last and _parsed(now) - _parsed(last) < SYNC_MARK_EVERY:
            return
        with self.directory.transaction() as con:
            con.execute("UPDATE devices SET last_sync_at = ? WHERE id = ?", (now, device["id"]))

    def revoke(self, device_id: str, actor: str, reason: str, case_ids: list[str]) -> dict:
        """Revoke a device; `case_ids` are the cases it could reach (their keys rotate)."""
        with self.directory.transaction() as con:
            device = self.get(device_id)
            if device["revoked_at"]:
                return device
            con.execute(
                "UPDATE devices SET revoked_at = ?, revoked_by = ?, revoke_reason = ? WHERE id = ?",
                (utcnow(), actor, reason, device_id),
            )
            for case_id in case_ids:
                self.keys.rotate(case_id, actor, f"device {device_id} revoked", con)
            self.audit.record(
                actor,
                "device.revoked",
                device_id,
                {"reason": reason, "cases_rotated": len(case_ids)},
                con,
            )
        counter.CHANGES.notify()  # a live feed of the device ends now, with the wipe code
        return self.get(device_id)


def _parsed(timestamp: str) -> datetime:
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
