"""Keyring: one case's data keys sealed to one device (HPKE), in the clear otherwise.

Keyrings travel in the worker's replicated database next to the envelopes. Only the
server writes them; a device reads them with its private key (docs/PROTOCOL.md).
A deleted keyring (tombstone) means the device must forget that case.
"""

from . import fields as f
from .base import StrictSchema
from .versions import CURRENT_VERSION

KEMS = ("x25519", "mlkem768-x25519")


class SealedKeySchema(StrictSchema):
    version = f.integer(1)
    sealed = f.String(
        required=True, validate=f.Pattern(r"^[A-Za-z0-9+/]+={0,2}$", "Expected standard base64.")
    )


class KeyringSchema(StrictSchema):
    """A case's key versions sealed to one device; `current_version` seals new writes."""

    id_ = f.doc_id(data_key="_id")
    rev = f.String(data_key="_rev", required=False, allow_none=True)
    type = f.const("keyring")
    schema_version = f.integer(CURRENT_VERSION, CURRENT_VERSION)
    device_id = f.doc_id()
    case_id = f.doc_id()
    kem = f.choice(KEMS)
    current_version = f.integer(1)
    keys = f.items(SealedKeySchema, required=True, limit=1000)
    updated_at = f.timestamp(required=True)
