"""Cases (asiakkuus) and assignments: who may reach which case database, and its key.

Creating a case creates its database in the store and version 1 of its data key.
Ending an assignment rotates the case key, so the former worker's devices cannot read
anything written after they lost access.

`Cases` is the directory side (rows, assignments, who may see what); `Casework` keeps
the sealed `case` document in each case database in step with it (status and its
dates, the assignments list) and logs every read of it in the access log. The
directory holds routing metadata only; the client's details live in the documents.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import date

from mobile_schema import CURRENT_VERSION, validate_document
from sync.cases import database_name
from sync.store import Store
from sync.store.errors import NotFound

from ..access_log import AccessLog
from ..audit import AuditLog
from ..directory.base import Directory, utcnow
from ..errors import (
    CaseClosed,
    ConflictError,
    InvalidInput,
    InvalidTransition,
    NotFoundError,
)
from ..keys.service import KeyService
from .records import Records

ROLES = ("own_worker", "pair_worker", "substitute")
STATUSES = ("pending", "assessment", "active", "closed")
# The field of the case document that names the day each status began.
STATUS_DATE = {
    "pending": "pending_since",
    "assessment": "assessment_started_on",
    "active": "active_since",
    "closed": "closed_on",
}
WRITE_ATTEMPTS = 3


def check_transition(current: str, new: str) -> None:
    """Statuses only move forward, one step at a time; a matter may close at any stage.

    Skipping the service-need assessment (pending → active) or going back is refused:
    the statutory deadlines hang on these dates. Closing is allowed from any open
    status (the family declines, moves, or the assessment finds no need).
    """
    if current == "closed":
        raise InvalidTransition(f"the case is closed; it cannot become {new}", status=current)
    if new == "closed" or STATUSES.index(new) == STATUSES.index(current) + 1:
        return
    raise InvalidTransition(
        f"a case cannot go from {current} to {new}"
        " (pending → assessment → active → closed, in that order)",
        status=current,
    )


def new_id() -> str:
    """A random document or record id (never derived from personal data)."""
    return secrets.token_hex(16)


def stamped(doc: dict, actor: str, created: bool = False) -> dict:
    """`doc` as a new revision written by `actor` now (server-side writes)."""
    now = utcnow()
    stamp = {"schema_version": CURRENT_VERSION, "updated_at": now, "updated_by": actor}
    if created:
        stamp |= {"created_at": now, "created_by": actor}
    return doc | stamp


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
        *,
        service_task: str | None = None,
        status_since: date | None = None,
        family_doc_id: str | None = None,
    ) -> str:
        case_id = case_id or secrets.token_hex(16)
        self.store.ensure_database(database_name(case_id))
        with self.directory.transaction() as con:
            con.execute(
                "INSERT INTO cases (id, family_id, team_id, status, created_at, service_task,"
                " status_since, family_doc_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    case_id,
                    family_id,
                    team_id,
                    status,
                    utcnow(),
                    service_task,
                    status_since.isoformat() if status_since else None,
                    family_doc_id,
                ),
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
            self._end(con, assignment_id, row, actor, reason)
            self.keys.rotate(row["case_id"], actor, f"assignment {assignment_id} {reason}", con)

    def expire_due(self, actor: str, today: date | None = None) -> list[dict]:
        """End the open cases' assignments whose end date has passed; rotate their keys.

        Access already stops the day after an end date (`of_worker` reads the dates).
        This does the rest of what an explicit end does, so a substitute who simply ran
        out of time is treated like one whose assignment was ended: `ended_at` and an
        audit entry, and one new key version per case, so the former substitute's
        devices cannot read what is written from now on. One transaction; repeatable.
        """
        day = (today or date.today()).isoformat()
        with self.directory.transaction() as con:
            rows = con.execute(
                "SELECT a.id, a.case_id, a.worker_id, a.end_date FROM assignments a"
                " JOIN cases c ON c.id = a.case_id"
                " WHERE a.ended_at IS NULL AND a.end_date IS NOT NULL AND a.end_date < ?"
                " AND c.status != 'closed' AND c.shredded_at IS NULL"
                " ORDER BY a.case_id, a.id",
                (day,),
            ).fetchall()
            for row in rows:
                self._end(con, row["id"], row, actor, "expired")
            for case_id in sorted({row["case_id"] for row in rows}):
                self.keys.rotate(case_id, actor, "assignment expired", con)
        return [dict(row) for row in rows]

    def _end(self, con, assignment_id: str, row, actor: str, reason: str) -> None:
        con.execute("UPDATE assignments SET ended_at = ? WHERE id = ?", (utcnow(), assignment_id))
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

    # ------------------------------------------------------------ reading rows

    def find(
        self, status: str | None = None, team_id: str | None = None, ids: list[str] | None = None
    ) -> list[dict]:
        """Case rows, newest first; narrowed by status, team and/or a list of ids.

        A crypto-shredded case is in no list: nothing of it can be read any more.
        """
        sql, params = "SELECT * FROM cases WHERE shredded_at IS NULL", []
        if status:
            sql += " AND status = ?"
            params.append(status)
        if team_id:
            sql += " AND team_id = ?"
            params.append(team_id)
        if ids is not None:
            sql += f" AND id IN ({','.join('?' * len(ids))})"
            params.extend(ids)
        rows = self.directory.query(sql + " ORDER BY created_at DESC, id", tuple(params))
        return [dict(row) for row in rows]

    def of_family(self, family_id: str) -> list[dict]:
        """Every case of a family, oldest first (closed and shredded ones too)."""
        rows = self.directory.query(
            "SELECT * FROM cases WHERE family_id = ? ORDER BY created_at, id", (family_id,)
        )
        return [dict(row) for row in rows]

    def readable_of_family(self, family_id: str, account: dict, today: date | None = None):
        """The family's cases this person may read (their view of the family); a
        crypto-shredded case is not among them."""
        cases = [case for case in self.of_family(family_id) if not case["shredded_at"]]
        return [case for case in cases if self.may_read(account, case, today)]

    def assignment(self, assignment_id: str) -> dict:
        row = self.directory.one("SELECT * FROM assignments WHERE id = ?", (assignment_id,))
        if row is None:
            raise NotFoundError(f"no assignment {assignment_id}")
        return dict(row)

    def assignments(self, case_id: str) -> list[dict]:
        """Every assignment the case ever had (ended ones too: who had access, when)."""
        rows = self.directory.query(
            "SELECT * FROM assignments WHERE case_id = ? ORDER BY start_date, id", (case_id,)
        )
        return [dict(row) for row in rows]

    def current_assignments(self, case_id: str, today: date | None = None) -> list[dict]:
        """Assignments not ended and not expired (a past substitute is not assigned)."""
        return [a for a in self.assignments(case_id) if in_force(a, today, future=True)]

    # ------------------------------------------------------------ who may see what

    def is_assigned(self, worker_id: str, case_id: str, today: date | None = None) -> bool:
        """Whether the worker reaches the case today (same rule as `of_worker`)."""
        return any(
            a["worker_id"] == worker_id and in_force(a, today) for a in self.assignments(case_id)
        )

    def may_read(self, account: dict, case: dict, today: date | None = None) -> bool:
        """Admins all; supervisors their team's; anyone the case is assigned to today."""
        return self.may_manage(account, case) or self.is_assigned(account["id"], case["id"], today)

    def may_manage(self, account: dict, case: dict) -> bool:
        """Admins, and supervisors of the case's team, open cases and assign workers."""
        return may_manage_team(account, case["team_id"])

    def visible(self, account: dict, status: str | None = None, today: date | None = None):
        """The cases a person sees in lists: all, the team's, or those assigned today."""
        if account["role"] == "admin":
            return self.find(status)
        own = self.find(status, ids=self.of_worker(account["id"], today))
        if account["role"] != "supervisor" or not account["team_id"]:
            return own
        team = self.find(status, team_id=account["team_id"])
        seen = {case["id"] for case in team}
        return team + [case for case in own if case["id"] not in seen]

    # ------------------------------------------------------------ status

    def set_status(self, case_id: str, current: str, status: str, since: date, actor: str):
        """Move the directory row from `current` to `status` (refused if it moved meanwhile)."""
        check_transition(current, status)
        with self.directory.transaction() as con:
            cursor = con.execute(
                "UPDATE cases SET status = ?, status_since = ? WHERE id = ? AND status = ?",
                (status, since.isoformat(), case_id, current),
            )
            if cursor.rowcount != 1:
                raise InvalidTransition(f"case {case_id} is no longer {current}")
            details = {"from": current, "to": status, "since": since.isoformat()}
            self.audit.record(actor, "case.status", case_id, details, con)

    def close(self, case_id: str, current: str, closed_on: date, actor: str) -> int:
        """Close the case: end every assignment, rotate the key once, start retention.

        One transaction, so nobody keeps access to a closed case; returns how many
        assignments ended. Retention (30 years for family services) counts from
        `closed_on`.
        """
        check_transition(current, "closed")
        day = closed_on.isoformat()
        with self.directory.transaction() as con:
            cursor = con.execute(
                "UPDATE cases SET status = 'closed', status_since = ?, closed_on = ?,"
                " retention_starts_on = ? WHERE id = ? AND status = ?",
                (day, day, day, case_id, current),
            )
            if cursor.rowcount != 1:
                raise InvalidTransition(f"case {case_id} is no longer {current}")
            open_rows = con.execute(
                "SELECT id, case_id, worker_id FROM assignments"
                " WHERE case_id = ? AND ended_at IS NULL",
                (case_id,),
            ).fetchall()
            for row in open_rows:
                self._end(con, row["id"], row, actor, "case_closed")
            self.keys.rotate(case_id, actor, "case closed", con)
            self.audit.record(actor, "case.closed", case_id, {"closed_on": day}, con)
        return len(open_rows)


def may_manage_team(account: dict, team_id: str | None) -> bool:
    """Admins manage every team; a supervisor manages their own."""
    if account["role"] == "admin":
        return True
    return account["role"] == "supervisor" and bool(team_id) and account["team_id"] == team_id


def in_force(assignment: dict, today: date | None = None, future: bool = False) -> bool:
    """Not ended, started (or, with `future`, planned), and not past its end date."""
    day = (today or date.today()).isoformat()
    if assignment["ended_at"] is not None:
        return False
    if not future and assignment["start_date"] > day:
        return False
    return assignment["end_date"] is None or assignment["end_date"] >= day


class Casework:
    """Cases with their sealed `case` document, kept in step with the directory.

    The directory row says who may reach the case; the document (in the case
    database, sealed with the case key) carries the client's details and mirrors
    the status dates and the assignments, so devices see them offline. Every read of
    the document through here is written to the access log.
    """

    def __init__(self, cases: Cases, records: Records, access: AccessLog, directory: Directory):
        self.cases = cases
        self.records = records
        self.access = access
        self.directory = directory

    # ------------------------------------------------------------ opening

    def open(
        self,
        family_id: str,
        team_id: str,
        details: dict,
        family_doc: dict,
        actor: str,
        today: date | None = None,
    ) -> str:
        """A new case with its sealed case document and its copy of the family document.

        `details`: service_task, pending_since, referral, special_support_need (the
        wire contract's JSON). Both documents are validated before anything is created.
        """
        pending_since = date.fromisoformat(details["pending_since"])
        if pending_since > (today or date.today()):
            raise InvalidInput("pending_since is in the future", field="pending_since")
        case_id = new_id()
        case_doc = stamped(
            {
                "_id": case_id,
                "type": "case",
                "family_id": family_id,
                "status": "pending",
                **details,
                "assignments": [],
            },
            actor,
            created=True,
        )
        docs = [validate_document(family_doc), validate_document(case_doc)]
        self.cases.create(
            family_id,
            actor,
            team_id,
            case_id,
            service_task=details["service_task"],
            status_since=pending_since,
            family_doc_id=family_doc["_id"],
        )
        _check_written(self.records.write(case_id, docs))
        return case_id

    # ------------------------------------------------------------ reading

    def read(self, case: dict, reader_id: str) -> dict | None:
        """The decrypted case document, logged as read by `reader_id`.

        None, and nothing logged, when there is nothing to read: the case was
        crypto-shredded, or it was made without a case document (older seeds).
        """
        if case["shredded_at"]:
            return None
        try:
            doc = self.records.read(case["id"], case["id"])
        except NotFound:
            return None
        self.access.record(reader_id, case["id"], [case["id"]], "read")
        return doc

    # ------------------------------------------------------------ status

    def change_status(
        self, case_id: str, status: str, on: date, actor: str, today: date | None = None
    ) -> dict:
        """Move to the next status from `on`: a new revision of the document, then the row."""
        case = self.cases.get(case_id)
        check_transition(case["status"], status)
        if status == "closed":
            raise InvalidInput("closing needs a closure_reason", field="closure_reason")
        _check_day(case, on, today, "on")
        moved = {"status": status, STATUS_DATE[status]: str(on)}
        self._revise(case_id, actor, lambda doc: doc | moved)
        self.cases.set_status(case_id, case["status"], status, on, actor)
        return self.cases.get(case_id)

    def close(
        self, case_id: str, closed_on: date, reason: str, actor: str, today: date | None = None
    ) -> dict:
        """Close: the document first (status, date, reason, no assignments), then the row.

        Closing the row ends every assignment and rotates the key (`Cases.close`). A
        failed document write changes nothing, so the request can simply be repeated.
        """
        case = self.cases.get(case_id)
        check_transition(case["status"], "closed")
        _check_day(case, closed_on, today, "closed_on")
        closed = {
            "status": "closed",
            "closed_on": str(closed_on),
            "closure_reason": reason,
            "assignments": [],
        }
        self._revise(case_id, actor, lambda doc: doc | closed)
        self.cases.close(case_id, case["status"], closed_on, actor)
        return self.cases.get(case_id)

    # ------------------------------------------------------------ assignments

    def assign(
        self,
        case_id: str,
        worker_id: str,
        role: str,
        actor: str,
        start: date | None = None,
        end: date | None = None,
        today: date | None = None,
    ) -> dict:
        """Give a worker access (directory first), then mirror it into the document."""
        day = today or date.today()
        case = self.cases.get(case_id)
        self._check_assignable(case, worker_id, role, start or day, end, day)
        assignment_id = self.cases.assign(case_id, worker_id, role, actor, start or day, end)
        self.mirror_assignments(case_id, actor, day)
        return self.cases.assignment(assignment_id)

    def end_assignment(
        self, assignment_id: str, actor: str, reason: str, today: date | None = None
    ) -> dict:
        """End access now (the key rotates), then mirror it into the document."""
        assignment = self.cases.assignment(assignment_id)
        if assignment["ended_at"]:
            raise ConflictError(f"assignment {assignment_id} already ended", field="assignment")
        self.cases.end_assignment(assignment_id, actor, reason)
        self.mirror_assignments(assignment["case_id"], actor, today)
        return self.cases.assignment(assignment_id)

    def mirror_assignments(self, case_id: str, actor: str, today: date | None = None) -> None:
        """Rewrite the document's `assignments` from the directory (derived, repeatable)."""
        items = [_assignment_item(a) for a in self.cases.current_assignments(case_id, today)]
        self._revise(case_id, actor, lambda doc: doc | {"assignments": items})

    def _check_assignable(
        self, case: dict, worker_id: str, role: str, start: date, end: date | None, day: date
    ) -> None:
        if case["status"] == "closed" or case["shredded_at"]:
            raise CaseClosed(f"case {case['id']} is closed")
        row = self.directory.one("SELECT active FROM workers WHERE id = ?", (worker_id,))
        if row is None or not row["active"]:
            raise NotFoundError(f"no active worker {worker_id}", field="worker_id")
        if end is not None and (end < start or end < day):
            raise InvalidInput("end_date is before start_date or in the past", field="end_date")
        current = self.cases.current_assignments(case["id"], day)
        if role == "own_worker" and any(a["role"] == "own_worker" for a in current):
            raise ConflictError("the case already has an own worker", field="role")
        if any(a["worker_id"] == worker_id for a in current):
            raise ConflictError("the worker is already assigned to this case", field="worker_id")

    # ------------------------------------------------------------ writing the document

    def _revise(self, case_id: str, actor: str, change: Callable[[dict], dict]) -> dict:
        """Write `change(current)` as a new revision; re-read and retry if a device won."""
        for _ in range(WRITE_ATTEMPTS):
            current = self.records.read(case_id, case_id)
            doc = stamped(change(dict(current)), actor)
            [result] = self.records.write(case_id, [doc])
            if result.get("ok"):
                return doc
            if result.get("error") != "conflict":
                _check_written([result])
        raise ConflictError(f"the document of case {case_id} keeps changing; try again")


def _check_day(case: dict, day: date, today: date | None, field: str) -> None:
    """A status date lies between the current status's date and today."""
    if day > (today or date.today()):
        raise InvalidInput(f"{field} is in the future", field=field)
    if case["status_since"] and day.isoformat() < case["status_since"]:
        raise InvalidInput(
            f"{field} is before the case became {case['status']} ({case['status_since']})",
            field=field,
        )


def _assignment_item(row: dict) -> dict:
    """An assignment as the case document lists it (the wire contract's fields)."""
    item = {k: row[k] for k in ("id", "worker_id", "role", "start_date")}
    if row["end_date"]:
        item["end_date"] = row["end_date"]
    return item


def _check_written(results: list[dict]) -> None:
    """Raise if the store refused a document (the reason names ids, never contents)."""
    for result in results:
        if not result.get("ok"):
            raise ConflictError(
                f"document {result.get('id')} was not written: {result.get('error')}",
                store_error=result.get("error"),
            )
