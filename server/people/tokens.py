"""Bearer tokens for devices: short-lived access tokens, longer refresh tokens.

Tokens are random (256 bits) and stored only as SHA-256 hashes, so a copy of the
directory does not hand out working tokens. Every use checks the device: a revoked
device gets `device_revoked` (wipe) whatever token it shows.

A device holds one live pair at a time. A refresh rotates it: the refresh token is
marked used and the pair it belonged to (its access token too) stops working at once.
A used refresh token is kept until it would have expired, because a second use means
two parties hold it — the device and whoever copied it — and nobody can tell which is
which: every token of that device is then revoked (the device stays enrolled; its
worker logs in and enrols again), the reuse is audited, and the answer is
`refresh_reused`. Redemption is atomic: one write transaction decides, so among
concurrent redemptions of one token exactly one wins.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from ..audit import AuditLog
from ..directory.base import Directory
from ..errors import RefreshReused, TokenExpired, Unauthenticated
from .devices import Devices

REFRESH_TTL = timedelta(days=90)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _iso(moment: datetime) -> str:
    return moment.replace(microsecond=0).isoformat()


class DeviceTokens:
    def __init__(
        self,
        directory: Directory,
        devices: Devices,
        access_ttl: int = 3600,
        audit: AuditLog | None = None,
    ):
        self.directory = directory
        self.devices = devices
        self.access_ttl = timedelta(seconds=access_ttl)
        self.audit = audit or devices.audit

    def issue(self, device_id: str) -> dict:
        """A new access + refresh token pair for an active device."""
        self.devices.check_active(device_id)
        with self.directory.transaction() as con:
            return self._issue(con, device_id)

    def device_for(self, token: str, kind: str = "access") -> dict:
        """The active device holding this token; Unauthenticated/TokenExpired/DeviceRevoked.

        Every device request asks this, so the token and its device are one query."""
        row = self.directory.one(
            "SELECT t.expires_at AS token_expires_at, t.used_at AS token_used_at, d.*"
            " FROM device_tokens t JOIN devices d ON d.id = t.device_id"
            " WHERE t.token_hash = ? AND t.kind = ?",
            (_hash(token), kind),
        )
        if row is None:
            raise Unauthenticated(f"unknown {kind} token")
        device = dict(row)
        expires_at, used_at = device.pop("token_expires_at"), device.pop("token_used_at")
        self.devices.active(device)
        if used_at is not None:
            raise Unauthenticated(f"this {kind} token was replaced by a refresh")
        if expires_at < _iso(datetime.now(UTC)):
            raise TokenExpired(f"{kind} token expired; refresh it at /api/devices/token")
        return device

    def refresh(self, refresh_token: str) -> dict:
        """Exchange a refresh token (once) for a new pair; a second use revokes them all."""
        key = _hash(refresh_token)
        row = self.directory.one(
            "SELECT device_id FROM device_tokens WHERE token_hash = ? AND kind = 'refresh'",
            (key,),
        )
        if row is None:
            raise Unauthenticated("unknown refresh token")
        self.devices.check_active(row["device_id"])
        now = _iso(datetime.now(UTC))
        with self.directory.transaction() as con:
            redeemed = con.execute(
                "UPDATE device_tokens SET used_at = ? WHERE token_hash = ? AND used_at IS NULL"
                " AND expires_at >= ?",
                (now, key, now),
            ).rowcount
            if redeemed:
                return self._rotate(con, row["device_id"])
            reused = con.execute(
                "SELECT 1 FROM device_tokens WHERE token_hash = ? AND used_at IS NOT NULL", (key,)
            ).fetchone()
            if reused:
                revoked = self._revoke_all(con, row["device_id"])
        if reused:
            raise RefreshReused(
                "this refresh token was already used: every token of the device is revoked;"
                " log in and enrol the device again",
                device_id=row["device_id"],
                tokens_revoked=revoked,
            )
        raise TokenExpired("refresh token expired; log in and enrol the device again")

    def _rotate(self, con, device_id: str) -> dict:
        """Retire the device's live pair (its refresh token is already marked used)."""
        con.execute(
            "DELETE FROM device_tokens"
            " WHERE device_id = ? AND (kind = 'access' OR used_at IS NULL)",
            (device_id,),
        )
        return self._issue(con, device_id)

    def _revoke_all(self, con, device_id: str) -> int:
        """Every live token of the device; used refresh tokens stay, so any further
        replay of one is recognised (and audited) as a reuse too."""
        revoked = con.execute(
            "DELETE FROM device_tokens WHERE device_id = ? AND used_at IS NULL", (device_id,)
        ).rowcount
        device = self.devices.get(device_id)
        self.audit.record(
            "system",
            "device.refresh_reused",
            device_id,
            {"worker_id": device["worker_id"], "tokens_revoked": revoked},
            con,
        )
        return revoked

    def _issue(self, con, device_id: str) -> dict:
        now = datetime.now(UTC)
        access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
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
