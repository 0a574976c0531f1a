"""`sopu backup` while the server runs, `sopu restore`, and the drill: devices that
synced before the backup keep syncing against the restored server and push what it
lost (what they wrote, or pushed, after the backup), and nothing is lost.

Real parts throughout: `sopu serve` in a child process, the `sopu` command in another,
the Python device over HTTP.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import threading

import pytest
import requests

from server.keys.kek import load_keks, write_new_key_file
from server.site import Site
from server.tools.demo_data import note_doc
from sync.device import Device
from tests.support.org import PASSWORD, make_org
from tests.support.server_process import REPO_ROOT, ServerProcess

pytestmark = pytest.mark.slow
FAST = 2**10


@pytest.fixture
def site_dirs(tmp_path):
    """A data directory with one worker and one case, the KEK on another "disk"."""
    var, etc = tmp_path / "var", tmp_path / "etc"
    var.mkdir()
    etc.mkdir()
    write_new_key_file(etc / "kek.key")
    site = open_site(var, etc)
    org = make_org(tmp_path, site)
    org.worker("aino")
    org.case("c", "aino", notes=2)
    site.close()
    return var, etc


def open_site(var, etc) -> Site:
    return Site.open(
        f"sqlite:///{var / 'store'}", var / "directory.sqlite3", load_keks(etc / "kek.key")
    )


def sopu(var, etc, *args) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPU_")}
    env |= {
        "SOPU_DATA_DIR": str(var),
        "SOPU_KEK_FILE": str(etc / "kek.key"),
        "PYTHONPATH": str(REPO_ROOT),
    }
    return subprocess.run(
        [sys.executable, "-m", "server", *args],
        env=env,
        cwd=var.parent,
        capture_output=True,
        text=True,
        timeout=120,
    )


def phone(tmp_path, name: str, url: str) -> Device:
    device = Device(tmp_path / name, passphrase="2468", scrypt_n=FAST)
    device.enrol(url, "aino", PASSWORD, label=name)
    return device


def write_note(device: Device, case_id: str, seed: int, words: str) -> str:
    note = note_doc(random.Random(seed), case_id, device.state()["worker_id"])
    note["discussion"] = words
    assert device.write(note, case_id)["ok"]
    return note["_id"]


def held(device: Device) -> dict[str, str]:
    rows = device.db.all_docs(include_docs=True)["rows"]
    return {r["id"]: r["value"]["rev"] for r in rows if r["doc"].get("type") != "keyring"}


def changes(url: str, device: Device, since) -> dict:
    auth = {"Authorization": f"Bearer {device.state()['access_token']}"}
    answer = requests.get(
        f"{url}/sync/{device.state()['worker_id']}/_changes",
        params={"since": since},
        headers=auth,
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_the_drill_restore_into_a_fresh_data_dir_and_nothing_is_lost(site_dirs, tmp_path):
    var, etc = site_dirs
    server = ServerProcess(var, SOPU_KEK_FILE=str(etc / "kek.key"))
    server.start()
    try:
        a, b = phone(tmp_path, "a", server.url), phone(tmp_path, "b", server.url)
        a.pull()
        [case_id] = a.keyrings()
        before = write_note(a, case_id, 1, "Ennen varmuuskopiota.")
        a.sync(), b.sync()

        backed_up = sopu(var, etc, "backup", str(tmp_path / "backup"))
        assert backed_up.returncode == 0, backed_up.stderr
        assert "NOT copied: the KEK" in backed_up.stdout

        # After the backup: a pushes a note (the restore will lose it on the server),
        # b pulls it, and a writes one more offline.
        pushed_after = write_note(a, case_id, 2, "Varmuuskopion jälkeen, synkronoitu.")
        a.sync(), b.sync()
        assert pushed_after in held(b)
        ahead = changes(server.url, a, 0)["last_seq"]  # a feed position the backup lacks
        offline = write_note(a, case_id, 3, "Kirjoitettu offline ennen palautusta.")
    finally:
        server.stop()

    # The disk is gone: restore into a fresh data directory, same KEK, same address.
    fresh = tmp_path / "fresh"
    restored = sopu(fresh, etc, "restore", str(tmp_path / "backup"))
    assert restored.returncode == 0, restored.stderr
    site = open_site(fresh, etc)
    try:
        lost = site.heads.case_of([pushed_after])
        assert lost == {}  # the restored server really went back in time
    finally:
        site.close()

    server = ServerProcess(fresh, port=server.port, SOPU_KEK_FILE=str(etc / "kek.key"))
    server.start()
    try:
        # A since token the restored server never issued is a full resync, never an
        # empty answer that would make the device skip what changed.
        again = changes(server.url, a, ahead)
        assert {row["id"] for row in again["results"]} >= {before}
        assert int(again["last_seq"].split("-")[0]) > int(ahead.split("-")[0])

        pushed_a, pulled_a = a.sync()
        assert pushed_a.errors == [] and pulled_a.errors == []
        b.sync()
        a.sync()
        c = phone(tmp_path, "c", server.url)  # a phone enrolled after the restore
        c.pull()
        for device in (a, b, c):
            assert {before, pushed_after, offline} <= set(held(device))
        assert held(a) == held(b) == held(c)
        assert c.read(offline)["discussion"] == "Kirjoitettu offline ennen palautusta."
        assert c.read(pushed_after)["discussion"] == "Varmuuskopion jälkeen, synkronoitu."
    finally:
        server.stop()


def test_backup_while_devices_push_is_consistent_and_holds_no_key(site_dirs, tmp_path):
    var, etc = site_dirs
    server = ServerProcess(var, SOPU_KEK_FILE=str(etc / "kek.key"))
    server.start()
    written: list[str] = []
    try:
        a = phone(tmp_path, "a", server.url)
        a.pull()
        [case_id] = a.keyrings()
        stop = threading.Event()

        def field_work():
            seed = 100
            while not stop.is_set():
                written.append(write_note(a, case_id, seed, f"Muistiinpano {seed}."))
                a.push()
                seed += 1

        worker = threading.Thread(target=field_work)
        worker.start()
        try:
            backups = [sopu(var, etc, "backup", str(tmp_path / f"b{n}")) for n in range(2)]
        finally:
            stop.set()
            worker.join(timeout=60)
        for result in backups:
            assert result.returncode == 0, result.stderr
    finally:
        server.stop()
    assert len(written) >= 2
    kek = (etc / "kek.key").read_bytes().strip()
    for n in range(2):
        folder = tmp_path / f"b{n}"
        manifest = json.loads((folder / "manifest.json").read_text())
        assert manifest["not_included"] == ["kek", "session.key"]
        assert sorted(p.name for p in folder.rglob("*") if p.is_file()) == [
            "directory.sqlite3",
            "manifest.json",
            "sopu.sqlite3",
        ]
        for path in folder.rglob("*.sqlite3"):
            assert kek not in path.read_bytes()
        # Every document the directory copy indexes is in the store copy.
        restored = tmp_path / f"r{n}"
        assert sopu(restored, etc, "restore", str(folder)).returncode == 0
        site = open_site(restored, etc)
        try:
            indexed = [
                row["doc_id"]
                for row in site.directory.query(
                    "SELECT doc_id FROM doc_index WHERE case_id = ?", (case_id,)
                )
            ]
            docs = site.store.database(f"case-{case_id}").all_docs()["rows"]
            assert set(indexed) == {row["id"] for row in docs}
        finally:
            site.close()


def test_restore_refuses_to_overwrite_unless_told_and_keeps_the_old_files(site_dirs, tmp_path):
    var, etc = site_dirs
    first = sopu(var, etc, "backup", str(tmp_path / "bk"))
    assert first.returncode == 0 and "WARNING" not in first.stdout  # the KEK is in etc/
    refused = sopu(var, etc, "restore", str(tmp_path / "bk"))
    assert refused.returncode != 0 and "--replace" in refused.stderr
    again = sopu(var, etc, "backup", str(tmp_path / "bk"))
    assert again.returncode != 0 and "not empty" in again.stderr

    replaced = sopu(var, etc, "restore", "--replace", str(tmp_path / "bk"))
    assert replaced.returncode == 0, replaced.stderr
    assert "moved aside" in replaced.stdout
    assert list(var.glob("directory.sqlite3.before-restore-*"))

    (tmp_path / "bk" / "store" / "sopu.sqlite3").write_bytes(b"damaged")
    damaged = sopu(tmp_path / "other", etc, "restore", str(tmp_path / "bk"))
    assert damaged.returncode != 0 and "damaged" in damaged.stderr


def test_restore_names_a_missing_kek(site_dirs, tmp_path):
    var, etc = site_dirs
    assert sopu(var, etc, "backup", str(tmp_path / "bk")).returncode == 0
    other = tmp_path / "other-etc"
    other.mkdir()
    write_new_key_file(other / "kek.key")
    result = sopu(tmp_path / "fresh", other, "restore", str(tmp_path / "bk"))
    assert result.returncode != 0 and "lacks KEK" in result.stderr


def test_a_device_whose_token_rotated_after_the_backup_logs_in_again_and_loses_nothing(
    site_dirs, tmp_path
):
    """Tokens are stored only as hashes, so the restored directory does not know a pair
    issued after the backup: the device is told `unauthenticated` (never `wipe`), its
    worker logs in on it again, and it pushes what the server lost."""
    var, etc = site_dirs
    server = ServerProcess(var, SOPU_KEK_FILE=str(etc / "kek.key"))
    server.start()
    try:
        a = phone(tmp_path, "a", server.url)
        a.pull()
        [case_id] = a.keyrings()
        assert sopu(var, etc, "backup", str(tmp_path / "bk")).returncode == 0
        a.refresh_token()  # a new pair the backup does not hold
        pushed_after = write_note(a, case_id, 5, "Kierrätetyn avaimen jälkeen.")
        a.sync()
    finally:
        server.stop()
    assert sopu(tmp_path / "fresh", etc, "restore", str(tmp_path / "bk")).returncode == 0
    server = ServerProcess(tmp_path / "fresh", port=server.port, SOPU_KEK_FILE=str(etc / "kek.key"))
    server.start()
    try:
        auth = {"Authorization": f"Bearer {a.state()['access_token']}"}
        refused = requests.get(
            f"{server.url}/sync/{a.state()['worker_id']}", headers=auth, timeout=10
        )
        assert refused.status_code == 401 and "wipe" not in refused.json()
        assert pushed_after in held(a)  # still on the phone
        a.enrol(server.url, "aino", PASSWORD, label="a again")
        pushed, pulled = a.sync()
        # Only the keyring sealed to the phone's previous enrolment is refused (the
        # server writes keyrings); every client document went through.
        assert {e.reason for e in pushed.errors} <= {"keyrings are written by the server only"}
        assert pulled.errors == []
        c = phone(tmp_path, "c", server.url)
        c.pull()
        assert c.read(pushed_after)["discussion"] == "Kierrätetyn avaimen jälkeen."
    finally:
        server.stop()


def test_backup_warns_when_the_kek_is_on_the_data_disk(site_dirs, tmp_path):
    var, etc = site_dirs
    (var / "kek.key").write_bytes((etc / "kek.key").read_bytes())
    result = sopu(var, var, "backup", str(tmp_path / "bk"))
    assert result.returncode == 0
    assert "WARNING: the KEK" in result.stdout and "on the data disk" in result.stdout
    assert not (tmp_path / "bk" / "kek.key").exists()


@pytest.mark.skipif(
    shutil.which("node") is None or not (REPO_ROOT / "node_modules" / "pouchdb").is_dir(),
    reason="needs node and node_modules/pouchdb (npm ci --ignore-scripts)",
)
def test_the_drill_with_an_unmodified_pouchdb_phone(site_dirs, tmp_path):
    """PouchDB's own checkpointer (both sides' `_local` documents) finds the position
    the restored server knows, and pushes again what the restore lost."""
    from tests.test_gateway_pouchdb import phone as pouch_phone

    var, etc = site_dirs
    server = ServerProcess(var, SOPU_KEK_FILE=str(etc / "kek.key"))
    server.start()
    notes = {}
    try:
        aino = pouch_phone(tmp_path, server.url, "aino")
        pulled, keys = aino.pull_with_keys()
        assert pulled["ok"]
        [case_id] = keys.rings
        worker = aino.state["worker_id"]

        def write(label: str, seed: int) -> None:
            note = note_doc(random.Random(seed), case_id, worker) | {"discussion": label}
            assert aino.do("seal", doc=note, key=keys.current(case_id), put=True)["put"]["ok"]
            notes[label] = note["_id"]

        write("ennen varmuuskopiota", 1)
        assert aino.push()["errors"] == []
        assert sopu(var, etc, "backup", str(tmp_path / "bk")).returncode == 0
        write("varmuuskopion jälkeen, synkronoitu", 2)
        assert aino.push()["errors"] == [] and aino.pull()["ok"]
        write("offline ennen palautusta", 3)
    finally:
        server.stop()
    assert sopu(tmp_path / "fresh", etc, "restore", str(tmp_path / "bk")).returncode == 0
    server = ServerProcess(tmp_path / "fresh", port=server.port, SOPU_KEK_FILE=str(etc / "kek.key"))
    server.start()
    try:
        pushed = aino.push()
        assert pushed["ok"] and pushed["errors"] == [] and pushed["denied"] == [], pushed
        assert aino.pull()["ok"]
        other = phone(tmp_path, "python", server.url)
        other.pull()
        for label, doc_id in notes.items():
            assert other.read(doc_id)["discussion"] == label
    finally:
        server.stop()
