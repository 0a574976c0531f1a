"""The store goes away mid-sync: `503 store_unavailable` with `Retry-After`, never 500,
and devices resume and converge with nothing lost or there twice.

The first test runs the server on a CouchDB-protocol store of its own (a private
pouchdb-server on disk), kills the store with SIGKILL while a Python device pushes and
pulls in a loop, and starts it again. The second makes the store fail right after a
push was stored, in the merge that push set off: the push is still answered as stored.
"""

from __future__ import annotations

import threading
import time

import pytest
import requests

from server.casework.merging import sweep
from server.site import Site
from server.tools import fieldwork
from sync.device import Device
from sync.store import Unavailable
from tests.support.devices import case_docs, enrolled_device, live_leaves
from tests.support.live_server import serving
from tests.support.org import make_org
from tests.support.restartable_pouchdb import RestartablePouchDB
from tests.support.site import new_keks

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


class OneShotDevice(Device):
    """A device whose requests are not retried: every 503 reaches its sync loop."""

    def remote(self):
        remote = super().remote()
        remote.retries = 0
        return remote


class FieldWork(threading.Thread):
    """Write a note and extend a running note, then sync; again and again until told
    to stop. Failed syncs are noted by the code the server answered."""

    def __init__(self, phone: Device, case_id: str, running: str):
        super().__init__(daemon=True)
        self.phone, self.case_id, self.running = phone, case_id, running
        self.notes: dict[str, int] = {}  # note id → round
        self.appended: list[str] = []
        self.failures: list[str] = []
        self.synced_rounds = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            n = len(self.notes) + 1
            self.notes[fieldwork.new_note(self.phone, self.case_id, f"Uusi {n}.")["_id"]] = n
            fieldwork.change(self.phone, self.running, _append(f"jatko-{n}"))
            self.appended.append(f"jatko-{n}.")
            try:
                self.phone.sync()
                self.synced_rounds += 1
            except Unavailable as exc:
                self.failures.append(getattr(exc, "body", {}).get("error", "no answer"))
            except Exception as exc:  # anything else is the finding
                self.failures.append(f"{type(exc).__name__}: {exc}")
            time.sleep(0.05)


def wait_for(condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_store_killed_mid_sync_answers_503_and_the_device_converges(tmp_path):
    couch = RestartablePouchDB(tmp_path / "couch")
    couch.start()
    site = Site.open(couch.url, tmp_path / "directory.sqlite3", new_keks())
    try:
        org = make_org(tmp_path, site)
        org.worker("aino")
        case_id = org.case("c", "aino", notes=2)
        with serving(org.app) as server:
            phone = enrolled_device(tmp_path, server, "aino", OneShotDevice)
            phone.pull()
            running = fieldwork.new_note(phone, case_id, "Alku.")["_id"]
            work = FieldWork(phone, case_id, running)
            work.start()
            wait_for(lambda: work.synced_rounds >= 3)

            couch.kill()
            during = _probe_while_down(server, phone, running)
            wait_for(lambda: len(work.failures) >= 2)
            couch.start()
            synced_before = work.synced_rounds
            wait_for(lambda: work.synced_rounds >= synced_before + 3)
            work.stop.set()
            work.join(timeout=60)
            for _ in range(5):  # the last edits, and the merges of none
                pushed, pulled = phone.sync()
                if not (pushed.docs_written or pulled.docs_written):
                    break

        for response in during:
            assert response.status_code == 503, response.text
            assert response.headers["Retry-After"] == "5"
            assert response.json()["error"] == "store_unavailable"
        assert work.failures and set(work.failures) == {"store_unavailable"}, work.failures

        db = site.store.database(f"case-{case_id}")
        on_server = {row["id"]: row["changes"][0]["rev"] for row in db.changes()["results"]}
        assert len(on_server) == 2 + 2 + len(work.notes) + 1  # each document once
        assert all(len(live_leaves(db, doc_id)) == 1 for doc_id in on_server)
        assert case_docs(phone) == on_server
        for doc_id, n in work.notes.items():  # every edit there, exactly once
            assert site.records.read(case_id, doc_id)["discussion"] == f"Uusi {n}."
        expected = " ".join(["Alku.", *work.appended])
        assert site.records.read(case_id, running)["discussion"] == expected
    finally:
        site.close()
        couch.stop()


def _probe_while_down(server: str, phone: Device, doc_id: str) -> list[requests.Response]:
    """What a device is answered while the store is down: a read and a write."""
    state = phone.state()
    url = f"{server}/sync/{state['worker_id']}"
    auth = {"Authorization": f"Bearer {state['access_token']}"}
    envelope = phone.db.get(doc_id, revs=True)
    return [
        requests.get(f"{url}/{doc_id}", headers=auth, timeout=30),
        requests.post(f"{url}/_bulk_get", json={"docs": [{"id": doc_id}]}, headers=auth,
                      timeout=30),
        requests.post(f"{url}/_bulk_docs", json={"docs": [envelope], "new_edits": False},
                      headers=auth, timeout=30),
    ]  # fmt: skip


def test_a_store_failing_in_the_merge_after_a_push_does_not_fail_the_push(
    org, server, tmp_path, monkeypatch
):
    org.worker("aino")
    org.worker("bertil")
    case_id = org.case("pair", "aino", "bertil")
    note_id = org.docs["pair"][-1]
    aino = enrolled_device(tmp_path, server, "aino")
    bertil = enrolled_device(tmp_path, server, "bertil")
    aino.pull(), bertil.pull()
    fieldwork.change(aino, note_id, _set("discussion", "Aino kirjoitti tämän."))
    fieldwork.change(bertil, note_id, _set("client_view", "Bertil skrev det här."))
    assert aino.push().errors == []

    resolver = org.app.extensions["sopu.gateway"].resolver

    def store_gone(*_args):
        raise Unavailable("the store went away during the merge")

    monkeypatch.setattr(resolver, "resolve", store_gone)
    pushed = bertil.push()  # stored; its merge meets the outage
    assert pushed.errors == [] and pushed.docs_written == 1
    db = org.site.store.database(f"case-{case_id}")
    assert len(live_leaves(db, note_id)) == 2  # both edits kept, as a conflict for now
    [failed] = org.site.audit.entries("merge.failed", case_id)
    assert failed.details == {"doc_id": note_id, "error": "Unavailable"}

    monkeypatch.undo()
    [merged] = sweep(org.site)  # the sweeper (or the next push of it) merges it
    assert merged.doc_id == note_id
    note = org.site.records.read(case_id, note_id)
    assert note["discussion"] == "Aino kirjoitti tämän."
    assert note["client_view"] == "Bertil skrev det här."


def _set(field: str, value: str):
    def update(doc: dict) -> None:
        doc[field] = value

    return update


def _append(marker: str):
    def update(doc: dict) -> None:
        doc["discussion"] = f"{doc['discussion']} {marker}."

    return update
