"""Housekeeping that runs once a day, on the first request of the day.

The web app calls each job before every request; the first call on a new day does the
work and the rest return at once. Several processes (gunicorn workers) may each run a
job on the same day, so a job must be safe to run twice (each of ours is one
transaction that only touches what is still due). A failure is logged and retried on
the next call: housekeeping never fails a request.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import date

log = logging.getLogger(__name__)


class OncePerDay:
    """Calls `run(day)` at most once per day per process; subclasses say what it does."""

    failure = "a daily job failed; retrying on the next request"

    def __init__(self, clock: Callable[[], date] = date.today):
        self.clock = clock
        self.done_for: date | None = None
        self._lock = threading.Lock()

    def __call__(self) -> list:
        day = self.clock()
        if self.done_for == day:
            return []
        with self._lock:
            if self.done_for == day:
                return []
            try:
                found = self.run(day)
            except Exception:  # logged, and retried on the next call
                log.exception(self.failure)
                return []
            self.done_for = day
        return found

    def run(self, day: date) -> list:
        raise NotImplementedError
