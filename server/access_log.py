"""The access log: who read which client documents, when, and how (tamper-evident).

Clients may ask who read their records, so every read of client data — a supervisor
opening a case on the web (`read`), a sync delivery to a device (`deliver`), a
push from a device (`push`), a device-side view uploaded by the device (`view`, with
the device's own time of it in `device_at`) — is appended here. The table is
append-only (triggers) and hash-chained like the audit log (`hashchain.HashChain`).
An entry names ids only: the worker, the device, the case, the documents. Never
client data: `record` refuses anything that is not a random id.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from .directory.base import Directory, utcnow
from .hashchain import HashChain

ACTIONS = ("read", "deliver", "push", "merge", "view")
_ID = re.compile(r"[0-9a-f]{32}")
# RFC 3339 with seconds and a zone, as the wire contract writes times (`device_at`).
_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})"
)

CHAIN = HashChain(
    "access_log",
    ("at", "worker_id", "device_id", "case_id", "doc_ids", "action"),
    frozenset({"doc_ids"}),
    optional=("purpose", "device_at"),  # in this order: rows before device_at verify
)
# Why client data was shown on the web (what the legal record names); a stable code.
PURPOSES = (
    "case_work",
    "supervision",
    "reconciliation",
    "integration",
    "client_report",
    "statistics",  # counted for a statutory report (server/reports): counts shown, no content
)
# The purpose of a person's read by their role: a supervisor supervises, an instructor
# does case work (administrators read no client data).
ROLE_PURPOSES = {"supervisor": "supervision", "worker": "case_work"}


@dataclass(frozen=True)
class Access:
    seq: int
    at: str
    worker_id: str
    device_id: str | None
    case_id: str
    doc_ids: list[str]
    action: str
    prev_hash: str
    hash: str
    purpose: str | None = None
    device_at: str | None = None  # a `view`: when the device says it happened


class AccessLog:
    def __init__(self, directory: Directory):
        self.directory = directory

    def record(
        self,
        worker_id: str,
        case_id: str,
        doc_ids: Iterable[str],
        action: str = "read",
        device_id: str | None = None,
        con=None,
        purpose: str | None = None,
        device_at: str | None = None,
    ) -> Access:
        """Append one access (inside the caller's transaction if `con` is given); a read
        on the web names its `purpose` (one of PURPOSES), a device-side view the
        device's time of it (`device_at`; `at` is always the server's time)."""
        if con is None:
            with self.directory.transaction() as own:
                return self.record(
                    worker_id,
                    case_id,
                    doc_ids,
                    action,
                    device_id,
                    own,
                    purpose=purpose,
                    device_at=device_at,
                )
        values = _values(worker_id, case_id, doc_ids, action, device_id, purpose, device_at)
        return Access(**CHAIN.append(con, values))

    def record_deliveries(
        self, worker_id: str, device_id: str, docs_by_case: dict[str, list[str]], con
    ) -> list[Access]:
        """One `deliver` row per case, in the caller's transaction, the chain's head
        read once for all of them (a sync delivers to several cases at a time)."""
        rows = [
            _values(worker_id, case_id, doc_ids, "deliver", device_id, None, None)
            for case_id, doc_ids in docs_by_case.items()
        ]
        return [Access(**row) for row in CHAIN.append_all(con, rows)]

    def entries(self, case_id: str | None = None, worker_id: str | None = None) -> list[Access]:
        """Accesses in order, of one case and/or one worker (the client's access report)."""
        conditions, params = [], []
        if case_id:
            conditions.append("case_id = ?")
            params.append(case_id)
        if worker_id:
            conditions.append("worker_id = ?")
            params.append(worker_id)
        rows = CHAIN.rows(self.directory, " AND ".join(conditions), tuple(params))
        return [Access(**row) for row in rows]

    def verify(self) -> int | None:
        """None if the chain is intact, else the seq of the first entry that is not."""
        return CHAIN.verify(self.directory)


def _check(values: dict) -> None:
    """Only ids and known actions get in: a slip can never write client data here."""
    if values["action"] not in ACTIONS:
        raise ValueError(f"access action must be one of {', '.join(ACTIONS)}")
    if values["purpose"] not in (None, *PURPOSES):
        raise ValueError(f"access purpose must be one of {', '.join(PURPOSES)}")
    device_at = values.get("device_at")
    if device_at is not None and not (isinstance(device_at, str) and _TIME.fullmatch(device_at)):
        raise ValueError("device_at is an RFC 3339 time with seconds and a zone")
    if values["action"] == "view" and values["device_id"] is None:
        raise ValueError("a device-side view names its device")
    ids = [values["worker_id"], values["case_id"], *values["doc_ids"]]
    if values["device_id"] is not None:
        ids.append(values["device_id"])
    if not values["doc_ids"] or not all(isinstance(i, str) and _ID.fullmatch(i) for i in ids):
        raise ValueError("the access log holds random ids only (worker, device, case, docs)")


def _values(worker_id, case_id, doc_ids, action, device_id, purpose, device_at) -> dict:
    """One access as the chain stores it (checked: `_check`)."""
    values = {
        "at": utcnow(),
        "worker_id": worker_id,
        "device_id": device_id,
        "case_id": case_id,
        "doc_ids": sorted(set(doc_ids)),
        "action": action,
        "purpose": purpose,
        "device_at": device_at,
    }
    _check(values)
    return values
