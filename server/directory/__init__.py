"""The server's directory: workers, teams, devices, cases, assignments, keys, audit.

Personal data of workers and routing data live here; client records never do (they
are envelopes in the case databases). The embedded default is one SQLite file next
to (or apart from) the case store (docs/adr/007-directory-in-sqlite.md); several
gateway nodes share one on PostgreSQL (docs/adr/016-directory-on-postgresql.md).
`open_directory` picks the backend from the configured value.
"""

from __future__ import annotations

from pathlib import Path

from .base import Directory, utcnow
from .dialect import is_postgres_url
from .sqlite import SQLiteDirectory


def open_directory(target: Path | str) -> Directory:
    """The directory at `target`: a `postgresql://…` URL, a file path, or a
    `sqlite:///…` URL (as SQLAlchemy reads it: `sqlite:////abs/path` is absolute)."""
    text = str(target)
    if is_postgres_url(text):
        from .postgres import PostgresDirectory  # psycopg only where it is used

        return PostgresDirectory(text)
    if text.startswith("sqlite:///"):
        return SQLiteDirectory(Path(text.removeprefix("sqlite:///")))
    return SQLiteDirectory(Path(target))


__all__ = ["Directory", "SQLiteDirectory", "open_directory", "utcnow"]
