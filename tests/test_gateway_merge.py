"""Pair work through the gateway: concurrent offline edits are merged, nothing is lost."""

from __future__ import annotations

import random

import pytest

from server.tools.demo_data import note_doc
from sync.device import Device
from tests.support.live_server import serving
from tests.support.org import PASSWORD, make_org
from tests.support.site import open_test_site

pytestmark = pytest.mark.both_directories

FAST = 2**10
CLOCK = iter(f"2026-11-22T10:{m:02d}:00Z" for m in range(60))


@pytest.fixture
def pair(tmp_path):
    site = open_test_site(tmp_path)
    org = make_org(tmp_path, site)
    org.worker("aino")
    org.worker("bertil")
    case = org.case("pair", "aino", "bertil", notes=0)
    note = note_doc(random.Random(2), case, org.workers["aino"])
    note["discussion"] = (
        "Äiti kertoi aamuista. Lapsi nukkuu huonosti. Sovittiin seuraavasta käynnistä."
    )
    site.records.write(case, [note])
    with serving(org.app) as server:
        devices = []
        for name in ("aino", "bertil"):
            dev = Device(tmp_path / name, passphrase="1357", scrypt_n=FAST)
            dev.enrol(server, name, PASSWORD, label=name)
            dev.pull()
            devices.append(dev)
        yield org, case, note["_id"], devices
    site.close()


def edit(device, doc_id, author, change):
    doc = device.read(doc_id)
    change(doc)
    doc["updated_by"] = author
    doc["updated_at"] = next(CLOCK)
    device.write(doc, doc["case_id"])


def rewrite_the_same_sentence(org, note_id, a, b):
    """Aino and Bertil rewrite the same sentence differently offline, then sync."""
    for device, name, sentence in (
        (a, "aino", "Lapsi valvoo öisin."),
        (b, "bertil", "Lapsi heräilee."),
    ):
        edit(
            device,
            note_id,
            org.workers[name],
            lambda d, new=sentence: d.update(
                discussion=d["discussion"].replace("Lapsi nukkuu huonosti.", new)
            ),
        )
    converge(a, b)


def finalise(device, note_id, author):
    """The author marks the note final on this device (offline)."""
    edit(
        device,
        note_id,
        author,
        lambda d: d.update(state="final", finalised_by=author, finalised_at="2026-11-22T10:00:00Z"),
    )


def converge(*devices):
    for _ in range(2):
        for device in devices:
            device.push()
            device.pull()


def test_two_instructors_edit_different_sentences_offline_and_both_survive(pair):
    org, case, note_id, (a, b) = pair
    edit(
        a,
        note_id,
        org.workers["aino"],
        lambda d: d.update(discussion=d["discussion"].replace("aamuista", "aamuista ja illoista")),
    )
    edit(
        b,
        note_id,
        org.workers["bertil"],
        lambda d: d.update(
            discussion=d["discussion"].replace("nukkuu huonosti", "nukkuu jo paremmin")
        ),
    )
    converge(a, b)
    server = org.site.records.read(case, note_id)
    assert "aamuista ja illoista" in server["discussion"]
    assert "nukkuu jo paremmin" in server["discussion"]
    assert not server.get("reconciliation")
    assert a.read(note_id) == b.read(note_id) == server
    assert "_conflicts" not in a.db.get(note_id, conflicts=True)
    merges = [e for e in org.site.access_log.entries(case_id=case) if e.action == "merge"]
    assert merges and merges[0].doc_ids == [note_id]


def test_same_sentence_edited_on_both_sides_keeps_both_marked_for_reconciliation(pair):
    org, case, note_id, (a, b) = pair
    rewrite_the_same_sentence(org, note_id, a, b)
    server = org.site.records.read(case, note_id)
    assert "Lapsi valvoo öisin." in server["discussion"]
    assert "Lapsi heräilee." in server["discussion"]
    [entry] = server["reconciliation"]
    assert {entry["ours_by"], entry["theirs_by"]} == {org.workers["aino"], org.workers["bertil"]}
    assert a.read(note_id) == b.read(note_id)


def test_finalised_on_one_device_while_the_other_edits_becomes_an_amendment(pair):
    org, case, note_id, (a, b) = pair
    finalise(a, note_id, org.workers["aino"])
    edit(
        b,
        note_id,
        org.workers["bertil"],
        lambda d: d.update(discussion=d["discussion"] + " Isä tuli mukaan loppupuolella."),
    )
    converge(a, b)
    note = org.site.records.read(case, note_id)
    assert note["state"] == "final" and "Isä tuli" not in note["discussion"]
    amendments = [d for d in a.documents() if d.get("amends") == note_id]
    assert len(amendments) == 1
    assert "Isä tuli mukaan" in amendments[0]["discussion"]
    assert amendments[0]["updated_by"] == org.workers["bertil"]


def test_edit_of_an_already_final_note_becomes_an_amendment(pair):
    org, case, note_id, (a, b) = pair
    finalise(a, note_id, org.workers["aino"])
    converge(a, b)
    edit(
        b,
        note_id,
        org.workers["bertil"],
        lambda d: d.update(discussion=d["discussion"] + " Korjaus: käynti kesti tunnin."),
    )
    result = b.push()
    assert result.errors == []
    converge(a, b)
    note = org.site.records.read(case, note_id)
    assert note["state"] == "final" and "Korjaus" not in note["discussion"]
    amendment = next(d for d in b.documents() if d.get("amends") == note_id)
    assert "Korjaus: käynti kesti tunnin." in amendment["discussion"]


def test_collisions_are_listed_for_the_worker_and_the_team_until_resolved(pair):
    org, case, note_id, (a, b) = pair
    org.worker("sanna", "supervisor")
    rewrite_the_same_sentence(org, note_id, a, b)

    def listed(who):
        client = org.app.test_client()
        client.post("/api/login", json={"username": who, "password": PASSWORD})
        return client.get("/api/reconciliation").json

    for who in ("aino", "bertil", "sanna"):
        [item] = listed(who)
        assert item["doc_id"] == note_id and item["items"][0]["path"] == "/discussion"
    org.worker("ilse", "admin")
    assert listed("ilse") == []  # an administrator reads no client documents

    # Aino resolves it by editing the note and removing the mark.
    edit(
        a,
        note_id,
        org.workers["aino"],
        lambda d: d.update(
            discussion=d["discussion"].replace("Lapsi heräilee.", ""), reconciliation=[]
        ),
    )
    converge(a, b)
    assert listed("sanna") == []
    assert not org.site.records.read(case, note_id).get("reconciliation")
