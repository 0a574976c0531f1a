"""Repairing the gateway's bookkeeping from the store (docs/adr/012-index-before-store.md).

Documents an older server stored without indexing them (it was killed between the two
writes), and writes in flight whose process is gone, are found and settled: by
`sopu merge sweep` for every case, and at start-up for the cases that had a write in
flight. Until then a write in flight already counts as a change for every reader.
"""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys

import requests

from server.directory.base import utcnow
from server.gateway import repair
from server.gateway.heads import owner
from server.keys.kek import write_new_key_file
from server.site import Site
from server.tools.demo_data import note_doc
from sync.crypto import seal
from sync.device import Device
from tests.support.cli import var_site
from tests.support.org import PASSWORD, make_org

FAST = 2**10  # scrypt cost for test devices


def phone(tmp_path, name: str, server: str) -> Device:
    device = Device(tmp_path / name, passphrase="2468", scrypt_n=FAST)
    device.enrol(server, "aino", PASSWORD, label=name)
    return device


def ghost(site: Site, case_id: str, worker: str, seed: int) -> str:
    """A note stored in the case database behind the gateway's back, as a server killed
    between its store write and its directory write left 39 of them."""
    note = note_doc(random.Random(seed), case_id, worker)
    envelope = seal(note, site.keys.current(case_id))
    [result] = site.store.database(f"case-{case_id}").bulk_docs([envelope])
    assert result["ok"]
    return note["_id"]


def in_flight(site: Site, case_id: str, owner: str) -> None:
    with site.directory.transaction() as con:
        con.execute(
            "INSERT INTO case_writes (case_id, owner, started_at) VALUES (?, ?, ?)",
            (case_id, owner, utcnow()),
        )


def _pid_of_finished() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def get(server: str, device: Device, doc_id: str) -> int:
    state = device.state()
    return requests.get(
        f"{server}/sync/{state['worker_id']}/{doc_id}",
        headers={"Authorization": f"Bearer {state['access_token']}"},
        timeout=10,
    ).status_code


def test_the_sweeper_indexes_ghosts_and_devices_then_get_them(org, server, tmp_path):
    worker = org.worker("aino")
    case_id = org.case("c", "aino")
    device = phone(tmp_path, "a", server)
    device.pull()
    lost = ghost(org.site, case_id, worker, seed=3)
    assert get(server, device, lost) == 404  # what the field saw
    device.pull()
    assert lost not in {d["_id"] for d in device.documents()}

    done = repair.everything(org.site)
    assert (done.documents, done.settled) == (1, 0)
    assert get(server, device, lost) == 200
    device.pull()
    assert lost in {d["_id"] for d in device.documents()}
    assert repair.everything(org.site).documents == 0  # nothing left to do


def test_a_write_in_flight_of_a_dead_process_is_seen_then_settled(org, server, tmp_path):
    worker = org.worker("aino")
    case_id = org.case("c", "aino")
    device = phone(tmp_path, "a", server)
    device.pull()
    # The store write committed, the head never moved, the process is gone.
    note_id = os.urandom(16).hex()
    with org.site.directory.transaction() as con:  # indexed before the store write
        con.execute("INSERT INTO doc_index (doc_id, case_id) VALUES (?, ?)", (note_id, case_id))
    _write_with_id(org.site, case_id, worker, note_id)
    in_flight(org.site, case_id, f"{socket.gethostname()}:{_pid_of_finished()}")
    in_flight(org.site, case_id, owner())  # a write of this very process: still running

    device.pull()  # before any repair: the case counts as changed
    assert note_id in {d["_id"] for d in device.documents()}

    done = repair.interrupted(org.site)
    assert done.settled == 1
    [row] = org.site.directory.query("SELECT owner FROM case_writes")
    assert row["owner"] == owner()  # a live writer's row is left alone
    assert repair.interrupted(org.site, at_start_up=True).settled == 1  # a past life's
    assert org.site.directory.query("SELECT * FROM case_writes") == []
    assert device.pull().docs_read == 0  # settled: nothing new, nothing read again


def _write_with_id(site: Site, case_id: str, worker: str, doc_id: str) -> None:
    note = note_doc(random.Random(4), case_id, worker) | {"_id": doc_id}
    [result] = site.store.database(f"case-{case_id}").bulk_docs(
        [seal(note, site.keys.current(case_id))]
    )
    assert result["ok"]


def test_sopu_merge_sweep_reports_what_it_repaired(tmp_path):
    var = tmp_path / "var"
    var.mkdir()
    write_new_key_file(var / "kek.key")
    site = var_site(tmp_path)
    org = make_org(tmp_path, site)
    worker = org.worker("aino")
    case_id = org.case("c", "aino")
    lost = [ghost(site, case_id, worker, seed) for seed in (1, 2)]
    site.close()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPU_")}
    done = subprocess.run(
        [sys.executable, "-m", "server", "merge", "sweep"],
        env={**env, "SOPU_DATA_DIR": str(var)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "indexed 2 documents missing from the index" in done.stdout
    site = var_site(tmp_path)
    try:
        assert site.heads.case_of(lost) == dict.fromkeys(lost, case_id)
    finally:
        site.close()
