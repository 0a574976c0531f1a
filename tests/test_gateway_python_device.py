"""The reference Python device syncs through the gateway over real HTTP."""

from __future__ import annotations

import random

import pytest

from server.tools.demo_data import note_doc
from sync.device import Device, DeviceWiped
from sync.store import NotFound
from tests.support.org import PASSWORD

pytestmark = pytest.mark.both_directories

FAST = 2**10  # scrypt cost for test devices


def device(tmp_path, name: str, server: str, worker: str, kem: str = "x25519") -> Device:
    dev = Device(tmp_path / f"device-{name}", passphrase="2468", scrypt_n=FAST)
    dev.enrol(server, worker, PASSWORD, label=f"phone {name}", kem=kem)
    return dev


def test_initial_pull_gets_exactly_the_workers_cases_decryptable(org, server, tmp_path):
    org.worker("aino")
    org.worker("bertil")
    own = org.case("own", "aino", notes=3)
    org.case("other", "bertil", notes=2)
    phone = device(tmp_path, "a", server, "aino")
    phone.pull()
    docs = phone.documents()
    assert {d["_id"] for d in docs} == set(org.docs["own"])
    assert {d.get("case_id", d["_id"]) for d in docs if d["type"] != "family"} == {own}
    assert set(phone.keyrings()) == {own}


def test_offline_edits_are_pushed_and_reach_the_pair_worker(org, server, tmp_path):
    org.worker("aino")
    org.worker("bertil")
    case = org.case("pair", "aino", "bertil")
    a = device(tmp_path, "a", server, "aino", kem="mlkem768-x25519")
    b = device(tmp_path, "b", server, "bertil")
    a.pull()
    b.pull()
    note = note_doc(random.Random(5), case, org.workers["aino"])
    note["discussion"] = "Kirjoitettu offline päiväkodissa."
    assert a.write(note, case)["ok"]
    pushed = a.push()
    assert pushed.errors == []
    b.pull()
    assert b.read(note["_id"])["discussion"] == "Kirjoitettu offline päiväkodissa."
    # The server stored only the envelope and can open it with the case key.
    assert org.site.records.read(case, note["_id"])["discussion"].startswith("Kirjoitettu")


def test_second_pull_is_incremental_and_a_replayed_push_is_idempotent(org, server, tmp_path):
    org.worker("aino")
    case = org.case("c", "aino", notes=4)
    phone = device(tmp_path, "a", server, "aino")
    first = phone.pull()
    assert first.docs_read >= 6
    again = phone.pull()
    assert again.docs_read == 0
    org.site.records.write(case, [note_doc(random.Random(9), case, org.workers["aino"])])
    third = phone.pull()
    assert third.docs_read == 1
    remote = phone.remote()
    docs = [phone.db.get(i, revs=True) for i in org.docs["c"][:2]]
    assert remote.bulk_docs(docs, new_edits=False) == []
    assert remote.bulk_docs(docs, new_edits=False) == []


def test_unassigned_case_is_purged_from_the_device(org, server, tmp_path):
    org.worker("aino")
    keep = org.case("keep", "aino")
    lose = org.case("lose", "aino")
    phone = device(tmp_path, "a", server, "aino")
    phone.pull()
    assert {d["_id"] for d in phone.documents()} == set(org.docs["keep"] + org.docs["lose"])
    [assignment] = org.site.directory.query("SELECT id FROM assignments WHERE case_id = ?", (lose,))
    org.site.cases.end_assignment(assignment["id"], "admin")
    phone.pull()
    visible = {d["_id"] for d in phone.documents()}
    assert visible == set(org.docs["keep"])
    assert set(phone.keyrings()) == {keep}
    for doc_id in org.docs["lose"]:
        with pytest.raises(NotFound):
            phone.db.get(doc_id)  # deleted locally
    # The case itself is untouched on the server.
    assert org.site.records.read(lose, org.docs["lose"][-1])["type"] == "note"
    # Pushing back does not resurrect or re-send anything.
    assert phone.push().errors == []


def test_case_given_back_after_purge_is_restored(org, server, tmp_path):
    org.worker("aino")
    case = org.case("c", "aino")
    phone = device(tmp_path, "a", server, "aino")
    phone.pull()
    [assignment] = org.site.directory.query("SELECT id FROM assignments WHERE case_id = ?", (case,))
    org.site.cases.end_assignment(assignment["id"], "admin")
    phone.pull()
    assert phone.documents() == []
    org.site.cases.assign(case, org.workers["aino"], "own_worker", "admin")
    phone.pull()
    assert {d["_id"] for d in phone.documents()} == set(org.docs["c"])


def test_revoked_device_is_told_to_wipe_and_its_push_is_quarantined(org, server, tmp_path):
    org.worker("aino")
    case = org.case("c", "aino")
    phone = device(tmp_path, "a", server, "aino")
    phone.pull()
    note = note_doc(random.Random(3), case, org.workers["aino"])
    phone.write(note, case)
    device_id = phone.state()["device_id"]
    org.site.devices.revoke(device_id, "admin", "lost", [case])
    with pytest.raises(DeviceWiped):
        phone.push()
    assert phone.db.all_docs()["rows"] == []
    held = org.site.quarantine.items()
    assert note["_id"] in {item["doc_id"] for item in held}
    assert org.site.keys.current(case).version == 2


def test_deliveries_and_pushes_are_in_the_access_log(org, server, tmp_path):
    org.worker("aino")
    case = org.case("c", "aino", notes=2)
    phone = device(tmp_path, "a", server, "aino")
    phone.pull()
    note = note_doc(random.Random(4), case, org.workers["aino"])
    phone.write(note, case)
    phone.push()
    entries = org.site.access_log.entries(case_id=case)
    device_id = phone.state()["device_id"]
    delivered = {d for e in entries if e.action == "deliver" for d in e.doc_ids}
    assert delivered == set(org.docs["c"])
    pushed = [e for e in entries if e.action == "push"]
    assert [e.doc_ids for e in pushed] == [[note["_id"]]]
    assert all(
        e.device_id == device_id and e.worker_id == org.workers["aino"]
        for e in entries
        if e.action in ("deliver", "push")
    )
    assert org.site.access_log.verify() is None


def test_offline_work_on_a_case_taken_away_meanwhile_is_quarantined(org, server, tmp_path):
    org.worker("aino")
    case = org.case("c", "aino")
    phone = device(tmp_path, "a", server, "aino")
    phone.pull()
    note = note_doc(random.Random(8), case, org.workers["aino"])
    phone.write(note, case)  # written offline ...
    [assignment] = org.site.directory.query("SELECT id FROM assignments WHERE case_id = ?", (case,))
    org.site.cases.end_assignment(assignment["id"], "admin")  # ... while access ended
    result = phone.push()
    assert [(e.id, e.error) for e in result.errors] == [(note["_id"], "forbidden")]
    held = [i for i in org.site.quarantine.items() if i["doc_id"] == note["_id"]]
    assert len(held) == 1 and held[0]["reason"] == "not_assigned"
