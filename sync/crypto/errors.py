"""Why an envelope or a sealed key could not be opened.

Distinct classes because the reactions differ: a missing key means "sync your
keyring first"; a failed authentication means tampering or a document moved between
ids or cases, and must be reported, never retried.
"""


class CryptoError(Exception):
    """Base class; `code` is the stable machine-readable reason."""

    code = "crypto_error"


class KeyUnavailable(CryptoError):
    """No key for this (case, key version) here: not delivered, revoked or shredded."""

    code = "key_unavailable"


class TamperedEnvelope(CryptoError):
    """Authentication failed: ciphertext, nonce or a bound field was changed or moved."""

    code = "envelope_tampered"


class MalformedEnvelope(CryptoError):
    """The envelope is not shaped as docs/PROTOCOL.md says (fields, base64, lengths)."""

    code = "envelope_malformed"


class WrongPassphrase(CryptoError):
    """The device key could not be unlocked with this PIN or passphrase."""

    code = "wrong_passphrase"
