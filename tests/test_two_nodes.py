"""Two stateless gateway nodes on one PostgreSQL directory and one CouchDB-protocol
store (docs/adr/016-directory-on-postgresql.md): two gunicorn masters with the
production settings (gunicorn.conf.py at the repository root, which gunicorn reads
from its working directory), and devices whose every request goes to a node picked at
random (`tests.support.random_nodes`).

Aino's Python reference device and Bertil's unmodified PouchDB do pair work on one
note with conflicting offline edits. Afterwards every edit is present, the replicas
are identical, both nodes served both devices, and the access log — appended by both
nodes at once — is complete and its chain verifies. A conflict that both nodes merge
at the same moment gives one merge revision, whichever node wrote it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from server.casework.merging import Resolver
from server.keys.kek import load_keks, new_kek_line
from server.log_verification import LogVerification
from server.site import Site
from sync.cases import database_name
from tests.support.devices import enrolled_device, live_leaves
from tests.support.org import Org, make_org
from tests.support.pouchdb_server import free_port
from tests.support.random_nodes import RandomNodes
from tests.test_gateway_pouchdb import phone
from tests.test_merge_sweep import branch

ROOT = Path(__file__).resolve().parents[1]
GUNICORN = Path(sys.executable).with_name("gunicorn")


class Node:
    """One gateway node: a gunicorn master with two workers of four threads."""

    def __init__(self, home: Path, env: dict[str, str]):
        home.mkdir()
        self.home, self.port = home, free_port()
        self.log = home / "node.log"
        full = {k: v for k, v in os.environ.items() if not k.startswith("SOPU_")}
        full.update(env, SOPU_DATA_DIR=str(home), SOPU_BIND=f"127.0.0.1:{self.port}")
        full.update(SOPU_WORKERS="2", SOPU_THREADS="4", PROMETHEUS_MULTIPROC_DIR=str(home))
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                [str(GUNICORN), "server.app:create_app()"],
                cwd=ROOT, env=full, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log.read_text()[-3000:]
            try:
                if requests.get(f"{self.url}/readyz", timeout=2).ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise AssertionError(f"node on {self.port} not ready: {self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@dataclass
class Cluster:
    org: Org
    nodes: list[Node]
    balancer: RandomNodes
    store_url: str
    directory_url: str


@pytest.fixture
def cluster(tmp_path, postgres_database, pouchdb_server_url):
    """An organisation (Aino and Bertil share a case) on the shared directory and
    store, served by two nodes behind a random balancer."""
    kek = tmp_path / "kek.key"
    kek.write_text(new_kek_line() + "\n")
    kek.chmod(0o600)
    site = Site.open(pouchdb_server_url, postgres_database, load_keks(kek))
    org = make_org(tmp_path, site)
    org.worker("aino")
    org.worker("bertil")
    org.case("pair", "aino", "bertil", notes=2)
    env = {
        "SOPU_DIRECTORY": postgres_database,
        "SOPU_STORE_URL": pouchdb_server_url,
        "SOPU_KEK_FILE": str(kek),
        "SOPU_SECRET_KEY": "one secret for every node",
    }
    nodes = [Node(tmp_path / f"node-{n}", env) for n in (1, 2)]
    try:
        for node in nodes:
            node.wait_ready()
        with RandomNodes([node.url for node in nodes], seed=14) as balancer:
            yield Cluster(org, nodes, balancer, pouchdb_server_url, postgres_database)
    finally:
        for node in nodes:
            node.stop()
        site.close()


def test_pair_work_through_two_nodes_loses_nothing_and_the_logs_verify(cluster, tmp_path):
    org, nodes, balancer = cluster.org, cluster.nodes, cluster.balancer
    case, note_id = org.cases["pair"], org.docs["pair"][-1]
    aino = enrolled_device(tmp_path, balancer.url, "aino")
    bertil = phone(tmp_path, balancer.url, "bertil")
    aino.sync()
    pulled, keys = bertil.pull_with_keys()
    assert pulled["ok"] and keys.rings, pulled

    # Offline, both change the same note: Aino its discussion, Bertil the client's view.
    note = aino.read(note_id)
    assert aino.write({**note, "discussion": "Aino: isä tuli mukaan."}, case)["ok"]
    edit = bertil.do(
        "edit",
        id=note_id,
        changes={"client_view": "Bertil: äiti kokee arjen sujuvan."},
        key=keys.current(case),
    )
    assert edit["ok"], edit
    for _ in range(2):  # each meets the other's edit once, through whichever node
        assert all(result.errors == [] for result in aino.sync())
        synced = bertil.do("sync")
        assert synced["ok"] and synced["denied"] == [], synced

    on_server = org.site.records.read(case, note_id)
    assert on_server["discussion"] == "Aino: isä tuli mukaan."
    assert on_server["client_view"] == "Bertil: äiti kokee arjen sujuvan."
    [opened] = bertil.do("open", ids=[note_id], keys=keys.hex, all_leaves=True)
    from_aino = aino.read(note_id)
    assert from_aino["_rev"] == on_server["_rev"] == opened["ok"]["_rev"]
    assert _content(from_aino) == _content(opened["ok"]) == _content(on_server)
    assert live_leaves(aino.db, note_id) == [on_server["_rev"]]  # no conflict left

    # Both nodes answered requests of this pair work.
    assert all(balancer.served[node.url] >= 5 for node in nodes), balancer.served

    # The access log was appended by both nodes at once; nothing is missing and every
    # chain links up.
    access = org.site.access_log.entries(case_id=case)
    for device in (aino.state(), bertil.state):
        actions = {entry.action for entry in access if entry.device_id == device["device_id"]}
        assert {"deliver", "push"} <= actions, (device["device_id"], actions)
    assert [entry.seq for entry in access] == sorted({entry.seq for entry in access})
    breaks = LogVerification(org.site.directory, org.site.audit).verify()
    assert set(breaks) >= {"audit_log", "access_log"}
    assert all(found is None for found in breaks.values()), breaks


def _content(doc: dict) -> dict:
    return {k: v for k, v in doc.items() if k not in ("_rev", "_revisions")}


def test_a_conflict_merged_by_two_nodes_at_once_has_one_merge_revision(cluster, tmp_path):
    """Both nodes' resolvers meet the same two leaves at the same moment: they write the
    same merge revision (its id comes from the merged text and the case key), so the
    store holds one merged document, not two rival merges."""
    org = cluster.org
    case, note_id = org.cases["pair"], org.docs["pair"][-1]
    db = org.site.store.database(database_name(case))
    base, parent = org.site.records.read(case, note_id), db.get(note_id)
    for text in ("Aino kirjoitti.", "Bertil skrev."):
        branch(org.site, case, parent, {**_content(base), "discussion": text})
    assert len(db.get(note_id, open_revs="all")) == 2

    second = Site.open(cluster.store_url, cluster.directory_url, org.site.keys.keks)
    try:
        resolutions, barrier = {}, threading.Barrier(2)

        def resolve(name: str, site: Site) -> None:
            barrier.wait()
            resolutions[name] = Resolver(site).resolve(case, note_id)

        threads = [
            threading.Thread(target=resolve, args=(n, s))
            for n, s in (("one", org.site), ("two", second))
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        second.close()
    merged = {r.merged_rev for r in resolutions.values() if r is not None}
    assert len(merged) == 1, resolutions
    live = [leaf for leaf in db.get(note_id, open_revs="all") if not leaf["ok"].get("_deleted")]
    assert [leaf["ok"]["_rev"] for leaf in live] == list(merged)
    text = org.site.records.read(case, note_id)["discussion"]
    assert "Aino kirjoitti." in text and "Bertil skrev." in text
