"""Device-side views: access events a device records offline reach the access log.

Through a real server over HTTP with the reference Python device: a view made offline
is a `view` row after the next sync (the device's time and the upload time), forged
events are refused one by one with the rest of the batch written, a re-sent event is
one row, an event is never edited or deleted, and the hash chain still verifies.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime

import pytest

from server.access_log import CHAIN
from server.tools.demo_data import new_id, note_doc
from sync.crypto import seal
from sync.device import Device
from tests.support.org import PASSWORD

FAST = 2**10  # scrypt cost for test devices
OFFLINE_AT = "2026-11-20T09:41:07+02:00"


def device(tmp_path, name: str, server: str, worker: str) -> Device:
    dev = Device(tmp_path / f"device-{name}", passphrase="2468", scrypt_n=FAST)
    dev.enrol(server, worker, PASSWORD, label=f"phone {name}")
    return dev


def views(org, case_id: str | None = None) -> list:
    return [e for e in org.site.access_log.entries(case_id=case_id) if e.action == "view"]


def event(phone: Device, case_id: str, doc_ids: list[str], **changes) -> dict:
    """A plaintext access event as `record_view` writes it, with `changes`."""
    state = phone.state()
    return {
        "_id": new_id(),
        "type": "access_event",
        "schema_version": 3,
        "case_id": case_id,
        "device_id": state["device_id"],
        "viewed_at": OFFLINE_AT,
        "doc_ids": doc_ids,
        "updated_at": OFFLINE_AT,
        "updated_by": state["worker_id"],
        **changes,
    }


def replicated(envelope: dict, rev: str = "1-" + "a" * 32) -> dict:
    """An envelope as a replicator sends it (`new_edits: false`)."""
    start, digest = rev.split("-")
    return envelope | {"_rev": rev, "_revisions": {"start": int(start), "ids": [digest]}}


@pytest.fixture
def field(org, server, tmp_path):
    """Aino's phone holding her case (pulled); Bertil's case she never held."""
    org.worker("aino")
    org.worker("bertil")
    own = org.case("own", "aino", notes=3, seed=1)
    other = org.case("other", "bertil", notes=2, seed=2)
    phone = device(tmp_path, "a", server, "aino")
    phone.pull()
    return phone, own, other


def test_a_view_made_offline_is_in_the_access_log_after_the_next_sync(org, field):
    phone, case, _ = field
    note = org.docs["own"][2]
    before = datetime.now(UTC).replace(microsecond=0)
    recorded = phone.record_view(case, [note], at=OFFLINE_AT)  # offline: nothing sent
    assert views(org) == []
    assert [v["_id"] for v in phone.views()] == [recorded["_id"]]
    assert note in {d["_id"] for d in phone.documents()}  # events are not client documents
    assert recorded["_id"] not in {d["_id"] for d in phone.documents()}

    pushed, _ = phone.sync()

    assert pushed.errors == []
    [row] = views(org, case)
    assert (row.worker_id, row.device_id, row.case_id) == (
        org.workers["aino"],
        phone.state()["device_id"],
        case,
    )
    assert row.doc_ids == [note]
    assert row.device_at == OFFLINE_AT  # the device's time, as it said
    assert datetime.fromisoformat(row.at) >= before  # the upload time, the server's
    assert org.site.access_log.verify() is None
    # The event is not a document of the case: nobody else's device receives it.
    assert org.site.heads.case_of([recorded["_id"]]) == {}
    assert phone.state().get("unpushed") == []


def test_pushing_the_same_event_again_writes_one_row(org, field):
    phone, case, _ = field
    recorded = phone.record_view(case, org.docs["own"][:2])
    phone.push()
    envelope = phone.db.get(recorded["_id"], revs=True)
    remote = phone.remote()

    assert remote.bulk_docs([envelope], new_edits=False) == []  # replayed replication
    assert remote.bulk_docs([envelope], new_edits=False) == []
    phone.push()  # and the replicator: nothing new to send

    assert len(views(org, case)) == 1
    assert remote.revs_diff({recorded["_id"]: [envelope["_rev"]]}) == {}


def test_a_new_edits_push_is_answered_with_a_stable_revision(org, field):
    phone, case, _ = field
    envelope = seal(event(phone, case, [org.docs["own"][0]]), phone.case_key(case))
    remote = phone.remote()
    [first] = remote.bulk_docs([envelope])
    [second] = remote.bulk_docs([envelope])  # the same new event again: the same answer
    [edit] = remote.bulk_docs([envelope | {"_rev": first["rev"]}])  # on top of it: an edit
    assert first["ok"] and second == first
    assert edit["code"] == "access_event_immutable"
    assert len(views(org, case)) == 1


def test_forged_events_are_refused_one_by_one_and_the_rest_is_written(org, field):
    phone, case, other = field
    key = phone.case_key(case)
    own_docs, other_docs = org.docs["own"], org.docs["other"]
    kept = phone.record_view(case, [own_docs[0]])
    phone.push()
    kept_envelope = phone.db.get(kept["_id"], revs=True)
    note = note_doc(random.Random(9), case, org.workers["aino"])
    phone.write(note, case)
    good = event(phone, case, [own_docs[1], note["_id"]])  # names the note pushed with it
    batch = {
        "good": seal(good, key),
        "note": phone.db.get(note["_id"], revs=True),
        "bertils": seal(event(phone, case, [own_docs[1]], updated_by=org.workers["bertil"]), key),
        "other_device": seal(event(phone, case, [own_docs[1]], device_id=new_id()), key),
        "never_held": seal(event(phone, other, [other_docs[2]]), org.site.keys.current(other)),
        "other_case_doc": seal(event(phone, case, [other_docs[2]]), key),
        "unknown_doc": seal(event(phone, case, [new_id()]), key),
        "edit": seal(kept | {"doc_ids": own_docs}, key),
        "deletion": {"_id": kept["_id"], "_deleted": True},
        "note_over_event": seal(note | {"_id": kept["_id"]}, key),
    }
    revs = {
        "edit": "2-" + "b" * 32,
        "deletion": "2-" + "c" * 32,
        "note_over_event": "1-" + "d" * 32,
    }
    docs = []
    for name, doc in batch.items():
        if name == "note":
            docs.append(doc)
        elif name in ("edit", "deletion"):
            _start, digest = revs[name].split("-")
            old = kept_envelope["_rev"].split("-")[1]
            docs.append(
                doc | {"_rev": revs[name], "_revisions": {"start": 2, "ids": [digest, old]}}
            )
        else:
            docs.append(replicated(doc, revs.get(name, "1-" + new_id())))

    refused = {r["id"]: r for r in phone.remote().bulk_docs(docs, new_edits=False)}

    by_name = {name: refused.get(doc["_id"]) for name, doc in zip(batch, docs, strict=True)}
    assert by_name["good"] is None and by_name["note"] is None
    codes = {name: r["code"] for name, r in by_name.items() if r}
    assert codes == {
        "bertils": "access_event_not_yours",
        "other_device": "access_event_not_yours",
        "never_held": "case_not_held",
        "other_case_doc": "case_mismatch",
        "unknown_doc": "unknown_document",
        "edit": "access_event_immutable",
        "deletion": "access_event_immutable",
        "note_over_event": "access_event_immutable",
    }
    assert all(r["name"] == "forbidden" for r in refused.values())  # PouchDB: denied
    # The good event and the note in the same batch are written; nothing forged is.
    assert org.site.records.read(case, note["_id"])["discussion"] == note["discussion"]
    logged = views(org)
    assert sorted(tuple(v.doc_ids) for v in logged) == sorted(
        [(own_docs[0],), tuple(sorted([own_docs[1], note["_id"]]))]
    )
    assert views(org, other) == []
    assert org.site.access_log.verify() is None


def test_a_case_taken_away_still_takes_the_views_made_while_it_was_held(org, field):
    phone, case, _ = field
    phone.record_view(case, [org.docs["own"][1]], at=OFFLINE_AT)
    [assignment] = org.site.directory.query("SELECT id FROM assignments WHERE case_id = ?", (case,))
    org.site.cases.end_assignment(assignment["id"], "admin")
    pushed = phone.push()
    assert pushed.errors == []
    assert [v.device_at for v in views(org, case)] == [OFFLINE_AT]


def test_the_chain_verifies_with_view_rows_and_breaks_if_one_is_altered(org, field):
    phone, case, _ = field
    phone.record_view(case, [org.docs["own"][0]], at=OFFLINE_AT)
    phone.sync()
    phone.record_view(case, [org.docs["own"][1]])
    phone.sync()
    assert org.site.access_log.verify() is None
    [first, _second] = views(org, case)
    con = org.site.directory.connection()
    con.execute("DROP TRIGGER access_log_no_update")
    con.execute(
        "UPDATE access_log SET device_at = ? WHERE seq = ?",
        ("2026-11-21T09:41:07+02:00", first.seq),
    )
    con.commit()
    assert org.site.access_log.verify() == first.seq
    assert CHAIN.optional.index("device_at") > CHAIN.optional.index("purpose")


def test_sopu_device_show_and_notes_record_views_that_sync_pushes(org, server, tmp_path):
    from tests.test_cli_device import PIN, sopu_device

    org.worker("aino")
    case = org.case("c", "aino", notes=2)
    home = tmp_path / "phone"  # enrolled as `sopu device enrol` does, with a cheap key
    Device(home, PIN, scrypt_n=FAST).enrol(server, "aino", PASSWORD, label="test phone")
    assert sopu_device(home, "pull").returncode == 0
    family, _case_doc, *notes = org.docs["c"]
    shown = sopu_device(home, "show", notes[0][:8])
    listed = sopu_device(home, "notes", case[:8])
    assert shown.returncode == 0 and listed.returncode == 0, shown.stderr + listed.stderr
    assert views(org) == []  # offline until the next sync

    synced = sopu_device(home, "sync")

    assert synced.returncode == 0, synced.stderr
    assert "0 refused" in synced.stdout
    logged = sorted(views(org, case), key=lambda v: len(v.doc_ids))
    assert [v.doc_ids for v in logged] == [[notes[0]], sorted([family, *notes])]
    assert all(v.device_at and v.worker_id == org.workers["aino"] for v in logged)
    assert "access_event" not in sopu_device(home, "cases").stdout
    again = sopu_device(home, "sync")  # nothing recorded since: nothing more logged
    assert again.returncode == 0 and len(views(org, case)) == 2


def test_listing_more_notes_than_one_event_holds_records_them_all(org, server, tmp_path):
    from mobile_schema.access_event import MAX_VIEWED
    from tests.test_cli_device import PIN, sopu_device

    org.worker("aino")
    case = org.case("big", "aino", notes=MAX_VIEWED + 5)  # a long case file
    home = tmp_path / "phone"
    Device(home, PIN, scrypt_n=FAST).enrol(server, "aino", PASSWORD, label="test phone")
    assert sopu_device(home, "pull").returncode == 0
    listed = sopu_device(home, "notes", case[:8])
    assert listed.returncode == 0 and "Traceback" not in listed.stderr, listed.stderr
    synced = sopu_device(home, "sync")
    assert synced.returncode == 0 and "0 refused" in synced.stdout, synced.stdout
    family, _case_doc, *notes = org.docs["big"]
    seen = [doc for view in views(org, case) for doc in view.doc_ids]
    assert sorted(seen) == sorted([family, *notes])  # every one, each once
    assert all(len(view.doc_ids) <= MAX_VIEWED for view in views(org, case))


def test_migration_keeps_every_older_row_verifiable(tmp_path):
    """A directory from before device-side views: rebuilt with `view`, still intact."""
    import sqlite3

    from server.directory.migrations import MIGRATIONS
    from server.directory.sqlite import SQLiteDirectory as Directory
    from server.directory.sqlite import _statements
    from server.hashchain import HashChain

    path = tmp_path / "old.sqlite3"
    con = sqlite3.connect(path)
    for script in MIGRATIONS[:8]:
        for statement in _statements(script):
            con.execute(statement)
    con.execute("PRAGMA user_version = 8")
    old = HashChain("access_log", CHAIN.columns, CHAIN.json_columns, optional=("purpose",))
    worker, case = new_id(), new_id()
    for purpose in (None, "supervision"):
        old.append(
            con,
            {
                "at": "2026-01-02T03:04:05Z",
                "worker_id": worker,
                "device_id": None,
                "case_id": case,
                "doc_ids": [new_id()],
                "action": "read",
                "purpose": purpose,
            },
        )
    con.commit()
    con.close()

    from server.access_log import AccessLog

    log = AccessLog(Directory(path))
    assert log.verify() is None
    log.record(worker, case, [new_id()], "view", new_id(), device_at=OFFLINE_AT)
    assert log.verify() is None
    assert [e.action for e in log.entries(case)] == ["read", "read", "view"]
    # the CHECK still guards the actions
    with pytest.raises(sqlite3.IntegrityError), log.directory.transaction() as write:
        write.execute(
            "INSERT INTO access_log (at, worker_id, case_id, doc_ids, action, prev_hash,"
            " hash) VALUES ('x', 'w', 'c', '[]', 'peek', '', '')"
        )
    log.directory.close()


def test_an_unmodified_pouchdb_pushes_views_and_cannot_delete_them(org, server, tmp_path):
    from tests import test_gateway_pouchdb as pouch

    if pouch.NODE is None or not (pouch.ROOT / "node_modules" / "pouchdb").is_dir():
        pytest.skip("needs node and node_modules/pouchdb (npm ci --ignore-scripts)")
    org.worker("aino")
    case = org.case("c", "aino", notes=2)
    aino = pouch.phone(tmp_path, server, "aino")
    pulled, keys = aino.pull_with_keys()
    assert pulled["ok"]
    key = keys.current(case)
    honest = event(aino.device, case, org.docs["c"][2:])
    forged = event(aino.device, case, org.docs["c"][2:], device_id=new_id())

    *_, pushed = aino.run(
        {"action": "seal", "doc": honest, "key": key, "put": True},
        {"action": "seal", "doc": forged, "key": key, "put": True},
        {"action": "push"},
    )

    assert pushed["ok"] and pushed["docs_written"] == 1, pushed
    assert {d["id"]: d["code"] for d in pushed["denied"]} == {
        forged["_id"]: "access_event_not_yours"
    }
    [row] = views(org, case)
    assert row.device_at == OFFLINE_AT and row.doc_ids == sorted(org.docs["c"][2:])
    assert aino.push()["docs_read"] == 0  # checkpointed: nothing to send again

    local = aino.docs()[honest["_id"]]
    put, removed = aino.run(
        {
            "action": "put",
            "docs": [{"_id": honest["_id"], "_rev": local["_rev"], "_deleted": True}],
        },
        {"action": "push"},
    )
    assert put[0]["ok"]
    assert {d["id"]: d["code"] for d in removed["denied"]} == {
        honest["_id"]: "access_event_immutable"
    }
    assert len(views(org, case)) == 1
    assert org.site.access_log.verify() is None


def test_a_view_made_offline_appears_in_the_familys_access_report_after_the_device_syncs(
    org, server, tmp_path
):
    import requests

    org.worker("aino")
    org.worker("esihenkilo", role="supervisor")
    case = org.case("c", "aino", notes=2)
    family_id = org.site.cases.get(case)["family_id"]
    phone = device(tmp_path, "a", server, "aino")
    phone.pull()
    note = org.docs["c"][2]
    supervisor = requests.Session()
    login = {"username": "esihenkilo", "password": PASSWORD}
    assert supervisor.post(f"{server}/api/login", json=login).status_code == 200
    url = f"{server}/api/families/{family_id}/access-report"

    def viewed() -> list[dict]:
        answer = supervisor.get(url)
        assert answer.status_code == 200, answer.text
        return [e for e in answer.json()["entries"] if e["kind"] == "viewed"]

    phone.record_view(case, [note], at=OFFLINE_AT)  # offline, in the home visit
    assert viewed() == []
    before = datetime.now(UTC).replace(microsecond=0)
    assert phone.sync()[0].errors == []

    [entry] = viewed()
    assert entry["who"]["name"] == "Aino" and entry["who"]["role"] == "worker"
    assert entry["device_at"] == OFFLINE_AT
    assert datetime.fromisoformat(entry["uploaded_at"]) >= before  # the upload, beside it
    assert entry["day"] == "2026-11-20"  # the day it happened on the device
    assert [d["id"] for d in entry["documents"]] == [note]
    assert entry["documents"][0]["type"] == "note"
    words = org.site.records.read(case, note)["discussion"]
    assert words not in json.dumps(entry, ensure_ascii=False)  # which, never what it says
