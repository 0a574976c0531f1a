"""The key service: versions, KEK rotation, shredding, revocation, keyrings, audit."""

from __future__ import annotations

import secrets
import sqlite3

import pytest

from mobile_schema.examples import example
from server.errors import DeviceRevoked
from server.keys.kek import KekRing, new_kek_line
from server.keys.service import CaseShredded
from sync.cases import database_name
from sync.crypto import DeviceKeys, KeyUnavailable, open_envelope
from tests.support.site import new_keks, open_test_site

ADMIN = "admin"


@pytest.fixture
def site(tmp_path):
    site = open_test_site(tmp_path)
    yield site
    site.close()


def _worker(site, name="aino"):
    return site.accounts.create(name, name.title(), "worker", ADMIN)


def _note(case_id, text="Keskusteltiin aamuista."):
    doc = example("note")
    doc.update(case_id=case_id, discussion=text)
    doc["_id"] = secrets.token_hex(16)
    return doc


def test_new_writes_use_the_new_version_and_old_documents_stay_readable(site):
    case = site.cases.create("f" * 32, ADMIN)
    old = _note(case, "ennen kiertoa")
    site.records.write(case, [old])
    site.keys.rotate(case, ADMIN, "test")
    new = _note(case, "kierron jälkeen")
    site.records.write(case, [new])
    db = site.store.database(database_name(case))
    assert db.get(old["_id"])["key_version"] == 1
    assert db.get(new["_id"])["key_version"] == 2
    assert site.records.read(case, old["_id"])["discussion"] == "ennen kiertoa"
    assert site.records.read(case, new["_id"])["discussion"] == "kierron jälkeen"


def test_case_keys_are_stored_only_wrapped(site, tmp_path):
    case = site.cases.create("f" * 32, ADMIN)
    key = site.keys.current(case)
    raw = (tmp_path / "directory.sqlite3").read_bytes()
    for suffix in ("-wal", "-shm"):
        extra = tmp_path / f"directory.sqlite3{suffix}"
        raw += extra.read_bytes() if extra.exists() else b""
    assert key.key not in raw


def test_kek_rotation_rewraps_every_key_and_resumes_after_interruption(tmp_path):
    old = new_keks()
    site = open_test_site(tmp_path, keks=old)
    cases = [site.cases.create("f" * 32, ADMIN) for _ in range(5)]
    before = {c: site.keys.current(c) for c in cases}
    site.close()

    line = new_kek_line()
    both = KekRing.from_lines([line, *[_line(k) for k in old.keks.values()]], "test")
    site = open_test_site(tmp_path, keks=both)
    calls = []

    def stop_after_two(done, total):
        calls.append((done, total))
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        site.keys.rotate_kek(ADMIN, stop_after_two)
    assert site.keys.keks_in_use() == {both.current_id: 2, old.current_id: 3}
    assert site.keys.rotate_kek(ADMIN) == 3  # resumes with the rest
    assert site.keys.keks_in_use() == {both.current_id: 5}
    site.close()

    only_new = KekRing.from_lines([line], "test")
    site = open_test_site(tmp_path, keks=only_new)
    assert {c: site.keys.current(c) for c in cases} == before
    site.close()


def _line(key: bytes) -> str:
    import base64

    return base64.b64encode(key).decode()


def test_missing_kek_is_a_clear_error(tmp_path):
    site = open_test_site(tmp_path)
    case = site.cases.create("f" * 32, ADMIN)
    site.close()
    site = open_test_site(tmp_path, keks=new_keks())
    with pytest.raises(KeyUnavailable, match=r"KEK .* is not loaded"):
        site.keys.current(case)
    site.close()


def test_shredding_makes_every_copy_unreadable_and_is_audited(site):
    case = site.cases.create("f" * 32, ADMIN)
    doc = _note(case)
    site.records.write(case, [doc])
    site.keys.rotate(case, ADMIN, "test")
    envelope = site.store.database(database_name(case)).get(doc["_id"])
    backup_copy = dict(envelope)

    assert site.keys.shred(case, "supervisor-1") == 2
    with pytest.raises(KeyUnavailable):
        open_envelope(backup_copy, site.keys.lookup)
    with pytest.raises(CaseShredded):
        site.keys.current(case)
    with pytest.raises(CaseShredded):
        site.keys.rotate(case, ADMIN, "after shredding")
    [entry] = site.audit.entries(action="case.shredded")
    assert entry.subject == case and entry.actor == "supervisor-1"
    assert entry.details == {"key_versions_destroyed": 2}


def test_revoking_a_device_rotates_its_cases_and_tells_it_to_wipe(site):
    worker = _worker(site)
    case = site.cases.create("f" * 32, ADMIN)
    site.cases.assign(case, worker, "own_worker", ADMIN)
    device = site.devices.enrol(worker, "puhelin", DeviceKeys.generate().public().to_json(), worker)
    site.devices.check_active(device["id"])
    site.devices.revoke(device["id"], "admin-1", "lost phone", site.cases.of_worker(worker))
    assert site.keys.current(case).version == 2
    with pytest.raises(DeviceRevoked) as raised:
        site.devices.check_active(device["id"])
    assert raised.value.code == "device_revoked" and raised.value.details["wipe"] is True
    assert [e.subject for e in site.audit.entries(action="device.revoked")] == [device["id"]]


def test_keyrings_follow_assignments_and_rotations(site):
    worker = _worker(site)
    keys = DeviceKeys.generate("mlkem768-x25519")
    device = site.devices.enrol(worker, "tabletti", keys.public().to_json(), worker)["id"]
    case_a = site.cases.create("f" * 32, ADMIN)
    case_b = site.cases.create("e" * 32, ADMIN)
    site.cases.assign(case_a, worker, "own_worker", ADMIN)
    assignment_b = site.cases.assign(case_b, worker, "pair_worker", ADMIN)

    changed = site.keyrings.refresh(device, site.cases.of_worker(worker))
    assert {d["case_id"] for d in changed} == {case_a, case_b}
    assert site.keyrings.refresh(device, site.cases.of_worker(worker)) == []  # nothing new

    ring = next(d for d in changed if d["case_id"] == case_a)
    sealed = ring["keys"][0]["sealed"]
    assert keys.open_case_key(sealed, device, case_a, 1) == site.keys.get(case_a, 1)

    site.cases.end_assignment(assignment_b, ADMIN)
    changed = site.keyrings.refresh(device, site.cases.of_worker(worker))
    [tombstone] = changed
    assert tombstone["_deleted"] is True and tombstone["_rev"].startswith("2-")
    assert [d["case_id"] for d in site.keyrings.current(device)] == [case_a]


def test_audit_log_is_append_only_and_tamper_evident(site, tmp_path):
    for n in range(3):
        site.cases.create(f"{n}" * 32, ADMIN)
    assert site.audit.verify() is None
    con = sqlite3.connect(tmp_path / "directory.sqlite3")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        con.execute("UPDATE audit_log SET actor = 'someone' WHERE seq = 2")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        con.execute("DELETE FROM audit_log WHERE seq = 2")
    # An insider who drops the trigger can edit a row, but the chain shows where.
    con.execute("DROP TRIGGER audit_log_no_update")
    con.execute("UPDATE audit_log SET actor = 'someone' WHERE seq = 2")
    con.commit()
    con.close()
    assert site.audit.verify() == 2
