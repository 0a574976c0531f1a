"""Server-side sessions of people: what the login cookie names.

A signed cookie cannot be taken back: replayed after logout it kept working. So the
cookie carries only a random session id (256 bits) and the directory keeps its SHA-256
(a copy of the directory hands out no working sessions), the person, and the session's
times; every worker process and host sees a session end at once. A session ends at
logout, when its person's password, role or active flag changes or an administrator
ends them (`end_all`, inside that change's transaction), `lifetime` seconds after
login whatever happens, and after `idle_timeout` seconds without use. Use moves
`last_seen` at most once per `TOUCH_INTERVAL`, so reading pages does not write to the
directory on every request.
Times are Unix seconds (REAL), like the login throttle's.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import time
from collections.abc import Callable

from ..directory.base import Directory
from ..errors import SessionExpired, Unauthenticated

TOUCH_INTERVAL = 60.0


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def end_all(con: sqlite3.Connection, worker_id: str) -> int:
    """End every session of a person (in the caller's transaction); how many ended."""
    return con.execute("DELETE FROM sessions WHERE worker_id = ?", (worker_id,)).rowcount


class Sessions:
    def __init__(
        self,
        directory: Directory,
        lifetime: float = 12 * 3600,
        idle_timeout: float = 30 * 60,
        clock: Callable[[], float] | None = None,
    ):
        self.directory = directory
        self.lifetime = lifetime
        self.idle_timeout = idle_timeout
        self.clock = clock or time.time

    def start(self, worker_id: str, replacing: str | None = None) -> str:
        """A new session for the person; its id goes into the cookie. The session the
        client had (`replacing`) ends: ids are never reused across logins."""
        session_id, now = secrets.token_urlsafe(32), self.clock()
        with self.directory.transaction() as con:
            con.execute(
                "DELETE FROM sessions WHERE expires_at <= ? OR last_seen <= ?",
                (now, now - self.idle_timeout),
            )
            if replacing:
                con.execute("DELETE FROM sessions WHERE id_hash = ?", (_hash(replacing),))
            con.execute(
                "INSERT INTO sessions (id_hash, worker_id, created_at, last_seen, expires_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (_hash(session_id), worker_id, now, now, now + self.lifetime),
            )
        return session_id

    def resolve(self, session_id: str) -> str:
        """The person whose live session this is; Unauthenticated or SessionExpired."""
        key, now = _hash(session_id), self.clock()
        row = self.directory.one(
            "SELECT worker_id, last_seen, expires_at FROM sessions WHERE id_hash = ?", (key,)
        )
        if row is None:
            raise Unauthenticated("this session has ended or never existed: log in again")
        if row["expires_at"] <= now or row["last_seen"] + self.idle_timeout <= now:
            self.end(session_id)
            idle = row["expires_at"] > now
            raise SessionExpired(
                "the session expired after "
                + ("a time without use" if idle else "its maximum lifetime")
                + ": log in again"
            )
        if now - row["last_seen"] >= TOUCH_INTERVAL:
            with self.directory.transaction() as con:
                con.execute("UPDATE sessions SET last_seen = ? WHERE id_hash = ?", (now, key))
        return row["worker_id"]

    def of_worker(self, worker_id: str) -> list[dict]:
        """A person's live sessions, oldest first: their times only. Never the id or its
        hash, which would let whoever reads the list act as that person."""
        now = self.clock()
        rows = self.directory.query(
            "SELECT created_at, last_seen, expires_at FROM sessions WHERE worker_id = ?"
            " AND expires_at > ? AND last_seen > ? ORDER BY created_at",
            (worker_id, now, now - self.idle_timeout),
        )
        return [dict(row) for row in rows]

    def live_counts(self) -> dict[str, int]:
        """How many live sessions each person has (for the administration page)."""
        now = self.clock()
        rows = self.directory.query(
            "SELECT worker_id, COUNT(*) AS n FROM sessions WHERE expires_at > ?"
            " AND last_seen > ? GROUP BY worker_id",
            (now, now - self.idle_timeout),
        )
        return {row["worker_id"]: row["n"] for row in rows}

    def end(self, session_id: str) -> None:
        with self.directory.transaction() as con:
            con.execute("DELETE FROM sessions WHERE id_hash = ?", (_hash(session_id),))
