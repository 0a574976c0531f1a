"""A fault-injection hook for the crash tests, and nothing else.

`SOPU_TEST_CRASH_AFTER=<point>` in a server process's environment makes it SIGKILL
itself when a push reaches that point, as `kill -9` of a gunicorn worker would:
`index_write` (the documents are indexed, the store write not yet made) or
`store_write` (the store write committed, the case's head not yet moved). The variable
is read once, at import; unset (always, outside tests) the hook does nothing.
"""

from __future__ import annotations

import os
import signal

POINTS = ("index_write", "store_write")
CRASH_AFTER = os.environ.get("SOPU_TEST_CRASH_AFTER") or None
if CRASH_AFTER is not None and CRASH_AFTER not in POINTS:
    raise ValueError(f"SOPU_TEST_CRASH_AFTER={CRASH_AFTER!r}: expected one of {POINTS}")


def crash_point(point: str) -> None:
    """Die here, at once and without clean-up, if the tests asked for it."""
    if point == CRASH_AFTER:
        os.kill(os.getpid(), signal.SIGKILL)
