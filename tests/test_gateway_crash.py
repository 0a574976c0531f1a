"""A server killed between the store write and the directory write of a push loses
nothing and leaves no ghost (docs/adr/012-index-before-store.md).

The real server runs in a child process (`sopu serve`) with the fault-injection hook
`SOPU_TEST_CRASH_AFTER` set, so it SIGKILLs itself in the middle of a push: after the
documents are indexed but before the store write (`index_write`), or after the store
write but before the case's head moves (`store_write`) — where gunicorn workers killed
during pushes used to leave documents GET and `_bulk_get` could not find and other
devices never saw. Then it is started again and two devices of the worker converge.
"""

from __future__ import annotations

import random
import signal

import pytest
import requests

from server.keys.kek import load_keks, write_new_key_file
from server.site import Site
from server.tools.demo_data import note_doc
from sync.device import Device
from sync.store import NotFound, Unavailable
from tests.support.org import PASSWORD, make_org
from tests.support.server_process import ServerProcess

pytestmark = pytest.mark.slow
FAST = 2**10  # scrypt cost for test devices
NOTES = 5


def open_site(var) -> Site:
    return Site.open(
        f"sqlite:///{var / 'store'}", var / "directory.sqlite3", load_keks(var / "kek.key")
    )


@pytest.fixture
def var(tmp_path):
    """A data directory with one worker and one case of hers, as `sopu serve` opens it."""
    var = tmp_path / "var"
    var.mkdir()
    write_new_key_file(var / "kek.key")
    site = open_site(var)
    org = make_org(tmp_path, site)
    org.worker("aino")
    org.case("c", "aino", notes=2)
    site.close()
    return var


def phone(tmp_path, name: str, server: str) -> Device:
    device = Device(tmp_path / name, passphrase="2468", scrypt_n=FAST)
    device.enrol(server, "aino", PASSWORD, label=name)
    return device


def write_notes(device: Device, case_id: str, seed: int) -> list[str]:
    rng = random.Random(seed)
    worker = device.state()["worker_id"]
    ids = []
    for n in range(NOTES):
        note = note_doc(rng, case_id, worker) | {"discussion": text(n)}
        assert device.write(note, case_id)["ok"]
        ids.append(note["_id"])
    return ids


def text(n: int) -> str:
    return f"Muistiinpano {n} ennen kaatumista."


def held(device: Device) -> dict[str, str]:
    """doc id -> winning rev of every case document on the device (keyrings are each
    device's own)."""
    rows = device.db.all_docs(include_docs=True)["rows"]
    return {r["id"]: r["value"]["rev"] for r in rows if r["doc"].get("type") != "keyring"}


@pytest.mark.parametrize("point", ["store_write", "index_write"])
def test_a_kill_between_store_and_directory_leaves_no_ghost(var, tmp_path, point):
    server = ServerProcess(var)
    server.start(SOPU_TEST_CRASH_AFTER=point)
    try:
        pusher, other = phone(tmp_path, "a", server.url), phone(tmp_path, "b", server.url)
        pusher.pull(), other.pull()
        [case_id] = pusher.keyrings()
        notes = write_notes(pusher, case_id, seed=7)

        with pytest.raises(Unavailable):
            pusher.push()  # the server dies in the middle of it
        assert server.wait_exit() == -signal.SIGKILL

        site = open_site(var)
        try:
            in_store = [_stored(site, case_id, doc_id) for doc_id in notes]
        finally:
            site.close()
        assert all(in_store) if point == "store_write" else not any(in_store)

        server.start()  # no crash this time; the start-up repair runs
        token = pusher.state()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        sync_url = f"{server.url}/sync/{pusher.state()['worker_id']}"
        got = requests.get(f"{sync_url}/{notes[0]}", headers=auth, timeout=10)
        bulk = requests.post(
            f"{sync_url}/_bulk_get",
            headers=auth,
            timeout=10,
            json={"docs": [{"id": doc_id} for doc_id in notes]},
        )
        if point == "store_write":
            # Stored before the kill: found at once, and another device gets it.
            assert got.status_code == 200 and got.json()["_id"] == notes[0]
            assert all("ok" in r["docs"][0] for r in bulk.json()["results"]), bulk.json()
            other.pull()
            assert set(notes) <= set(held(other))
        else:
            # Never stored: missing, not an error, until the device pushes again.
            assert got.status_code == 404 and got.json()["error"] == "not_found"

        pushed = pusher.push()
        assert pushed.errors == []
        pusher.pull(), other.pull()
        assert held(pusher) == held(other)
        texts = {d["_id"]: d["discussion"] for d in other.documents() if d["_id"] in notes}
        assert texts == {doc_id: text(n) for n, doc_id in enumerate(notes)}

        site = open_site(var)
        try:
            db = site.store.database(f"case-{case_id}")
            changes = db.changes(style="all_docs")["results"]
            assert len(changes) == 2 + 2 + NOTES  # family, case, notes: each once
            assert all(len(row["changes"]) == 1 for row in changes)  # no conflicts
            assert site.directory.query("SELECT * FROM case_writes") == []  # all settled
        finally:
            site.close()
    finally:
        server.stop()


def _stored(site: Site, case_id: str, doc_id: str) -> bool:
    try:
        site.records.read(case_id, doc_id)
    except NotFound:
        return False
    return True
