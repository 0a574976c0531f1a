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
from collections.abc import Callable
from datetime import date

from .cases import Cases
from .daily import OncePerDay

ACTOR = "expiry"
log = logging.getLogger(__name__)


class DailyExpiry(OncePerDay):
    """Calls `Cases.expire_due` at most once per day per process (`daily.OncePerDay`)."""

    failure = "ending expired assignments failed; retrying on the next request"

    def __init__(self, cases: Cases, clock: Callable[[], date] = date.today):
        super().__init__(clock)
        self.cases = cases

    def run(self, day: date) -> list[dict]:
        ended = self.cases.expire_due(ACTOR, day)
        if ended:
            log.info("ended %d expired assignments on %s", len(ended), day.isoformat())
        return ended
