"""The browser field app's crypto (server/field_app/static/js/crypto.mjs, keystore.mjs)
speaks exactly the protocol of docs/PROTOCOL.md: its worked examples, and both ways
with the Python reference code in sync/crypto. Node runs the very modules and vendor
bundle the app serves (tests/field_app/crypto_check.mjs), one process per batch."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sync.crypto import CaseKey, DeviceKeys, DevicePublicKey, open_envelope, seal, seal_case_key
from sync.crypto.encoding import plaintext_bytes
from sync.crypto.envelope import aad
from sync.crypto.errors import TamperedEnvelope, WrongPassphrase

ROOT = Path(__file__).resolve().parents[1]
CHECK = ROOT / "tests" / "field_app" / "crypto_check.mjs"
BUNDLE = ROOT / "server" / "field_app" / "static" / "vendor" / "vendor.js"
PROTOCOL = (ROOT / "docs" / "PROTOCOL.md").read_text("utf-8")
CASE = "1c3e5a7b9d2f4e6a8c0b1d3f5a7c9e2b"
OTHER_CASE = "2d4f6a8c0b1d3f5a7c9e2b1c3e5a7b9d"
DEVICE = "d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f"
WORKER = "5f1c2d3e4a5b6c7d8e9f0a1b2c3d4e5f"
FAST_N = 2**10  # scrypt cost where a test only checks the format, not the cost


@pytest.fixture(scope="module", autouse=True)
def bundle():
    if not BUNDLE.exists():
        subprocess.run(["bash", "scripts/build_app.sh"], cwd=ROOT, check=True)


def js(*ops: dict) -> list[dict]:
    """Run the operations in one node process; each result is {"ok"} or {"error"}."""
    done = subprocess.run(
        ["node", "--no-warnings", str(CHECK)],
        input=json.dumps(list(ops)),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=True,
    )
    return json.loads(done.stdout)


def ok(result: dict):
    assert "ok" in result, result
    return result["ok"]


def _block_after(marker: str) -> str:
    start = PROTOCOL.index(marker)
    match = re.search(r"```(?:json)?\n(.*?)```", PROTOCOL[start:], re.S)
    return match.group(1).strip()


def _key_json(key: CaseKey) -> dict:
    return {"case_id": key.case_id, "version": key.version, "key_hex": key.key.hex()}


def _note(text: str = "Aamut sujuvat paremmin.", doc_id: str = "8f90a1b2c3d4e5f60718293a4b5c6d7e"):
    return {
        "_id": doc_id,
        "type": "note",
        "schema_version": 3,
        "case_id": CASE,
        "kind": "entry",
        "discussion": text,
        "state": "draft",
        "updated_at": "2026-05-04T11:05:00+03:00",
        "updated_by": WORKER,
    }


# ------------------------------------------------------------ the worked examples


def test_js_builds_the_documented_aad_and_keyring_info():
    envelope = json.loads(_block_after("Envelope:\n"))
    aad, info = js(
        {
            "op": "aad",
            "case_id": envelope["case_id"],
            "_id": envelope["_id"],
            "doc_type": envelope["doc_type"],
            "schema_version": envelope["schema_version"],
            "key_version": envelope["key_version"],
        },
        {"op": "info", "device_id": DEVICE, "case_id": CASE, "key_version": 1},
    )
    assert ok(aad) == _block_after("AAD (hex):")
    assert ok(info) == _block_after("`info` (hex):")


def test_js_opens_the_documented_envelope_to_the_documented_document():
    envelope = json.loads(_block_after("Envelope:\n"))
    doc = json.loads(_block_after("key version 1; document:"))
    [opened] = js(
        {
            "op": "open",
            "envelope": envelope,
            "keys": [_key_json(CaseKey(CASE, 1, bytes(range(32))))],
        }
    )
    assert ok(opened) == doc


def test_js_opens_the_documented_sealed_key_and_derives_the_documented_public_key():
    private_hex = re.search(r"Device X25519 private key \(hex\): `([0-9a-f]+)`", PROTOCOL).group(1)
    public = re.search(r"so its public key is\s+`([^`]+)`", PROTOCOL).group(1)
    sealed = _block_after("0x00…0x1f of the envelope example):")
    key, derived = js(
        {
            "op": "open_sealed",
            "sealed": sealed,
            "kem": "x25519",
            "secret_hex": private_hex,
            "device_id": DEVICE,
            "case_id": CASE,
            "version": 1,
        },
        {"op": "public_of", "kem": "x25519", "secret_hex": private_hex},
    )
    assert ok(key) == bytes(range(32)).hex()
    assert ok(derived) == {"kem": "x25519", "x25519": public}


def test_canonical_json_is_pythons_sorted_compact_utf8_json():
    value = {
        "ö": [1, {"b": None, "a": True}],
        "a": "Hyvää päivää 👋",
        "\ue000": 1,
        "😀": 2,
        "z": -0.5,
    }
    [text] = js({"op": "canonical", "value": value})
    assert ok(text) == json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


# ------------------------------------------------------------ envelopes, both ways


def test_python_sealed_envelope_opens_in_js():
    key = CaseKey.generate(CASE, 2)
    doc = _note("Perhe kertoi: iltaisin on rauhallisempaa. Åsa hälsar 🌟")
    envelope = seal(dict(doc, _rev="3-abc"), key)
    [opened] = js({"op": "open", "envelope": envelope, "keys": [_key_json(key)]})
    assert ok(opened) == doc


def test_js_sealed_envelope_opens_in_python():
    key = CaseKey.generate(CASE, 3)
    doc = _note("Sovittiin: aamupala ennen päiväkotia; föräldern håller med.")
    [sealed] = js({"op": "seal", "docs": [dict(doc, _rev="2-ff")], **_key_json(key)})
    [envelope] = ok(sealed)
    assert "_rev" not in envelope and envelope["key_version"] == 3
    assert "sujuvat" not in json.dumps(envelope) and "Sovittiin" not in json.dumps(envelope)
    assert (
        open_envelope(envelope, lambda case, v: key.key if (case, v) == (CASE, 3) else None) == doc
    )


def test_tampered_or_moved_envelopes_are_refused_in_js():
    key = CaseKey.generate(CASE, 1)
    other = CaseKey(OTHER_CASE, 1, key.key)  # even the same key bytes under another case
    envelope = seal(_note(), key)
    raw = bytearray(base64.b64decode(envelope["ciphertext"]))
    raw[5] ^= 0x01
    flipped = dict(envelope, ciphertext=base64.b64encode(bytes(raw)).decode())
    moved_id = dict(envelope, _id="9b1d7c2e4f6a8b0c1d3e5f7a9b2c4d6e")
    moved_case = dict(envelope, case_id=OTHER_CASE)
    keys = [_key_json(key), _key_json(other)]
    results = js(
        *({"op": "open", "envelope": e, "keys": keys} for e in (flipped, moved_id, moved_case)),
        {"op": "open", "envelope": envelope, "keys": [_key_json(other)]},
    )
    assert [r.get("error") for r in results] == [
        "envelope_tampered",
        "envelope_tampered",
        "envelope_tampered",
        "key_unavailable",
    ]


def test_js_refuses_an_envelope_whose_contents_name_another_document():
    """Authentic under the envelope's own fields, but the plaintext claims another id:
    the key holder forged it, and opening must still refuse it."""
    key = CaseKey.generate(CASE, 1)
    envelope = seal(_note(), key)
    inner = _note(doc_id="9b1d7c2e4f6a8b0c1d3e5f7a9b2c4d6e")
    nonce = os.urandom(12)
    bound = aad(CASE, envelope["_id"], "note", 3, 1)
    ciphertext = AESGCM(key.key).encrypt(nonce, plaintext_bytes(inner), bound)
    forged = dict(
        envelope,
        nonce=base64.b64encode(nonce).decode(),
        ciphertext=base64.b64encode(ciphertext).decode(),
    )
    [result] = js({"op": "open", "envelope": forged, "keys": [_key_json(key)]})
    assert result["error"] == "envelope_tampered"


_TEXT = st.text(
    alphabet=st.one_of(
        st.sampled_from("äöåÄÖÅšžéü ,.!?\"'\\\n\t"),
        st.characters(codec="utf-8", exclude_categories=("Cs",)),
        st.sampled_from(["👩", "\u200d", "👧", "🌟", "😀", "\u2028", "\x00"]),
    ),
    max_size=80,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(_TEXT, st.dictionaries(_TEXT, _TEXT, max_size=4)), min_size=1, max_size=6)
)
def test_random_documents_round_trip_js_seal_python_open(items):
    key = CaseKey.generate(CASE, 1)
    docs = [
        dict(_note(text, doc_id=f"{i:032x}"), extra=extra, n=[i, -i, 1.5, None, True])
        for i, (text, extra) in enumerate(items)
    ]
    [sealed] = js({"op": "seal", "docs": docs, **_key_json(key)})
    lookup = lambda case, v: key.key  # noqa: E731
    assert [open_envelope(e, lookup) for e in ok(sealed)] == docs


# ------------------------------------------------------------ keyrings and device keys


@pytest.mark.parametrize("kem", ["x25519", "mlkem768-x25519"])
def test_python_keyring_for_a_js_generated_key_opens_in_js(kem):
    [generated] = js({"op": "generate", "kem": kem})
    generated = ok(generated)
    public = DevicePublicKey.from_json(generated["public_key"])  # the server's own check
    assert public.kem == kem
    v1, v2 = CaseKey.generate(CASE, 1), CaseKey.generate(CASE, 2)
    keyring = {
        "_id": "ab" * 16,
        "type": "keyring",
        "schema_version": 2,
        "device_id": DEVICE,
        "case_id": CASE,
        "kem": kem,
        "current_version": 2,
        "keys": [
            {"version": k.version, "sealed": seal_case_key(k, DEVICE, public)} for k in (v1, v2)
        ],
        "updated_at": "2026-05-04T11:05:00Z",
    }
    old, new = seal(_note("vanha"), v1), seal(_note("uusi", doc_id="cd" * 16), v2)
    [opened, other_device] = js(
        {
            "op": "open_with_keyring",
            "keyring": keyring,
            "device_id": DEVICE,
            "secret_hex": generated["secret_hex"],
            "envelopes": [old, new],
        },
        {
            "op": "open_with_keyring",
            "keyring": dict(keyring, device_id="ef" * 16),
            "device_id": "ef" * 16,
            "secret_hex": generated["secret_hex"],
            "envelopes": [],
        },
    )
    opened = ok(opened)
    assert opened["versions"] == [1, 2]
    assert opened["extractable"] == [False, False]
    assert [d["discussion"] for d in opened["docs"]] == ["vanha", "uusi"]
    # The HPKE info binds the device id: a keyring copied to another device does not open.
    assert other_device["error"] == "envelope_tampered"


@pytest.mark.parametrize("kem", ["x25519", "mlkem768-x25519"])
def test_js_wrapped_device_key_unlocks_in_python_and_opens_its_keys(kem):
    [generated] = js({"op": "generate", "kem": kem})
    generated = ok(generated)
    [wrapped] = js({"op": "wrap", "secret_hex": generated["secret_hex"], "pin": "2468"})
    wrapped = ok(wrapped)
    assert wrapped["kdf"] == {
        "name": "scrypt",
        "n": 2**15,
        "r": 8,
        "p": 1,
        "salt": wrapped["kdf"]["salt"],
    }
    assert generated["secret_hex"] not in json.dumps(wrapped)
    keys = DeviceKeys.unlock(wrapped, "2468")
    assert keys.public().to_json() == generated["public_key"]
    with pytest.raises(WrongPassphrase):
        DeviceKeys.unlock(wrapped, "2469")


@pytest.mark.parametrize("kem", ["x25519", "mlkem768-x25519"])
def test_python_protected_device_key_unwraps_in_js(kem):
    keys = DeviceKeys.generate(kem)
    blob = keys.protect("hyvä PIN-koodi", n=FAST_N)
    key = CaseKey.generate(CASE, 1)
    sealed = seal_case_key(key, DEVICE, keys.public())
    [secret, wrong] = js(
        {"op": "unwrap", "wrapped": blob, "pin": "hyvä PIN-koodi"},
        {"op": "unwrap", "wrapped": blob, "pin": "hyva PIN-koodi"},
    )
    secret_hex = ok(secret)
    assert wrong["error"] == "wrong_passphrase"
    [public, opened] = js(
        {"op": "public_of", "kem": kem, "secret_hex": secret_hex},
        {
            "op": "open_sealed",
            "sealed": sealed,
            "kem": kem,
            "secret_hex": secret_hex,
            "device_id": DEVICE,
            "case_id": CASE,
            "version": 1,
        },
    )
    assert ok(public) == keys.public().to_json()
    assert ok(opened) == key.key.hex()


def test_js_refuses_a_wrapped_key_with_a_changed_byte_or_an_absurd_cost():
    [wrapped] = js({"op": "wrap", "secret_hex": "11" * 32, "pin": "1357", "n": FAST_N})
    wrapped = ok(wrapped)
    raw = bytearray(base64.b64decode(wrapped["ciphertext"]))
    raw[0] ^= 0x80
    changed = dict(wrapped, ciphertext=base64.b64encode(bytes(raw)).decode())
    huge = dict(wrapped, kdf=dict(wrapped["kdf"], n=2**30))
    right, flipped, costly = js(
        {"op": "unwrap", "wrapped": wrapped, "pin": "1357"},
        {"op": "unwrap", "wrapped": changed, "pin": "1357"},
        {"op": "unwrap", "wrapped": huge, "pin": "1357"},
    )
    assert ok(right) == "11" * 32
    assert flipped["error"] == "wrong_passphrase"
    assert costly["error"] == "envelope_malformed"


def test_python_refuses_a_js_envelope_moved_to_another_case():
    key = CaseKey.generate(CASE, 1)
    [sealed] = js({"op": "seal", "docs": [_note()], **_key_json(key)})
    [envelope] = ok(sealed)
    with pytest.raises(TamperedEnvelope):
        open_envelope(dict(envelope, case_id=OTHER_CASE), lambda case, v: key.key)
