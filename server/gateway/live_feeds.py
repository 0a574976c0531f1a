"""Live feeds (`_changes?feed=longpoll`) held by this worker process: how they wait,
what wakes them, and how many may wait at once.

A waiting feed costs no work while it waits: it sleeps on an event of its own. One
watcher thread per process (`FeedWatcher`) finds what changed — the cases whose head
moved and the devices whose keyring moved since it last looked, newly revoked devices,
and assignment changes — and wakes exactly the feeds those concern; only a woken feed
runs the feed again. The watcher looks at once when a write of its own process
commits (`counter.CHANGES`), at once for other processes' and nodes' writes on
PostgreSQL (LISTEN/NOTIFY: `Directory.listen_for_changes`), and every `CHECK_EVERY`
seconds in any case (SQLite's other processes): one cheap query per process and look,
however many feeds wait.

A waiting feed still holds one of the worker's request threads, so each process lets
at most `per_process` feeds wait (`live_feeds_per_worker`; gunicorn.conf.py gives each
worker many threads and keeps some free for everything else); the next one is
answered `503 too_many_live_feeds` with `Retry-After`, which PouchDB's `retry: true`
waits out — the device then syncs at its next try, nothing is lost. A device holds one
waiting feed: a new one from the same device ends its older one at once (a phone that
changed networks re-asks while the server still holds the request it can no longer
read).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date

from ..directory.base import Directory
from ..directory.counter import CHANGES
from ..errors import DeviceRevoked, TooManyLiveFeeds

log = logging.getLogger(__name__)

#: Content types of the streaming feeds (a longpoll answers one JSON object).
STREAM_TYPES = {"continuous": "application/json", "eventsource": "text/event-stream"}

CHECK_EVERY = 0.25  # seconds between the watcher's looks for other processes' writes
RETRY_AFTER = 30  # seconds a device refused a live feed waits before it asks again
FAILURE_LOG_EVERY = 60  # seconds between log lines while the directory does not answer


@dataclass(eq=False)
class Waiting:
    """One waiting feed: its device, the cases it holds, and the event that wakes it.
    `superseded` is set when its device opens a newer feed."""

    device_id: str
    cases: frozenset[str]
    woken: threading.Event = field(default_factory=threading.Event)
    superseded: bool = False
    on_wake: Callable[[], None] | None = None  # an event loop's waiter (server/live/)

    def wake(self) -> None:
        self.woken.set()
        if self.on_wake is not None:
            self.on_wake()


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
    def hold(
        self, device_id: str, cases: Iterable[str], on_wake: Callable[[], None] | None = None
    ) -> Iterator[Waiting]:
        """Register a waiting feed, or refuse it (TooManyLiveFeeds) when the process
        already holds `per_process` feeds of other devices."""
        waiting = Waiting(device_id, frozenset(cases), on_wake=on_wake)
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
                older.superseded = True
                older.wake()
            self._by_device[device_id] = waiting
        try:
            yield waiting
        finally:
            with self._lock:
                if self._by_device.get(device_id) is waiting:
                    del self._by_device[device_id]

    def wake(self, cases: set[str], devices: set[str], everyone: bool = False) -> int:
        """Wake the feeds of `devices` and of devices holding one of `cases`."""
        with self._lock:
            woken = [
                w
                for w in self._by_device.values()
                if everyone or w.device_id in devices or not w.cases.isdisjoint(cases)
            ]
        for waiting in woken:
            waiting.wake()
        return len(woken)


class FeedWatcher:
    """The process's one look at the directory for its waiting feeds (started with the
    first feed; a forked worker starts its own)."""

    def __init__(self, directory: Directory, feeds: LiveFeeds, every: float = CHECK_EVERY):
        self.directory, self.feeds, self.every = directory, feeds, every
        self._pid = 0
        self._lock = threading.Lock()

    def ensure_running(self) -> None:
        with self._lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
            threading.Thread(target=self._run, name="sopu-feed-watcher", daemon=True).start()
            self.directory.listen_for_changes(CHANGES.notify)  # other nodes, at once

    def _run(self) -> None:
        seen = self._marks()
        generation, failed_at = CHANGES.generation, 0.0
        while not self.directory.closed:
            generation = CHANGES.wait(generation, self.every)
            if not self.feeds.open or self.directory.closed:
                continue
            try:
                seen = self._look(seen)
            except Exception as exc:  # the directory is down: feeds answer at their timeout
                if time.monotonic() - failed_at > FAILURE_LOG_EVERY:
                    failed_at = time.monotonic()
                    log.warning("live-feed watcher: the directory does not answer: %r", exc)

    def _look(self, seen: dict) -> dict:
        now = self._marks()
        cases, devices = set(), set(now["revoked"] - seen["revoked"])
        if now["g"] != seen["g"]:
            cases = self._column("SELECT case_id FROM case_heads WHERE gseq > ?", seen["g"])
            devices |= self._column(
                "SELECT DISTINCT device_id FROM keyrings WHERE gseq > ?", seen["g"]
            )
        everyone = now["assignments"] != seen["assignments"] or now["day"] != seen["day"]
        if cases or devices or everyone:
            self.feeds.wake(cases, devices, everyone)
        return now

    def _marks(self) -> dict:
        """What the watcher compares from one look to the next."""
        g = self.directory.one("SELECT value FROM sync_counter WHERE id = 1")[0]
        assignments = tuple(
            self.directory.one("SELECT COUNT(*), COUNT(ended_at), MAX(id) FROM assignments")
        )
        revoked = self._column("SELECT id FROM devices WHERE revoked_at IS NOT NULL")
        return {"g": g, "assignments": assignments, "revoked": revoked, "day": date.today()}

    def _column(self, sql: str, *params) -> set:
        return {row[0] for row in self.directory.query(sql, params)}


def row_line(feed: str, row: dict) -> str:
    """One change row of a streaming feed, as CouchDB sends it: a JSON line, or a
    `data:`/`id:` event for `eventsource`."""
    line = json.dumps(row, allow_nan=False)
    return f"data: {line}\nid: {row['seq']}\n\n" if feed == "eventsource" else line + "\n"


def wipe_line() -> str:
    """The wipe answer as the last line of a feed whose status line has gone already."""
    reason = "This device was revoked: wipe its local data."
    answer = {"error": DeviceRevoked.code, "reason": reason, "wipe": True}
    return json.dumps(answer, allow_nan=False) + "\n"
