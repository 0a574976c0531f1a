"""The issue's stories played by two and three real `sopu device` processes against a
live server: what the instructors do on their phones, and what every phone shows after."""

from __future__ import annotations

import json
import random

import pytest

from mobile_schema.base import open_items
from server.tools.demo_data import note_doc
from tests.support.org import PASSWORD
from tests.test_cli_device import sopu_device

STORY = "X alkuperäinen. Toinen lause. Kolmas lause."


@pytest.fixture
def phones(org, server, tmp_path):
    """Aino's phone and tablet and Bertil's phone, enrolled, with a shared note pulled."""
    org.worker("aino")
    org.worker("bertil")
    case = org.case("pair", "aino", "bertil", notes=0)
    note = note_doc(random.Random(3), case, org.workers["aino"])
    note["discussion"] = STORY
    assert org.site.records.write(case, [note])[0]["ok"]
    homes = {}
    for name, who in (("aino", "aino"), ("tablet", "aino"), ("bertil", "bertil")):
        homes[name] = tmp_path / name
        run(homes[name], "enrol", server, who, stdin=PASSWORD)
        run(homes[name], "pull")
    return org, case, note["_id"], homes


def run(home, *args, stdin: str | None = None) -> str:
    result = sopu_device(home, *args, stdin=stdin)
    assert result.returncode == 0, result.stderr
    return result.stdout


def show(home, doc_id: str) -> dict:
    return json.loads(run(home, "show", doc_id))


def converge(homes: dict, *names: str) -> None:
    for _ in range(2):
        for name in names or homes:
            out = run(homes[name], "sync")
            assert "0 refused" in out.splitlines()[0], out


def everyone_agrees(homes: dict, doc_id: str) -> dict:
    shown = [show(home, doc_id) for home in homes.values()]
    assert all(doc == shown[0] for doc in shown)
    return shown[0]


def test_an_edit_on_the_losing_side_of_a_merge_survives(phones):
    _org, _case, note, homes = phones
    run(homes["aino"], "edit", note, "--set", "discussion=X muutettu. Toinen lause. Kolmas lause.")
    run(homes["aino"], "push")
    run(homes["bertil"], "edit", note, "--set", f"discussion={STORY} Y lisäsi.")
    run(homes["bertil"], "push")  # merged with Aino's first edit on the server
    run(homes["aino"], "edit", note, "--set", "discussion=X alkuperäinen. Toinen lause.")
    run(homes["aino"], "push")
    converge(homes, "bertil", "aino", "tablet")
    doc = everyone_agrees(homes, note)
    assert doc["discussion"] == "X alkuperäinen. Toinen lause. Y lisäsi."
    assert not doc.get("reconciliation")
    assert "Nothing to reconcile" in run(homes["bertil"], "reconcile")


def test_three_phones_finalise_twice_and_edit_and_every_version_stays(phones):
    org, case, note, homes = phones
    run(homes["aino"], "edit", note, "--set", "client_view=Aamut sujuvat.")
    run(homes["aino"], "finalise", note)
    run(homes["bertil"], "edit", note, "--set", "client_view=Aamut sujuvat paremmin.")
    run(homes["bertil"], "finalise", note)
    run(homes["tablet"], "edit", note, "--set", f"discussion={STORY} Isä soitti.")
    converge(homes)
    doc = everyone_agrees(homes, note)
    assert doc["state"] == "final"
    by_first = doc["finalised_by"]
    assert doc["updated_by"] == by_first  # the record reads as its finaliser left it
    amendments = [
        d for d in (show(homes["aino"], i) for i in _ids(homes["aino"], case)) if d.get("amends")
    ]
    finals = [a for a in amendments if a["state"] == "final"]
    drafts = [a for a in amendments if a["state"] == "draft"]
    assert len(finals) == 1 and finals[0]["finalised_by"] != by_first
    assert {doc["client_view"], finals[0]["client_view"]} == {
        "Aamut sujuvat.",
        "Aamut sujuvat paremmin.",
    }
    assert len(drafts) == 1 and drafts[0]["discussion"].endswith("Isä soitti.")
    [item] = open_items(doc)
    assert item["kind"] == "finalised_twice"
    listed = run(homes["bertil"], "reconcile")
    assert item["id"][:8] in listed and "acknowledge" in listed
    # Bertil acknowledges the item; the final note itself does not change.
    run(homes["bertil"], "acknowledge", note)
    converge(homes)
    after = everyone_agrees(homes, note)
    assert not open_items(after)
    strip = lambda d: {k: v for k, v in d.items() if k not in ("reconciliation", "_rev")}  # noqa: E731
    assert strip(after) == strip(doc)
    assert org.site.reconciliation.open_items([case]) == []


def test_a_deletion_that_meets_an_edit_keeps_the_document_and_tells_the_deleter(phones):
    org, _case, note, homes = phones
    run(homes["aino"], "delete", note)
    run(homes["bertil"], "edit", note, "--set", "client_view=Äiti haluaa jatkaa.")
    converge(homes, "aino", "bertil", "tablet")
    doc = everyone_agrees(homes, note)
    assert doc["client_view"] == "Äiti haluaa jatkaa."
    [item] = open_items(doc)
    assert item["kind"] == "deleted_edited"
    deleter = "ours" if item["ours"] == "null" else "theirs"
    assert item[f"{deleter}_by"] == org.workers["aino"]
    listed = run(homes["aino"], "reconcile")
    assert "deleted_edited" in listed and "you" in listed


def _ids(home, case: str) -> list[str]:
    """Every note id on a device, from `sopu device notes`."""
    out = run(home, "notes", case)
    return [line.split()[0] for line in out.splitlines() if line[:1].isalnum() and "  " in line]


def test_a_note_with_199_open_items_that_gains_collisions_syncs_without_an_error(
    org, server, tmp_path
):
    org.worker("aino")
    org.worker("bertil")
    case = org.case("crowded", "aino", "bertil", notes=0)
    note = note_doc(random.Random(4), case, org.workers["aino"])
    note["discussion"] = "Yksi. Kaksi. Kolme."
    note["reconciliation"] = [
        {
            "id": f"{n:032x}",
            "path": "/client_view",
            "kind": "value",
            "ours": json.dumps(f"vanha {n}"),
            "ours_by": org.workers["aino"],
            "ours_at": "2026-11-01T10:00:00Z",
            "theirs": json.dumps(f"uusi {n}"),
            "theirs_by": org.workers["bertil"],
            "theirs_at": "2026-11-01T10:01:00Z",
        }
        for n in range(199)
    ]
    assert org.site.records.write(case, [note])[0]["ok"]
    homes = {n: tmp_path / n for n in ("aino", "bertil")}
    for name, home in homes.items():
        run(home, "enrol", server, name, stdin=PASSWORD)
        run(home, "pull")
    run(homes["aino"], "edit", note["_id"], "--set", "discussion=Aino yksi. Aino kaksi. Kolme.")
    run(
        homes["bertil"],
        "edit",
        note["_id"],
        "--set",
        "discussion=Bertil yksi. Bertil kaksi. Kolme.",
    )
    converge(homes)  # every push answered without a refusal
    doc = everyone_agrees(homes, note["_id"])
    text = json.dumps(doc, ensure_ascii=False)
    for words in ("Aino yksi", "Aino kaksi", "Bertil yksi", "Bertil kaksi"):
        assert words in text
    assert all(f"{n:032x}" in text for n in range(199))
    assert len(doc["reconciliation"]) <= 200
