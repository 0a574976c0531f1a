"""Seed realistic client data, then search every stored byte for it: zero hits.

The SQLite case reads the raw files (store, directory, their WAL files); the
CouchDB-protocol case reads every document, every revision and every archive entry
the server will give out, as raw HTTP response text.
"""

from __future__ import annotations

import json
import random

import requests

from mobile_schema import validate_document
from server.site import Site
from server.tools.demo_data import case_doc, family_doc, note_doc
from sync.cases import database_name
from tests.support.site import new_keks

WORKER_NAME = "Testi Työntekijä"


def seed(site: Site, families: int = 6, notes: int = 4) -> set[str]:
    """Write families, cases and notes; return every sensitive string written."""
    rng = random.Random(7)
    worker = site.accounts.create("worker-1", WORKER_NAME, "worker", "admin")
    secrets_written: set[str] = set()
    for _ in range(families):
        family = family_doc(rng, worker)
        case_id = site.cases.create(family["_id"], "admin")
        docs = [family, case_doc(case_id, family["_id"], worker)]
        docs += [note_doc(rng, case_id, worker) for _ in range(notes)]
        results = site.records.write(case_id, docs)
        assert all(r.get("ok") for r in results), results
        # A second revision of every note, so history is stored too.
        for doc, result in zip(docs[2:], results[2:], strict=True):
            edited = validate_document(doc) | {"_rev": result["rev"]}
            edited["discussion"] += " " + rng.choice(["Lisäys jälkikäteen.", "Tillägg."])
            site.records.write(case_id, [edited])
        for member in family["members"]:
            secrets_written |= {member["given_names"], member["family_name"]}
        for doc in docs[2:]:
            secrets_written |= {doc["discussion"], doc["client_view"]}
            secrets_written |= set(doc["discussion"].split(". "))
    return secrets_written


def needles(secrets_written: set[str]) -> list[bytes]:
    """Byte patterns that would reveal a secret: raw UTF-8, JSON-escaped, quoted."""
    out = set()
    for text in secrets_written:
        forms = {text, json.dumps(text)[1:-1]}
        for form in forms:
            out.add(f'"{form}"'.encode())  # as a JSON value: base64 never has quotes
            if len(form) >= 8:  # long enough not to occur in base64 by chance
                out.add(form.encode())
    return sorted(out)


def hits(blob: bytes, patterns: list[bytes]) -> list[bytes]:
    return [p for p in patterns if p in blob]


def test_sqlite_files_hold_no_client_plaintext(tmp_path):
    site = Site.open(f"sqlite:///{tmp_path / 'store'}", tmp_path / "directory.sqlite3", new_keks())
    written = seed(site)
    site.close()
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name == "sopu.sqlite3" for p in files)
    blob = b"".join(p.read_bytes() for p in files)
    patterns = needles(written)
    assert len(patterns) > 50
    assert hits(blob, patterns) == []
    # The check itself works: the worker's own name is in the directory, in the clear.
    assert WORKER_NAME.encode() in blob


def test_couchdb_protocol_server_holds_no_client_plaintext(pouchdb_server_url, tmp_path):
    from sync.store.couch import CouchStore

    store = CouchStore(pouchdb_server_url)
    site = Site.build(store, tmp_path / "directory.sqlite3", new_keks())
    written = seed(site)
    patterns = needles(written)
    case_ids = [row["id"] for row in site.directory.query("SELECT id FROM cases")]
    seen = 0
    for case_id in case_ids:
        base = f"{pouchdb_server_url}/{database_name(case_id)}"
        listing = requests.get(f"{base}/_all_docs?include_docs=true", timeout=10)
        changes = requests.get(f"{base}/_changes?style=all_docs", timeout=10)
        blob = listing.content + changes.content
        db = store.database(database_name(case_id))
        for row in listing.json()["rows"]:
            revs = requests.get(f"{base}/{row['id']}?open_revs=all&revs=true", timeout=10)
            blob += revs.content
            for leaf in revs.json():
                path = leaf["ok"]["_revisions"]
                for offset, digest in enumerate(path["ids"]):
                    archived = db.archived(row["id"], f"{path['start'] - offset}-{digest}")
                    assert archived is not None
                    blob += json.dumps(archived, ensure_ascii=False).encode()
                    seen += 1
        assert hits(blob, patterns) == []
    assert seen >= 6 * 4 * 2  # every note revision was looked at
    site.close()
