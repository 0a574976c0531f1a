"""Print the worked examples of docs/PROTOCOL.md (test vectors for app developers).

    .venv/bin/python scripts/protocol_vectors.py

The envelope vector is deterministic (fixed key and nonce). The keyring vector uses a
fixed device key but HPKE's ephemeral key is fresh each run, so its `sealed` value
changes; the one in PROTOCOL.md was produced by this script, and the test suite checks
that it still opens to the documented case key.
"""

from __future__ import annotations

import json

from cryptography.hazmat.primitives.asymmetric import x25519

from sync.crypto import CaseKey, DevicePublicKey, seal, seal_case_key
from sync.crypto.envelope import aad
from sync.crypto.keyring import info

CASE_ID = "1c3e5a7b9d2f4e6a8c0b1d3f5a7c9e2b"
DEVICE_ID = "d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f"
CASE_KEY = CaseKey(CASE_ID, 1, bytes(range(32)))
NONCE = bytes.fromhex("000102030405060708090a0b")
DEVICE_PRIVATE = bytes.fromhex("a0" * 16 + "b1" * 16)
DOC = {
    "_id": "8f90a1b2c3d4e5f60718293a4b5c6d7e",
    "type": "note",
    "schema_version": 3,
    "case_id": CASE_ID,
    "kind": "entry",
    "occurred_at": "2026-05-04T09:30:00+03:00",
    "discussion": "Aamut sujuvat paremmin.",
    "state": "draft",
    "updated_at": "2026-05-04T11:05:00+03:00",
    "updated_by": "5f1c2d3e4a5b6c7d8e9f0a1b2c3d4e5f",
}


def envelope_vector() -> dict:
    envelope = seal(dict(DOC, _rev="1-0123456789abcdef0123456789abcdef"), CASE_KEY, nonce=NONCE)
    bound = aad(CASE_ID, DOC["_id"], DOC["type"], DOC["schema_version"], CASE_KEY.version)
    return {"aad_hex": bound.hex(), "envelope": envelope}


def keyring_vector() -> dict:
    private = x25519.X25519PrivateKey.from_private_bytes(DEVICE_PRIVATE)
    public = DevicePublicKey("x25519", private.public_key().public_bytes_raw())
    return {
        "device_private_x25519_hex": DEVICE_PRIVATE.hex(),
        "device_public": public.to_json(),
        "info_hex": info(DEVICE_ID, CASE_ID, 1).hex(),
        "sealed": seal_case_key(CASE_KEY, DEVICE_ID, public),
    }


if __name__ == "__main__":
    print(
        json.dumps(
            {"envelope": envelope_vector(), "keyring": keyring_vector()},
            indent=2,
            ensure_ascii=False,
        )
    )
