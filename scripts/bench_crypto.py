"""Benchmark envelope crypto: seal+open throughput and crypto's share of a push.

    .venv/bin/python scripts/bench_crypto.py [--docs 10000] [--json]

A push is what the server does with documents a device sends: parse the request body,
open each envelope (the crypto), validate the document against the wire contract, and
write the envelopes to the case database (SQLite, batches of 500). The share of crypto
is the time spent opening envelopes divided by the whole push. Target: <= 10 %.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

from mobile_schema import validate_document
from server.demo_data import note_doc
from sync.cases import database_name
from sync.crypto import CaseKey, open_envelope, seal
from sync.store.sqlite import SQLiteStore

CASE_ID = "1c3e5a7b9d2f4e6a8c0b1d3f5a7c9e2b"
WORKER = "5f1c2d3e4a5b6c7d8e9f0a1b2c3d4e5f"
BATCH = 500


def documents(count: int) -> list[dict]:
    """Notes of about 1 KB of JSON each."""
    rng = random.Random(1)
    docs = []
    for _ in range(count):
        doc = note_doc(rng, CASE_ID, WORKER, phrases=4)
        doc["discussion"] = (doc["discussion"] + " ") * 2
        docs.append(doc)
    return docs


def timed(func):
    start = time.perf_counter()
    result = func()
    return result, time.perf_counter() - start


def bench_seal_open(docs: list[dict], key: CaseKey) -> dict:
    lookup = {(key.case_id, key.version): key.key}.get
    keys = lambda c, v: lookup((c, v))  # noqa: E731
    envelopes, seal_s = timed(lambda: [seal(d, key) for d in docs])
    _, open_s = timed(lambda: [open_envelope(e, keys) for e in envelopes])
    return {"seal_docs_per_s": len(docs) / seal_s, "open_docs_per_s": len(docs) / open_s,
            "seal_open_docs_per_s": len(docs) / (seal_s + open_s), "envelopes": envelopes}


def bench_push(envelopes: list[dict], key: CaseKey, workdir: Path) -> dict:
    """The server's push path, timing the crypto part separately."""
    store = SQLiteStore(workdir / "store")
    db = store.create_database(database_name(CASE_ID))
    keys = lambda c, v: key.key if (c, v) == (key.case_id, key.version) else None  # noqa: E731
    bodies = [json.dumps({"docs": envelopes[i:i + BATCH]}).encode()
              for i in range(0, len(envelopes), BATCH)]
    crypto = 0.0
    start = time.perf_counter()
    for body in bodies:
        batch = json.loads(body)["docs"]
        for envelope in batch:
            t0 = time.perf_counter()
            doc = open_envelope(envelope, keys)
            crypto += time.perf_counter() - t0
            validate_document(doc)
        results = db.bulk_docs(batch)
        assert all(r.get("ok") for r in results)
    total = time.perf_counter() - start
    store.close()
    return {"push_docs_per_s": len(envelopes) / total, "push_seconds": total,
            "crypto_seconds": crypto, "crypto_share": crypto / total}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=10_000)
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    args = parser.parse_args()
    docs = documents(args.docs)
    size = sum(len(json.dumps(d, ensure_ascii=False).encode()) for d in docs) / len(docs)
    key = CaseKey.generate(CASE_ID)
    crypto = bench_seal_open(docs, key)
    with tempfile.TemporaryDirectory() as tmp:
        push = bench_push(crypto.pop("envelopes"), key, Path(tmp))
    figures = {"docs": args.docs, "avg_doc_bytes": round(size), **crypto, **push,
               "target_crypto_share_max": 0.10}
    figures["meets_target"] = figures["crypto_share"] <= 0.10
    for name, value in figures.items():
        shown = f"{value:,.3f}" if isinstance(value, float) else value
        print(f"{name:>24}: {shown}")
    if args.json:
        print(json.dumps({k: round(v, 4) if isinstance(v, float) else v
                          for k, v in figures.items()}))


if __name__ == "__main__":
    main()
