"""Writes that reach a case database without Sopu (another program, a replication into
the CouchDB cluster) reach the devices once `sopu store follow` has seen them
(server/gateway/store_follower.py), on both directory backends and a real
CouchDB-protocol store."""

from __future__ import annotations

import random

import pytest

from server.gateway.store_follower import follow_once
from server.tools.demo_data import note_doc
from sync.cases import database_name
from sync.crypto import seal
from tests.support.cli import run_sopu, var_site
from tests.support.devices import enrolled_device
from tests.support.org import make_org
from tests.support.site import open_test_site
from tests.test_merge_sweep import branch

pytestmark = pytest.mark.both_directories


@pytest.fixture
def org(tmp_path, directory_target, pouchdb_server_url):
    """Aino's case on a pouchdb-server store (another program can write to it)."""
    site = open_test_site(tmp_path, store_url=pouchdb_server_url, directory=directory_target)
    org = make_org(tmp_path, site)
    org.worker("aino")
    org.case("own", "aino", notes=2)
    yield org
    site.close()


def test_a_write_made_behind_sopu_reaches_the_device_after_a_follow(org, server, tmp_path):
    case, note_id = org.cases["own"], org.docs["own"][-1]
    assert follow_once(org.site).changed == 1  # first sight of the database: recorded
    aino = enrolled_device(tmp_path, server, "aino")
    aino.sync()

    # Another program writes a new revision of the note straight into the store.
    db = org.site.store.database(database_name(case))
    plain = {k: v for k, v in org.site.records.read(case, note_id).items() if k != "_rev"}
    branch(org.site, case, db.get(note_id), {**plain, "discussion": "Kirjoitettu toisaalla."})
    aino.sync()
    assert aino.read(note_id)["discussion"] != "Kirjoitettu toisaalla."  # no head moved yet

    followed = follow_once(org.site)
    assert (followed.cases, followed.changed, followed.documents) == (1, 1, 0)
    aino.sync()
    assert aino.read(note_id)["discussion"] == "Kirjoitettu toisaalla."

    # A document the directory never saw is indexed too, and delivered.
    new = note_doc(random.Random(5), case, org.workers["aino"])
    db.bulk_docs([seal(new, org.site.keys.current(case))])
    assert follow_once(org.site).documents == 1
    assert org.site.heads.case_of([new["_id"]]) == {new["_id"]: case}
    aino.sync()
    assert aino.read(new["_id"])["discussion"] == new["discussion"]
    assert follow_once(org.site).changed == 0  # nothing new: no head moves


def test_sopu_store_follow_once_reports_what_it_saw(tmp_path):
    assert run_sopu(tmp_path, "keys", "new-kek").returncode == 0
    site = var_site(tmp_path)
    worker = site.accounts.create("aino", "Aino", "worker", "admin")
    case = site.cases.create("f" * 32, "admin")
    note = note_doc(random.Random(1), case, worker)
    site.records.write(case, [note])
    site.close()
    first = run_sopu(tmp_path, "store", "follow", "--once")
    assert first.returncode == 0, first.stderr
    assert "checked 1 case databases; 1 changed" in first.stdout
    again = run_sopu(tmp_path, "store", "follow", "--once")
    assert "checked 1 case databases; 0 changed" in again.stdout
