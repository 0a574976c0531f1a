"""Seal case keys to devices with HPKE (RFC 9180). Pure: no I/O.

Base mode, single shot, KDF HKDF-SHA256, AEAD AES-256-GCM, and one of two KEMs:
`x25519` (DHKEM(X25519, HKDF-SHA256), the default) or `mlkem768-x25519` (the hybrid
post-quantum KEM ML-KEM-768 + X25519) for devices that choose it at enrolment:
records are kept for decades, longer than today's elliptic curves may last.

The HPKE `info` binds a sealed key to its device, case and key version, so a sealed
key copied into another keyring entry does not open.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import mlkem, x25519
from cryptography.hazmat.primitives.hpke import (
    AEAD,
    KDF,
    KEM,
    MLKEM768X25519PrivateKey,
    MLKEM768X25519PublicKey,
    Suite,
)

from .encoding import b64decode, b64encode, nul_joined
from .envelope import KEY_BYTES, CaseKey
from .errors import MalformedEnvelope, TamperedEnvelope

INFO_LABEL = "sopu-keyring-v1"
X25519 = "x25519"
HYBRID = "mlkem768-x25519"
KEMS = {X25519: KEM.X25519, HYBRID: KEM.MLKEM768_X25519}
X25519_PUBLIC_BYTES = 32
MLKEM768_PUBLIC_BYTES = 1184


def suite(kem: str) -> Suite:
    if kem not in KEMS:
        raise MalformedEnvelope(f"unknown KEM {kem!r}; expected one of {sorted(KEMS)}")
    return Suite(KEMS[kem], KDF.HKDF_SHA256, AEAD.AES_256_GCM)


def info(device_id: str, case_id: str, key_version: int) -> bytes:
    return nul_joined(INFO_LABEL, device_id, case_id, key_version)


@dataclass(frozen=True)
class DevicePublicKey:
    """A device's enrolled public key, as sent at enrolment (see to_json)."""

    kem: str
    x25519: bytes
    mlkem768: bytes | None = None

    def to_json(self) -> dict:
        out = {"kem": self.kem, "x25519": b64encode(self.x25519)}
        if self.mlkem768 is not None:
            out["mlkem768"] = b64encode(self.mlkem768)
        return out

    @classmethod
    def from_json(cls, data: object) -> DevicePublicKey:
        """Parse and check an enrolment public key; MalformedEnvelope says what is wrong."""
        if not isinstance(data, dict):
            raise MalformedEnvelope("a device public key is a JSON object")
        kem = data.get("kem")
        suite(kem)  # validates the name
        x = b64decode(data.get("x25519"), "x25519")
        if len(x) != X25519_PUBLIC_BYTES:
            raise MalformedEnvelope(f"x25519 public key must be {X25519_PUBLIC_BYTES} bytes")
        m = None
        if kem == HYBRID:
            m = b64decode(data.get("mlkem768"), "mlkem768")
            if len(m) != MLKEM768_PUBLIC_BYTES:
                raise MalformedEnvelope(
                    f"mlkem768 public key must be {MLKEM768_PUBLIC_BYTES} bytes"
                )
        elif "mlkem768" in data:
            raise MalformedEnvelope("mlkem768 is only used with the mlkem768-x25519 KEM")
        return cls(kem, x, m)

    def hpke_key(self):
        x = x25519.X25519PublicKey.from_public_bytes(self.x25519)
        if self.kem == X25519:
            return x
        return MLKEM768X25519PublicKey(mlkem.MLKEM768PublicKey.from_public_bytes(self.mlkem768), x)


def seal_case_key(key: CaseKey, device_id: str, public_key: DevicePublicKey) -> str:
    """The case key sealed to one device: base64 of HPKE `enc || ciphertext`."""
    sealed = suite(public_key.kem).encrypt(
        key.key, public_key.hpke_key(), info=info(device_id, key.case_id, key.version)
    )
    return b64encode(sealed)


def open_case_key(
    sealed: str, kem: str, private_key, device_id: str, case_id: str, version: int
) -> CaseKey:
    """Open a sealed case key with the device's HPKE private key."""
    try:
        raw = suite(kem).decrypt(
            b64decode(sealed, "sealed key"), private_key, info=info(device_id, case_id, version)
        )
    except MalformedEnvelope:
        raise
    except Exception:  # cryptography raises InvalidTag or ValueError for bad input
        raise TamperedEnvelope(f"sealed key for case {case_id} v{version} did not open") from None
    if len(raw) != KEY_BYTES:
        raise TamperedEnvelope("sealed key has the wrong length")
    return CaseKey(case_id, version, raw)


def hybrid_private_key(mlkem_key, x25519_key) -> MLKEM768X25519PrivateKey:
    return MLKEM768X25519PrivateKey(mlkem_key, x25519_key)
