"""Cases (asiakkuus) and assignments: who may reach which case database, and its key.

Creating a case creates its database in the store and version 1 of its data key.
Ending an assignment rotates the case key, so the former worker's devices cannot read
anything written after they lost access.
"""

from __future__ import annotations

import secrets
from datetime import date

from sync.cases import database_name
from sync.store import Store

from .audit import AuditLog
from .directory.db import Directory, utcnow
from .errors import InvalidInput, NotFoundError
from .keys.service import KeyService

ROLES = ("own_worker", "pair_worker", "substitute")


class Cases:
    def __init__(self, directory: Directory, store: Store, keys: KeyService, audit: AuditLog):
        self.directory = directory
        self.store = store
        self.keys = keys
        self.audit = audit

    def create(
        self,
        family_id: str,
        actor: str,
        team_id: str | None = None,
        case_id: str | None = None,
        status: str = "pending",
    ) -> str:
        case_id = case_id or secrets.token_hex(16)
        self.store.ensure_database(database_name(case_id))
        with self.directory.transaction() as con:
            con.execute(
                "INSERT INTO cases (id, family_id, team_id, status, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (case_id, family_id, team_id, status, utcnow()),
            )
            self.keys.create(case_id, actor, con)
            self.audit.record(actor, "case.created", case_id, {"team_id": team_id}, con)
        return case_id

    def get(self, case_id: str) -> dict:
        row = self.directory.one("SELECT * FROM cases WHERE id = ?", (case_id,))
        if row is None:
            raise NotFoundError(f"no case {case_id}")
        return dict(row)

    def assign(
        self,
        case_id: str,
        worker_id: str,
        role: str,
        actor: str,
        start: date | None = None,
        end: date | None = None,
    ) -> str:
        if role not in ROLES:
            raise InvalidInput(f"role must be one of {', '.join(ROLES)}", field="role")
        if role == "substitute" and end is None:
            raise InvalidInput("a substitute's access needs an end date", field="end_date")
        self.get(case_id)
        assignment_id = secrets.token_hex(16)
        with self.directory.transaction() as con:
            con.execute(
                "INSERT INTO assignments (id, case_id, worker_id, role, start_date, end_date)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    assignment_id,
                    case_id,
                    worker_id,
                    role,
                    (start or date.today()).isoformat(),
                    end.isoformat() if end else None,
                ),
            )
            self.audit.record(
                actor, "assignment.created", case_id, {"worker_id": worker_id, "role": role}, con
            )
        return assignment_id

    def end_assignment(self, assignment_id: str, actor: str, reason: str = "ended") -> None:
        """End access now and rotate the case key for new writes."""
        with self.directory.transaction() as con:
            row = con.execute(
                "SELECT case_id, worker_id FROM assignments WHERE id = ? AND ended_at IS NULL",
                (assignment_id,),
            ).fetchone()
            if row is None:
                raise NotFoundError(f"no open assignment {assignment_id}")
            con.execute(
                "UPDATE assignments SET ended_at = ? WHERE id = ?", (utcnow(), assignment_id)
            )
            self.keys.rotate(row["case_id"], actor, f"assignment {assignment_id} {reason}", con)
            self.audit.record(
                actor,
                "assignment.ended",
                row["case_id"],
                {"worker_id": row["worker_id"], "reason": reason},
                con,
            )

    def of_worker(self, worker_id: str, today: date | None = None) -> list[str]:
        """Cases the worker may reach today (substitutes until their end date)."""
        day = (today or date.today()).isoformat()
        rows = self.directory.query(
            "SELECT DISTINCT a.case_id FROM assignments a JOIN cases c ON c.id = a.case_id"
            " WHERE a.worker_id = ? AND a.ended_at IS NULL AND a.start_date <= ?"
            " AND (a.end_date IS NULL OR a.end_date >= ?) AND c.shredded_at IS NULL"
            " ORDER BY a.case_id",
            (worker_id, day, day),
        )
        return [row["case_id"] for row in rows]
