"""Accounts: workers, supervisors and administrators, and teams.

Passwords are hashed with scrypt (`passwords`). Logging in is throttled per username
and client address (`throttle`), and costs the same KDF work for a username that does
not exist. Whatever changes what a person may do — a new password, another role,
deactivation — ends all of that person's sessions in the same transaction.
"""

from __future__ import annotations

import secrets

from ..audit import AuditLog
from ..directory.base import Directory, utcnow
from ..errors import ConflictError, Forbidden, InvalidCredentials, InvalidInput, NotFoundError
from .passwords import check_password, hash_password
from .sessions import end_all
from .throttle import LoginThrottle

ROLES = ("worker", "supervisor", "admin")
PASSWORD_LENGTH = (12, 1000)


class Accounts:
    def __init__(self, directory: Directory, audit: AuditLog):
        self.directory = directory
        self.audit = audit
        self.throttle = LoginThrottle(directory, audit)

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
        _check_role(role)
        if not username or len(username) > 100:
            raise InvalidInput("username: 1 to 100 characters", field="username")
        # "Aino" beside "aino" would be two people to the eye and to a phone's keyboard.
        if self.directory.one(
            "SELECT 1 FROM workers WHERE lower(username) = lower(?)", (username,)
        ):
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

    def by_username(self, username: str) -> dict:
        row = self.directory.one("SELECT * FROM workers WHERE username = ?", (username,))
        if row is None:
            raise NotFoundError(f"no account {username}")
        return dict(row)

    def instructors(self, team_id: str | None) -> list[dict]:
        """The team's active instructors (role `worker`), by name: who can be assigned."""
        rows = self.directory.query(
            "SELECT * FROM workers WHERE team_id = ? AND role = 'worker' AND active = 1"
            " ORDER BY display_name, id",
            (team_id,),
        )
        return [dict(row) for row in rows]

    def authenticate(self, username: str, password: str, address: str | None = None) -> dict:
        """The active account with this password, or InvalidCredentials; LoginThrottled
        when this address has failed too often for this username, or for any.

        The attempt is counted before the KDF runs (see `throttle`), and an unknown,
        inactive or password-less account runs the KDF too, against a dummy hash.
        """
        reservation = self.throttle.reserve(username, address)
        row = self.directory.one(
            "SELECT * FROM workers WHERE username = ? AND active = 1", (username,)
        )
        if not check_password(password, row["password_hash"] if row else None):
            self.throttle.failed(reservation, row["id"] if row else None)
            raise InvalidCredentials("unknown username or wrong password")
        self.throttle.succeeded(reservation)
        return dict(row)

    def change_own_password(
        self, worker_id: str, current: str, new: str, address: str | None
    ) -> None:
        """A person's own change: the current password first (throttled like a login)."""
        account = self.get(worker_id)
        try:
            self.authenticate(account["username"], current, address)
        except InvalidCredentials:
            raise Forbidden("the current password is wrong", field="current_password") from None
        self.set_password(worker_id, new, worker_id)

    def set_password(self, worker_id: str, password: str, actor: str) -> None:
        """A new password; every session of the person ends."""
        if not PASSWORD_LENGTH[0] <= len(password) <= PASSWORD_LENGTH[1]:
            raise InvalidInput(
                "password: {} to {} characters".format(*PASSWORD_LENGTH), field="password"
            )
        self._change(
            worker_id, actor, "account.password_changed", "password_hash", hash_password(password)
        )

    def set_language(self, worker_id: str, language: str) -> None:
        """The language the supervisor web speaks to this person (their own choice;
        nothing about what they may do changes, so sessions stay)."""
        with self.directory.transaction() as con:
            con.execute("UPDATE workers SET language = ? WHERE id = ?", (language, worker_id))

    def set_role(self, worker_id: str, role: str, actor: str) -> None:
        """Another role; every session of the person ends."""
        _check_role(role)
        self._change(worker_id, actor, "account.role_changed", "role", role, {"role": role})

    def set_active(self, worker_id: str, active: bool, actor: str) -> None:
        """Deactivate (no login, every session ends) or reactivate an account."""
        action = "account.reactivated" if active else "account.deactivated"
        self._change(worker_id, actor, action, "active", int(active))

    def end_sessions(self, worker_id: str, actor: str) -> int:
        """End every session of a person (an administrator's "log them out everywhere",
        e.g. after a laptop was left logged in); how many ended. Audited with the count."""
        self.get(worker_id)
        with self.directory.transaction() as con:
            ended = end_all(con, worker_id)
            self.audit.record(
                actor, "account.sessions_ended", worker_id, {"sessions_ended": ended}, con
            )
        return ended

    def _change(
        self, worker_id: str, actor: str, action: str, column: str, value, details=None
    ) -> None:
        self.get(worker_id)
        with self.directory.transaction() as con:
            con.execute(f"UPDATE workers SET {column} = ? WHERE id = ?", (value, worker_id))
            ended = end_all(con, worker_id)
            self.audit.record(
                actor, action, worker_id, {**(details or {}), "sessions_ended": ended}, con
            )


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}", field="role")
