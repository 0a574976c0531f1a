"""Keyring documents: each case key a device may hold, sealed to that device.

One keyring per (device, case), with a stable id derived from the two random ids, so
a key rotation updates the same document and an ended assignment deletes it (the
tombstone tells the device to forget the case). Sealing is randomised (HPKE), so a
keyring is regenerated only when the set of key versions changes — not on every sync.
Each change is a new CouchDB revision of the keyring and takes a number from the sync
counter, so it travels in the worker's replicated database like any other document.
"""

from __future__ import annotations

import hashlib
import json

from mobile_schema import CURRENT_VERSION
from sync.crypto import DevicePublicKey, seal_case_key
from sync.revisions import next_rev, parse_rev

from ..directory import counter
from ..directory.base import Directory, utcnow
from ..directory.dialect import upsert
from .service import KeyService

KEYRING_COLUMNS = (
    "device_id",
    "case_id",
    "doc_id",
    "versions",
    "doc",
    "deleted",
    "updated_at",
    "rev",
    "revisions",
    "gseq",
)
MAX_HISTORY = 50  # revision ids kept per keyring for `_revisions`


def keyring_id(device_id: str, case_id: str) -> str:
    return hashlib.sha256(f"sopu-keyring-id\0{device_id}\0{case_id}".encode()).hexdigest()[:32]


def keyring_doc(device_id: str, public: DevicePublicKey, case_id: str, keys: list) -> dict:
    return {
        "_id": keyring_id(device_id, case_id),
        "type": "keyring",
        "schema_version": CURRENT_VERSION,
        "device_id": device_id,
        "case_id": case_id,
        "kem": public.kem,
        "current_version": max(k.version for k in keys),
        "keys": [
            {"version": k.version, "sealed": seal_case_key(k, device_id, public)} for k in keys
        ],
        "updated_at": utcnow(),
    }


class Keyrings:
    def __init__(self, directory: Directory, keys: KeyService):
        self.directory = directory
        self.keys = keys
        self._checked: dict[str, tuple] = {}  # device -> what `refresh` last saw

    def _fingerprint(self, device_id: str, case_ids: list[str]) -> tuple:
        """Everything a device's keyrings depend on, read cheaply: its cases, the key
        generation (`KeyService` moves it with every version), its revocation and its
        keyring rows. All of it is in the directory, so every node sees a change."""
        (newest,) = self.directory.one("SELECT value FROM key_generation WHERE id = 1")
        device = self.directory.one(
            "SELECT revoked_at, (SELECT COALESCE(MAX(gseq), 0) FROM keyrings"
            " WHERE device_id = ?) AS kg FROM devices WHERE id = ?",
            (device_id, device_id),
        )
        return (tuple(case_ids), newest, device["revoked_at"], device["kg"])

    def refresh(self, device_id: str, case_ids: list[str]) -> list[dict]:
        """Bring a device's keyrings in line with the cases it may hold now.

        Cheap when nothing changed (two indexed reads, remembered per process);
        re-seals only keyrings whose key versions changed. Returns the keyring documents
        that changed.
        """
        seen = self._fingerprint(device_id, case_ids)
        if self._checked.get(device_id) == seen:
            return []
        changed = self._refresh(device_id, case_ids)
        self._checked[device_id] = self._fingerprint(device_id, case_ids)
        return changed

    def _refresh(self, device_id: str, case_ids: list[str]) -> list[dict]:
        device = self.directory.one("SELECT * FROM devices WHERE id = ?", (device_id,))
        wanted = [] if device["revoked_at"] else list(case_ids)
        stored = {
            row["case_id"]: row
            for row in self.directory.query(
                "SELECT case_id, versions, deleted, rev, revisions FROM keyrings"
                " WHERE device_id = ?",
                (device_id,),
            )
        }
        current = self._versions(wanted)
        changed = []
        public = DevicePublicKey.from_json(json.loads(device["public_key"]))
        for case_id in wanted:
            row = stored.get(case_id)
            versions = json.dumps(current.get(case_id, []))
            if versions != "[]" and (row is None or row["deleted"] or row["versions"] != versions):
                keys = self.keys.all_versions(case_id)
                doc = keyring_doc(device_id, public, case_id, keys)
                changed.append(self._save(device_id, case_id, versions, doc, row))
        for case_id, row in stored.items():
            if case_id not in wanted and not row["deleted"]:
                changed.append(self._delete(device_id, case_id, row))
        return changed

    def _versions(self, case_ids: list[str]) -> dict[str, list[int]]:
        out: dict[str, list[int]] = {}
        for start in range(0, len(case_ids), 500):
            chunk = case_ids[start : start + 500]
            rows = self.directory.query(
                "SELECT case_id, version FROM case_keys"
                f" WHERE case_id IN ({','.join('?' * len(chunk))}) ORDER BY case_id, version",
                tuple(chunk),
            )
            for row in rows:
                out.setdefault(row["case_id"], []).append(row["version"])
        return out

    def forget_shredded(self) -> int:
        """Replace every live keyring of a crypto-shredded case by its tombstone; how many.

        A keyring holds the case's keys sealed to a device: after shredding no copy of
        them may stay in the directory, even for a device that never syncs again (one
        that does is told to forget the case by the tombstone). Idempotent.
        """
        rows = self.directory.query(
            "SELECT device_id, case_id, rev, revisions FROM keyrings WHERE deleted = 0"
            " AND case_id IN (SELECT id FROM cases WHERE shredded_at IS NOT NULL)"
        )
        for row in rows:
            self._delete(row["device_id"], row["case_id"], row)
        return len(rows)

    def current(self, device_id: str) -> list[dict]:
        """The live keyring documents of a device, with their `_rev`."""
        rows = self.directory.query(
            "SELECT doc FROM keyrings WHERE device_id = ? AND deleted = 0 ORDER BY case_id",
            (device_id,),
        )
        return [json.loads(row["doc"]) for row in rows]

    def since(self, device_id: str, gseq: int) -> list[dict]:
        """Keyring rows changed after counter value `gseq`, oldest change first."""
        rows = self.directory.query(
            "SELECT doc_id, rev, revisions, deleted, doc, gseq FROM keyrings"
            " WHERE device_id = ? AND gseq > ? ORDER BY gseq",
            (device_id, gseq),
        )
        return [dict(row) for row in rows]

    def by_doc_ids(self, device_id: str, doc_ids: list) -> dict[str, dict]:
        """The device's keyring rows among `doc_ids` (one query)."""
        wanted = [d for d in doc_ids if isinstance(d, str)]
        if not wanted:
            return {}
        rows = self.directory.query(
            "SELECT doc_id, rev, revisions, deleted, doc, gseq FROM keyrings WHERE device_id = ?"
            f" AND doc_id IN ({','.join('?' * len(wanted))})",
            (device_id, *wanted),
        )
        return {row["doc_id"]: dict(row) for row in rows}

    def by_doc_id(self, device_id: str, doc_id: str) -> dict | None:
        row = self.directory.one(
            "SELECT doc_id, rev, revisions, deleted, doc, gseq FROM keyrings"
            " WHERE device_id = ? AND doc_id = ?",
            (device_id, doc_id),
        )
        return dict(row) if row else None

    def _save(self, device_id, case_id, versions: str, doc: dict, row) -> dict:
        return self._write(device_id, case_id, versions, doc, row, deleted=False)

    def _delete(self, device_id: str, case_id: str, row) -> dict:
        tombstone = {"_id": keyring_id(device_id, case_id), "_deleted": True}
        return self._write(device_id, case_id, "[]", tombstone, row, deleted=True)

    def _write(self, device_id, case_id, versions, doc, row, deleted: bool) -> dict:
        """Store the keyring as a new revision and give it the next counter value."""
        parent = row["rev"] if row is not None else None
        body = {k: v for k, v in doc.items() if not k.startswith("_")}
        rev = next_rev(parent, deleted, body)
        history = [parse_rev(rev)[1], *json.loads(row["revisions"] if row else "[]")]
        doc = {"_id": doc["_id"], "_rev": rev, **body}
        if deleted:
            doc["_deleted"] = True
        with self.directory.transaction() as con:
            gseq = counter.next_value(con)
            con.execute(
                upsert("keyrings", KEYRING_COLUMNS, ("device_id", "case_id")),
                (
                    device_id,
                    case_id,
                    doc["_id"],
                    versions,
                    json.dumps(doc),
                    int(deleted),
                    utcnow(),
                    rev,
                    json.dumps(history[:MAX_HISTORY]),
                    gseq,
                ),
            )
        counter.CHANGES.notify()  # committed: waiting feeds of this process look now
        return doc
