"""A device's own key pair, kept encrypted under the worker's PIN or passphrase.

The private key never leaves the device. At rest it is encrypted with AES-256-GCM
under a key derived from the PIN with scrypt (memory-hard, from `cryptography`), so
a copied phone storage is useless without the PIN (or a long offline guessing run:
see docs/THREAT_MODEL.md — platform keystores and revocation are the real defence).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric import mlkem, x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from .encoding import b64decode, b64encode
from .envelope import CaseKey
from .errors import MalformedEnvelope, WrongPassphrase
from .keyring import HYBRID, X25519, DevicePublicKey, hybrid_private_key, open_case_key, suite

PROTECT_AAD = b"sopu-device-key-v1"
SCRYPT_N = 2**15  # ~32 MiB, ~0.1 s: interactive unlock on a phone
SCRYPT_R = 8
SCRYPT_P = 1


@dataclass
class DeviceKeys:
    """The device's HPKE private key(s) for its enrolled KEM."""

    kem: str
    x25519: x25519.X25519PrivateKey
    mlkem768: mlkem.MLKEM768PrivateKey | None = None

    @classmethod
    def generate(cls, kem: str = X25519) -> DeviceKeys:
        suite(kem)
        m = mlkem.MLKEM768PrivateKey.generate() if kem == HYBRID else None
        return cls(kem, x25519.X25519PrivateKey.generate(), m)

    def public(self) -> DevicePublicKey:
        x = self.x25519.public_key().public_bytes_raw()
        m = self.mlkem768.public_key().public_bytes_raw() if self.mlkem768 else None
        return DevicePublicKey(self.kem, x, m)

    def hpke_private(self):
        if self.kem == X25519:
            return self.x25519
        return hybrid_private_key(self.mlkem768, self.x25519)

    def open_case_key(self, sealed: str, device_id: str, case_id: str, version: int) -> CaseKey:
        return open_case_key(sealed, self.kem, self.hpke_private(), device_id, case_id, version)

    def _secret(self) -> bytes:
        secret = self.x25519.private_bytes_raw()
        if self.mlkem768 is not None:
            secret += self.mlkem768.private_bytes_raw()  # the 64-byte seed
        return secret

    def protect(self, passphrase: str, n: int = SCRYPT_N) -> dict:
        """The private key encrypted under `passphrase`, as a JSON object to store."""
        salt, nonce = os.urandom(16), os.urandom(12)
        key = _derive(passphrase, salt, n)
        return {
            "kem": self.kem,
            "kdf": {
                "name": "scrypt",
                "n": n,
                "r": SCRYPT_R,
                "p": SCRYPT_P,
                "salt": b64encode(salt),
            },
            "nonce": b64encode(nonce),
            "ciphertext": b64encode(AESGCM(key).encrypt(nonce, self._secret(), PROTECT_AAD)),
        }

    @classmethod
    def unlock(cls, blob: dict, passphrase: str) -> DeviceKeys:
        """Decrypt a `protect()` blob; WrongPassphrase if the passphrase is wrong."""
        try:
            kdf = blob["kdf"]
            key = _derive(passphrase, b64decode(kdf["salt"], "salt"), int(kdf["n"]))
            nonce = b64decode(blob["nonce"], "nonce")
            secret = AESGCM(key).decrypt(
                nonce, b64decode(blob["ciphertext"], "ciphertext"), PROTECT_AAD
            )
        except InvalidTag:
            raise WrongPassphrase("the device key did not unlock with this passphrase") from None
        except (KeyError, TypeError, ValueError) as exc:
            raise MalformedEnvelope(f"protected device key is malformed: {exc}") from None
        x = x25519.X25519PrivateKey.from_private_bytes(secret[:32])
        m = mlkem.MLKEM768PrivateKey.from_seed_bytes(secret[32:]) if blob["kem"] == HYBRID else None
        return cls(blob["kem"], x, m)


def _derive(passphrase: str, salt: bytes, n: int) -> bytes:
    if not passphrase:
        raise WrongPassphrase("an empty passphrase protects nothing")
    kdf = Scrypt(salt=salt, length=32, n=n, r=SCRYPT_R, p=SCRYPT_P)
    return kdf.derive(passphrase.encode("utf-8"))
