"""Accounts: workers, supervisors and administrators, and teams.

Passwords are hashed with scrypt (memory-hard, from `cryptography`), salted per
account, and compared in constant time.
"""

from __future__ import annotations

import base64
import hmac
import os
import secrets
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from .audit import AuditLog
from .directory.db import Directory, utcnow
from .errors import ConflictError, InvalidCredentials, InvalidInput, LoginThrottled, NotFoundError

ROLES = ("worker", "supervisor", "admin")
MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1


def hash_password(password: str, n: int = SCRYPT_N) -> str:
    salt = os.urandom(16)
    digest = Scrypt(salt=salt, length=32, n=n, r=SCRYPT_R, p=SCRYPT_P).derive(password.encode())
    return f"scrypt${n}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def check_password(password: str, stored: str | None) -> bool:
    if not stored:
        return False
    _, n, salt, digest = stored.split("$")
    kdf = Scrypt(salt=base64.b64decode(salt), length=32, n=int(n), r=SCRYPT_R, p=SCRYPT_P)
    candidate = kdf.derive(password.encode())
    return hmac.compare_digest(candidate, base64.b64decode(digest))


class Accounts:
    def __init__(self, directory: Directory, audit: AuditLog):
        self.directory = directory
        self.audit = audit

    def create_team(self, name: str, actor: str) -> str:
        team_id = secrets.token_hex(16)
        with self.directory.transaction() as con:
            con.execute(
                "INSERT INTO teams (id, name, created_at) VALUES (?, ?, ?)",
                (team_id, name, utcnow()),
            )
            self.audit.record(actor, "team.created", team_id, {}, con)
        return team_id

    def create(
        self,
        username: str,
        display_name: str,
        role: str,
        actor: str,
        team_id: str | None = None,
        password: str | None = None,
    ) -> str:
        if role not in ROLES:
            raise InvalidInput(f"role must be one of {', '.join(ROLES)}", field="role")
        if not username or len(username) > 100:
            raise InvalidInput("username: 1 to 100 characters", field="username")
        if self.directory.one("SELECT 1 FROM workers WHERE username = ?", (username,)):
            raise ConflictError(f"username {username} is taken", field="username")
        worker_id = secrets.token_hex(16)
        with self.directory.transaction() as con:
            con.execute(
                "INSERT INTO workers (id, username, display_name, role, team_id, password_hash,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    worker_id,
                    username,
                    display_name,
                    role,
                    team_id,
                    hash_password(password) if password else None,
                    utcnow(),
                ),
            )
            self.audit.record(actor, "account.created", worker_id, {"role": role}, con)
        return worker_id

    def get(self, worker_id: str) -> dict:
        row = self.directory.one("SELECT * FROM workers WHERE id = ?", (worker_id,))
        if row is None:
            raise NotFoundError(f"no account {worker_id}")
        return dict(row)

    def authenticate(self, username: str, password: str) -> dict:
        """The account, or InvalidCredentials; LoginThrottled after repeated failures.

        Failures are counted per username in the directory (so all server processes
        share them); after MAX_FAILURES the account is locked for LOCKOUT.
        """
        self._refuse_if_locked(username)
        row = self.directory.one(
            "SELECT * FROM workers WHERE username = ? AND active = 1", (username,)
        )
        if row is None or not check_password(password, row["password_hash"]):
            self._record_failure(username)
            raise InvalidCredentials("unknown username or wrong password")
        with self.directory.transaction() as con:
            con.execute("DELETE FROM login_failures WHERE username = ?", (username,))
        return dict(row)

    def _refuse_if_locked(self, username: str) -> None:
        row = self.directory.one(
            "SELECT locked_until FROM login_failures WHERE username = ?", (username,)
        )
        if row and row["locked_until"] and row["locked_until"] > _now():
            raise LoginThrottled(
                f"too many failed logins; try again after {row['locked_until']}",
                retry_after=row["locked_until"],
            )

    def _record_failure(self, username: str) -> None:
        with self.directory.transaction() as con:
            row = con.execute(
                "SELECT failures FROM login_failures WHERE username = ?", (username,)
            ).fetchone()
            failures = (row[0] if row else 0) + 1
            locked = _later(LOCKOUT) if failures >= MAX_FAILURES else None
            con.execute(
                "INSERT OR REPLACE INTO login_failures (username, failures, locked_until)"
                " VALUES (?, ?, ?)",
                (username, 0 if locked else failures, locked),
            )
            if locked:
                self.audit.record("system", "login.locked", username, {}, con)

    def by_username(self, username: str) -> dict:
        row = self.directory.one("SELECT * FROM workers WHERE username = ?", (username,))
        if row is None:
            raise NotFoundError(f"no account {username}")
        return dict(row)


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def _later(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).replace(microsecond=0).isoformat()
