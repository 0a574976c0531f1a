"""Quarantine holds a refused document revision once, however often a device re-sends it.

Replicators retry: a revoked device's push, or work on a case taken away before the
device synced, arrives again and again. Each (device, document, revision) is one row
for the supervisor; a new revision of the same document is a new row. The migration
that brought the rule in folds the duplicates an older directory already holds.
"""

from __future__ import annotations

import json
import random

import pytest
import requests

from server.directory import SQLiteDirectory as Directory
from server.directory import sqlite as directory_db
from server.tools.demo_data import note_doc
from sync.crypto.envelope import seal
from tests.support.devices import device_session

pytestmark = pytest.mark.both_directories


@pytest.fixture
def org(org):
    org.worker("aino")
    org.case("own", "aino")
    org.case("taken", "aino", seed=2)
    return org


def enrol(server: str) -> tuple[requests.Session, dict]:
    return device_session(server, "aino")


def sealed_note(org, case_label: str, seed: int) -> dict:
    case_id = org.cases[case_label]
    note = note_doc(random.Random(seed), case_id, org.workers["aino"])
    return seal(note | {"_rev": "1-" + f"{seed:x}" * 32}, org.site.keys.current(case_id))


def pushed(device, db: str, docs: list[dict]) -> requests.Response:
    return device.post(f"{db}/_bulk_docs", json={"docs": docs, "new_edits": False})


def test_a_revoked_devices_push_is_held_once(server, org):
    device, tokens = enrol(server)
    db = f"{server}/sync/{org.workers['aino']}"
    note = sealed_note(org, "own", 3)
    org.site.devices.revoke(tokens["device_id"], "admin", "lost", [])
    for _ in range(3):
        response = pushed(device, db, [note, note])
        assert response.status_code == 401 and response.json()["error"] == "device_revoked"
    held = org.site.quarantine.items()
    assert [(i["doc_id"], i["rev"], i["reason"]) for i in held] == [
        (note["_id"], note["_rev"], "device_revoked")
    ]
    assert held[0]["envelope"] == note


def test_work_on_a_case_taken_away_is_held_once_per_revision(server, org):
    device, _ = enrol(server)
    db = f"{server}/sync/{org.workers['aino']}"
    [assignment] = org.site.cases.assignments(org.cases["taken"])
    org.site.cases.end_assignment(assignment["id"], "admin")
    first = sealed_note(org, "taken", 4)
    second = first | {"_rev": "2-" + "b" * 32, "_revisions": {"start": 2, "ids": ["b" * 32]}}
    for _ in range(2):
        answer = pushed(device, db, [first]).json()
        assert answer[0]["code"] == "not_assigned"
    pushed(device, db, [second])
    held = org.site.quarantine.items()
    assert [(i["doc_id"], i["rev"]) for i in held] == [
        (first["_id"], first["_rev"]),
        (first["_id"], second["_rev"]),
    ]


def test_a_document_without_a_revision_is_told_apart_by_its_content(org):
    quarantine = org.site.quarantine
    one, other = {"_id": "a" * 32, "text": "x"}, {"_id": "a" * 32, "text": "y"}
    ids = [quarantine.hold("d" * 32, None, doc, "device_revoked") for doc in (one, one, other)]
    assert ids[0] == ids[1] != ids[2]
    assert len(quarantine.items()) == 2


def test_the_migration_folds_duplicates_already_held(tmp_path, monkeypatch):
    path = tmp_path / "directory.sqlite3"
    number = next(i for i, m in enumerate(directory_db.MIGRATIONS) if "quarantine_once" in m)
    monkeypatch.setattr(directory_db, "MIGRATIONS", directory_db.MIGRATIONS[:number])
    old = Directory(path)
    envelope = {"_id": "a" * 32, "_rev": "1-" + "a" * 32}
    with old.transaction() as con:
        for doc in (envelope, envelope, envelope | {"_rev": "2-" + "b" * 32}, {"x": 1}, {"x": 1}):
            con.execute(
                "INSERT INTO quarantine (at, device_id, doc_id, reason, envelope)"
                " VALUES ('2026-01-01T00:00:00Z', 'd', ?, 'device_revoked', ?)",
                (doc.get("_id"), json.dumps(doc)),
            )
    old.close()
    monkeypatch.undo()
    migrated = Directory(path)
    rows = migrated.query("SELECT id, doc_id, rev FROM quarantine ORDER BY id")
    assert [(r["id"], r["rev"]) for r in rows] == [
        (1, "1-" + "a" * 32),
        (3, "2-" + "b" * 32),
        (4, "row:4"),
        (5, "row:5"),
    ]
    migrated.close()
