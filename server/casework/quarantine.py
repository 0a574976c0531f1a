"""Quarantine: pushes that could not be accepted are kept for a supervisor, never dropped.

A revoked device may still push what it wrote offline; that ciphertext is held here
(with who, which device and why) so a supervisor can decide what to do with it.
"""

from __future__ import annotations

import json

from ..directory.db import Directory, utcnow


class Quarantine:
    def __init__(self, directory: Directory):
        self.directory = directory

    def hold(self, device_id: str, worker_id: str | None, envelope: dict, reason: str) -> int:
        with self.directory.transaction() as con:
            cursor = con.execute(
                "INSERT INTO quarantine (at, device_id, worker_id, case_id, doc_id, reason,"
                " envelope) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    utcnow(),
                    device_id,
                    worker_id,
                    _str(envelope, "case_id"),
                    _str(envelope, "_id"),
                    reason,
                    json.dumps(envelope),
                ),
            )
            return cursor.lastrowid

    def items(self, worker_ids: list[str] | None = None) -> list[dict]:
        rows = self.directory.query("SELECT * FROM quarantine ORDER BY id")
        items = [dict(row) | {"envelope": json.loads(row["envelope"])} for row in rows]
        if worker_ids is not None:
            items = [i for i in items if i["worker_id"] in worker_ids]
        return items


def _str(envelope: object, key: str) -> str | None:
    value = envelope.get(key) if isinstance(envelope, dict) else None
    return value if isinstance(value, str) else None
