"""The global change counter of the sync gateway.

Every write to a case database, and every keyring change, takes the next value after
the data is committed, so a reader that saw counter value G has seen every change
numbered <= G. This is what lets an incremental sync look only at what changed.
"""

from __future__ import annotations

import sqlite3


def next_value(con: sqlite3.Connection) -> int:
    """The next counter value (call inside a write transaction)."""
    con.execute("UPDATE sync_counter SET value = value + 1 WHERE id = 1")
    return con.execute("SELECT value FROM sync_counter WHERE id = 1").fetchone()[0]


def current(con: sqlite3.Connection) -> int:
    return con.execute("SELECT value FROM sync_counter WHERE id = 1").fetchone()[0]
