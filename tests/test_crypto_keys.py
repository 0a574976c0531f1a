"""Device keys, HPKE-sealed case keys and KEK wrapping."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sync.crypto import (
    HYBRID,
    X25519,
    CaseKey,
    DeviceKeys,
    DevicePublicKey,
    MalformedEnvelope,
    TamperedEnvelope,
    WrongPassphrase,
    seal_case_key,
)
from sync.crypto.wrap import kek_id, unwrap, wrap

CASE = "1c3e5a7b9d2f4e6a8c0b1d3f5a7c9e2b"
OTHER_CASE = "2d4f6b8c0e3a5f7b9d1c2e4a6b8d0f3c"
DEVICE = "d" * 32
FAST_SCRYPT = 2**10  # tests only; the default is 2**15


@pytest.fixture(scope="module", params=[X25519, HYBRID])
def device(request):
    return DeviceKeys.generate(request.param)


def test_sealed_case_key_opens_only_on_its_device_for_its_case(device):
    key = CaseKey.generate(CASE, 2)
    public = DevicePublicKey.from_json(device.public().to_json())
    sealed = seal_case_key(key, DEVICE, public)
    assert device.open_case_key(sealed, DEVICE, CASE, 2) == key
    with pytest.raises(TamperedEnvelope):  # copied into another case's entry
        device.open_case_key(sealed, DEVICE, OTHER_CASE, 2)
    with pytest.raises(TamperedEnvelope):  # or another version's
        device.open_case_key(sealed, DEVICE, CASE, 1)
    with pytest.raises(TamperedEnvelope):  # or another device's keyring
        device.open_case_key(sealed, "e" * 32, CASE, 2)
    stranger = DeviceKeys.generate(device.kem)
    with pytest.raises(TamperedEnvelope):
        stranger.open_case_key(sealed, DEVICE, CASE, 2)


def test_hybrid_kem_uses_ml_kem_768():
    public = DeviceKeys.generate(HYBRID).public().to_json()
    assert public["kem"] == "mlkem768-x25519"
    assert set(public) == {"kem", "x25519", "mlkem768"}


@settings(max_examples=10, deadline=None)
@given(passphrase=st.text(min_size=1, max_size=30), wrong=st.text(min_size=1, max_size=30))
def test_device_key_round_trips_under_its_passphrase_only(passphrase, wrong):
    device = DeviceKeys.generate(X25519)
    blob = device.protect(passphrase, n=FAST_SCRYPT)
    unlocked = DeviceKeys.unlock(blob, passphrase)
    assert unlocked.public() == device.public()
    if wrong != passphrase:
        with pytest.raises(WrongPassphrase):
            DeviceKeys.unlock(blob, wrong)


def test_hybrid_device_key_survives_protection():
    device = DeviceKeys.generate(HYBRID)
    unlocked = DeviceKeys.unlock(device.protect("246810", n=FAST_SCRYPT), "246810")
    key = CaseKey.generate(CASE)
    sealed = seal_case_key(key, DEVICE, device.public())
    assert unlocked.open_case_key(sealed, DEVICE, CASE, 1) == key


def test_protected_blob_holds_no_key_material_in_clear():
    device = DeviceKeys.generate(X25519)
    blob = device.protect("1234", n=FAST_SCRYPT)
    raw = device.x25519.private_bytes_raw()
    assert raw.hex() not in repr(blob)
    assert blob["kdf"]["name"] == "scrypt"


@pytest.mark.parametrize(
    "public",
    [
        {"kem": "rsa", "x25519": "AAAA"},
        {"kem": "x25519", "x25519": "AAAA"},
        {"kem": "mlkem768-x25519", "x25519": "A" * 43 + "="},
        "not an object",
    ],
)
def test_bad_enrolment_keys_are_rejected_with_a_reason(public):
    with pytest.raises(MalformedEnvelope):
        DevicePublicKey.from_json(public)


def test_kek_wrap_round_trip_and_binding():
    kek = bytes(range(32))
    key = CaseKey.generate(CASE, 3)
    kid, blob = wrap(kek, key)
    assert kid == kek_id(kek)
    assert unwrap({kid: kek}, kid, blob, CASE, 3) == key
    with pytest.raises(TamperedEnvelope):  # moved to another case's row
        unwrap({kid: kek}, kid, blob, OTHER_CASE, 3)
    assert key.key not in blob
