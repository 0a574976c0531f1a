"""Bearer tokens for devices: short-lived access tokens, longer refresh tokens.

Tokens are random (256 bits) and stored only as SHA-256 hashes, so a copy of the
directory does not hand out working tokens. Every use checks the device: a revoked
device gets `device_revoked` (wipe) whatever token it shows.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from .devices import Devices
from .directory.db import Directory
from .errors import TokenExpired, Unauthenticated

REFRESH_TTL = timedelta(days=90)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _iso(moment: datetime) -> str:
    return moment.replace(microsecond=0).isoformat()


class DeviceTokens:
    def __init__(self, directory: Directory, devices: Devices, access_ttl: int = 3600):
        self.directory = directory
        self.devices = devices
        self.access_ttl = timedelta(seconds=access_ttl)

    def issue(self, device_id: str) -> dict:
        """A new access + refresh token pair for an active device."""
        self.devices.check_active(device_id)
        now = datetime.now(UTC)
        access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        with self.directory.transaction() as con:
            con.execute(
                "DELETE FROM device_tokens WHERE device_id = ? AND expires_at < ?",
                (device_id, _iso(now)),
            )
            con.executemany(
                "INSERT INTO device_tokens (token_hash, device_id, kind, expires_at)"
                " VALUES (?, ?, ?, ?)",
                [
                    (_hash(access), device_id, "access", _iso(now + self.access_ttl)),
                    (_hash(refresh), device_id, "refresh", _iso(now + REFRESH_TTL)),
                ],
            )
        return {
            "device_id": device_id,
            "access_token": access,
            "refresh_token": refresh,
            "token_type": "Bearer",
            "expires_in": int(self.access_ttl.total_seconds()),
        }

    def device_for(self, token: str, kind: str = "access") -> dict:
        """The active device holding this token; Unauthenticated/TokenExpired/DeviceRevoked."""
        row = self.directory.one(
            "SELECT device_id, expires_at FROM device_tokens WHERE token_hash = ? AND kind = ?",
            (_hash(token), kind),
        )
        if row is None:
            raise Unauthenticated(f"unknown {kind} token")
        device = self.devices.check_active(row["device_id"])
        if row["expires_at"] < _iso(datetime.now(UTC)):
            raise TokenExpired(f"{kind} token expired; refresh it at /api/devices/token")
        return device

    def refresh(self, refresh_token: str) -> dict:
        """Exchange a refresh token (used once) for a new token pair."""
        device = self.device_for(refresh_token, "refresh")
        with self.directory.transaction() as con:
            con.execute("DELETE FROM device_tokens WHERE token_hash = ?", (_hash(refresh_token),))
        return self.issue(device["id"])
