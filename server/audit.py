"""The append-only, hash-chained audit log.

Each entry's hash covers the previous entry's hash and the entry itself, so removing,
reordering or editing any entry breaks the chain from that point on (`verify`). The
table also refuses UPDATE and DELETE (triggers). Entries name people, devices, cases
and document ids — never client data.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from .directory.db import Directory, utcnow

GENESIS = "0" * 64


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
    body = json.dumps(
        [prev_hash, at, actor, action, subject, details],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(body.encode()).hexdigest()


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
        details = details or {}
        row = con.execute("SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
        prev = row[0] if row else GENESIS
        at = utcnow()
        digest = entry_hash(prev, at, actor, action, subject, details)
        cursor = con.execute(
            "INSERT INTO audit_log (at, actor, action, subject, details, prev_hash, hash)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (at, actor, action, subject, json.dumps(details, sort_keys=True), prev, digest),
        )
        return Entry(cursor.lastrowid, at, actor, action, subject, details, prev, digest)

    def entries(self, action: str | None = None, subject: str | None = None) -> list[Entry]:
        sql, params = "SELECT * FROM audit_log WHERE 1=1", []
        if action:
            sql += " AND action = ?"
            params.append(action)
        if subject:
            sql += " AND subject = ?"
            params.append(subject)
        rows = self.directory.query(sql + " ORDER BY seq", tuple(params))
        return [_entry(row) for row in rows]

    def verify(self) -> int | None:
        """None if the chain is intact, else the seq of the first entry that is not."""
        prev = GENESIS
        for entry in self.entries():
            expected = entry_hash(
                prev, entry.at, entry.actor, entry.action, entry.subject, entry.details
            )
            if entry.prev_hash != prev or entry.hash != expected:
                return entry.seq
            prev = entry.hash
        return None


def _entry(row) -> Entry:
    return Entry(
        row["seq"],
        row["at"],
        row["actor"],
        row["action"],
        row["subject"],
        json.loads(row["details"]),
        row["prev_hash"],
        row["hash"],
    )
