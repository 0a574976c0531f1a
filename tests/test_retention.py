"""Retention with crypto-shredding on a real site: cases closed 31 years ago, 29 years
ago and never, `sopu retention due` and `shred --due` as an administrator runs them
(dry run, confirmation, the statutory record), the daily check, and what a destroyed
case leaves: no key anywhere, backups that cannot be opened, no trace in any list,
page, report or device."""

from __future__ import annotations

import logging
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta

import pytest

from server.casework.retention import DailyRetention
from server.keys.kek import load_keks, write_new_key_file
from server.legal import retention
from sync.cases import database_name
from sync.crypto import KeyUnavailable, TamperedEnvelope, open_envelope
from sync.crypto.wrap import unwrap
from sync.device import Device
from sync.store.sqlite import SQLiteStore
from tests.support.org import PASSWORD, make_org
from tests.support.site import open_test_site

pytestmark = pytest.mark.both_directories

TODAY = date.today()
FAST = 2**10


def years_ago(years: int) -> date:
    try:
        return TODAY.replace(year=TODAY.year - years)
    except ValueError:  # 29 February
        return TODAY.replace(year=TODAY.year - years, day=28)


@pytest.fixture
def org(tmp_path):
    """An organisation whose KEK is in a file, so `sopu` can open the same site."""
    write_new_key_file(tmp_path / "kek.key")
    site = open_test_site(tmp_path, keks=load_keks(tmp_path / "kek.key"))
    yield make_org(tmp_path, site)
    site.close()


def sopu(tmp_path, *args, stdin=""):
    env = dict(
        os.environ,
        SOPU_DATA_DIR=str(tmp_path / "var"),
        SOPU_STORE_URL=f"sqlite:///{tmp_path / 'store'}",
        SOPU_DIRECTORY=str(tmp_path / "directory.sqlite3"),
        SOPU_KEK_FILE=str(tmp_path / "kek.key"),
    )
    env.pop("SOPU_KEK", None)
    return subprocess.run(
        [sys.executable, "-m", "server", *args],
        input=stdin, env=env, capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip


def three_cases(org) -> dict[str, str]:
    """Aino's cases: one closed 31 years ago, one 29 years ago, one still open."""
    org.worker("aino")
    org.worker("esko", "supervisor")
    cases = {label: org.case(label, "aino", notes=2, seed=n) for n, label in
             enumerate(("old", "recent", "open"), 1)}  # fmt: skip
    return cases


def close(org, case_id: str, on: date) -> None:
    org.site.cases.close(case_id, "pending", on, org.workers["esko"])


def directory_bytes(tmp_path) -> bytes:
    """The directory file and its write-ahead log as they are on disk, read by another
    process: closing a file this process opened would drop SQLite's POSIX locks on it."""
    files = [str(f) for f in tmp_path.glob("directory.sqlite3*") if not f.name.endswith("-shm")]
    return subprocess.run(["cat", *files], capture_output=True, check=True).stdout


def traces(site, case_id: str) -> dict[str, int]:
    return {
        table: site.directory.one(f"SELECT COUNT(*) AS n FROM {table} WHERE case_id = ?",
                                  (case_id,))["n"]
        for table in ("note_states", "case_visits", "reconciliation_items", "deletions",
                      "quarantine", "case_keys")
    }  # fmt: skip


def test_a_retention_run_destroys_only_the_case_whose_retention_ended(org, server, tmp_path):
    cases = three_cases(org)
    old = cases["old"]
    phone = Device(tmp_path / "phone", passphrase="2468", scrypt_n=FAST)
    phone.enrol(server, "aino", PASSWORD, label="phone")
    phone.pull()  # the phone holds all three cases, and their keys
    assert set(phone.keyrings()) == set(cases.values())
    site = org.site
    # The other directory traces a case leaves: a push held in quarantine, an open
    # reconciliation item, a visit day, a deletion's author (the notes are indexed).
    device_id = phone.state()["device_id"]
    site.quarantine.hold(device_id, org.workers["aino"], {"_id": "d" * 32, "case_id": old,
                         "ciphertext": "held"}, "case_not_assigned")  # fmt: skip
    with site.directory.transaction() as con:
        con.execute(
            "INSERT INTO reconciliation_items VALUES (?, ?, 'note', 1, 'x')",
            (old, org.docs["old"][-1]),
        )
        con.execute("INSERT INTO case_visits VALUES (?, ?, '1995-05-05')", (old, "e" * 32))
        con.execute("INSERT INTO deletions VALUES (?, ?, '1-a', ?, NULL, 'x', NULL)",
                    (old, "f" * 32, org.workers["aino"]))  # fmt: skip
    assert all(traces(site, old).values())
    close(org, old, years_ago(31))
    close(org, cases["recent"], years_ago(29))
    wrapped = [bytes(r["wrapped"]) for r in site.directory.query(
        "SELECT wrapped FROM case_keys WHERE case_id = ?", (old,))]  # fmt: skip
    on_disk = directory_bytes(tmp_path)
    assert len(wrapped) == 2 and all(blob in on_disk for blob in wrapped)  # v1, v2 (closure)
    envelopes = site.store.database(database_name(old)).all_docs(include_docs=True)["rows"]
    # Backups of the store and the directory, taken before the destruction (through the
    # site's own connections: closing another handle would drop SQLite's POSIX locks).
    backup_dir = tmp_path / "backup"
    backup_dir.mkdir()
    site.store.connection().execute("VACUUM INTO ?", (str(backup_dir / site.store.path.name),))
    old_directory = tmp_path / "directory-backup.sqlite3"
    site.directory.connection().execute("VACUUM INTO ?", (str(old_directory),))

    listed = sopu(tmp_path, "retention", "due")
    assert listed.returncode == 0, listed.stderr
    assert old in listed.stdout and "Perhetyö Keski" in listed.stdout
    assert years_ago(31).isoformat() in listed.stdout
    assert "family_services: 30 years" in listed.stdout
    assert cases["recent"] not in listed.stdout and cases["open"] not in listed.stdout
    assert "1 case past its retention" in listed.stdout

    dry = sopu(tmp_path, "retention", "shred", "--due")  # no answer: a dry run
    assert dry.returncode == 0, dry.stderr
    assert "dry run: 1 case would be destroyed; nothing was destroyed" in dry.stdout
    refused = sopu(tmp_path, "retention", "shred", "--due", stdin="yes\n")
    assert "nothing was destroyed" in refused.stdout
    assert site.keys.current(old).version == 2  # created, rotated at closure: untouched
    assert site.retention.destructions() == []

    done = sopu(tmp_path, "retention", "shred", "--due", "--actor", "admin-anna", stdin="1\n")
    assert done.returncode == 0, done.stderr
    assert "destroyed 1 case;" in done.stdout and "destroying cases" in done.stdout

    # The statutory record: which case, closed when, destroyed when, under which rule.
    [record] = site.retention.destructions()
    assert record["case_id"] == old and record["closed_on"] == years_ago(31).isoformat()
    assert (record["rule"], record["retention_years"]) == ("family_services", 30)
    assert record["destroyed_by"] == "admin-anna"
    assert record["destroyed_at"][:10] == datetime.now(UTC).date().isoformat()
    [entry] = site.audit.entries(action="case.destroyed")
    assert entry.subject == old and entry.actor == "admin-anna"
    assert entry.details["rule"] == "family_services" and entry.details["retention_years"] == 30
    # Nothing else of it is left in the directory; the other cases keep everything.
    assert set(traces(site, old).values()) == {0}
    assert traces(site, cases["recent"])["case_keys"] and traces(site, cases["open"])["note_states"]
    live_rings = site.directory.query(
        "SELECT doc FROM keyrings WHERE case_id = ? AND deleted = 0", (old,)
    )
    assert live_rings == []
    raw = directory_bytes(tmp_path)
    assert not any(blob in raw for blob in wrapped), "a wrapped case key survived on disk"

    # Neither the envelopes left in the store nor those in the backup open any more.
    backup = SQLiteStore(backup_dir)
    try:
        copied = backup.database(database_name(old)).all_docs(include_docs=True)["rows"]
        assert len(copied) == len(envelopes) >= 3
        for row in [*copied, *site.store.database(database_name(old)).all_docs(
                include_docs=True)["rows"]]:  # fmt: skip
            with pytest.raises(KeyUnavailable):
                open_envelope(row["doc"], site.keys.lookup)
        assert all(site.keys.lookup(old, v) is None for v in range(1, 5))
    finally:
        backup.close()

    # The directory backup still holds the wrapped keys: a KEK rotation, with the old
    # KEK dropped from the key file, leaves nothing at the site that unwraps them.
    assert sopu(tmp_path, "keys", "add-kek").returncode == 0
    assert sopu(tmp_path, "keys", "rotate-kek").returncode == 0
    key_file = tmp_path / "kek.key"
    key_file.write_text(key_file.read_text().splitlines()[0] + "\n")
    keks = load_keks(key_file)
    backed_up = sqlite3.connect(old_directory)
    rows = backed_up.execute(
        "SELECT kek_id, wrapped, version FROM case_keys WHERE case_id = ?", (old,)
    ).fetchall()
    backed_up.close()
    assert [bytes(r[1]) for r in rows] == wrapped
    for kek_id, blob, version in rows:
        with pytest.raises(KeyUnavailable):
            unwrap(keks.keks, kek_id, blob, old, version)  # its KEK is gone
        for loaded in keks.keks:  # and no KEK the site holds opens it
            with pytest.raises(TamperedEnvelope):
                unwrap({kek_id: keks.keks[loaded]}, kek_id, blob, old, version)

    # The device forgets the case; a second run finds nothing to do.
    phone.pull()
    assert old not in set(phone.keyrings())
    assert not {d["_id"] for d in phone.documents()} & set(org.docs["old"])
    again = sopu(tmp_path, "retention", "shred", "--due", "--yes")
    assert again.returncode == 0 and "nothing to destroy" in again.stdout
    assert len(site.retention.destructions()) == 1


def logged_in(org, username: str):
    client = org.app.test_client()
    answer = client.post("/api/login", json={"username": username, "password": PASSWORD})
    assert answer.status_code == 200, answer.get_json()
    return client


def test_a_destroyed_case_is_in_no_list_page_or_report(org):
    cases = three_cases(org)
    old = cases["old"]
    family_id = org.site.cases.get(old)["family_id"]
    esko, aino = logged_in(org, "esko"), logged_in(org, "aino")  # today's check: nothing due
    held = {"_id": "d" * 32, "case_id": old, "ciphertext": "held"}
    org.site.quarantine.hold(org.workers["aino"], org.workers["aino"], held, "case_not_assigned")
    with org.site.directory.transaction() as con:
        con.execute("INSERT INTO reconciliation_items VALUES (?, ?, 'note', 1, 'x')",
                    (old, org.docs["old"][-1]))  # fmt: skip
    close(org, old, years_ago(31))
    seen = {
        "/api/cases": old,
        "/api/reconciliation": old,
        "/devices": "d" * 32,  # the quarantined push
    }
    for url, mark in seen.items():
        assert mark in esko.get(url).get_data(as_text=True), url
    assert esko.get(f"/cases/{old}").status_code == 200
    supervisor = org.site.accounts.by_username("esko")
    assert [c["id"] for c in org.site.families.readable_cases(family_id, supervisor)] == [old]
    assert esko.get(f"/api/cases/{old}/documents").status_code == 200

    assert [c.case_id for c in org.site.retention.shred_due("admin", TODAY)] == [old]
    for url, mark in seen.items():
        assert mark not in esko.get(url).get_data(as_text=True), url
    assert esko.get(f"/cases/{old}").status_code == 404
    assert org.site.families.readable_cases(family_id, supervisor) == []
    assert esko.get(f"/api/cases/{old}/documents").status_code == 404
    listed = {c["id"] for c in esko.get("/api/cases").get_json()}
    assert {cases["recent"], cases["open"]} <= listed
    for page in ("/", "/queue", "/reconciliation"):
        assert old not in esko.get(page).get_data(as_text=True), page
    assert old not in {c["id"] for c in aino.get("/api/cases").get_json()}
    assert old not in aino.get("/").get_data(as_text=True)
    # What stays readable is the statutory record: the case row says when it was destroyed.
    assert esko.get(f"/api/cases/{old}").get_json()["shredded_at"] is not None


def test_the_server_destroys_due_cases_before_the_first_request_of_the_day(org):
    cases = three_cases(org)
    close(org, cases["old"], years_ago(31))
    close(org, cases["recent"], years_ago(29))
    day = {"today": years_ago(1)}  # a year ago nothing was due yet
    org.app.config["SOPU_TODAY"] = lambda: day["today"]
    assert org.app.test_client().get("/health").status_code == 200
    assert org.site.retention.destructions() == []
    day["today"] = TODAY
    assert org.app.test_client().get("/health").status_code == 200
    assert [r["case_id"] for r in org.site.retention.destructions()] == [cases["old"]]
    assert org.site.audit.entries(action="case.destroyed")[0].actor == "retention"
    assert org.site.cases.get(cases["recent"])["shredded_at"] is None


def test_report_mode_only_logs_how_many_are_due(org, caplog):
    cases = three_cases(org)
    close(org, cases["old"], years_ago(31))
    check = DailyRetention(org.site.retention, lambda: TODAY, mode="report")
    with caplog.at_level(logging.WARNING):
        due = check()
    assert [c.case_id for c in due] == [cases["old"]]
    assert "1 cases are past their retention" in caplog.text and cases["old"] not in caplog.text
    assert org.site.cases.get(cases["old"])["shredded_at"] is None
    assert check() == []  # once a day


def test_a_configured_shorter_period_applies_to_its_service_task(org):
    cases = three_cases(org)
    close(org, cases["recent"], years_ago(29))
    org.site.retention.table = retention.table({"family_social_guidance": 10})
    with org.site.directory.transaction() as con:
        con.execute(
            "UPDATE cases SET service_task = 'family_social_guidance' WHERE id = ?",
            (cases["recent"],),
        )
    [due] = org.site.retention.due(TODAY)
    assert due.case_id == cases["recent"] and due.rule.label == "family_social_guidance: 10 years"


def test_shred_needs_due_and_refuses_a_case_not_due(org, tmp_path):
    cases = three_cases(org)
    future = (TODAY + timedelta(days=1)).isoformat()
    early = sopu(tmp_path, "retention", "shred", "--due", "--yes", "--today", future)
    assert early.returncode == 2 and "is in the future" in early.stderr
    run = sopu(tmp_path, "retention", "shred")
    assert run.returncode == 2 and "--due" in run.stderr
    from server.casework.retention import NotDue

    with pytest.raises(NotDue):
        org.site.retention.shred(cases["open"], "admin", TODAY)


def test_a_case_shredded_by_hand_leaves_no_traces_either(org, tmp_path):
    cases = three_cases(org)
    held = {"_id": "d" * 32, "case_id": cases["open"], "ciphertext": "held"}
    org.site.quarantine.hold(org.workers["aino"], org.workers["aino"], held, "case_not_assigned")
    assert traces(org.site, cases["open"])["note_states"]
    run = sopu(tmp_path, "keys", "shred", cases["open"], "--yes")
    assert run.returncode == 0, run.stderr
    assert set(traces(org.site, cases["open"]).values()) == {0}
    assert org.site.retention.destructions() == []  # not a retention destruction


def test_due_counts_to_the_day_given(org, tmp_path):
    cases = three_cases(org)
    close(org, cases["recent"], years_ago(29))
    due_day = retention.retention_ends(years_ago(29), 30) + timedelta(days=1)
    day_before = (due_day - timedelta(days=1)).isoformat()
    before = sopu(tmp_path, "retention", "due", "--today", day_before)
    assert before.returncode == 0 and "0 cases past their retention" in before.stdout
    on = sopu(tmp_path, "retention", "due", "--today", due_day.isoformat())
    assert cases["recent"] in on.stdout and "due since" in on.stdout
    assert due_day.isoformat() in on.stdout and cases["open"] not in on.stdout
