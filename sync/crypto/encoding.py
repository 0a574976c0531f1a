"""Byte encodings shared by every format in docs/PROTOCOL.md."""

from __future__ import annotations

import base64
import binascii
import json

from .errors import MalformedEnvelope


def b64encode(data: bytes) -> str:
    """Standard base64 (RFC 4648 §4) with padding: what every platform has built in."""
    return base64.b64encode(data).decode("ascii")


def b64decode(text: object, what: str) -> bytes:
    if not isinstance(text, str):
        raise MalformedEnvelope(f"{what} must be a base64 string")
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise MalformedEnvelope(f"{what} is not valid standard base64") from None


def plaintext_bytes(doc: dict) -> bytes:
    """UTF-8 JSON, keys sorted, no spaces: the exact bytes that are encrypted."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def nul_joined(*parts: object) -> bytes:
    """Fields joined by NUL bytes; none of them can contain NUL (ids are hex)."""
    texts = [str(part) for part in parts]
    if any("\0" in text for text in texts):
        raise MalformedEnvelope("a bound field contains a NUL byte")
    return "\0".join(texts).encode("utf-8")
