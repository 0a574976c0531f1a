"""Who deleted a document, and when the deletion reached the server.

A deletion (tombstone) carries no author or time: CouchDB's is only `_id`, `_rev` and
`_deleted`. When a deletion meets a concurrent edit the document is kept, and the
merge records a `deleted_edited` item naming the worker who deleted it, so that
worker learns why the document came back. The gateway notes each deletion a device
pushes here (the pushing device's worker, the time the server received it), and which
merge reported it; only these deletions are merged as sides — a deletion written to
the store another way (such as the losers' deletions of merges made before merges
marked theirs with `merged_into`) is left as it is.
"""

from __future__ import annotations

from ..directory.base import Directory, utcnow


class Deletions:
    def __init__(self, directory: Directory):
        self.directory = directory

    def record(self, case_id: str, worker_id: str, device_id: str, deleted: dict[str, str]) -> None:
        """Note deletions `{doc id: rev}` one device pushed. Two workers who delete the
        same revision push the same deletion: each is noted (a retry is a no-op)."""
        if not deleted:
            return
        now = utcnow()
        with self.directory.transaction() as con:
            con.executemany(
                "INSERT INTO deletions"
                " (case_id, doc_id, rev, worker_id, device_id, received_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                [(case_id, d, rev, worker_id, device_id, now) for d, rev in deleted.items()],
            )

    def unmerged(self, case_id: str, doc_id: str, revs: set[str]) -> list[tuple[str, str, str]]:
        """(rev, worker id, received at) of the deletions among `revs` that no merge has
        reported yet, oldest first."""
        if not revs:
            return []
        rows = self.directory.query(
            "SELECT rev, worker_id, received_at FROM deletions"
            " WHERE case_id = ? AND doc_id = ? AND merged_into IS NULL"
            f" AND rev IN ({','.join('?' * len(revs))}) ORDER BY received_at, worker_id",
            (case_id, doc_id, *sorted(revs)),
        )
        return [(row["rev"], row["worker_id"], row["received_at"]) for row in rows]

    def of_document(self, case_id: str, doc_id: str) -> dict[str, tuple[str, str]]:
        """Deletion rev → (worker id, received at) of a document's pushed deletions, for
        its history (two workers who deleted the same revision: the first to push)."""
        rows = self.directory.query(
            "SELECT rev, worker_id, received_at FROM deletions WHERE case_id = ? AND doc_id = ?"
            " ORDER BY received_at DESC, worker_id DESC",
            (case_id, doc_id),
        )
        return {row["rev"]: (row["worker_id"], row["received_at"]) for row in rows}

    def merged(self, case_id: str, doc_id: str, reported: list[tuple[str, str]], rev: str) -> None:
        """The merge `rev` reported these (deletion rev, worker) pairs."""
        with self.directory.transaction() as con:
            con.executemany(
                "UPDATE deletions SET merged_into = ?"
                " WHERE case_id = ? AND doc_id = ? AND rev = ? AND worker_id = ?",
                [(rev, case_id, doc_id, d, w) for d, w in reported],
            )
