"""A controllable clock for the tests: a ``time`` module stand-in, and callable itself."""

from __future__ import annotations

import time as _real_time


class Clock:
    """``time()`` (and calling the clock) gives the controlled time; the rest is the real module."""

    def __init__(self, start: float | None = None) -> None:
        self.now = float(_real_time.time() if start is None else start)

    def __call__(self) -> float:
        return self.now

    def time(self) -> float:
        """The fake current time (``time.time`` replacement)."""
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        self.now += seconds

    def __getattr__(self, name):
        return getattr(_real_time, name)
