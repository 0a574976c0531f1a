"""A full disk under the embedded store: a clear `507 insufficient_storage`, nothing
acknowledged lost, nothing half-stored, and writes work again once there is room.

The disk is simulated with the store's own size limit (`SQLiteStore.max_size`, SQLite's
`max_page_count`), which fails a write exactly as a full filesystem does (SQLITE_FULL).
"""

from __future__ import annotations

import random

import pytest
import requests

from server.tools import fieldwork
from sync.device import Device
from sync.store import InsufficientStorage
from tests.support.devices import case_docs
from tests.support.org import PASSWORD

FAST = 2**10  # scrypt cost for test devices
NOTES = 8
LONG = "Perhe kertoi viikon kulusta ja sovituista asioista. " * 300  # ~15 000 characters


def device(tmp_path, name: str, server: str) -> Device:
    phone = Device(tmp_path / name, passphrase="2468", scrypt_n=FAST)
    phone.enrol(server, "aino", PASSWORD, label=name)
    return phone


def fill_up(store) -> None:
    """Let the store grow no further than it is now."""
    con = store.connection()
    (pages,) = con.execute("PRAGMA page_count").fetchone()
    (page_size,) = con.execute("PRAGMA page_size").fetchone()
    store.max_size = pages * page_size


@pytest.fixture
def case_id(org):
    org.worker("aino")
    return org.case("c", "aino", notes=2)


def test_a_full_disk_is_a_clear_507_and_writes_resume_when_there_is_room(
    org, server, case_id, tmp_path
):
    writer, reader = device(tmp_path, "a", server), device(tmp_path, "b", server)
    writer.pull(), reader.pull()
    rng = random.Random(5)
    notes = {
        fieldwork.new_note(writer, case_id, f"{n}: {LONG[: 14_000 + rng.randrange(900)]}")["_id"]: n
        for n in range(NOTES)
    }
    store = org.site.store
    fill_up(store)

    with pytest.raises(InsufficientStorage):
        writer.push()
    state = writer.state()
    answer = requests.post(
        f"{server}/sync/{state['worker_id']}/_bulk_docs",
        json={"docs": [writer.db.get(next(iter(notes)), revs=True)], "new_edits": False},
        headers={"Authorization": f"Bearer {state['access_token']}"},
        timeout=30,
    )
    assert answer.status_code == 507
    assert answer.json()["error"] == "insufficient_storage"
    assert answer.headers["Retry-After"] == "60"
    # Nothing of the refused writes is on the server, and reading still works.
    db = store.database(f"case-{case_id}")
    assert db.all_docs(keys=list(notes))["rows"] == [
        {"key": doc_id, "error": "not_found"} for doc_id in notes
    ]
    assert reader.pull().errors == []
    assert set(case_docs(reader)) & set(notes) == set()
    # Still on the device, waiting.
    assert {d["_id"] for d in writer.documents()} >= set(notes)

    store.max_size = None  # space returns
    assert writer.push().errors == []
    assert reader.pull().errors == []
    writer.pull()
    assert case_docs(reader) == case_docs(writer)
    for doc_id, n in notes.items():
        assert org.site.records.read(case_id, doc_id)["discussion"].startswith(f"{n}: Perhe")
    assert org.site.directory.query("SELECT * FROM case_writes") == []


def test_a_store_write_refused_for_space_keeps_nothing_of_the_batch(tmp_path):
    """The store itself: the whole batch or nothing, and the connection stays usable."""
    from sync.store.sqlite import SQLiteStore

    store = SQLiteStore(tmp_path / "store")
    db = store.create_database("case-full")
    fill_up(store)
    batch = [{"_id": f"doc{i:03d}", "text": LONG} for i in range(20)]
    with pytest.raises(InsufficientStorage):
        db.bulk_docs(batch)
    assert db.info()["doc_count"] == 0 and db.changes()["results"] == []
    store.max_size = None
    assert all(r.get("ok") for r in db.bulk_docs(batch))
    assert db.info()["doc_count"] == 20
    store.close()
