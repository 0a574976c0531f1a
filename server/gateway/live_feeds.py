"""Live feeds (`_changes?feed=longpoll|continuous`) held by this worker process: how
they wait, how they wake, and how many may wait at once.

A waiting feed holds one of the worker's request threads for up to its timeout. Left
unbounded, a handful of live devices took every thread and the server stopped
answering anyone else (issue 16). So each process lets at most `per_process` feeds
wait at once; the next one is answered `503 too_many_live_feeds` with `Retry-After`,
which PouchDB's `retry: true` waits out — the device then syncs on its next try, so
nothing is lost, only the immediacy. A device holds one waiting feed: a new one from
the same device ends its older one at once (a phone that changed networks re-asks
while the server still holds the request it can no longer read).

Waking: a write that moves a head or a keyring in this process signals `CHANGES`
after it commits, so feeds of this process look at once; writes of other processes
and nodes are found by the periodic check (`CHECK_EVERY`). A wait checks a cheap
fingerprint (the change counter, the device's cases, its revocation), and runs the
full feed only when that moved.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from ..errors import TooManyLiveFeeds

CHECK_EVERY = 0.5  # seconds between checks for writes of other processes and nodes
RETRY_AFTER = 30  # seconds a device refused a live feed waits before it asks again


@dataclass(eq=False)
class Waiting:
    """One waiting feed; `superseded` is set when its device opens a newer one."""

    device_id: str
    superseded: threading.Event = field(default_factory=threading.Event)


class LiveFeeds:
    """The feeds waiting in this process, at most `per_process`, one per device."""

    def __init__(self, per_process: int):
        self.per_process = per_process
        self._lock = threading.Lock()
        self._by_device: dict[str, Waiting] = {}

    @property
    def open(self) -> int:
        return len(self._by_device)

    @contextmanager
    def hold(self, device_id: str) -> Iterator[Waiting]:
        """Register a waiting feed, or refuse it (TooManyLiveFeeds) when the process
        already holds `per_process` feeds of other devices."""
        waiting = Waiting(device_id)
        with self._lock:
            older = self._by_device.get(device_id)
            if older is None and len(self._by_device) >= self.per_process:
                raise TooManyLiveFeeds(
                    f"this server holds {self.per_process} live feeds per process already;"
                    f" sync again in {RETRY_AFTER} s",
                    retry_after=RETRY_AFTER,
                    limit=self.per_process,
                )
            if older is not None:
                older.superseded.set()
            self._by_device[device_id] = waiting
        try:
            yield waiting
        finally:
            with self._lock:
                if self._by_device.get(device_id) is waiting:
                    del self._by_device[device_id]
