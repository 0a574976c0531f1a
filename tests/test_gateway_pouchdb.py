"""An unmodified PouchDB 9 (Node, leveldb) replicates through the sync gateway.

Each test serves the Flask app on 127.0.0.1, enrols a device for a worker and drives
PouchDB with `tests/pouchdb/client.mjs` (one `node` process per call, a JSON command
in, one JSON line out). The Python `Device` class is used only to generate the device
key pair, enrol it, and open the HPKE-sealed keyrings that PouchDB pulled: the case
key is handed to node as hex, and everything about envelopes (canonical JSON, AAD,
AES-256-GCM with WebCrypto, base64) is done in JavaScript from docs/PROTOCOL.md.
"""

from __future__ import annotations

import base64
import json
import random
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from mobile_schema import examples, validate_document
from server.tools.demo_data import new_id, note_doc
from sync.crypto import CaseKey, open_envelope, seal
from sync.device import Device
from sync.store import NotFound
from tests.support.org import PASSWORD

ROOT = Path(__file__).resolve().parents[1]
CLIENT = ROOT / "tests" / "pouchdb" / "client.mjs"
NODE = shutil.which("node")
FAST = 2**10  # scrypt cost for test devices

pytestmark = [
    pytest.mark.both_directories,
    pytest.mark.skipif(
        NODE is None or not (ROOT / "node_modules" / "pouchdb").is_dir(),
        reason="needs node and node_modules/pouchdb (npm ci --ignore-scripts)",
    ),
]


def node(command: dict) -> dict:
    """Run the PouchDB driver once; its one JSON line."""
    env = {"PATH": str(Path(NODE).parent), "NODE_ENV": "test"}
    proc = subprocess.run(
        [NODE, str(CLIENT)],
        input=json.dumps(command),
        capture_output=True,
        encoding="utf-8",
        cwd=ROOT,
        timeout=60,
        env=env,
    )
    line = proc.stdout.strip().rpartition("\n")[2]  # not splitlines(): JSON may hold U+2028
    assert proc.returncode == 0 and line, f"node: {proc.returncode} {proc.stderr} {line[:2000]}"
    return json.loads(line)


@dataclass(eq=False)
class Phone:
    """A PouchDB database on disk, enrolled for one worker through a Python `Device`."""

    device: Device
    db_dir: Path
    url: str

    @property
    def state(self) -> dict:
        return self.device.state()

    def run(self, *steps: dict) -> list:
        state = self.state
        command = {
            "db_dir": str(self.db_dir),
            "url": f"{self.url}/sync/{state['worker_id']}",
            "token": state["access_token"],
            "steps": list(steps),
        }
        return node(command)["results"]

    def do(self, action: str, **options) -> dict:
        [result] = self.run({"action": action, **options})
        return result

    def pull(self, **options) -> dict:
        return self.do("pull", **options)

    def push(self, **options) -> dict:
        return self.do("push", **options)

    def pull_with_keys(self, **options) -> tuple[dict, Keys]:
        """Pull, then the keys of the keyrings pulled (one node run)."""
        pulled, docs = self.run({"action": "pull", **options}, {"action": "all_docs"})
        return pulled, self.keys({row["id"]: row["doc"] for row in docs["rows"]})

    def docs(self) -> dict[str, dict]:
        return {row["id"]: row["doc"] for row in self.do("all_docs")["rows"]}

    def keyrings(self, docs: dict | None = None) -> dict[str, dict]:
        docs = self.docs() if docs is None else docs
        return {d["case_id"]: d for d in docs.values() if d.get("type") == "keyring"}

    def keys(self, docs: dict | None = None) -> Keys:
        """The keyrings PouchDB holds, every version opened with the device's private key
        (HPKE stays in Python; node gets the case keys as hex)."""
        device_keys, device_id = self.device.keys(), self.state["device_id"]
        rings = self.keyrings(docs)
        opened_keys = {
            case_id: {
                str(k["version"]): device_keys.open_case_key(
                    k["sealed"], device_id, case_id, k["version"]
                ).key.hex()
                for k in ring["keys"]
            }
            for case_id, ring in rings.items()
        }
        return Keys(rings, opened_keys)


@dataclass
class Keys:
    rings: dict[str, dict]  # case id -> keyring document
    hex: dict[str, dict[str, str]]  # case id -> {key version: key hex}, as client.mjs takes

    def current(self, case_id: str) -> dict:
        """The key to seal new documents of a case with."""
        version = self.rings[case_id]["current_version"]
        return {"case_id": case_id, "version": version, "hex": self.hex[case_id][str(version)]}


def phone(tmp_path: Path, server: str, worker: str) -> Phone:
    device = Device(tmp_path / f"keys-{worker}", passphrase="2468", scrypt_n=FAST)
    device.enrol(server, worker, PASSWORD, label=f"PouchDB {worker}")
    return Phone(device, tmp_path / f"pouchdb-{worker}", server)


def without_rev(doc: dict) -> dict:
    return {k: v for k, v in doc.items() if k != "_rev"}


def opened(results: list[dict]) -> dict[str, dict]:
    assert all("ok" in r for r in results), results
    return {r["ok"]["_id"]: r["ok"] for r in results}


def stored(org, case_id: str, doc_id: str) -> dict | None:
    try:
        return org.site.records.read(case_id, doc_id)
    except NotFound:
        return None


# ---------------------------------------------------------------- the envelope in JS

PROTOCOL = (ROOT / "docs" / "PROTOCOL.md").read_text("utf-8")


def _block_after(marker: str) -> str:
    start = PROTOCOL.index(marker)
    return re.search(r"```(?:json)?\n(.*?)```", PROTOCOL[start:], re.S).group(1).strip()


def test_js_envelope_follows_the_protocol_text(tmp_path):
    """WebCrypto reproduces the worked example byte for byte; JS and Python interoperate."""
    doc = json.loads(_block_after("key version 1; document:"))
    documented = json.loads(_block_after("Envelope:\n"))
    case_id = doc["case_id"]
    key = {"case_id": case_id, "version": 1, "hex": bytes(range(32)).hex()}
    keys = {case_id: {"1": key["hex"]}}
    # Non-ASCII, astral characters, escapes and nesting serialise to the same bytes.
    tricky = doc | {
        "_id": "ab" * 16,
        "discussion": 'Äiti ja isä 👪 sopivat: "aamut"\n\t\\ \u0001 \u2028 ok',
        "agreed_actions": [{"text": "Kuvakortit", "id": "cd" * 16, "due_on": None}],
        "written_with_client": True,
    }
    python_sealed = seal(tricky, CaseKey(case_id, 1, bytes(range(32))), nonce=bytes(12))
    moved = documented | {"_id": "ef" * 16}  # ciphertext copied to another document
    vector, same_as_python, random_nonce, opened_docs = node(
        {
            "db_dir": str(tmp_path / "db"),
            "steps": [
                {"action": "seal", "doc": doc, "key": key, "nonce_hex": bytes(range(12)).hex()},
                {"action": "seal", "doc": tricky, "key": key, "nonce_hex": bytes(12).hex()},
                {"action": "seal", "doc": tricky, "key": key},
                {"action": "open", "envelopes": [documented, python_sealed, moved], "keys": keys},
            ],
        }
    )["results"]
    assert vector["aad_hex"] == _block_after("AAD (hex):")
    assert vector["envelope"] == without_rev(documented)
    assert same_as_python["envelope"] == python_sealed
    from_doc, from_python, from_moved = opened_docs
    assert from_doc == {"ok": doc | {"_rev": documented["_rev"]}}
    assert from_python == {"ok": tricky}
    assert from_moved["error"]["code"] == "envelope_tampered"
    # Python opens what JS sealed with a random nonce.
    assert random_nonce["envelope"]["nonce"] != same_as_python["envelope"]["nonce"]
    lookup = {(case_id, 1): bytes(range(32))}
    assert open_envelope(random_nonce["envelope"], lambda c, v: lookup.get((c, v))) == tricky


# ---------------------------------------------------------------- replication


def test_initial_pull_gets_exactly_the_workers_envelopes_and_keyrings(org, server, tmp_path):
    org.worker("aino")
    org.worker("bertil")
    own = org.case("own", "aino", notes=3)
    org.case("other", "bertil", notes=2)
    aino = phone(tmp_path, server, "aino")

    pulled, listing = aino.run({"action": "pull"}, {"action": "all_docs"})
    assert pulled["ok"] and pulled["errors"] == [] and pulled["denied"] == []
    assert pulled["docs_written"] == len(org.docs["own"]) + 1  # + the keyring
    docs = {row["id"]: row["doc"] for row in listing["rows"]}
    keys = aino.keys(docs)
    rings = keys.rings
    assert set(rings) == {own}
    assert rings[own]["device_id"] == aino.state["device_id"]
    assert set(docs) == set(org.docs["own"]) | {rings[own]["_id"]}
    envelopes = [d for d in docs.values() if d.get("type") != "keyring"]
    assert all(set(e) >= {"ciphertext", "nonce", "key_version"} for e in envelopes)
    assert {e["case_id"] for e in envelopes} == {own}

    # The envelopes decrypt in JavaScript with the case key from the keyring.
    in_js, again = aino.run(
        {"action": "open", "ids": org.docs["own"], "keys": keys.hex}, {"action": "pull"}
    )
    plain = opened(in_js)
    for doc_id in org.docs["own"]:
        assert without_rev(plain[doc_id]) == without_rev(org.site.records.read(own, doc_id))
    # Nothing changed: the next pull reads nothing.
    assert again["ok"] and again["docs_read"] == 0 and again["docs_written"] == 0


def test_offline_edits_made_in_pouchdb_are_pushed_and_stored(org, server, tmp_path):
    worker = org.worker("aino")
    case = org.case("c", "aino", notes=2)
    aino = phone(tmp_path, server, "aino")
    pulled, keys = aino.pull_with_keys()
    assert pulled["ok"]
    key = keys.current(case)
    note = note_doc(random.Random(11), case, worker)
    note["discussion"] = "Kirjoitettu offline: äiti kertoi aamujen sujuvan paremmin."
    edited_id = org.docs["c"][-1]  # a draft note
    changes = {"discussion": "Korjattu päiväkodissa.", "updated_at": "2026-05-04T11:05:00Z"}

    new, edit, pushed = aino.run(
        {"action": "seal", "doc": note, "key": key, "put": True},
        {"action": "edit", "id": edited_id, "changes": changes, "key": key},
        {"action": "push"},
    )
    assert new["put"]["ok"] and edit["ok"], (new, edit)
    assert edit["rev"].startswith("2-") and edit["parent_rev"].startswith("1-")
    assert pushed["ok"] and pushed["errors"] == [] and pushed["denied"] == []
    assert pushed["docs_written"] == 2

    assert org.site.records.read(case, note["_id"])["discussion"].startswith("Kirjoitettu")
    server_copy = org.site.records.read(case, edited_id)
    assert server_copy["discussion"] == "Korjattu päiväkodissa."
    assert server_copy["_rev"] == edit["rev"]
    # A second push has nothing to send.
    assert aino.push()["docs_written"] == 0


def test_pair_workers_see_each_others_notes_through_their_pouchdbs(org, server, tmp_path):
    aino_id = org.worker("aino")
    bertil_id = org.worker("bertil")
    case = org.case("pair", "aino", "bertil")
    aino = phone(tmp_path, server, "aino")
    bertil = phone(tmp_path, server, "bertil")
    (pulled_a, keys_a), (pulled_b, keys_b) = aino.pull_with_keys(), bertil.pull_with_keys()
    assert pulled_a["ok"] and pulled_b["ok"]

    from_aino = note_doc(random.Random(1), case, aino_id) | {"discussion": "Ainon kirjaus."}
    from_bertil = note_doc(random.Random(2), case, bertil_id) | {"discussion": "Bertils text."}
    _, synced_a = aino.run(
        {"action": "seal", "doc": from_aino, "key": keys_a.current(case), "put": True},
        {"action": "sync"},
    )
    _, synced_b, seen_by_bertil = bertil.run(
        {"action": "seal", "doc": from_bertil, "key": keys_b.current(case), "put": True},
        {"action": "sync"},
        {"action": "open", "ids": [from_aino["_id"]], "keys": keys_b.hex},
    )
    synced_a2, seen_by_aino = aino.run(
        {"action": "sync"},
        {"action": "open", "ids": [from_bertil["_id"]], "keys": keys_a.hex},
    )
    for result in (synced_a, synced_b, synced_a2):
        assert result["ok"] and result["denied"] == [], result
    assert synced_a["push"]["docs_written"] == 1
    assert synced_b["pull"]["docs_written"] == 1 and synced_b["push"]["docs_written"] == 1
    assert synced_a2["pull"]["docs_written"] == 1
    assert seen_by_bertil[0]["ok"]["discussion"] == "Ainon kirjaus."
    assert seen_by_aino[0]["ok"]["discussion"] == "Bertils text."
    # Each device has its own keyring; both hold the same case key.
    assert keys_a.rings[case]["_id"] != keys_b.rings[case]["_id"]
    assert keys_a.hex[case] == keys_b.hex[case]


def test_concurrent_edits_of_one_note_on_two_pouchdbs_lose_nothing(org, server, tmp_path):
    aino_id = org.worker("aino")
    bertil_id = org.worker("bertil")
    case = org.case("pair", "aino", "bertil")
    note_id = org.docs["pair"][-1]
    aino = phone(tmp_path, server, "aino")
    bertil = phone(tmp_path, server, "bertil")
    keys = {}
    for device in (aino, bertil):
        pulled, keys[device] = device.pull_with_keys()
        assert pulled["ok"]

    # Both edit the same draft note offline. Aino syncs first; Bertil's sync then meets
    # her edit; Aino syncs once more to receive his.
    edits = [
        (aino, {"discussion": "Aino lisäsi: isä tuli mukaan.", "updated_by": aino_id}),
        (
            bertil,
            {"client_view": "Bertil: mamman tycker att det går bättre.", "updated_by": bertil_id},
        ),
    ]
    for device, changes in edits:
        edit, synced = device.run(
            {
                "action": "edit",
                "id": note_id,
                "changes": changes,
                "key": keys[device].current(case),
            },
            {"action": "sync"},
        )
        assert edit["ok"] and edit["rev"].startswith("2-"), edit
        assert synced["ok"] and synced["denied"] == [], synced

    # The gateway merged the two edits when Bertil's push met Aino's; one more sync
    # each brings the merged revision to both devices.
    winners = set()
    for device in (aino, bertil):
        *synced, winner, leaves = device.run(
            {"action": "sync"},
            {"action": "get", "id": note_id},
            {"action": "open", "ids": [note_id], "keys": keys[device].hex, "all_leaves": True},
        )
        assert all(r["ok"] and r["denied"] == [] for r in synced), synced
        winners.add(winner["ok"]["_rev"])
        texts = [(leaf["ok"]["discussion"], leaf["ok"]["client_view"]) for leaf in leaves]
        assert any(d.startswith("Aino lisäsi") for d, _ in texts), texts
        assert any(c.startswith("Bertil:") for _, c in texts), texts
    assert len(winners) == 1  # both devices agree on the winning revision
    merged = org.site.records.read(case, note_id)
    assert merged["_rev"] in winners
    assert merged["discussion"].startswith("Aino lisäsi") and merged["client_view"].startswith(
        "Bertil:"
    )  # one document holds both edits: nothing hidden in a losing branch


def test_unassigned_case_is_purged_from_pouchdb_and_restored_when_given_back(org, server, tmp_path):
    worker = org.worker("aino")
    keep = org.case("keep", "aino")
    lose = org.case("lose", "aino", notes=4, seed=2)
    aino = phone(tmp_path, server, "aino")
    assert aino.pull(batch_size=2)["ok"]  # small batches: the since token is resumed
    before = aino.docs()
    lost_ring = aino.keyrings(before)[lose]
    old_revs = {doc_id: before[doc_id]["_rev"] for doc_id in org.docs["lose"]}

    [assignment] = org.site.directory.query("SELECT id FROM assignments WHERE case_id = ?", (lose,))
    org.site.cases.end_assignment(assignment["id"], "admin")
    pulled = aino.pull(batch_size=2)
    assert pulled["ok"] and pulled["errors"] == [], pulled
    after = aino.docs()
    rings = aino.keyrings(after)
    assert set(rings) == {keep}
    assert set(after) == set(org.docs["keep"]) | {rings[keep]["_id"]}

    gets = aino.run(
        *[{"action": "get", "id": doc_id} for doc_id in org.docs["lose"]],
        *[{"action": "get", "id": i, "rev": r} for i, r in old_revs.items()],
        {"action": "get", "id": lost_ring["_id"]},
    )
    for result in gets:
        assert result["error"]["status"] == 404, result  # deleted; old bodies compacted away
    assert {r["error"]["reason"] for r in gets[: len(old_revs)]} == {"deleted"}
    # The case itself is untouched on the server.
    assert org.site.records.read(lose, org.docs["lose"][-1])["type"] == "note"
    # Pushing back neither resurrects anything nor fails.
    pushed = aino.push()
    assert pushed["ok"] and pushed["errors"] == [] and pushed["denied"] == [], pushed
    assert org.site.records.read(lose, org.docs["lose"][-1])["type"] == "note"

    # Given back, the case comes back whole and readable.
    org.site.cases.assign(lose, worker, "own_worker", "admin")
    pulled, keys = aino.pull_with_keys()
    assert pulled["ok"] and set(keys.rings) == {keep, lose}
    back = opened(aino.do("open", ids=org.docs["lose"], keys=keys.hex))
    assert set(back) == set(org.docs["lose"])


def test_revoked_device_gets_401_device_revoked_and_its_hand_over_is_quarantined(
    org, server, tmp_path
):
    worker = org.worker("aino")
    case = org.case("c", "aino")
    aino = phone(tmp_path, server, "aino")
    pulled, keys = aino.pull_with_keys()
    assert pulled["ok"]
    note = note_doc(random.Random(3), case, worker)
    sealed = aino.do("seal", doc=note, key=keys.current(case), put=True)
    assert sealed["put"]["ok"]

    org.site.devices.revoke(aino.state["device_id"], "admin", "lost", [case])
    push, pull = aino.run({"action": "push"}, {"action": "pull"})
    for result in (push, pull):
        assert result["ok"] is False and result["result"]["status"] == "aborting", result
        assert result["status"] == 401 and result["error"] == "device_revoked", result
        assert result["wipe"] is True
    # PouchDB's replicator stops at its first request (the checkpoint GET), before any
    # _bulk_docs, so the app hands its unpushed documents over itself, as sync/device.py
    # does: one `_bulk_docs` that is refused with the same 401 and quarantined.
    assert org.site.quarantine.items() == []
    hand_over = aino.do("hand_over", ids=[note["_id"]])["error"]
    assert hand_over["status"] == 401 and hand_over["error"] == "device_revoked"
    held = org.site.quarantine.items()
    assert [(i["doc_id"], i["reason"]) for i in held] == [(note["_id"], "device_revoked")]
    assert held[0]["envelope"]["ciphertext"] == sealed["envelope"]["ciphertext"]
    assert stored(org, case, note["_id"]) is None
    assert org.site.keys.current(case).version == 2


def test_bad_documents_are_denied_one_by_one_and_the_good_one_is_written(org, server, tmp_path):
    worker = org.worker("aino")
    org.worker("bertil")
    case = org.case("own", "aino")
    other = org.case("other", "bertil")
    aino = phone(tmp_path, server, "aino")
    pulled, keys = aino.pull_with_keys()
    assert pulled["ok"]
    key = keys.current(case)
    rng = random.Random(7)
    good, foreign, tampered, plain = (note_doc(rng, case, worker) for _ in range(4))
    foreign["case_id"] = other
    foreign_key = {"case_id": other, "version": 1, "hex": "11" * 32}

    sealed = aino.run(
        {"action": "seal", "doc": good, "key": key, "put": True},
        {"action": "seal", "doc": foreign, "key": foreign_key, "put": True},
        {"action": "seal", "doc": tampered, "key": key},
    )
    envelope = sealed[2]["envelope"]
    raw = bytearray(base64.b64decode(envelope["ciphertext"]))
    raw[5] ^= 0x01
    envelope["ciphertext"] = base64.b64encode(bytes(raw)).decode()
    ring = keys.rings[case] | {"current_version": 7}  # keyrings are the server's
    put = aino.do("put", docs=[envelope, plain, ring])
    assert all(r["ok"] for r in put) and sealed[0]["put"]["ok"] and sealed[1]["put"]["ok"]

    pushed = aino.push()
    assert pushed["ok"] is True and pushed["status"] == "complete", pushed
    assert pushed["docs_written"] == 1 and pushed["doc_write_failures"] == 4
    expected = {
        foreign["_id"]: "not_assigned",
        tampered["_id"]: "envelope_tampered",
        plain["_id"]: "bad_envelope",
        ring["_id"]: "keyring_read_only",
    }
    assert {d["id"]: d["code"] for d in pushed["denied"]} == expected
    assert all(d["error"] == d["name"] == "forbidden" for d in pushed["denied"])
    written = org.site.records.read(case, good["_id"])
    assert written["discussion"] == good["discussion"]
    for doc in (tampered, plain):
        assert stored(org, case, doc["_id"]) is None
    assert stored(org, other, foreign["_id"]) is None

    # The same push again: nothing to send after the checkpoint ...
    again = aino.push()
    assert again["ok"] and again["docs_read"] == 0 and again["denied"] == [], again
    # ... and re-sent in full (a new replication id, no checkpoint) it changes nothing.
    resent = aino.push(doc_ids=[good["_id"], *expected])
    assert resent["ok"] and resent["docs_written"] == 0, resent
    assert {d["id"]: d["code"] for d in resent["denied"]} == expected
    assert org.site.records.read(case, good["_id"])["_rev"] == written["_rev"]


def big_valid_plan(case_id: str, worker_id: str) -> dict:
    """A plan inside the wire contract (30 goals, three 9 000-character views each) whose
    envelope (~1.09 MB) passes the envelope check (ciphertext ≤ 2.8 M characters) but is
    over the store's 1 MiB document limit."""
    plan = examples.example("plan")
    goal = plan["goals"][0]
    text = ("Perhe harjoittelee aamurutiineja kuvakorttien avulla. " * 200)[:9000]
    plan.update(_id=new_id(), case_id=case_id, created_by=worker_id, updated_by=worker_id)
    plan["goals"] = [
        goal | {"id": new_id(), "parent_view": text, "child_view": text, "worker_view": text}
        for _ in range(30)
    ]
    return validate_document(plan)


def test_valid_document_too_large_for_the_store_is_denied_and_does_not_block_the_rest(
    org, server, tmp_path
):
    """GATEWAY BUG (fails today). The gateway passes the store's per-document error
    through as `{"id", "error": "document_too_large", "reason"}`, without
    `"name": "forbidden"` and without a `code`, so PouchDB's replicator throws instead of
    recording a denial: the replication aborts, never checkpoints, and every later batch
    stays on the device (here: the note after the plan, with batch_size 1)."""
    worker = org.worker("aino")
    case = org.case("c", "aino")
    aino = phone(tmp_path, server, "aino")
    pulled, keys = aino.pull_with_keys()
    assert pulled["ok"]
    key = keys.current(case)
    plan = big_valid_plan(case, worker)
    note = note_doc(random.Random(4), case, worker)
    sealed = aino.run(
        {"action": "seal", "doc": plan, "key": key, "put": True},
        {"action": "seal", "doc": note, "key": key, "put": True},
    )
    assert len(sealed[0]["envelope"]["ciphertext"]) > 1024 * 1024

    pushed = aino.push(batch_size=1)
    # Today: {"failed": true, "error": "document_too_large", "result": {"status": "aborting"}}
    assert pushed.get("failed") is None, {k: pushed.get(k) for k in ("error", "reason", "result")}
    assert pushed["status"] == "complete"
    assert [(d["id"], d["code"]) for d in pushed["denied"]] == [(plan["_id"], "document_too_large")]
    assert org.site.records.read(case, note["_id"])["discussion"] == note["discussion"]


# ---------------------------------------------------------------- plain HTTP


def test_http_errors_for_size_database_name_and_token(org, server, tmp_path):
    org.worker("aino")
    bertil = org.worker("bertil")
    org.case("c", "aino")
    state = phone(tmp_path, server, "aino").state
    http = requests.Session()
    http.trust_env = False
    db = f"{server}/sync/{state['worker_id']}"
    auth = {"Authorization": f"Bearer {state['access_token']}"}
    assert http.get(db, headers=auth, timeout=10).status_code == 200

    # Another worker's database and a made-up name do not exist for this device.
    for name in (bertil, "0" * 32, "_users"):
        unknown = http.get(f"{server}/sync/{name}", headers=auth, timeout=10)
        assert unknown.status_code == 404, (name, unknown.text)
        assert unknown.json()["error"] == "not_found"

    for headers in ({}, {"Authorization": "Bearer garbage"}, {"Authorization": "Basic eDp5"}):
        for url in (db, f"{db}/_changes", f"{server}/sync/{'0' * 32}"):
            answer = http.get(url, headers=headers, timeout=10)
            assert answer.status_code == 401, (headers, url, answer.text)
            assert answer.json()["error"] == "unauthenticated"
            assert answer.headers["WWW-Authenticate"].startswith("Bearer")

    limit = org.app.config["MAX_CONTENT_LENGTH"]
    body = b'{"docs": [], "pad": "' + b"x" * limit + b'"}'
    too_big = http.post(
        f"{db}/_bulk_docs",
        data=body,
        headers=auth | {"Content-Type": "application/json"},
        timeout=60,
    )
    assert too_big.status_code == 413, too_big.text
    assert too_big.json()["error"] == "request_too_large"
