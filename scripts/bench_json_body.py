"""How much the strict JSON parsing of request bodies costs (docs/performance.md).

    .venv/bin/python scripts/bench_json_body.py

Times `server.web.json_body.parse_json` (depth scan, duplicate keys refused) against
plain `json.loads` on `_bulk_docs` bodies of envelope-shaped documents, and on the
pathological bodies it must refuse without recursing.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
import time

from server.errors import InvalidInput
from server.web.json_body import MAX_DEPTH, check_depth, parse_json


def envelope() -> dict:
    return {
        "_id": secrets.token_hex(16),
        "_rev": "1-" + secrets.token_hex(16),
        "_revisions": {"start": 1, "ids": [secrets.token_hex(16)]},
        "doc_type": "note",
        "schema_version": 3,
        "case_id": secrets.token_hex(16),
        "key_version": 1,
        "nonce": base64.b64encode(os.urandom(12)).decode(),
        "ciphertext": base64.b64encode(os.urandom(1500)).decode(),
    }


def best_ms(work, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times) * 1000


def refused_ms(data: bytes) -> float:
    start = time.perf_counter()
    with contextlib.suppress(InvalidInput):
        parse_json(data)
    return (time.perf_counter() - start) * 1000


def main() -> None:
    for count in (100, 5000, 15000):
        body = json.dumps({"docs": [envelope() for _ in range(count)]}).encode()
        plain = best_ms(lambda b=body: json.loads(b))
        strict = best_ms(lambda b=body: parse_json(b))
        scan = best_ms(lambda b=body: check_depth(b, MAX_DEPTH))
        print(
            f"{count} envelopes, {len(body) / 1e6:.1f} MB: json.loads {plain:.2f} ms,"
            f" parse_json {strict:.2f} ms (depth scan {scan:.2f} ms)"
        )
    for name, data in (
        ("30 MB of [", b"[" * 30_000_000),
        ('10 MB of "\\"', b'"' + b'\\"' * 5_000_000),
        ("30 MB of empty objects", b"[" + b"{}," * 10_000_000 + b"{}]"),
    ):
        print(f"{name}: {refused_ms(data):.0f} ms")


if __name__ == "__main__":
    main()
