"""Build a real Site (store + directory + services) for tests, with a fresh KEK."""

from __future__ import annotations

from pathlib import Path

from server.keys.kek import KekRing, new_kek_line
from server.site import Site


def new_keks(lines: int = 1) -> KekRing:
    return KekRing.from_lines([new_kek_line() for _ in range(lines)], "test")


def open_test_site(
    tmp: Path,
    store_url: str | None = None,
    keks: KekRing | None = None,
    directory: Path | str | None = None,
) -> Site:
    """A site in `tmp`; its directory at `directory` (a file or a PostgreSQL URL) if
    given, else in `tmp/directory.sqlite3`."""
    return Site.open(
        store_url or f"sqlite:///{tmp / 'store'}",
        directory or tmp / "directory.sqlite3",
        keks or new_keks(),
    )
