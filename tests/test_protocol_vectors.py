"""The worked examples in docs/PROTOCOL.md are what the code really produces."""

from __future__ import annotations

import json
import re
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import x25519

from scripts.protocol_vectors import CASE_ID, CASE_KEY, DEVICE_ID, envelope_vector
from sync.crypto import open_case_key, open_envelope

PROTOCOL = (Path(__file__).parents[1] / "docs" / "PROTOCOL.md").read_text("utf-8")


def _block_after(marker: str) -> str:
    start = PROTOCOL.index(marker)
    match = re.search(r"```(?:json)?\n(.*?)```", PROTOCOL[start:], re.S)
    return match.group(1).strip()


def test_documented_envelope_and_aad_match_the_code():
    vector = envelope_vector()
    assert _block_after("AAD (hex):") == vector["aad_hex"]
    assert json.loads(_block_after("Envelope:\n")) == vector["envelope"]


def test_documented_envelope_opens_to_the_documented_document():
    envelope = json.loads(_block_after("Envelope:\n"))
    doc = json.loads(_block_after("key version 1; document:"))
    opened = open_envelope(envelope, lambda case, v: CASE_KEY.key if case == CASE_ID else None)
    assert opened == doc | {"_rev": envelope["_rev"]}


def test_documented_sealed_key_opens_with_the_documented_device_key():
    private_hex = re.search(r"Device X25519 private key \(hex\): `([0-9a-f]+)`", PROTOCOL)
    sealed = _block_after("0x00…0x1f of the envelope example):")
    private = x25519.X25519PrivateKey.from_private_bytes(bytes.fromhex(private_hex.group(1)))
    key = open_case_key(sealed, "x25519", private, DEVICE_ID, CASE_ID, 1)
    assert key.key == bytes(range(32))
