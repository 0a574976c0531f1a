"""CouchDB-protocol stores, chosen by URL.

    open_store("sqlite:///var/sopu")             # embedded, relative path
    open_store("sqlite:////srv/sopu/data")       # embedded, absolute path
    open_store("https://user:pass@couch.example:6984")   # CouchDB 3.x / Cloudant

The part after ``sqlite:///`` is a directory (created if missing); the store keeps
all its databases in one file inside it.
"""

from __future__ import annotations

from .base import Database, Store
from .errors import (
    BadRequest,
    Conflict,
    DatabaseExists,
    DocumentTooLarge,
    Forbidden,
    InsufficientStorage,
    InvalidDatabaseName,
    NotFound,
    StoreError,
    Unavailable,
    Unsupported,
)

SQLITE_PREFIX = "sqlite:///"

__all__ = [
    "BadRequest",
    "Conflict",
    "Database",
    "DatabaseExists",
    "DocumentTooLarge",
    "Forbidden",
    "InsufficientStorage",
    "InvalidDatabaseName",
    "NotFound",
    "Store",
    "StoreError",
    "Unavailable",
    "Unsupported",
    "open_store",
]


def open_store(url: str, **options) -> Store:
    """The store behind `url`; options (max_document_size, revs_limit) pass through."""
    if url.startswith(SQLITE_PREFIX):
        from .sqlite import SQLiteStore

        path = url[len(SQLITE_PREFIX) :]
        if not path:
            raise ValueError(f"{url!r}: give a directory after sqlite:///")
        return SQLiteStore(path, **options)
    if url.startswith(("http://", "https://")):
        from .couch import CouchStore

        return CouchStore(url, **options)
    raise ValueError(
        f"Unknown store URL {url!r}: expected sqlite:///DIRECTORY or http(s)://HOST[:PORT]"
    )
