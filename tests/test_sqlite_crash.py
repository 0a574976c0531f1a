"""`kill -9` in the middle of SQLite bulk writes loses nothing acknowledged, tears nothing.

A writer process creates and updates documents in batches and reports each batch only
after `bulk_docs` returned. We kill it with SIGKILL at a random moment, then check the
store as the next process to open it would see it.
"""

from __future__ import annotations

import hashlib
import json
import random
import signal
import subprocess
import sys
import time

import pytest

from sync.store.sqlite import SQLiteStore

WRITER = r"""
import hashlib, json, sys
from sync.store.sqlite import SQLiteStore

store = SQLiteStore(sys.argv[1])
db = store.ensure_database("case_crash")
revs = {}
batch = 0
while True:
    docs = []
    for i in range(100):
        doc_id = f"doc{(batch // 2) * 100 + i:06d}"
        text = f"batch {batch} doc {doc_id} " + "Perhe kertoi arjesta. " * 40
        doc = {"_id": doc_id, "batch": batch, "text": text,
               "sha": hashlib.sha256(text.encode()).hexdigest()}
        if doc_id in revs:
            doc["_rev"] = revs[doc_id]
        docs.append(doc)
    results = db.bulk_docs(docs)
    assert all(r.get("ok") for r in results), results
    revs.update((r["id"], r["rev"]) for r in results)
    print(json.dumps({"batch": batch, "revs": {r["id"]: r["rev"] for r in results}}), flush=True)
    batch += 1
"""


def _run_and_kill(directory, seed: int) -> dict[str, str]:
    """Start the writer, kill -9 it after a random number of batches; acked revs by id."""
    rng = random.Random(seed)
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(directory)], stdout=subprocess.PIPE, text=True
    )
    acked: dict[str, str] = {}
    wanted = rng.randint(2, 8)
    try:
        for _ in range(wanted):
            line = proc.stdout.readline()
            assert line, "writer died before it was killed"
            acked.update(json.loads(line)["revs"])
        time.sleep(rng.uniform(0, 0.05))  # land somewhere inside the next transaction
        proc.send_signal(signal.SIGKILL)
        rest, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    # Batches acknowledged between our last read and the kill count too; a line the
    # kill cut in half was never a complete acknowledgement.
    for line in rest.splitlines(keepends=True):
        if line.endswith("\n"):
            acked.update(json.loads(line)["revs"])
    assert proc.returncode == -signal.SIGKILL
    return acked


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_kill_9_loses_no_acknowledged_write_and_tears_no_document(tmp_path, seed):
    acked = _run_and_kill(tmp_path / "store", seed)
    assert acked

    store = SQLiteStore(tmp_path / "store")
    db = store.database("case_crash")
    listing = db.all_docs(include_docs=True)
    stored = {row["id"]: row["doc"] for row in listing["rows"]}

    # Nothing acknowledged is lost: the acknowledged revision or a later one is there.
    for doc_id, rev in acked.items():
        assert doc_id in stored, f"acknowledged {doc_id} lost"
        assert int(stored[doc_id]["_rev"].split("-")[0]) >= int(rev.split("-")[0])
        assert db.archived(doc_id, rev) is not None

    # Nothing is torn: every stored document is whole and consistent with its checksum.
    for doc_id, doc in stored.items():
        assert hashlib.sha256(doc["text"].encode()).hexdigest() == doc["sha"], doc_id
        assert f"doc {doc_id} " in doc["text"]

    # The bookkeeping agrees with the documents (no half-applied batch).
    info = db.info()
    assert info["doc_count"] == len(stored)
    changes = db.changes()
    assert {c["id"] for c in changes["results"]} == set(stored)
    assert changes["last_seq"] == info["update_seq"]
    assert len(stored) % 100 == 0, "a batch is all or nothing"

    # And the store keeps working after the crash.
    result = db.bulk_docs([{"_id": "after-crash", "ok": True}])
    assert result[0]["ok"]
    store.close()
