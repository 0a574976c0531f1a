"""Password hashing with scrypt (memory-hard, from `cryptography`), salted per account.

`check_password` costs the same whether or not there is a real hash to check: a login
for an unknown or password-less account runs the KDF against a dummy hash, so the
answer time does not tell which usernames exist.
"""

from __future__ import annotations

import base64
import functools
import hmac
import os

from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1


def hash_password(password: str, n: int = SCRYPT_N) -> str:
    salt = os.urandom(16)
    digest = _derive(password, salt, n)
    return f"scrypt${n}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def check_password(password: str, stored: str | None) -> bool:
    """True if `password` matches `stored`; with no `stored` hash, the same work and False."""
    real = bool(stored)
    _, n, salt, digest = (stored if real else _dummy_hash()).split("$")
    candidate = _derive(password, base64.b64decode(salt), int(n))
    return hmac.compare_digest(candidate, base64.b64decode(digest)) and real


@functools.cache
def _dummy_hash() -> str:
    """A hash of a random password with today's parameters, made once per process."""
    return hash_password(base64.b64encode(os.urandom(18)).decode())


def _derive(password: str, salt: bytes, n: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=n, r=SCRYPT_R, p=SCRYPT_P).derive(password.encode())
