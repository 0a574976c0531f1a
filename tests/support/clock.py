"""A clock the tests move by hand, for what the server times (sessions, login delays)."""

from __future__ import annotations

import time


class FakeClock:
    """Unix seconds, starting now; stands still until `advance` moves it."""

    def __init__(self, start: float | None = None):
        self.now = time.time() if start is None else start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
