"""Envelopes: round trips, and every kind of tampering or moving is caught."""

from __future__ import annotations

import base64
import copy

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mobile_schema import CURRENT_VERSION, problems_of
from sync.crypto import (
    CaseKey,
    KeyUnavailable,
    MalformedEnvelope,
    TamperedEnvelope,
    open_envelope,
    seal,
)
from sync.crypto.envelope import aad
from tests.strategies import documents, ids

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CASE_A = "1c3e5a7b9d2f4e6a8c0b1d3f5a7c9e2b"
CASE_B = "2d4f6b8c0e3a5f7b9d1c2e4a6b8d0f3c"


def keys_of(*case_keys: CaseKey):
    table = {(k.case_id, k.version): k.key for k in case_keys}
    return lambda case_id, version: table.get((case_id, version))


def flip(text: str, index: int, bit: int) -> str:
    raw = bytearray(base64.b64decode(text))
    raw[index % len(raw)] ^= 1 << bit
    return base64.b64encode(bytes(raw)).decode()


@SETTINGS
@given(doc=documents(), version=st.integers(1, 5))
def test_seal_open_round_trip_for_every_document_type(doc, version):
    key = CaseKey.generate(CASE_A, version)
    doc["_rev"] = "3-" + "a" * 32
    envelope = seal(doc, key)
    assert problems_of(envelope, envelope=True) == []
    assert open_envelope(envelope, keys_of(key)) == doc
    assert envelope["_rev"] == doc["_rev"]


@SETTINGS
@given(
    doc=documents(),
    field=st.sampled_from(["nonce", "ciphertext"]),
    index=st.integers(0, 10_000),
    bit=st.integers(0, 7),
)
def test_any_flipped_bit_in_nonce_or_ciphertext_is_rejected(doc, field, index, bit):
    key = CaseKey.generate(CASE_A)
    envelope = seal(doc, key)
    envelope[field] = flip(envelope[field], index, bit)
    with pytest.raises(TamperedEnvelope):
        open_envelope(envelope, keys_of(key))


BOUND_CHANGES = {
    "_id": lambda e: "f" * 32 if e["_id"] != "f" * 32 else "e" * 32,
    "doc_type": lambda e: "visit" if e["doc_type"] != "visit" else "note",
    "schema_version": lambda e: e["schema_version"] + 1,
}


@SETTINGS
@given(doc=documents(), field=st.sampled_from(sorted(BOUND_CHANGES)))
def test_changing_a_bound_field_is_rejected(doc, field):
    key = CaseKey.generate(CASE_A)
    envelope = seal(doc, key)
    envelope[field] = BOUND_CHANGES[field](envelope)
    with pytest.raises(TamperedEnvelope):
        open_envelope(envelope, keys_of(key))


@SETTINGS
@given(doc=documents(), other_id=ids)
def test_envelope_moved_to_another_document_is_rejected(doc, other_id):
    key = CaseKey.generate(CASE_A)
    envelope = seal(doc, key)
    if other_id == envelope["_id"]:
        return
    envelope["_id"] = other_id
    with pytest.raises(TamperedEnvelope):
        open_envelope(envelope, keys_of(key))


def test_envelope_moved_to_another_case_is_rejected_even_with_that_cases_key():
    key_a = CaseKey.generate(CASE_A)
    doc = _note()
    envelope = seal(doc, key_a)
    moved = dict(envelope, case_id=CASE_B)
    # The attacker even gives case B the same key bytes: the AAD still differs.
    same_bytes = CaseKey(CASE_B, 1, key_a.key)
    with pytest.raises(TamperedEnvelope):
        open_envelope(moved, keys_of(key_a, same_bytes))


def test_key_version_is_bound():
    v1 = CaseKey.generate(CASE_A, 1)
    v2 = CaseKey(CASE_A, 2, v1.key)
    envelope = seal(_note(), v1)
    with pytest.raises(TamperedEnvelope):
        open_envelope(dict(envelope, key_version=2), keys_of(v1, v2))


def test_old_key_versions_still_open_old_documents_after_rotation():
    v1, v2 = CaseKey.generate(CASE_A, 1), CaseKey.generate(CASE_A, 2)
    old = seal(_note(), v1)
    new = seal(_note(), v2)
    assert new["key_version"] == 2
    assert open_envelope(old, keys_of(v1, v2))["discussion"] == _note()["discussion"]
    with pytest.raises(KeyUnavailable):
        open_envelope(old, keys_of(v2))


def test_wrong_key_is_tampering_and_missing_key_is_unavailable():
    envelope = seal(_note(), CaseKey.generate(CASE_A))
    with pytest.raises(TamperedEnvelope):
        open_envelope(envelope, keys_of(CaseKey.generate(CASE_A)))
    with pytest.raises(KeyUnavailable):
        open_envelope(envelope, keys_of())


@pytest.mark.parametrize(
    "mutate",
    [
        lambda e: e.pop("nonce"),
        lambda e: e.__setitem__("nonce", "AAAA"),
        lambda e: e.__setitem__("ciphertext", "not base64!"),
        lambda e: e.__setitem__("key_version", "1"),
        lambda e: e.pop("case_id"),
    ],
)
def test_malformed_envelopes_say_so(mutate):
    key = CaseKey.generate(CASE_A)
    envelope = seal(_note(), key)
    mutate(envelope)
    with pytest.raises(MalformedEnvelope):
        open_envelope(envelope, keys_of(key))


def test_nonces_are_fresh_and_ciphertext_hides_the_text():
    key = CaseKey.generate(CASE_A)
    doc = _note()
    first, second = seal(doc, key), seal(copy.deepcopy(doc), key)
    assert first["nonce"] != second["nonce"]
    assert first["ciphertext"] != second["ciphertext"]
    assert "aamujen" not in base64.b64decode(first["ciphertext"]).decode("latin-1")


def test_aad_bytes_are_exactly_as_documented():
    bound = aad(CASE_A, "8f90a1b2c3d4e5f60718293a4b5c6d7e", "note", CURRENT_VERSION, 3)
    assert bound == (
        b"sopu-envelope-v1\x00case-1c3e5a7b9d2f4e6a8c0b1d3f5a7c9e2b\x00"
        b"8f90a1b2c3d4e5f60718293a4b5c6d7e\x00note\x00" + str(CURRENT_VERSION).encode() + b"\x003"
    )


def _note() -> dict:
    from mobile_schema.examples import example

    doc = example("note")
    doc["case_id"] = CASE_A
    return doc
