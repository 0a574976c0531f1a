"""Benchmark envelope crypto: seal+open throughput and crypto's share of a push.

    .venv/bin/python scripts/bench_crypto.py [--docs 10000] [--json]

A push is what the gateway does with documents a device sends to `/sync/<db>/_bulk_docs`
(batches of 500, new_edits=false as PouchDB sends them), served by the Flask app
in-process: authenticate the device, check each document (open the envelope — the
crypto —, validate it against the wire contract, state rules), write the case
database, record heads and the access log. The share of crypto is the time spent
opening envelopes divided by the whole push. Target: <= 10 %.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

from server.app import create_app
from server.config import Config
from server.gateway import push as push_module
from server.keys.kek import KekRing, new_kek_line
from server.site import Site
from server.tools.demo_data import note_doc
from sync.crypto import CaseKey, DeviceKeys, open_envelope, seal
from sync.crypto import envelope as envelope_module
from sync.revisions import next_rev

CASE_ID = "1c3e5a7b9d2f4e6a8c0b1d3f5a7c9e2b"
WORKER = "5f1c2d3e4a5b6c7d8e9f0a1b2c3d4e5f"
PASSWORD = "bench password 2026"
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
    return {
        "seal_docs_per_s": len(docs) / seal_s,
        "open_docs_per_s": len(docs) / open_s,
        "seal_open_docs_per_s": len(docs) / (seal_s + open_s),
        "envelopes": envelopes,
    }


def bench_push(docs: list[dict], workdir: Path) -> dict:
    """A real push: the gateway's `_bulk_docs` (new_edits=false, as PouchDB sends it)
    through the Flask app in-process, with authentication, per-document checks,
    storage, indexes and the access log. The crypto (opening each envelope to check
    it) is timed where the gateway calls it."""
    site = Site.open(
        f"sqlite:///{workdir / 'store'}",
        workdir / "directory.sqlite3",
        KekRing.from_lines([new_kek_line()], "bench"),
    )
    app = create_app(Config(data_dir=workdir / "var"), site=site)
    worker = site.accounts.create("bench", "Bench", "worker", "bench", password=PASSWORD)
    case_id = site.cases.create("f" * 32, "bench", case_id=CASE_ID)
    site.cases.assign(case_id, worker, "own_worker", "bench")
    client = app.test_client()
    client.post("/api/login", json={"username": "bench", "password": PASSWORD})
    token = client.post(
        "/api/devices",
        json={"label": "bench", "public_key": DeviceKeys.generate().public().to_json()},
    ).json
    key = site.keys.current(case_id)
    envelopes = [_replicated(seal(d | {"updated_by": worker}, key)) for d in docs]
    crypto = _time_envelope_opening()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    start = time.perf_counter()
    for i in range(0, len(envelopes), BATCH):
        reply = client.post(
            f"/sync/{worker}/_bulk_docs",
            headers=headers,
            json={"docs": envelopes[i : i + BATCH], "new_edits": False},
        )
        assert reply.status_code == 201 and reply.json == [], reply.json
    total = time.perf_counter() - start
    site.close()
    return {
        "push_docs_per_s": len(envelopes) / total,
        "push_seconds": total,
        "crypto_seconds": crypto["crypto"],
        "crypto_share": crypto["crypto"] / total,
        "opening_share": crypto["opening"] / total,
    }


def _replicated(envelope: dict) -> dict:
    """The envelope as a device's replicator pushes it: with its revision."""
    rev = next_rev(None, False, envelope)
    return {**envelope, "_rev": rev, "_revisions": {"start": 1, "ids": [rev[2:]]}}


def _time_envelope_opening() -> dict[str, float]:
    """Add up, where the gateway opens envelopes, the crypto proper (decoding the
    base64 fields, key setup, AES-256-GCM authentication and decryption) and the whole
    opening, which also parses the decrypted JSON (work that replaces parsing a
    plaintext document)."""
    spent = {"crypto": 0.0, "opening": 0.0}
    wrap(envelope_module, "_fields", spent, "crypto")
    wrap(envelope_module, "decrypt_envelope", spent, "crypto")
    wrap(push_module, "open_envelope", spent, "opening")
    return spent


def wrap(module, name: str, spent: dict, bucket: str) -> None:
    original = getattr(module, name)

    def timed(*args):
        started = time.perf_counter()
        try:
            return original(*args)
        finally:
            spent[bucket] += time.perf_counter() - started

    setattr(module, name, timed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=10_000)
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    args = parser.parse_args()
    docs = documents(args.docs)
    size = sum(len(json.dumps(d, ensure_ascii=False).encode()) for d in docs) / len(docs)
    key = CaseKey.generate(CASE_ID)
    crypto = bench_seal_open(docs, key)
    crypto.pop("envelopes")
    with tempfile.TemporaryDirectory() as tmp:
        push = bench_push(docs, Path(tmp))
    figures = {
        "docs": args.docs,
        "avg_doc_bytes": round(size),
        **crypto,
        **push,
        "target_crypto_share_max": 0.10,
    }
    figures["meets_target"] = figures["crypto_share"] <= 0.10
    for name, value in figures.items():
        shown = f"{value:,.3f}" if isinstance(value, float) else value
        print(f"{name:>24}: {shown}")
    if args.json:
        print(
            json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in figures.items()})
        )


if __name__ == "__main__":
    main()
