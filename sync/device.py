"""The reference offline device: a local encrypted store that syncs with the gateway.

What a field app does, in Python: enrol with a key pair (the private key kept under
the worker's PIN), replicate the worker's database both ways with the standard
CouchDB protocol, open keyrings with the device key, seal every document it writes
with its case's current key, and wipe itself when the server says so. The local store
holds only envelopes and keyrings.
"""

from __future__ import annotations

import contextlib
import json
import secrets
from datetime import UTC, datetime
from pathlib import Path

import requests

from mobile_schema import CURRENT_VERSION, validate_document

from .crypto import CaseKey, DeviceKeys, KeyUnavailable, open_envelope, seal
from .private_files import private_dir, write_private
from .remote import RemoteDatabase, RemoteError
from .replicator import ReplicationResult, replicate
from .revisions import next_rev
from .store import NotFound, StoreError
from .store.sqlite import SQLiteStore

LOCAL_DB = "local"
ACCESS_EVENT = "access_event"  # the device's own record of a view, not a client document


class DeviceWiped(Exception):
    """The server revoked this device; its local data has been deleted."""


class Device:
    """A device whose files live in `home` (created if missing)."""

    def __init__(self, home: Path | str, passphrase: str, scrypt_n: int = 2**15):
        self.home = Path(home)
        private_dir(self.home)  # tokens and the PIN-protected key: the owner's only
        self.passphrase = passphrase
        self.scrypt_n = scrypt_n
        self.store = SQLiteStore(self.home / "store")
        self.db = self.store.ensure_database(LOCAL_DB)
        self._keys: DeviceKeys | None = None

    # ------------------------------------------------------------ enrolment

    @property
    def state_file(self) -> Path:
        return self.home / "device.json"

    def state(self) -> dict:
        return json.loads(self.state_file.read_text()) if self.state_file.exists() else {}

    def _save(self, **changes) -> None:
        write_private(self.state_file, json.dumps(self.state() | changes))

    def enrol(
        self, server: str, username: str, password: str, label: str, kem: str = "x25519"
    ) -> dict:
        """Log in as the worker and enrol this device with a fresh key pair."""
        keys = DeviceKeys.generate(kem)
        http = requests.Session()
        login = http.post(
            f"{server}/api/login", json={"username": username, "password": password}, timeout=30
        )
        _raise_for(login)
        enrolled = http.post(
            f"{server}/api/devices",
            json={"label": label, "public_key": keys.public().to_json()},
            timeout=30,
        )
        _raise_for(enrolled)
        tokens = enrolled.json()
        self._save(
            server=server,
            worker_id=login.json()["id"],
            device_id=tokens["device_id"],
            access_token=tokens["access_token"],
            refresh_token=tokens["refresh_token"],
            private_key=keys.protect(self.passphrase, n=self.scrypt_n),
        )
        self._keys = keys
        return self.state()

    def keys(self) -> DeviceKeys:
        if self._keys is None:
            self._keys = DeviceKeys.unlock(self.state()["private_key"], self.passphrase)
        return self._keys

    # ------------------------------------------------------------ sync

    def remote(self) -> RemoteDatabase:
        state = self.state()
        return RemoteDatabase(
            f"{state['server']}/sync/{state['worker_id']}",
            token=lambda: self.state()["access_token"],
        )

    def pull(self) -> ReplicationResult:
        return self._guarded(lambda: replicate(self.remote(), self.db))

    def push(self) -> ReplicationResult:
        result = self._guarded(lambda: replicate(self.db, self.remote()))
        refused = {e.id for e in result.errors}
        self._save(unpushed=[i for i in self.state().get("unpushed", []) if i in refused])
        return result

    def sync(self) -> tuple[ReplicationResult, ReplicationResult]:
        return self.push(), self.pull()

    def _guarded(self, run):
        """Run a replication; refresh an expired token once; wipe when told to."""
        for attempt in (1, 2):
            try:
                return run()
            except RemoteError as exc:
                if exc.error == "device_revoked" or exc.body.get("wipe"):
                    self._hand_over_unpushed()
                    self.wipe()
                    raise DeviceWiped(exc.reason) from None
                if exc.error == "token_expired" and attempt == 1:
                    self.refresh_token()
                    continue
                raise
        raise AssertionError("unreachable")

    def refresh_token(self) -> None:
        state = self.state()
        response = requests.post(
            f"{state['server']}/api/devices/token",
            json={"refresh_token": state["refresh_token"]},
            timeout=30,
        )
        _raise_for(response)
        tokens = response.json()
        self._save(access_token=tokens["access_token"], refresh_token=tokens["refresh_token"])

    def _hand_over_unpushed(self) -> None:
        """Give what was written offline to the server (which quarantines it for a
        supervisor) before wiping, so a revoked device loses no one's words."""
        docs = []
        for doc_id in self.state().get("unpushed", []):
            with contextlib.suppress(NotFound):  # a deletion holds no one's words
                docs.append(self.db.get(doc_id, revs=True))
        if not docs:
            return
        with contextlib.suppress(RemoteError):  # refused as expected: held in quarantine
            self.remote().bulk_docs(docs, new_edits=False)

    def wipe(self) -> None:
        """Delete every local document, key and token."""
        self.store.delete_database(LOCAL_DB)
        self.db = self.store.ensure_database(LOCAL_DB)
        self.state_file.unlink(missing_ok=True)
        self._keys = None

    # ------------------------------------------------------------ documents

    def keyrings(self) -> dict[str, dict]:
        rows = self.db.all_docs(include_docs=True)["rows"]
        return {r["doc"]["case_id"]: r["doc"] for r in rows if r["doc"].get("type") == "keyring"}

    def case_key(self, case_id: str, version: int | None = None, rings=None) -> CaseKey:
        """A case key opened from its keyring (`rings`: keyrings already read)."""
        ring = (rings if rings is not None else self.keyrings()).get(case_id)
        if ring is None:
            raise KeyUnavailable(f"no keyring for case {case_id} on this device")
        version = version or ring["current_version"]
        sealed = next((k["sealed"] for k in ring["keys"] if k["version"] == version), None)
        if sealed is None:
            raise KeyUnavailable(f"no key version {version} for case {case_id}")
        return self.keys().open_case_key(sealed, self.state()["device_id"], case_id, version)

    def _lookup(self):
        """A key lookup for `open_envelope` that reads the keyrings once and opens each
        (case, version) key once, however many documents it is used for."""
        rings, opened = self.keyrings(), {}

        def lookup(case_id: str, version: int) -> bytes | None:
            if (case_id, version) not in opened:
                try:
                    opened[case_id, version] = self.case_key(case_id, version, rings).key
                except KeyUnavailable:
                    opened[case_id, version] = None
            return opened[case_id, version]

        return lookup

    def write(self, doc: dict, case_id: str) -> dict:
        """Validate, seal with the case's current key, and store locally."""
        doc = validate_document(doc)
        envelope = seal(doc, self.case_key(case_id))
        [result] = self.db.bulk_docs([envelope])
        if result.get("ok"):
            self._unpushed(doc["_id"])
        return result

    def delete(self, doc_id: str) -> dict:
        """Store a deletion of the current revision locally; it travels at the next push.
        A tombstone carries nothing but `_id`, `_rev` and `_deleted` (no plaintext, and
        the server refuses any other field on a deletion).

        Its revision id names this device, as PouchDB's random ones differ per device:
        two workers who delete the same revision offline push two deletions, and the
        server can tell each of them when an edit kept the document."""
        current = self.db.get(doc_id, revs=True)
        path = current["_revisions"]
        rev = next_rev(current["_rev"], True, {"deleted_on": self.state().get("device_id")})
        tombstone = {
            "_id": doc_id,
            "_rev": rev,
            "_deleted": True,
            "_revisions": {"start": path["start"] + 1, "ids": [rev.split("-", 1)[1], *path["ids"]]},
        }
        [result] = self.db.bulk_docs([tombstone], new_edits=False)
        if "error" not in result:
            self._unpushed(doc_id)
            return {"ok": True, "id": doc_id, "rev": rev}
        return result

    def _unpushed(self, doc_id: str) -> None:
        """Remember work not yet on the server (handed over if the device is revoked)."""
        self._save(unpushed=sorted({*self.state().get("unpushed", []), doc_id}))

    def read(self, doc_id: str) -> dict:
        return open_envelope(self.db.get(doc_id), self._lookup())

    def documents(self) -> list[dict]:
        """Every client document this device can open, decrypted (not its own access
        events: `views`)."""
        return [d for d in self._opened() if d["type"] != ACCESS_EVENT]

    def views(self) -> list[dict]:
        """The access events this device recorded (pushed or not), oldest first."""
        found = [d for d in self._opened() if d["type"] == ACCESS_EVENT]
        return sorted(found, key=lambda d: d["viewed_at"])

    def _opened(self) -> list[dict]:
        rows = self.db.all_docs(include_docs=True)["rows"]
        lookup = self._lookup()
        return [
            open_envelope(r["doc"], lookup)
            for r in rows
            if "ciphertext" in r["doc"] and lookup(r["doc"]["case_id"], r["doc"]["key_version"])
        ]

    def record_view(self, case_id: str, doc_ids: list[str], at: str | None = None) -> dict:
        """Record that the worker opened `doc_ids` of `case_id` now (or `at`): an access
        event, sealed and stored like any document, pushed with the next sync and
        never changed (docs/PROTOCOL.md, "Device-side views"). Ids and times only."""
        state = self.state()
        at = at or datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
        event = {
            "_id": secrets.token_hex(16),
            "type": ACCESS_EVENT,
            "schema_version": CURRENT_VERSION,
            "case_id": case_id,
            "device_id": state["device_id"],
            "viewed_at": at,
            "doc_ids": sorted(set(doc_ids)),
            "created_at": at,
            "created_by": state["worker_id"],
            "updated_at": at,
            "updated_by": state["worker_id"],
        }
        result = self.write(event, case_id)
        if not result.get("ok"):
            raise StoreError(f"access event not stored: {result.get('reason')}")
        return event | {"_rev": result["rev"]}

    def close(self) -> None:
        self.store.close()


def _raise_for(response: requests.Response) -> None:
    if response.status_code >= 400:
        try:
            body = response.json()
        except ValueError:
            body = {"reason": response.text[:200]}
        raise RemoteError(response.status_code, body)
