"""Merges without loss through the gateway, over real HTTP, with two and three devices:
stale leaves after a merge, final notes, deletions, acknowledgements, crowded notes."""

from __future__ import annotations

import copy
import itertools
import json
import random

import pytest
import requests

from mobile_schema.base import RECONCILIATION_LIMIT, open_items
from server.tools.demo_data import note_doc
from sync.cases import database_name
from sync.device import Device
from tests.support.live_server import serving
from tests.support.org import PASSWORD, make_org
from tests.support.site import open_test_site

pytestmark = pytest.mark.both_directories

FAST = 2**10
TICK = itertools.count()


def stamp() -> str:
    minute = next(TICK)
    return f"2026-11-22T{10 + minute // 60:02d}:{minute % 60:02d}:00Z"


@pytest.fixture
def team(tmp_path):
    """Aino (a phone and a tablet) and Bertil (a phone) share a case."""
    site = open_test_site(tmp_path)
    org = make_org(tmp_path, site)
    org.worker("aino")
    org.worker("bertil")
    case = org.case("pair", "aino", "bertil", notes=0)
    with serving(org.app) as server:
        devices = {}
        for name, worker in (("a", "aino"), ("a2", "aino"), ("b", "bertil")):
            dev = Device(tmp_path / name, passphrase="1357", scrypt_n=FAST)
            dev.enrol(server, worker, PASSWORD, label=name)
            devices[name] = dev
        yield Team(org, case, server, devices)
    for dev in devices.values():
        dev.close()
    site.close()


class Team:
    def __init__(self, org, case, server, devices):
        self.org, self.case, self.server, self.devices = org, case, server, devices

    def worker(self, device: str) -> str:
        return self.devices[device].state()["worker_id"]

    def note(self, text: str, seed: int = 1, **fields) -> str:
        """A draft note written by Aino on the server, pulled by every device."""
        note = note_doc(random.Random(seed), self.case, self.org.workers["aino"])
        note.update(discussion=text, state="draft", **fields)
        for key in ("finalised_by", "finalised_at"):
            note.pop(key, None)
        assert self.org.site.records.write(self.case, [note])[0]["ok"]
        self.sync(*self.devices)
        return note["_id"]

    def edit(self, device: str, doc_id: str, **fields) -> None:
        dev = self.devices[device]
        doc = dev.read(doc_id)
        doc.update(fields, updated_by=self.worker(device), updated_at=stamp())
        assert dev.write(doc, self.case)["ok"]

    def finalise(self, device: str, doc_id: str, **fields) -> None:
        at, by = stamp(), self.worker(device)
        self.edit(device, doc_id, state="final", finalised_by=by, finalised_at=at, **fields)

    def delete(self, device: str, doc_id: str) -> None:
        dev = self.devices[device]
        rev = dev.db.get(doc_id)["_rev"]
        assert dev.db.bulk_docs([{"_id": doc_id, "_rev": rev, "_deleted": True}])[0]["ok"]

    def push(self, *names: str) -> None:
        for name in names:
            assert self.devices[name].push().errors == []

    def sync(self, *names: str) -> None:
        for _ in range(2):
            for name in names:
                pushed, _pulled = self.devices[name].sync()
                assert pushed.errors == []

    def server_doc(self, doc_id: str) -> dict:
        return self.org.site.records.read(self.case, doc_id)

    def db(self):
        return self.org.site.store.database(database_name(self.case))

    def everyone_sees(self, doc_id: str) -> dict:
        """Every device holds the server's winning revision and body, with no conflict."""
        server = self.db().get(doc_id)
        for name, dev in self.devices.items():
            local = dev.db.get(doc_id, conflicts=True)
            assert local["_rev"] == server["_rev"], name
            assert "_conflicts" not in local, name
        bodies = {json.dumps(d.read(doc_id), sort_keys=True) for d in self.devices.values()}
        assert len(bodies) == 1
        return self.server_doc(doc_id)

    def amendments(self, doc_id: str) -> list[dict]:
        rows = self.db().all_docs(include_docs=True)["rows"]
        docs = [self.org.site.records.read(self.case, r["id"]) for r in rows]
        return [d for d in docs if d.get("amends") == doc_id]


STORY = "X alkuperäinen. Toinen lause. Kolmas lause."


@pytest.mark.parametrize("seed", range(4))
def test_an_edit_on_the_losing_side_of_a_merge_is_merged_against_what_the_merge_took(team, seed):
    """The issue's story, several times: whichever leaf wins the first merge (about
    half the tries each), Aino's second edit on her stale leaf must survive."""
    note = team.note(STORY, seed=seed)
    team.edit("a", note, discussion="X muutettu. Toinen lause. Kolmas lause.")
    team.push("a")
    team.edit("b", note, discussion=STORY + " Y lisäsi.")
    team.push("b")  # the server merges Aino's first edit with Bertil's addition
    team.edit("a", note, discussion="X alkuperäinen. Toinen lause.")  # reverts, drops one
    team.push("a")
    team.sync("b", "a", "a2")
    doc = team.everyone_sees(note)
    assert doc["discussion"] == "X alkuperäinen. Toinen lause. Y lisäsi."
    assert not doc.get("reconciliation")


@pytest.mark.parametrize("seed", range(3))
def test_re_editing_ones_own_sentence_on_the_losing_side_is_no_collision(team, seed):
    note = team.note(STORY, seed=seed)
    team.edit("a", note, discussion="X muutettu. Toinen lause. Kolmas lause.")
    team.push("a")
    team.edit("b", note, discussion=STORY + " Y lisäsi.")
    team.push("b")
    team.edit("a", note, discussion="X muutettu taas. Toinen lause. Kolmas lause.")
    team.push("a")
    team.sync("a", "b", "a2")
    doc = team.everyone_sees(note)
    assert doc["discussion"] == "X muutettu taas. Toinen lause. Kolmas lause. Y lisäsi."
    assert not doc.get("reconciliation")


def test_three_devices_keep_editing_stale_leaves_for_rounds_and_nothing_is_lost(team):
    note = team.note("Alku. Keski. Loppu.")
    words = {"a": [], "a2": [], "b": []}
    for round_ in range(3):
        for name in ("a", "a2", "b"):
            text = team.devices[name].read(note)["discussion"]
            word = f"{name.upper()}{round_}"
            words[name].append(word)
            team.edit(name, note, discussion=f"{text} {word} kirjoitti.")
        team.push(random.Random(round_).choice(["a", "a2", "b"]))  # one syncs, two stay stale
    team.sync("a", "a2", "b")
    doc = team.everyone_sees(note)
    text = json.dumps(doc, ensure_ascii=False)
    for name, written in words.items():
        for word in written:
            assert f"{word} kirjoitti." in text, (name, word)


def test_a_final_note_keeps_its_stamps_and_the_amendment_carries_the_editor(team):
    note = team.note("Tapasimme kotona.")
    team.finalise("a", note)
    final_stamps = {k: team.devices["a"].read(note)[k] for k in ("updated_by", "updated_at")}
    team.edit("b", note, discussion="Tapasimme kotona. Isä tuli myöhemmin.")
    team.sync("a", "b", "a2")
    doc = team.everyone_sees(note)
    assert doc["state"] == "final" and doc["discussion"] == "Tapasimme kotona."
    assert {k: doc[k] for k in final_stamps} == final_stamps
    assert final_stamps["updated_by"] == team.worker("a")
    [amendment] = team.amendments(note)
    assert amendment["discussion"].endswith("Isä tuli myöhemmin.")
    assert amendment["updated_by"] == team.worker("b") and amendment["state"] == "draft"


def finalised_twice(team: Team) -> str:
    """Aino and Bertil finalise the same note offline with different client views."""
    note = team.note("Tapasimme kotona.")
    team.finalise("a", note, client_view="Aamut sujuvat.")
    team.finalise("b", note, client_view="Aamut sujuvat paremmin.")
    team.sync("a", "b", "a2")
    return note


def test_both_finalise_differently_and_both_versions_stay_final_with_an_item(team):
    note = finalised_twice(team)
    doc = team.everyone_sees(note)
    [amendment] = team.amendments(note)
    finals = {doc["client_view"], amendment["client_view"]}
    assert finals == {"Aamut sujuvat.", "Aamut sujuvat paremmin."}
    assert amendment["state"] == "final"
    assert {doc["finalised_by"], amendment["finalised_by"]} == {team.worker("a"), team.worker("b")}
    [item] = open_items(doc)
    assert item["kind"] == "finalised_twice" and item["path"] == ""
    assert {item["ours_by"], item["theirs_by"]} == {team.worker("a"), team.worker("b")}
    assert {json.loads(item["ours"]), json.loads(item["theirs"])} == {note, amendment["_id"]}


def acknowledge(team: Team, device: str, doc_id: str, by: str | None = None) -> None:
    """Acknowledge every open item, changing nothing else (not even the stamps)."""
    dev = team.devices[device]
    doc = dev.read(doc_id)
    for number, item in enumerate(doc["reconciliation"]):
        ack = {"id": f"{number + 1:032x}", "by": by or team.worker(device), "at": stamp()}
        item.setdefault("acknowledged", []).append(ack)
    assert dev.write(doc, team.case)["ok"]


def test_an_item_on_a_final_note_is_acknowledged_without_touching_the_note(team):
    note = finalised_twice(team)
    before = team.server_doc(note)
    assert team.org.site.reconciliation.open_items([team.case])
    acknowledge(team, "b", note)
    team.sync("b", "a", "a2")
    doc = team.everyone_sees(note)
    assert not open_items(doc)
    [item] = doc["reconciliation"]
    [ack] = item["acknowledged"]
    assert ack["by"] == team.worker("b")
    keep = lambda d: {k: v for k, v in d.items() if k not in ("reconciliation", "_rev")}  # noqa: E731
    assert keep(doc) == keep(before)  # content and stamps as finalised
    assert len(team.amendments(note)) == 1  # no new amendment for an acknowledgement
    assert team.org.site.reconciliation.open_items([team.case]) == []


def test_an_acknowledgement_in_another_workers_name_is_refused(team):
    note = finalised_twice(team)
    acknowledge(team, "b", note, by=team.worker("a"))
    [refused] = team.devices["b"].push().errors
    assert refused.error == "forbidden"
    assert "another worker" in refused.reason
    assert open_items(team.server_doc(note))


@pytest.mark.parametrize("first", ["deletion", "edit"])
def test_a_deletion_that_meets_an_edit_is_kept_with_an_item_naming_the_deleter(team, first):
    note = team.note("Tapasimme kotona.")
    team.delete("a", note)
    team.edit("b", note, discussion="Tapasimme kotona. Lisäys.")
    order = ("a", "b") if first == "deletion" else ("b", "a")
    team.push(*order)
    team.sync("a", "b", "a2")
    doc = team.everyone_sees(note)
    assert doc["discussion"] == "Tapasimme kotona. Lisäys."
    [item] = open_items(doc)
    assert item["kind"] == "deleted_edited" and item["path"] == ""
    deleter = "ours" if item["ours"] == "null" else "theirs"
    assert item[f"{deleter}_by"] == team.worker("a")
    other = "theirs" if deleter == "ours" else "ours"
    assert item[f"{other}_by"] == team.worker("b") and json.loads(item[other]) == note
    # Once taken in, the deletion is not reported again by later merges.
    team.edit("a", note, discussion=doc["discussion"] + " Aino jatkoi.")
    team.edit("b", note, client_view="Bertil lisäsi.")
    team.sync("a", "b", "a2")
    assert len(open_items(team.everyone_sees(note))) == 1


def test_a_deletion_through_the_gateway_answers_ok_with_the_new_revision(team):
    note = team.note("Poistetaan tämä.")
    token = team.devices["b"].state()["access_token"]
    url = f"{team.server}/sync/{team.worker('b')}"
    auth = {"Authorization": f"Bearer {token}"}
    rev = team.db().get(note)["_rev"]
    put = requests.put(f"{url}/{note}", json={"_rev": rev, "_deleted": True}, headers=auth)
    assert put.status_code == 201, put.text
    assert put.json()["ok"] is True and put.json()["rev"].startswith("2-")
    other = team.note("Tämäkin.", seed=9)
    rev = team.db().get(other)["_rev"]
    bulk = requests.post(
        f"{url}/_bulk_docs",
        json={"docs": [{"_id": other, "_rev": rev, "_deleted": True}]},
        headers=auth,
    )
    assert bulk.status_code == 201 and bulk.json()[0]["ok"] is True, bulk.text
    third = team.note("Ja tämä.", seed=10)
    rev = team.db().get(third)["_rev"]
    gone = requests.delete(f"{url}/{third}", params={"rev": rev}, headers=auth)
    assert gone.status_code == 200 and gone.json()["ok"] is True, gone.text
    for doc_id in (note, other, third):
        assert team.db().get(doc_id, open_revs="all")[0]["ok"]["_deleted"] is True
    tombstone_with_body = {"_id": note, "_rev": put.json()["rev"], "_deleted": True, "x": 1}
    refused = requests.post(
        f"{url}/_bulk_docs", json={"docs": [tombstone_with_body]}, headers=auth
    ).json()
    assert refused[0]["code"] == "bad_envelope"


def test_a_crowded_note_that_gains_collisions_merges_and_every_device_agrees(team):
    items = [
        {
            "id": f"{n:032x}",
            "path": "/client_view",
            "kind": "value",
            "ours": json.dumps(f"vanha {n}"),
            "ours_by": team.org.workers["aino"],
            "ours_at": "2026-11-01T10:00:00Z",
            "theirs": json.dumps(f"uusi {n}"),
            "theirs_by": team.org.workers["bertil"],
            "theirs_at": "2026-11-01T10:01:00Z",
        }
        for n in range(RECONCILIATION_LIMIT - 1)
    ]
    note = team.note("Yksi. Kaksi. Kolme.", reconciliation=copy.deepcopy(items))
    team.edit("a", note, discussion="Aino yksi. Aino kaksi. Kolme.", client_view="Aino.")
    team.edit("b", note, discussion="Bertil yksi. Bertil kaksi. Kolme.", client_view="Bertil.")
    team.sync("a", "b", "a2")  # no push errors: the merge fits
    doc = team.everyone_sees(note)
    text = json.dumps(doc, ensure_ascii=False)
    for words in ("Aino yksi", "Aino kaksi", "Bertil yksi", "Bertil kaksi", "Aino.", "Bertil."):
        assert words in text
    for item in items:
        assert item["id"] in text
    leaves = [x for x in team.db().get(note, open_revs="all") if not x["ok"].get("_deleted")]
    assert len(leaves) == 1
