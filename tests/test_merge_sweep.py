"""`sopu merge sweep` resolves conflicts that reached a store without the gateway."""

from __future__ import annotations

import random

from server.tools.demo_data import note_doc
from sync.cases import database_name
from sync.crypto import seal
from sync.revisions import next_rev, parse_rev
from tests.support.cli import run_sopu, var_site


def branch(site, case, parent_env, doc):
    """Write `doc` as a child of `parent_env` directly into the store (another node)."""
    envelope = seal(doc, site.keys.current(case))
    rev = next_rev(parent_env["_rev"], False, envelope)
    path = {
        "start": parse_rev(rev)[0],
        "ids": [parse_rev(rev)[1], parse_rev(parent_env["_rev"])[1]],
    }
    db = site.store.database(database_name(case))
    db.bulk_docs([{**envelope, "_rev": rev, "_revisions": path}], new_edits=False)


def test_sweep_merges_conflicts_written_directly_to_the_store(tmp_path):
    assert run_sopu(tmp_path, "keys", "new-kek").returncode == 0
    site = var_site(tmp_path)
    worker = site.accounts.create("aino", "Aino", "worker", "admin")
    case = site.cases.create("f" * 32, "admin")
    note = note_doc(random.Random(1), case, worker)
    note["discussion"] = "Ensimmäinen lause. Toinen lause."
    site.records.write(case, [note])
    db = site.store.database(database_name(case))
    first = db.get(note["_id"])
    branch(
        site, case, first, note | {"discussion": "Ensimmäinen lause, tarkennettu. Toinen lause."}
    )
    branch(
        site,
        case,
        first,
        note
        | {
            "discussion": "Ensimmäinen lause. Toinen lause, muutettu.",
            "updated_at": "2026-11-22T12:00:00Z",
        },
    )
    assert "_conflicts" in db.get(note["_id"], conflicts=True)
    site.close()

    swept = run_sopu(tmp_path, "merge", "sweep")
    assert swept.returncode == 0, swept.stderr
    assert "merged 1 documents" in swept.stdout

    site = var_site(tmp_path)
    merged = site.records.read(case, note["_id"])
    assert merged["discussion"] == "Ensimmäinen lause, tarkennettu. Toinen lause, muutettu."
    assert "_conflicts" not in site.store.database(database_name(case)).get(
        note["_id"], conflicts=True
    )
    assert site.audit.entries(action="merge.swept")
    site.close()
    again = run_sopu(tmp_path, "merge", "sweep")
    assert "merged 0 documents" in again.stdout
