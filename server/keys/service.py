"""Case keys: created per case, stored only wrapped by the KEK, versioned, shredded.

A new version is made for new writes whenever access to a case shrinks (a device is
revoked, an assignment ends); old versions stay so older documents stay readable.
Shredding destroys every version: every copy of the case — in the store, in backups,
on a lost phone — becomes unreadable.
"""

from __future__ import annotations

from collections.abc import Callable

from sync.crypto import CaseKey, KeyUnavailable
from sync.crypto.wrap import unwrap, wrap

from ..audit import AuditLog
from ..directory.base import Directory, utcnow
from .kek import KekRing

Progress = Callable[[int, int], None]


class CaseShredded(KeyUnavailable):
    code = "case_shredded"


class KeyService:
    def __init__(self, directory: Directory, keks: KekRing, audit: AuditLog):
        self.directory = directory
        self.keks = keks
        self.audit = audit

    # -------------------------------------------------------------- versions

    def create(self, case_id: str, actor: str, con=None) -> CaseKey:
        """Version 1 of a new case's key."""
        return self._add_version(case_id, 1, actor, "case created", con)

    def rotate(self, case_id: str, actor: str, reason: str, con=None) -> CaseKey:
        """A new version for new writes; returns it."""
        if con is None:
            with self.directory.transaction() as own:
                return self.rotate(case_id, actor, reason, own)
        latest = self._latest_version(case_id, con)
        return self._add_version(case_id, latest + 1, actor, reason, con)

    def _add_version(
        self, case_id: str, version: int, actor: str, reason: str, con=None
    ) -> CaseKey:
        if con is None:
            with self.directory.transaction() as own:
                return self._add_version(case_id, version, actor, reason, own)
        self._refuse_if_shredded(case_id, con)
        key = CaseKey.generate(case_id, version)
        kid, blob = wrap(self.keks.current, key)
        con.execute(
            "INSERT INTO case_keys (case_id, version, kek_id, wrapped, created_at, reason)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (case_id, version, kid, blob, utcnow(), reason),
        )
        _next_generation(con)
        self.audit.record(
            actor, "case_key.created", case_id, {"version": version, "reason": reason}, con
        )
        return key

    def _latest_version(self, case_id: str, con) -> int:
        (latest,) = con.execute(
            "SELECT COALESCE(MAX(version), 0) FROM case_keys WHERE case_id = ?", (case_id,)
        ).fetchone()
        if latest == 0:
            self._refuse_if_shredded(case_id, con)
            raise KeyUnavailable(f"case {case_id} has no key")
        return latest

    def _refuse_if_shredded(self, case_id: str, con) -> None:
        row = con.execute("SELECT shredded_at FROM cases WHERE id = ?", (case_id,)).fetchone()
        if row is not None and row[0] is not None:
            raise CaseShredded(f"case {case_id} was crypto-shredded at {row[0]}")

    # -------------------------------------------------------------- reading

    def current(self, case_id: str) -> CaseKey:
        """The key version new documents of this case are sealed with."""
        con = self.directory.connection()
        return self.get(case_id, self._latest_version(case_id, con))

    def get(self, case_id: str, version: int) -> CaseKey:
        row = self.directory.one(
            "SELECT kek_id, wrapped FROM case_keys WHERE case_id = ? AND version = ?",
            (case_id, version),
        )
        if row is None:
            self._refuse_if_shredded(case_id, self.directory.connection())
            raise KeyUnavailable(f"case {case_id} has no key version {version}")
        return unwrap(self.keks.keks, row["kek_id"], row["wrapped"], case_id, version)

    def all_versions(self, case_id: str) -> list[CaseKey]:
        rows = self.directory.query(
            "SELECT version FROM case_keys WHERE case_id = ? ORDER BY version", (case_id,)
        )
        return [self.get(case_id, row["version"]) for row in rows]

    def lookup(self, case_id: str, version: int) -> bytes | None:
        """For `open_envelope`: the key bytes, or None if there is no such key."""
        try:
            return self.get(case_id, version).key
        except KeyUnavailable:
            return None

    # -------------------------------------------------------------- KEK rotation

    def rotate_kek(self, actor: str, progress: Progress | None = None) -> int:
        """Rewrap every case key not yet under the current KEK; returns how many.

        One key per transaction, so an interruption loses nothing and a rerun continues
        with the keys still under an old KEK.
        """
        pending = self.directory.query(
            "SELECT case_id, version FROM case_keys WHERE kek_id != ? ORDER BY case_id, version",
            (self.keks.current_id,),
        )
        for done, row in enumerate(pending, 1):
            self._rewrap(row["case_id"], row["version"])
            if progress:
                progress(done, len(pending))
        self.audit.record(actor, "kek.rotated", self.keks.current_id, {"rewrapped": len(pending)})
        return len(pending)

    def _rewrap(self, case_id: str, version: int) -> None:
        with self.directory.transaction() as con:
            key = self.get(case_id, version)
            kid, blob = wrap(self.keks.current, key)
            con.execute(
                "UPDATE case_keys SET kek_id = ?, wrapped = ? WHERE case_id = ? AND version = ?",
                (kid, blob, case_id, version),
            )

    def keks_in_use(self) -> dict[str, int]:
        rows = self.directory.query("SELECT kek_id, COUNT(*) AS n FROM case_keys GROUP BY kek_id")
        return {row["kek_id"]: row["n"] for row in rows}

    # -------------------------------------------------------------- shredding

    def shred(self, case_id: str, actor: str, con=None) -> int:
        """Destroy every key version of a case (crypto-shredding); returns how many.

        The directory runs with `secure_delete`, so the wrapped keys are overwritten,
        not just unlinked. Recorded in the audit log; inside the caller's transaction if
        `con` is given (retention records the destruction in the same one).
        """
        if con is None:
            with self.directory.transaction() as own:
                return self.shred(case_id, actor, own)
        cursor = con.execute("DELETE FROM case_keys WHERE case_id = ?", (case_id,))
        _next_generation(con)
        con.execute("UPDATE cases SET shredded_at = ? WHERE id = ?", (utcnow(), case_id))
        self.audit.record(
            actor, "case.shredded", case_id, {"key_versions_destroyed": cursor.rowcount}, con
        )
        return cursor.rowcount

    def flush_deleted(self) -> None:
        """Make the overwritten pages of shredded keys go (SQLite: checkpoint the
        write-ahead log, as secure_delete covers only the file)."""
        self.directory.compact()


def _next_generation(con) -> None:
    """Every node's keyring check sees that the set of case keys changed."""
    con.execute("UPDATE key_generation SET value = value + 1 WHERE id = 1")
