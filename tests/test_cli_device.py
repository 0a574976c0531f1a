"""`sopu device`, run as a subprocess against a live server started by the test."""

from __future__ import annotations

import os
import random
import subprocess
import sys

from server.tools.demo_data import note_doc
from sync.device import Device
from tests.support.org import PASSWORD

PIN = "4321"


def sopu_device(home, *args, pin: str | None = PIN, stdin: str | None = None):
    env = {k: v for k, v in os.environ.items() if k != "SOPU_DEVICE_PIN"}
    if pin is not None:
        env["SOPU_DEVICE_PIN"] = pin
    return subprocess.run(
        [sys.executable, "-m", "server", "device", "--home", str(home), *args],
        input=stdin,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def enrolled(tmp_path, org, server):
    org.worker("aino")
    case = org.case("c", "aino", notes=2)
    home = tmp_path / "phone"
    result = sopu_device(home, "enrol", server, "aino", "--label", "test phone", stdin=PASSWORD)
    assert result.returncode == 0, result.stderr
    assert "Enrolled device" in result.stdout
    return home, case


def test_enrol_pull_write_push_and_list_notes(org, server, tmp_path):
    home, case = enrolled(tmp_path, org, server)
    pulled = sopu_device(home, "pull")
    assert pulled.returncode == 0, pulled.stderr
    assert "documents written" in pulled.stdout

    listed = sopu_device(home, "cases")
    assert case in listed.stdout

    written = sopu_device(home, "new-note", case[:10], "--text", "Kirjoitettu kotikäynnillä.")
    assert written.returncode == 0, written.stderr
    note_id = written.stdout.split()[2]
    assert org.site.heads.case_of([note_id]) == {}  # still only on the device

    pushed = sopu_device(home, "push")
    assert pushed.returncode == 0, pushed.stderr
    assert "1 documents written, 0 refused" in pushed.stdout
    assert org.site.records.read(case, note_id)["discussion"] == "Kirjoitettu kotikäynnillä."

    notes = sopu_device(home, "notes", case)
    assert notes.returncode == 0, notes.stderr
    assert "Kirjoitettu kotikäynnillä." in notes.stdout
    assert f"{note_id}  note, draft" in notes.stdout
    assert notes.stdout.count("note, draft") == 3


def test_edit_finalise_show_and_a_final_note_refuses_edits(org, server, tmp_path):
    home, case = enrolled(tmp_path, org, server)
    sopu_device(home, "pull")
    visit = sopu_device(home, "new-visit", case, "--kind", "home", "--at", "2026-05-04T09:30+03:00")
    assert visit.returncode == 0, visit.stderr
    visit_id = visit.stdout.split()[1]
    note = sopu_device(home, "new-note", case, "--text", "Eka.", "--visit", visit_id[:8])
    note_id = note.stdout.split()[2]
    assert sopu_device(home, "edit-note", note_id[:8], "--text", "Toka.").returncode == 0
    assert sopu_device(home, "finalise", note_id).returncode == 0
    shown = sopu_device(home, "show", note_id)
    assert '"state": "final"' in shown.stdout and '"discussion": "Toka."' in shown.stdout
    assert f'"visit_id": "{visit_id}"' in shown.stdout
    refused = sopu_device(home, "edit-note", note_id, "--text", "Kolmas.")
    assert refused.returncode == 1 and "is final" in refused.stderr
    assert sopu_device(home, "sync").returncode == 0
    assert org.site.records.read(case, note_id)["state"] == "final"


def test_store_holds_no_plaintext(org, server, tmp_path):
    home, case = enrolled(tmp_path, org, server)
    sopu_device(home, "pull")
    sopu_device(home, "new-note", case, "--text", "Salainen lause perheestä.")
    blobs = b"".join(p.read_bytes() for p in home.rglob("*") if p.is_file())
    assert b"Salainen lause" not in blobs


def test_wrong_pin_not_enrolled_and_unreachable_server_are_clear(org, server, tmp_path):
    home, case = enrolled(tmp_path, org, server)
    wrong = sopu_device(home, "notes", case, pin="0000")
    assert wrong.returncode == 1
    assert "wrong PIN" in wrong.stderr
    nobody = sopu_device(tmp_path / "elsewhere", "pull")
    assert nobody.returncode == 1 and "no device is enrolled" in nobody.stderr
    assert not (tmp_path / "elsewhere").exists()
    prompted = sopu_device(home, "pull", pin=None, stdin=f"{PIN}\n")
    assert prompted.returncode == 0 and "documents written" in prompted.stdout
    bad = sopu_device(tmp_path / "other", "enrol", "http://127.0.0.1:9", "aino", stdin=PASSWORD)
    assert bad.returncode == 1 and "cannot reach the server" in bad.stderr


def test_wrong_password_is_a_clear_login_failure(org, server, tmp_path):
    org.worker("aino")
    result = sopu_device(tmp_path / "phone", "enrol", server, "aino", stdin="not it\n")
    assert result.returncode == 1
    assert "login failed" in result.stderr


def test_revoked_device_says_it_was_wiped(org, server, tmp_path):
    home, case = enrolled(tmp_path, org, server)
    sopu_device(home, "pull")
    sopu_device(home, "new-note", case, "--text", "Offline ennen peruutusta.")
    device_id = Device(home, PIN).state()["device_id"]
    org.site.devices.revoke(device_id, "admin", "lost", [case])
    result = sopu_device(home, "push")
    assert result.returncode == 1
    assert "this device was revoked and has been wiped" in result.stderr
    after = sopu_device(home, "cases")
    assert after.returncode == 1 and "no device is enrolled" in after.stderr
    held = {item["doc_id"] for item in org.site.quarantine.items()}
    assert len(held) == 1  # the offline note was handed over before the wipe


def test_reconcile_lists_both_versions_and_authors(org, server, tmp_path):
    home, case = enrolled(tmp_path, org, server)
    bertil = org.worker("bertil")
    org.site.cases.assign(case, bertil, "pair_worker", "admin")
    note = note_doc(random.Random(2), case, org.workers["aino"])
    note["reconciliation"] = [
        {
            "id": "a" * 32,
            "path": "/client_view",
            "kind": "text",
            "ours": '"Äidin näkemys."',
            "ours_by": org.workers["aino"],
            "ours_at": "2026-05-04T10:00:00Z",
            "theirs": '"Mammans syn."',
            "theirs_by": bertil,
            "theirs_at": "2026-05-04T10:05:00Z",
        }
    ]
    assert org.site.records.write(case, [note])[0]["ok"]
    sopu_device(home, "pull")
    result = sopu_device(home, "reconcile")
    assert result.returncode == 0, result.stderr
    assert "/client_view" in result.stdout
    assert "Äidin näkemys." in result.stdout and "Mammans syn." in result.stdout
    assert "by you at 2026-05-04T10:00:00Z" in result.stdout
    assert f"worker {bertil[:8]} at 2026-05-04T10:05:00Z" in result.stdout
