"""Quarantine: pushes that could not be accepted are kept for a supervisor, never dropped.

A revoked device may still push what it wrote offline; that ciphertext is held here
(with who, which device and why) so a supervisor can decide what to do with it.

Holding is idempotent per (device, document id, revision): a device that retries the
same push, as replicators do, adds no rows. A document without a `_rev` is told apart
by a hash of its content instead.
"""

from __future__ import annotations

import hashlib
import json

from ..directory.base import Directory, utcnow


class Quarantine:
    def __init__(self, directory: Directory):
        self.directory = directory

    def hold(self, device_id: str, worker_id: str | None, envelope: dict, reason: str) -> int:
        """Keep `envelope`; the id of its row (the existing one if it was held before)."""
        doc_id, rev = _str(envelope, "_id"), revision_key(envelope)
        with self.directory.transaction() as con:
            con.execute(
                "INSERT INTO quarantine (at, device_id, worker_id, case_id, doc_id,"
                " rev, reason, envelope) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                (
                    utcnow(),
                    device_id,
                    worker_id,
                    _str(envelope, "case_id"),
                    doc_id,
                    rev,
                    reason,
                    json.dumps(envelope),
                ),
            )
            (row_id,) = con.execute(
                "SELECT id FROM quarantine WHERE device_id = ? AND COALESCE(doc_id, '') = ?"
                " AND rev = ?",
                (device_id, doc_id or "", rev),
            ).fetchone()
            return row_id

    def items(self, worker_ids: list[str] | None = None) -> list[dict]:
        rows = self.directory.query("SELECT * FROM quarantine ORDER BY id")
        items = [dict(row) | {"envelope": json.loads(row["envelope"])} for row in rows]
        if worker_ids is not None:
            items = [i for i in items if i["worker_id"] in worker_ids]
        return items


def revision_key(envelope: dict) -> str:
    """The `_rev` of a held document, or `sha256:` and a hash of its canonical JSON."""
    rev = _str(envelope, "_rev")
    if rev is not None:
        return rev
    canonical = json.dumps(envelope, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def _str(envelope: object, key: str) -> str | None:
    value = envelope.get(key) if isinstance(envelope, dict) else None
    return value if isinstance(value, str) else None
