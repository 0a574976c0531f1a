"""Files and directories only their owner can read, whatever the umask.

Everything Sopu keeps on disk is someone's secret: the KEK and the session secret,
the directory (accounts, sessions, wrapped keys, the audit and access logs), the
stores, backups, anchors and device homes. A umask of 022 would leave them readable
by every local user, so each is created here: directories 0700, files 0600, set
exactly after creation (a umask only ever removes bits; `chmod` makes the mode
exact). SQLite gives its `-wal`, `-shm` and `-journal` files the mode of the main
file, so creating the main file here first is enough for those.

Directories and databases that already exist keep the mode their owner gave them; a
file Sopu writes whole (a key file, `device.json`, an anchor) is made 0600 whenever it
is written. Secrets are checked (`check_private`): a readable one stops the server.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
OTHERS = 0o077  # any bit of group or others


class ExposedFile(Exception):
    """A secret file that group or others may read or write; the message says which
    file, its mode and the `chmod` that fixes it."""


def private_dir(path: Path | str) -> Path:
    """`path` as a directory; each missing component is created 0700."""
    path = Path(path)
    missing, ancestor = [], path
    while not ancestor.exists() and ancestor != ancestor.parent:
        missing.append(ancestor)
        ancestor = ancestor.parent
    for directory in reversed(missing):
        try:
            directory.mkdir(PRIVATE_DIR)
        except FileExistsError:
            continue  # another process made it first: its mode is its creator's
        os.chmod(directory, PRIVATE_DIR)
    return path


def private_file(path: Path | str) -> Path:
    """`path` as an existing file: created empty and 0600 if missing (an empty file
    is a new SQLite database), left as it is otherwise."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, PRIVATE_FILE)
    except FileExistsError:
        return path
    try:
        os.fchmod(fd, PRIVATE_FILE)
    finally:
        os.close(fd)
    return path


def open_private(path: Path | str, flags: int = os.O_WRONLY | os.O_CREAT | os.O_TRUNC) -> int:
    """A descriptor of `path` opened with `flags`; a file it creates is 0600.
    With O_EXCL, FileExistsError if it exists."""
    fd = os.open(path, flags | os.O_CLOEXEC, PRIVATE_FILE)
    try:
        facts = os.fstat(fd)
        if flags & os.O_CREAT and facts.st_mode & OTHERS and facts.st_uid == os.geteuid():
            os.fchmod(fd, PRIVATE_FILE)  # ours to write: never left readable by others
    except OSError:
        os.close(fd)
        raise
    return fd


def write_private(path: Path | str, text: str, exclusive: bool = False) -> None:
    """Write `text` (UTF-8) to `path`, a file only its owner can read or write.
    `exclusive`: FileExistsError if the file exists."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    with os.fdopen(open_private(path, flags), "w", encoding="utf-8") as handle:
        handle.write(text)


def check_private(path: Path | str, what: str) -> None:
    """ExposedFile unless only the owner may read or write the secret at `path`.

    One exception, the layout docs/deployment.md prescribes for the KEK: a file root
    owns that only the service's own group may also read (`root:sopu 0640`), so the
    service reads it and cannot rewrite it. Writable by the group, or readable by a
    group the process is not running as, it is refused like any other."""
    facts = os.stat(path)
    mode = stat.S_IMODE(facts.st_mode)
    if mode & OTHERS and not _read_by_own_group_only(facts, mode):
        raise ExposedFile(
            f"{path} ({what}) has mode {mode:04o}: group or others may read or write it."
            f" Refusing to start; make it the owner's only: chmod 600 {path}"
        )


def _read_by_own_group_only(facts: os.stat_result, mode: int) -> bool:
    service = os.geteuid() != 0 and facts.st_gid == os.getegid()
    return facts.st_uid == 0 and service and mode & OTHERS == stat.S_IRGRP
