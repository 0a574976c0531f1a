"""Wrap case keys under the server's key-encryption key (KEK). Pure: no I/O.

Case keys are stored only wrapped. AES-256-GCM with the KEK, the additional data
binding the KEK id, case and key version, so a wrapped key swapped into another
case's row does not unwrap.
"""

from __future__ import annotations

import hashlib
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .encoding import nul_joined
from .envelope import KEY_BYTES, CaseKey
from .errors import KeyUnavailable, TamperedEnvelope

WRAP_LABEL = "sopu-kek-wrap-v1"


def kek_id(kek: bytes) -> str:
    """A short public fingerprint naming a KEK (never the key itself)."""
    return hashlib.sha256(b"sopu-kek-id\0" + kek).hexdigest()[:16]


def wrap(kek: bytes, key: CaseKey) -> tuple[str, bytes]:
    """(kek id, nonce || ciphertext) of `key` under `kek`."""
    if len(kek) != KEY_BYTES:
        raise ValueError("a KEK is 32 bytes")
    kid = kek_id(kek)
    nonce = os.urandom(12)
    bound = nul_joined(WRAP_LABEL, kid, key.case_id, key.version)
    return kid, nonce + AESGCM(kek).encrypt(nonce, key.key, bound)


def unwrap(keks: dict[str, bytes], kid: str, blob: bytes, case_id: str, version: int) -> CaseKey:
    """The case key from a wrapped blob; KeyUnavailable if that KEK is not loaded."""
    kek = keks.get(kid)
    if kek is None:
        raise KeyUnavailable(f"KEK {kid} is not loaded; add it to the key file to read case keys")
    bound = nul_joined(WRAP_LABEL, kid, case_id, version)
    try:
        raw = AESGCM(kek).decrypt(blob[:12], blob[12:], bound)
    except InvalidTag:
        raise TamperedEnvelope(f"wrapped key of case {case_id} v{version} did not unwrap") from None
    return CaseKey(case_id, version, raw)
