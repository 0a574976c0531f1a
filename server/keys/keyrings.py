"""Keyring documents: each case key a device may hold, sealed to that device.

One keyring per (device, case), with a stable id derived from the two random ids, so
a key rotation updates the same document and an ended assignment deletes it (the
tombstone tells the device to forget the case). Sealing is randomised (HPKE), so a
keyring is regenerated only when the set of key versions changes — not on every sync.
"""

from __future__ import annotations

import hashlib
import json

from mobile_schema import CURRENT_VERSION
from sync.crypto import DevicePublicKey, seal_case_key

from ..directory.db import Directory, utcnow
from .service import KeyService


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

    def refresh(self, device_id: str, case_ids: list[str]) -> list[dict]:
        """Bring a device's keyrings in line with the cases it may hold now.

        Returns the keyring documents that changed (new, re-sealed or deleted).
        """
        device = self.directory.one("SELECT * FROM devices WHERE id = ?", (device_id,))
        public = DevicePublicKey.from_json(json.loads(device["public_key"]))
        stored = {
            row["case_id"]: row
            for row in self.directory.query(
                "SELECT * FROM keyrings WHERE device_id = ?", (device_id,)
            )
        }
        changed = []
        wanted = [] if device["revoked_at"] else case_ids
        for case_id in wanted:
            keys = self.keys.all_versions(case_id)
            versions = json.dumps([k.version for k in keys])
            row = stored.get(case_id)
            if row is None or row["deleted"] or row["versions"] != versions:
                changed.append(
                    self._save(
                        device_id, case_id, versions, keyring_doc(device_id, public, case_id, keys)
                    )
                )
        for case_id, row in stored.items():
            if case_id not in wanted and not row["deleted"]:
                changed.append(self._delete(device_id, case_id))
        return changed

    def current(self, device_id: str) -> list[dict]:
        rows = self.directory.query(
            "SELECT doc FROM keyrings WHERE device_id = ? AND deleted = 0 ORDER BY case_id",
            (device_id,),
        )
        return [json.loads(row["doc"]) for row in rows]

    def _save(self, device_id: str, case_id: str, versions: str, doc: dict) -> dict:
        with self.directory.transaction() as con:
            con.execute(
                "INSERT OR REPLACE INTO keyrings"
                " (device_id, case_id, doc_id, versions, doc, deleted, updated_at)"
                " VALUES (?, ?, ?, ?, ?, 0, ?)",
                (device_id, case_id, doc["_id"], versions, json.dumps(doc), doc["updated_at"]),
            )
        return doc

    def _delete(self, device_id: str, case_id: str) -> dict:
        tombstone = {"_id": keyring_id(device_id, case_id), "_deleted": True}
        with self.directory.transaction() as con:
            con.execute(
                "UPDATE keyrings SET deleted = 1, doc = ?, versions = '[]', updated_at = ?"
                " WHERE device_id = ? AND case_id = ?",
                (json.dumps(tombstone), utcnow(), device_id, case_id),
            )
        return tombstone
