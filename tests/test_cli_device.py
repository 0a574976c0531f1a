"""`sopu device`, run as a subprocess against a live server started by the test."""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys

import pytest

from server.tools.demo_data import note_doc
from sync.cases import database_name
from sync.device import Device
from sync.store import NotFound
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


# ---------------------------------------------------------------- editing every field


def added_ids(stdout: str, path: str) -> list[str]:
    """Ids of the list items an edit says it added under `path`."""
    return re.findall(rf"added\s+{re.escape(path)}/([0-9a-f]{{32}})", stdout)


def shown(home, doc_id: str) -> dict:
    result = sopu_device(home, "show", doc_id)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def pulled_with_a_note(tmp_path, org, server) -> tuple:
    home, case = enrolled(tmp_path, org, server)
    assert sopu_device(home, "pull").returncode == 0
    written = sopu_device(home, "new-note", case, "--text", "Tapasimme kotona.")
    return home, case, written.stdout.split()[2]


def test_edit_any_field_of_a_note_and_an_agreed_action_by_id_prefix(org, server, tmp_path):
    home, case, note_id = pulled_with_a_note(tmp_path, org, server)
    action = json.dumps({"text": "Äiti soittaa neuvolaan.", "responsible": "äiti"})
    edited = sopu_device(
        home, "edit", note_id[:8],
        "--set", "client_view=Äiti toivoo apua iltoihin.",
        "--set", "/client_review/status=disagrees",
        "--set", "client_review/comment=Isä ei ollut paikalla.",
        "--add-json", f"agreed_actions={action}",
    )  # fmt: skip
    assert edited.returncode == 0, edited.stderr
    assert f"Edited note {note_id} on this device, now revision 2; push to share it." in (
        edited.stdout
    )
    assert "set      /client_view" in edited.stdout
    assert "set      /client_review/status" in edited.stdout
    [action_id] = added_ids(edited.stdout, "/agreed_actions")
    retext = f"agreed_actions/{action_id[:5]}/text=Äiti soittaa maanantaina."
    again = sopu_device(home, "edit", note_id, "--set", retext)
    assert again.returncode == 0, again.stderr
    assert f"/agreed_actions/{action_id[:5]}/text" in again.stdout and "revision 3" in again.stdout
    assert sopu_device(home, "push").returncode == 0
    note = org.site.records.read(case, note_id)
    assert note["client_view"] == "Äiti toivoo apua iltoihin."
    assert note["client_review"] == {"status": "disagrees", "comment": "Isä ei ollut paikalla."}
    assert note["agreed_actions"] == [
        {"id": action_id, "text": "Äiti soittaa maanantaina.", "responsible": "äiti"}
    ]
    assert note["discussion"] == "Tapasimme kotona." and note["_rev"].startswith("3-")


def test_new_plan_assessment_and_visit_every_field_editable(org, server, tmp_path):
    home, case = enrolled(tmp_path, org, server)
    sopu_device(home, "pull")
    visit = sopu_device(home, "new-visit", case, "--at", "2026-05-04T09:30+03:00")
    visit_id = visit.stdout.split()[1]
    interpreter = {"kind": "external", "name": "Leena Tulkki", "interpreter": True}
    interpreter["language"] = "ar"
    moved = sopu_device(
        home, "edit", visit_id,
        "--set", "kind=daycare",
        "--set", "starts_at=2026-05-05T10:00:00+03:00",
        "--add-json", f"participants={json.dumps(interpreter)}",
    )  # fmt: skip
    assert moved.returncode == 0, moved.stderr
    [interpreter_id] = added_ids(moved.stdout, "/participants")

    goal = {"title": "Rauhallisemmat illat", "parent_view": "Ilta ei ole taistelua."}
    plan = sopu_device(
        home, "new", "plan", case[:8],
        "--set", "drawn_up_on=2026-05-04", "--set", "review_on=2026-08-04",
        "--add-json", f"goals={json.dumps(goal)}",
    )  # fmt: skip
    assert plan.returncode == 0, plan.stderr
    plan_id = plan.stdout.split()[2]
    assert f"Wrote plan {plan_id} in case {case} on this device" in plan.stdout
    [goal_id] = added_ids(plan.stdout, "/goals")
    rating = {"rated_on": "2026-05-04", "value": 4, "rated_by": "parent"}
    rated = sopu_device(
        home, "edit", plan_id,
        "--set", f"goals/{goal_id[:6]}/worker_view=Iltarutiini on alkanut.",
        "--add-json", f"goals/{goal_id}/ratings={json.dumps(rating)}",
    )  # fmt: skip
    [rating_id] = added_ids(rated.stdout, f"/goals/{goal_id}/ratings")
    rerated = sopu_device(
        home, "edit", plan_id, "--set-json", f"goals/{goal_id[:6]}/ratings/{rating_id[:6]}/value=7"
    )
    assert rerated.returncode == 0 and "revision 3" in rerated.stdout, rerated.stderr

    started = {"started_on": "2026-04-01", "client_view": "Perhe toivoo tukea arkeen."}
    assessment = sopu_device(
        home, "new", "assessment", case, "--from-file", "-", stdin=json.dumps(started)
    )
    assert assessment.returncode == 0, assessment.stderr
    assessment_id = assessment.stdout.split()[2]
    concluded = sopu_device(
        home, "edit", assessment_id,
        "--set", "worker_conclusions=Tuki arjen rytmiin.",
        "--set", "concern_zone=small",
        "--set-json", "urgent_need=false",
        "--set", "completed_on=2026-04-20",
    )  # fmt: skip
    assert concluded.returncode == 0, concluded.stderr

    pushed = sopu_device(home, "push")
    assert "3 documents written, 0 refused" in pushed.stdout, pushed.stdout + pushed.stderr
    saved_visit = org.site.records.read(case, visit_id)
    assert saved_visit["kind"] == "daycare"
    assert saved_visit["starts_at"] == "2026-05-05T10:00:00+03:00"
    assert {"id": interpreter_id, **interpreter} in saved_visit["participants"]
    [saved_goal] = org.site.records.read(case, plan_id)["goals"]
    assert saved_goal["id"] == goal_id and saved_goal["worker_view"] == "Iltarutiini on alkanut."
    assert saved_goal["ratings"] == [{"id": rating_id, **rating, "value": 7}]
    saved = org.site.records.read(case, assessment_id)
    assert saved["client_view"] == "Perhe toivoo tukea arkeen."
    assert (saved["worker_conclusions"], saved["concern_zone"]) == ("Tuki arjen rytmiin.", "small")
    assert saved["urgent_need"] is False and saved["completed_on"] == "2026-04-20"


def test_long_texts_come_from_standard_input_or_a_file(org, server, tmp_path):
    home, case, note_id = pulled_with_a_note(tmp_path, org, server)
    discussion = ("Äiti kertoi illoista, 🌙 ja lapsi piirsi. " * 500)[:19_000]
    from_stdin = sopu_device(home, "edit", note_id, "--set", "discussion=@-", stdin=discussion)
    assert from_stdin.returncode == 0, from_stdin.stderr
    view = ("Mamman önskar hjälp med kvällarna. " * 600)[:19_000]
    (tmp_path / "view.txt").write_text(view + "\n", encoding="utf-8")  # editors end with \n
    from_file = sopu_device(
        home, "edit", note_id,
        "--set", f"client_view=@{tmp_path / 'view.txt'}",
        "--set", "client_review/comment=@@äiti", "--set", "client_review/status=read",
    )  # fmt: skip
    assert from_file.returncode == 0, from_file.stderr

    # A whole document well over one shell argument (128 KiB), through standard input.
    body = shown(home, note_id)
    action = ("Sovittiin 🙂🌙🌿🌼 " * 200)[:2_000]
    body["agreed_actions"] = [{"id": f"{n:032x}", "text": action} for n in range(50)]
    assert len(json.dumps(body, ensure_ascii=False).encode()) > 200 * 1024
    replaced = sopu_device(home, "edit", note_id, "--from-file", "-", stdin=json.dumps(body))
    assert replaced.returncode == 0, replaced.stderr
    assert "set      /agreed_actions" in replaced.stdout and "revision 4" in replaced.stdout

    too_long = sopu_device(home, "edit", note_id, "--set", "discussion=@-", stdin="a" * 25_000)
    assert too_long.returncode == 1
    assert f"{note_id} /discussion: too_long" in too_long.stderr
    assert sopu_device(home, "push").returncode == 0
    note = org.site.records.read(case, note_id)
    assert note["discussion"] == discussion and note["client_view"] == view
    assert note["client_review"] == {"comment": "@äiti", "status": "read"}
    assert len(note["agreed_actions"]) == 50 and note["_rev"].startswith("4-")


def test_replace_from_a_file_and_delete_reach_the_server(org, server, tmp_path):
    home, case = enrolled(tmp_path, org, server)
    sopu_device(home, "pull")
    first, second = org.docs["c"][2:]
    body = shown(home, first)
    body["discussion"] = "Korjattu tiedostosta."
    del body["_rev"], body["updated_at"]  # a body may omit what the device writes
    (tmp_path / "note.json").write_text(json.dumps(body), encoding="utf-8")
    replaced = sopu_device(home, "edit", first[:8], "--from-file", str(tmp_path / "note.json"))
    assert replaced.returncode == 0, replaced.stderr
    assert "set      /discussion" in replaced.stdout
    assert "/client_view" not in replaced.stdout  # unchanged fields are not listed
    elsewhere = json.dumps(body | {"case_id": "f" * 32})
    moved = sopu_device(home, "edit", first, "--from-file", "-", stdin=elsewhere)
    assert moved.returncode == 1
    assert f"{first}: the content names case_id 'ffff" in moved.stderr
    assert "_id, type and case_id never change" in moved.stderr

    deleted = sopu_device(home, "delete", second[:8])
    assert deleted.returncode == 0, deleted.stderr
    assert f"Deleted note {second} on this device; push to share it." in deleted.stdout
    assert second not in sopu_device(home, "notes", case).stdout
    pushed = sopu_device(home, "push")
    # the edit, the deletion, and the views `show` and `notes` recorded (access events)
    assert "4 documents written, 0 refused" in pushed.stdout, pushed.stdout + pushed.stderr
    assert org.site.records.read(case, first)["discussion"] == "Korjattu tiedostosta."
    with pytest.raises(NotFound):
        org.site.store.database(database_name(case)).get(second)


def reconciliation_item(item_id: str, path: str, ours_by: str) -> dict:
    return {
        "id": item_id,
        "path": path,
        "kind": "text",
        "ours": '"Äidin näkemys."',
        "ours_by": ours_by,
        "ours_at": "2026-05-04T10:00:00Z",
        "theirs": '"Mammans syn."',
        "theirs_by": "b" * 32,
        "theirs_at": "2026-05-04T10:05:00Z",
    }


def test_acknowledge_items_on_a_final_note_which_refuses_edits_and_deletion(org, server, tmp_path):
    home, case = enrolled(tmp_path, org, server)
    aino = org.workers["aino"]
    note = note_doc(random.Random(3), case, aino)
    note.update(state="final", finalised_by=aino, finalised_at=note["updated_at"])
    first, second = "a1" * 16, "c3" * 16
    note["reconciliation"] = [
        reconciliation_item(first, "/client_view", aino),
        reconciliation_item(second, "/discussion", aino),
    ]
    assert org.site.records.write(case, [note])[0]["ok"]
    note_id = note["_id"]
    sopu_device(home, "pull")

    listed = sopu_device(home, "reconcile")
    assert "Open items to reconcile" in listed.stdout
    assert f"item {first[:8]}  /client_view" in listed.stdout
    assert f"to clear (final note): sopu device acknowledge {note_id[:8]} {first[:8]}" in (
        listed.stdout
    )
    edit = sopu_device(home, "edit", note_id, "--set", "client_view=Uusi.")
    assert edit.returncode == 1
    assert f"note {note_id} is final and cannot change (write an amendment)" in edit.stderr
    gone = sopu_device(home, "delete", note_id)
    assert gone.returncode == 1 and "a final note cannot be deleted" in gone.stderr

    one = sopu_device(home, "acknowledge", note_id[:8], first[:6])
    assert one.returncode == 0, one.stderr
    assert "Acknowledged 1 item(s) on note" in one.stdout and f"item {first[:8]}" in one.stdout
    left = sopu_device(home, "reconcile")
    assert f"item {second[:8]}" in left.stdout and f"item {first[:8]}" not in left.stdout
    rest = sopu_device(home, "acknowledge", note_id)
    assert "Acknowledged 1 item(s)" in rest.stdout and f"item {second[:8]}" in rest.stdout
    nothing = sopu_device(home, "acknowledge", note_id)
    assert nothing.returncode == 1 and f"nothing to acknowledge on {note_id}" in nothing.stderr

    pushed = sopu_device(home, "push")
    assert "1 documents written, 0 refused" in pushed.stdout, pushed.stdout + pushed.stderr
    saved = org.site.records.read(case, note_id)
    assert [len(i["acknowledged"]) for i in saved["reconciliation"]] == [1, 1]
    assert all(i["acknowledged"][0]["by"] == aino for i in saved["reconciliation"])
    assert (saved["updated_at"], saved["updated_by"]) == (note["updated_at"], aino)
    assert saved["state"] == "final" and saved["client_view"] == note["client_view"]
    assert "Nothing to reconcile" in sopu_device(home, "reconcile").stdout


def test_edit_errors_name_the_document_the_field_and_the_reason(org, server, tmp_path):
    home, _case = enrolled(tmp_path, org, server)
    sopu_device(home, "pull")
    note_id = org.docs["c"][2]
    cases = [
        (["--unset", "no_such_field"], f"{note_id}: /no_such_field: no field no_such_field"),
        (["--set", "client_view/x=1"], "/client_view/x: /client_view is a text, not an object"),
        (["--set", "colour=punainen"], f"{note_id} /colour: unknown_field"),
        (["--set-json", "client_review={bad"], "--set-json client_review: invalid JSON"),
        (["--set", "client_view"], "--set 'client_view': expected PATH=VALUE"),
        (["--set", "client_view=@/no/such/file"], "cannot read /no/such/file"),
        (["--set", "updated_by=x"], "/updated_by: written by the device"),
        (["--from-file", "-", "--set", "a=b"], "cannot be combined"),
        ([], "nothing to change"),
    ]
    for options, expected in cases:
        result = sopu_device(home, "edit", note_id, *options, stdin="{}")
        assert result.returncode == 1, (options, result.stdout)
        [line] = result.stderr.strip().splitlines()
        assert expected in line, (options, line)
    assert shown(home, note_id)["_rev"].startswith("1-")  # nothing was written
