"""Envelope crypto: case keys, envelopes, device keyrings, KEK wrapping. Pure: no I/O."""

from .device import DeviceKeys
from .envelope import CaseKey, open_envelope, seal
from .errors import (
    CryptoError,
    KeyUnavailable,
    MalformedEnvelope,
    TamperedEnvelope,
    WrongPassphrase,
)
from .keyring import HYBRID, X25519, DevicePublicKey, open_case_key, seal_case_key

__all__ = [
    "HYBRID",
    "X25519",
    "CaseKey",
    "CryptoError",
    "DeviceKeys",
    "DevicePublicKey",
    "KeyUnavailable",
    "MalformedEnvelope",
    "TamperedEnvelope",
    "WrongPassphrase",
    "open_case_key",
    "open_envelope",
    "seal",
    "seal_case_key",
]
