"""Loading the key-encryption keys (KEKs) — from a key file or the environment, never
from the database.

A key file has one KEK per line in standard base64 (32 bytes); the first line is the
current KEK, used for all new wrapping; later lines are older KEKs kept only so keys
wrapped under them can still be read until `sopu keys rotate-kek` has rewrapped them.
`SOPU_KEK` may hold the same lines separated by commas.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from sync.crypto.wrap import kek_id
from sync.private_files import ExposedFile, check_private, private_dir, write_private

KEK_BYTES = 32


class KekError(Exception):
    """The KEK configuration is missing or malformed; the message says how to fix it."""


@dataclass(frozen=True)
class KekRing:
    current_id: str
    keks: dict[str, bytes]

    @property
    def current(self) -> bytes:
        return self.keks[self.current_id]

    @classmethod
    def from_lines(cls, lines: list[str], source: str) -> KekRing:
        keys = [
            _decode(line.strip(), source, n)
            for n, line in enumerate(lines, 1)
            if line.strip() and not line.lstrip().startswith("#")
        ]
        if not keys:
            raise KekError(f"{source} holds no KEK; create one with `sopu keys new-kek`")
        ring = {kek_id(key): key for key in keys}
        return cls(kek_id(keys[0]), ring)


def _decode(text: str, source: str, line: int) -> bytes:
    try:
        key = base64.b64decode(text, validate=True)
    except binascii.Error:
        raise KekError(f"{source} line {line}: not standard base64") from None
    if len(key) != KEK_BYTES:
        raise KekError(f"{source} line {line}: a KEK is {KEK_BYTES} bytes, not {len(key)}")
    return key


def new_kek_line() -> str:
    return base64.b64encode(secrets.token_bytes(KEK_BYTES)).decode()


def load_keks(kek_file: Path | None, env: dict | None = None) -> KekRing:
    """The KEKs from `kek_file` if given, else from SOPU_KEK; KekError if neither."""
    env = os.environ if env is None else env
    if kek_file is not None:
        path = Path(kek_file)
        if not path.exists():
            raise KekError(
                f"KEK file {path} does not exist; create it with `sopu keys new-kek --file {path}`"
            )
        _check_private(path)
        return KekRing.from_lines(path.read_text("ascii").splitlines(), str(path))
    if env.get("SOPU_KEK"):
        return KekRing.from_lines(env["SOPU_KEK"].split(","), "SOPU_KEK")
    raise KekError(
        "no key-encryption key: set SOPU_KEK_FILE (or SOPU_KEK); "
        "`sopu keys new-kek --file PATH` creates a key file"
    )


def _check_private(path: Path) -> None:
    """A KEK others can read opens every case: refuse it (every loader comes here)."""
    try:
        check_private(path, "the key-encryption key")
    except ExposedFile as exc:
        raise KekError(str(exc)) from None


def write_new_key_file(path: Path) -> None:
    """Create a key file with one fresh KEK, readable by its owner only."""
    if path.exists():
        raise KekError(f"{path} exists; use `sopu keys add-kek` to add a KEK to it")
    private_dir(path.parent)
    write_private(path, new_kek_line() + "\n", exclusive=True)


def prepend_kek(path: Path) -> str:
    """Add a fresh KEK as the new current one (older ones stay for reading)."""
    old = path.read_text("ascii") if path.exists() else ""
    line = new_kek_line()
    tmp = path.with_suffix(path.suffix + ".tmp")
    write_private(tmp, line + "\n" + old)
    os.replace(tmp, path)
    return kek_id(base64.b64decode(line))
