"""Seal client documents into envelopes and open them again. Pure: no I/O.

AES-256-GCM with one data key per case and a random 96-bit nonce per encryption.
The additional authenticated data binds the envelope to its place: the case
database, the document id, the document type, the schema version and the key
version. A ciphertext copied to another document or case therefore fails to open
(`TamperedEnvelope`), and so does one whose routing fields were edited.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..cases import database_name
from .encoding import b64decode, b64encode, nul_joined, plaintext_bytes
from .errors import KeyUnavailable, MalformedEnvelope, TamperedEnvelope

AAD_LABEL = "sopu-envelope-v1"
NONCE_BYTES = 12
KEY_BYTES = 32
# Fields of the plaintext that belong to the envelope, not inside it.
TRANSPORT_FIELDS = ("_rev", "_revisions", "_deleted", "_conflicts")


@dataclass(frozen=True)
class CaseKey:
    """One version of a case's data key."""

    case_id: str
    version: int
    key: bytes

    @classmethod
    def generate(cls, case_id: str, version: int = 1) -> CaseKey:
        return cls(case_id, version, AESGCM.generate_key(bit_length=256))


KeyLookup = Callable[[str, int], bytes | None]


def aad(case_id: str, doc_id: str, doc_type: str, schema_version: int, key_version: int) -> bytes:
    """The additional authenticated data; docs/PROTOCOL.md shows the bytes."""
    return nul_joined(
        AAD_LABEL, database_name(case_id), doc_id, doc_type, schema_version, key_version
    )


def seal(doc: dict, key: CaseKey, nonce: bytes | None = None) -> dict:
    """The envelope of a (validated) plaintext document, encrypted with `key`.

    `nonce` is for test vectors only; leave it None so a fresh random one is used.
    """
    doc_id, doc_type, version = doc["_id"], doc["type"], doc["schema_version"]
    nonce = os.urandom(NONCE_BYTES) if nonce is None else nonce
    inner = {k: v for k, v in doc.items() if k not in TRANSPORT_FIELDS}
    bound = aad(key.case_id, doc_id, doc_type, version, key.version)
    ciphertext = AESGCM(key.key).encrypt(nonce, plaintext_bytes(inner), bound)
    envelope = {"_id": doc_id}
    if "_rev" in doc:
        envelope["_rev"] = doc["_rev"]
    envelope.update(
        doc_type=doc_type,
        schema_version=version,
        case_id=key.case_id,
        key_version=key.version,
        nonce=b64encode(nonce),
        ciphertext=b64encode(ciphertext),
    )
    return envelope


def open_envelope(envelope: dict, keys: KeyLookup) -> dict:
    """The plaintext document inside `envelope` (with the envelope's `_rev`).

    `keys(case_id, key_version)` returns the 32-byte key or None. Raises
    KeyUnavailable, TamperedEnvelope or MalformedEnvelope.
    """
    fields = _fields(envelope)
    doc = _inner(decrypt_envelope(fields, keys), fields)
    if "_rev" in envelope:
        doc["_rev"] = envelope["_rev"]
    return doc


def decrypt_envelope(fields: dict, keys: KeyLookup) -> bytes:
    """The cryptographic part of opening: authenticate and decrypt (plaintext bytes)."""
    key = keys(fields["case_id"], fields["key_version"])
    if key is None:
        raise KeyUnavailable(f"no key for case {fields['case_id']} version {fields['key_version']}")
    bound = aad(
        fields["case_id"],
        fields["_id"],
        fields["doc_type"],
        fields["schema_version"],
        fields["key_version"],
    )
    try:
        return _cipher(key).decrypt(fields["nonce"], fields["ciphertext"], bound)
    except InvalidTag:
        raise TamperedEnvelope(f"envelope {fields['_id']} failed authentication") from None


@functools.lru_cache(maxsize=1024)
def _cipher(key: bytes) -> AESGCM:
    """AES-GCM with its key schedule done once per key, not once per document."""
    return AESGCM(key)


def _fields(envelope: object) -> dict:
    """Routing fields of an envelope, checked for type and length."""
    if not isinstance(envelope, dict):
        raise MalformedEnvelope("an envelope is a JSON object")
    out = {}
    for name, kind in (("_id", str), ("doc_type", str), ("case_id", str)):
        if not isinstance(envelope.get(name), kind):
            raise MalformedEnvelope(f"envelope field {name} must be a string")
        out[name] = envelope[name]
    for name in ("schema_version", "key_version"):
        value = envelope.get(name)
        if isinstance(value, bool) or not isinstance(value, int):
            raise MalformedEnvelope(f"envelope field {name} must be an integer")
        out[name] = value
    out["nonce"] = b64decode(envelope.get("nonce"), "nonce")
    if len(out["nonce"]) != NONCE_BYTES:
        raise MalformedEnvelope(f"nonce must be {NONCE_BYTES} bytes")
    out["ciphertext"] = b64decode(envelope.get("ciphertext"), "ciphertext")
    return out


def _inner(plaintext: bytes, fields: dict) -> dict:
    """Decode the plaintext and check it agrees with the (authenticated) routing fields.

    A device's key seals whatever the device wrote: plaintext that is not one JSON
    object (not UTF-8, an integer of thousands of digits, NaN) is malformed, refused
    like any other envelope fault rather than failing the whole push."""
    try:
        doc = json.loads(plaintext, parse_constant=_not_json)
    except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError too
        raise MalformedEnvelope("the plaintext is not a JSON object") from None
    if not isinstance(doc, dict):
        raise MalformedEnvelope("the plaintext is not a JSON object")
    expected = (fields["_id"], fields["doc_type"], fields["schema_version"])
    if (doc.get("_id"), doc.get("type"), doc.get("schema_version")) != expected:
        raise TamperedEnvelope(f"envelope {fields['_id']} does not match its contents")
    return doc


def _not_json(name: str) -> float:
    raise ValueError(f"{name} is not JSON")
