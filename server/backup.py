"""Backing up and restoring a site on the embedded databases, while the server runs.

A backup is a directory: `directory.sqlite3`, `store/sopu.sqlite3` (the embedded store)
and `manifest.json` (when, which schema, each file's SHA-256, which KEKs wrap the case
keys). Each database is copied with SQLite's online backup API in one step, so each
copy is one consistent snapshot taken while devices keep syncing (WAL: readers never
block writers). Never copied: the KEK (the backup must be useless to whoever takes it
without the key, which lives on another disk) and `session.key` (people log in again).

The directory is copied first, the store second. Every write is indexed in the
directory before it reaches the store (docs/adr/012-index-before-store.md), so the
store copy holds everything the directory copy points at: no cursor of the restored
directory names a store position the restored store lacks. What reached the store
between the two copies is indexed by the restore (`repair.everything`), so devices are
offered it.

A restored server has gone back in time, and the devices have not. Their checkpoints
live on both sides (`_local` documents), so a replication resumes from the newest
position both sides recorded: a device pushes again what it wrote, or pushed, after
the backup, and pulls from a feed position the restored server knows. A `since`
token the restored server never issued resolves to the beginning of the feed (a full,
cheap resync, `gateway.feed.Cursors.resolve`); the restore moves the cursor ids past
any the lost server could have issued (`CURSOR_ID_GAP`), so such a token can never
name a different position of the same device later.

A CouchDB or Cloudant store is not copied here (replicate it; docs/deployment.md),
and a directory on PostgreSQL would be `pg_dump`'s.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from sync.private_files import private_dir, private_file, write_private
from sync.store.sqlite import FILENAME as STORE_FILENAME

from .config import Config
from .directory.base import utcnow

MANIFEST = "manifest.json"
DIRECTORY_FILE = "directory.sqlite3"
STORE_FILE = f"store/{STORE_FILENAME}"
FORMAT = 1
# Cursor ids after a restore start this far above any in the backup (2^32 responses
# to sync requests between a backup and its restore will not happen).
CURSOR_ID_GAP = 1 << 32
SIDE_FILES = ("-wal", "-shm", "-journal")


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why and what to do."""


@dataclass
class Restored:
    manifest: dict
    moved_aside: list[Path] = field(default_factory=list)


# ---------------------------------------------------------------- where things are


def directory_file(config: Config) -> Path:
    text = str(config.directory)
    if "://" in text and not text.startswith("sqlite:///"):
        raise BackupError(
            "the directory is not an SQLite file: back it up with its database's own tool"
            " (PostgreSQL: pg_dump --format=custom; docs/deployment.md)"
        )
    return Path(text.removeprefix("sqlite:///"))


def store_file(config: Config) -> Path | None:
    """The embedded store's file, or None for a CouchDB / Cloudant store."""
    if not config.store_url.startswith("sqlite:///"):
        return None
    return Path(config.store_url.removeprefix("sqlite:///")) / STORE_FILENAME


# ---------------------------------------------------------------- backup


def backup(config: Config, target: Path, say: Callable[[str], None] = print) -> dict:
    """Copy the directory, then the embedded store, into the new directory `target`."""
    target = Path(target)
    if target.exists() and any(target.iterdir()):
        raise BackupError(f"{target} is not empty: give a new directory for each backup")
    source_dir, source_store = directory_file(config), store_file(config)
    if not source_dir.exists():
        raise BackupError(f"there is no directory database at {source_dir}")
    private_dir(target)  # a backup is the whole site but the KEK: the owner's only
    files = {DIRECTORY_FILE: _copy_database(source_dir, target / DIRECTORY_FILE)}
    say(f"directory: {source_dir} copied ({files[DIRECTORY_FILE]['bytes']} bytes)")
    if source_store is None:
        say(
            "store: CouchDB / Cloudant, not copied by this command: replicate it to a"
            " second cluster or with `sopu replicate URL sqlite:///DIR --all`"
            " (docs/deployment.md)"
        )
    else:
        private_dir(target / "store")
        files[STORE_FILE] = _copy_database(source_store, target / STORE_FILE)
        say(f"store: {source_store} copied ({files[STORE_FILE]['bytes']} bytes)")
    manifest = _manifest(target / DIRECTORY_FILE, files, source_store is not None)
    write_private(target / MANIFEST, json.dumps(manifest, indent=2) + "\n")
    say(
        "NOT copied: the KEK (kek_file / SOPU_KEK). Keep it apart from every backup;"
        " without it this backup opens no case. Needed KEK fingerprints: "
        + (", ".join(manifest["kek_ids"]) or "none yet")
    )
    say("NOT copied: session.key (after a restore, people log in again)")
    kek = Path(config.kek_file).resolve() if config.kek_file else None
    if kek is not None and Path(config.data_dir).resolve() in kek.parents:
        say(f"WARNING: the KEK {kek} is on the data disk; move it (docs/deployment.md)")
    return manifest


def _copy_database(source: Path, target: Path) -> dict:
    """One consistent snapshot of a live SQLite database (online backup, one step)."""
    src = sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(private_file(target))  # its -journal gets the same mode
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
        (check,) = dst.execute("PRAGMA quick_check").fetchone()
    finally:
        dst.close()
        src.close()
    if check != "ok":
        raise BackupError(f"the copy of {source} failed its integrity check: {check}")
    return {"bytes": target.stat().st_size, "sha256": _sha256(target)}


def _manifest(directory_copy: Path, files: dict, with_store: bool) -> dict:
    con = sqlite3.connect(directory_copy)
    try:
        (schema,) = con.execute("PRAGMA user_version").fetchone()
        kek_ids = [row[0] for row in con.execute("SELECT DISTINCT kek_id FROM case_keys")]
        (cursor_max,) = con.execute("SELECT COALESCE(MAX(id), 0) FROM sync_cursors").fetchone()
    finally:
        con.close()
    return {
        "format": FORMAT,
        "taken_at": utcnow(),
        "sopu_version": _version(),
        "directory_schema": schema,
        "store": "embedded" if with_store else "couchdb (not in this backup)",
        "files": files,
        "kek_ids": sorted(kek_ids),
        "cursor_max": cursor_max,
        "not_included": ["kek", "session.key"],
    }


# ---------------------------------------------------------------- restore


def read_manifest(source: Path) -> dict:
    """The backup's manifest, every file checked against its SHA-256."""
    path = Path(source) / MANIFEST
    if not path.exists():
        raise BackupError(f"{source} is not a Sopu backup (no {MANIFEST})")
    manifest = json.loads(path.read_text())
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{source}: unknown backup format {manifest.get('format')!r}")
    for name, facts in manifest["files"].items():
        copy = Path(source) / name
        if not copy.exists() or _sha256(copy) != facts["sha256"]:
            raise BackupError(f"{copy} is missing or damaged (SHA-256 differs from the manifest)")
    return manifest


def restore(config: Config, source: Path, replace: bool = False) -> Restored:
    """Put the backup's files where the configuration says; the server must be stopped.

    Existing files are moved aside (`<name>.before-restore-<time>`), never deleted,
    and only with `replace`. Then the cursor ids jump (`CURSOR_ID_GAP`)."""
    source = Path(source)
    manifest = read_manifest(source)
    places = {DIRECTORY_FILE: directory_file(config)}
    if STORE_FILE in manifest["files"]:
        places[STORE_FILE] = store_file(config)
        if places[STORE_FILE] is None:
            raise BackupError(
                "the backup holds an embedded store but store_url names CouchDB: restore"
                " with store_url = sqlite:///…, then `sopu replicate` to CouchDB"
            )
    existing = [path for path in places.values() if path.exists()]
    if existing and not replace:
        raise BackupError(
            f"{', '.join(map(str, existing))} exist(s): stop the server and add --replace"
            " to move them aside"
        )
    result = Restored(manifest)
    live_cursor_max = _cursor_max(places[DIRECTORY_FILE])
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    for name, place in places.items():
        result.moved_aside += _move_aside(place, stamp)
        private_dir(place.parent)
        partial = place.with_name(place.name + ".restoring")
        partial.unlink(missing_ok=True)  # left by a restore that stopped: made anew, 0600
        shutil.copyfile(source / name, private_file(partial))
        os.replace(partial, place)
    _move_cursor_ids(places[DIRECTORY_FILE], max(live_cursor_max, manifest["cursor_max"]))
    return result


def _move_aside(path: Path, stamp: str) -> list[Path]:
    moved = []
    for suffix in ("", *SIDE_FILES):
        current = path.with_name(path.name + suffix)
        if current.exists():
            aside = current.with_name(f"{current.name}.before-restore-{stamp}")
            os.replace(current, aside)
            moved.append(aside)
    return moved


def _cursor_max(directory: Path) -> int:
    """The highest cursor id the directory being replaced ever issued (0 if none)."""
    if not directory.exists():
        return 0
    try:
        con = sqlite3.connect(f"file:{directory}?mode=ro", uri=True)
        try:
            (value,) = con.execute("SELECT COALESCE(MAX(id), 0) FROM sync_cursors").fetchone()
        finally:
            con.close()
    except sqlite3.Error:
        return 0  # damaged beyond reading: the gap covers it
    return value


def _move_cursor_ids(directory: Path, highest: int) -> None:
    """A row no device owns, so the next cursor id is past every id issued before."""
    con = sqlite3.connect(directory)
    try:
        with con:
            con.execute(
                "INSERT INTO sync_cursors (id, device_id, created_at, base, steps, final)"
                " VALUES (?, '', ?, '{}', '[]', '{}')",
                (highest + CURSOR_ID_GAP, utcnow()),
            )
    finally:
        con.close()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _version() -> str:
    try:
        return version("sopu")
    except PackageNotFoundError:
        return "unknown"
