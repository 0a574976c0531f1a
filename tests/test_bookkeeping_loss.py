"""A device's replication checkpoints on the gateway (`PUT _local/…`) are committed
without waiting for the disk (`Directory.grouped(durable=False)`), so a power cut may
lose the last of them. That loses nothing else: the documents, the keys, the feed
cursors and the access log are committed durably, and a device whose checkpoint went
back starts that replication over from the last checkpoint both sides hold (or from
0), receiving and sending what it lacks once.

A power cut is simulated the way it would end: the checkpoints are put back as they
were at an earlier moment while every durable write since stays.
"""

from __future__ import annotations

import random

import pytest

from server.tools import fieldwork
from server.tools.demo_data import note_doc
from sync.cases import database_name
from tests.support.devices import case_docs, enrolled_device

pytestmark = pytest.mark.both_directories

BOOKKEEPING = ("sync_local",)


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
    """The checkpoints back as in `earlier`: the commits since are lost."""
    with directory.transaction() as con:
        for table, rows in earlier.items():
            con.execute(f"DELETE FROM {table}")
            for row in rows:
                columns = ", ".join(row)
                marks = ", ".join("?" * len(row))
                con.execute(
                    f"INSERT INTO {table} ({columns}) VALUES ({marks})", tuple(row.values())
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
