"""Which documents hold collisions a worker must reconcile.

The merged documents themselves say it (their `reconciliation` list, encrypted); this
index of (case, document, count) lets the API list them per worker and per team
without decrypting every document. It is updated whenever the server sees a document's
plaintext: after a merge, and on every accepted push — so when a worker edits the
document and removes the entries, or acknowledges them, the mark clears.
"""

from __future__ import annotations

from mobile_schema.base import open_items

from ..directory.base import Directory, utcnow
from ..directory.dialect import upsert


class Reconciliation:
    def __init__(self, directory: Directory):
        self.directory = directory

    def note(self, case_id: str, doc: dict) -> None:
        """Record how many open (unacknowledged) items `doc` (plaintext) has; none
        clears the mark."""
        items = len(open_items(doc))
        with self.directory.transaction() as con:
            if items:
                con.execute(
                    upsert(
                        "reconciliation_items",
                        ("case_id", "doc_id", "doc_type", "items", "updated_at"),
                        ("case_id", "doc_id"),
                    ),
                    (case_id, doc["_id"], doc["type"], items, utcnow()),
                )
            else:
                con.execute(
                    "DELETE FROM reconciliation_items WHERE case_id = ? AND doc_id = ?",
                    (case_id, doc["_id"]),
                )

    def open_items(self, case_ids: list[str]) -> list[dict]:
        if not case_ids:
            return []
        rows = self.directory.query(
            "SELECT * FROM reconciliation_items WHERE case_id IN"
            f" ({','.join('?' * len(case_ids))}) ORDER BY updated_at, doc_id",
            tuple(case_ids),
        )
        return [dict(row) for row in rows]
