"""The append-only, hash-chained audit log.

Each entry's hash covers the previous entry's hash and the entry itself, so removing,
reordering or editing any entry breaks the chain from that point on (`verify`). The
table also refuses UPDATE and DELETE (triggers). Entries name people, devices, cases
and document ids — never client data. The chain itself is `hashchain.HashChain`,
shared with the access log.
"""

from __future__ import annotations

from dataclasses import dataclass

from .directory.base import Directory, utcnow
from .hashchain import GENESIS, HashChain, link_hash

__all__ = ["GENESIS", "AuditLog", "Entry", "entry_hash"]

CHAIN = HashChain(
    "audit_log", ("at", "actor", "action", "subject", "details"), frozenset({"details"})
)


@dataclass(frozen=True)
class Entry:
    seq: int
    at: str
    actor: str
    action: str
    subject: str
    details: dict
    prev_hash: str
    hash: str


def entry_hash(
    prev_hash: str, at: str, actor: str, action: str, subject: str, details: dict
) -> str:
    return link_hash(prev_hash, [at, actor, action, subject, details])


class AuditLog:
    def __init__(self, directory: Directory):
        self.directory = directory

    def record(
        self, actor: str, action: str, subject: str, details: dict | None = None, con=None
    ) -> Entry:
        """Append one entry (inside the caller's transaction if `con` is given)."""
        if con is None:
            with self.directory.transaction() as own:
                return self.record(actor, action, subject, details, own)
        values = {
            "at": utcnow(),
            "actor": actor,
            "action": action,
            "subject": subject,
            "details": details or {},
        }
        return Entry(**CHAIN.append(con, values))

    def entries(self, action: str | None = None, subject: str | None = None) -> list[Entry]:
        conditions, params = [], []
        if action:
            conditions.append("action = ?")
            params.append(action)
        if subject:
            conditions.append("subject = ?")
            params.append(subject)
        rows = CHAIN.rows(self.directory, " AND ".join(conditions), tuple(params))
        return [Entry(**row) for row in rows]

    def verify(self) -> int | None:
        """None if the chain is intact, else the seq of the first entry that is not."""
        return CHAIN.verify(self.directory)
