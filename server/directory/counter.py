"""The global change counter of the sync gateway.

Every write to a case database, and every keyring change, takes the next value after
the data is committed, so a reader that saw counter value G has seen every change
numbered <= G. This is what lets an incremental sync look only at what changed.
"""

from __future__ import annotations

import sqlite3
import threading


def next_value(con: sqlite3.Connection) -> int:
    """The next counter value (call inside a write transaction). On PostgreSQL it also
    NOTIFYs, delivered when the transaction commits, so every node's live-feed watcher
    looks at once (`Directory.listen_for_changes`)."""
    announce = getattr(con, "announce_changes", None)
    if announce is not None:
        announce()
    con.execute("UPDATE sync_counter SET value = value + 1 WHERE id = 1")
    return con.execute("SELECT value FROM sync_counter WHERE id = 1").fetchone()[0]


def current(con: sqlite3.Connection) -> int:
    return con.execute("SELECT value FROM sync_counter WHERE id = 1").fetchone()[0]


class ChangeSignal:
    """A process-wide generation number that writers bump after they commit a counter
    value, so live feeds waiting in this process look at once
    (`server.gateway.live_feeds`); other processes find the write by their periodic
    check."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self.generation = 0

    def notify(self) -> None:
        with self._condition:
            self.generation += 1
            self._condition.notify_all()

    def wait(self, seen: int, timeout: float) -> int:
        """Return when the generation is past `seen` or after `timeout` seconds."""
        with self._condition:
            self._condition.wait_for(lambda: self.generation != seen, timeout)
            return self.generation


CHANGES = ChangeSignal()
