"""Assignments that run out by date are ended for good, once a day.

A substitute's access stops by itself the day after their end date: the directory
reads the dates (`Cases.of_worker`), so delivery stops and the gateway purges the
case from their devices at the next sync. What a date cannot do alone is the rest of
what ending an assignment means: `ended_at` and an audit entry, and a new case key for
new writes, so devices that kept the old key cannot read them (`Cases.expire_due`).
`DailyExpiry` does that the first time it is called on a new day - the web app calls it
before each request, so the first request of the day pays for it - and
`sopu assignments expire` does it from cron for a quiet site. The case document keeps
the item, with its end date, until the next change of the case's assignments.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import date

from .cases import Cases

ACTOR = "expiry"
log = logging.getLogger(__name__)


class DailyExpiry:
    """Calls `Cases.expire_due` at most once per day per process.

    Several processes (gunicorn workers) may run it on the same day; that is safe, as
    each run is one transaction that ends only assignments not ended yet. A failure is
    logged and retried on the next call: housekeeping never fails a request.
    """

    def __init__(self, cases: Cases, clock: Callable[[], date] = date.today):
        self.cases = cases
        self.clock = clock
        self.done_for: date | None = None
        self._lock = threading.Lock()

    def __call__(self) -> list[dict]:
        day = self.clock()
        if self.done_for == day:
            return []
        with self._lock:
            if self.done_for == day:
                return []
            try:
                ended = self.cases.expire_due(ACTOR, day)
            except Exception:  # logged, and retried on the next call
                log.exception("ending expired assignments failed; retrying on the next request")
                return []
            self.done_for = day
        if ended:
            log.info("ended %d expired assignments on %s", len(ended), day.isoformat())
        return ended
