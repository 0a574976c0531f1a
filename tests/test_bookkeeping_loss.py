"""A device's replication checkpoints on the gateway (`PUT _local/…`) and the feed's
cursors are committed without waiting for the disk (`Directory.grouped(durable=False)`),
so a power cut may lose the last of them. That loses nothing else: the documents, the
keys and the access log are committed durably; a device whose checkpoint went back
starts that replication over from the last checkpoint both sides hold (or from 0),
receiving and sending what it lacks once; and a token of a lost cursor starts the feed
over, even once the database has handed the lost cursor's id out again.

A power cut is simulated the way it would end: the bookkeeping is put back as it was
at an earlier moment while every durable write since stays, and the directory's next
cursor id is the one after the last it kept.
"""

from __future__ import annotations

import random

import pytest

from server.tools import fieldwork
from server.tools.demo_data import note_doc
from sync.cases import database_name
from tests.support.devices import case_docs, device_session, enrolled_device

pytestmark = pytest.mark.both_directories

BOOKKEEPING = ("sync_local", "sync_cursors")


@pytest.fixture
def org(org):
    org.worker("aino")
    org.case("own", "aino", notes=2)
    return org


def snapshot(directory) -> dict[str, list[dict]]:
    return {
        table: [dict(row) for row in directory.query(f"SELECT * FROM {table}")]
        for table in BOOKKEEPING
    }


def power_cut(directory, earlier: dict[str, list[dict]]) -> None:
    """The bookkeeping back as in `earlier`: the commits since are lost."""
    with directory.transaction() as con:
        for table, rows in earlier.items():
            con.execute(f"DELETE FROM {table}")
            for row in rows:
                columns = ", ".join(row)
                marks = ", ".join("?" * len(row))
                con.execute(
                    f"INSERT INTO {table} ({columns}) VALUES ({marks})", tuple(row.values())
                )
        if directory.dialect == "postgresql":  # its sequence went back with the commits
            con.execute(
                "SELECT setval(pg_get_serial_sequence('sync_cursors', 'id'),"
                " (SELECT COALESCE(MAX(id), 0) + 1 FROM sync_cursors), false)"
            )


def test_losing_the_last_checkpoints_loses_no_document(org, server, tmp_path):
    case = org.cases["own"]
    aino = enrolled_device(tmp_path, server, "aino")
    aino.sync()
    before = snapshot(org.site.directory)
    assert before["sync_local"]

    # Work after that moment: a note from the office side and one from the phone.
    office = note_doc(random.Random(7), case, org.workers["aino"])
    assert org.site.records.write(case, [office])[0]["ok"]
    phone_note = fieldwork.new_note(aino, case, "Puhelimelta.")["_id"]
    aino.sync()
    after = snapshot(org.site.directory)
    assert after != before  # the sync moved the checkpoints on

    power_cut(org.site.directory, before)
    pulled, pushed = aino.sync()
    assert pulled.errors == [] and pushed.errors == []
    stored = org.site.store.database(database_name(case)).all_docs()["rows"]
    # every document, at the server's revision, on the phone, the office's note too
    assert case_docs(aino) == {row["id"]: row["value"]["rev"] for row in stored}
    assert aino.read(office["_id"])["discussion"] == office["discussion"]
    assert org.site.records.read(case, phone_note)["discussion"] == "Puhelimelta."
    again_pulled, again_pushed = aino.sync()
    assert again_pulled.docs_written == 0 and again_pushed.docs_written == 0


def test_a_lost_cursors_token_is_not_taken_for_the_cursor_that_reuses_its_id(org, server):
    """The device read a note at its first revision and holds the token of that answer.
    The power cut loses the answer's cursor; the note is edited; a feed from the
    device's earlier token makes a new cursor, which gets the lost one's id. The lost
    token must not resolve to the new cursor's position (that lies past the edit, and
    the device would never receive it): the feed starts over and brings the edit."""
    case = org.cases["own"]
    phone, _ = device_session(server, "aino")
    changes = f"{server}/sync/{org.workers['aino']}/_changes"
    first = phone.get(changes).json()["last_seq"]
    note = note_doc(random.Random(3), case, org.workers["aino"])
    org.site.records.write(case, [note])
    before = snapshot(org.site.directory)
    read = phone.get(changes, params={"since": first}).json()
    assert [r["id"] for r in read["results"]] == [note["_id"]]
    held = read["last_seq"]

    power_cut(org.site.directory, before)
    edited = org.site.records.read(case, note["_id"]) | {"discussion": "Korjattu."}
    assert org.site.records.write(case, [edited])[0]["ok"]
    again = phone.get(changes, params={"since": first}).json()
    assert again["last_seq"].split("-")[0] == held.split("-")[0]  # the id, handed out again

    answer = phone.get(changes, params={"since": held})
    assert answer.status_code == 200, answer.text
    revs = {r["id"]: r["changes"][0]["rev"] for r in answer.json()["results"]}
    assert revs.get(note["_id"], "").startswith("2-"), revs
