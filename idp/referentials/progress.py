"""A progress bar on stderr with the rate and the estimated time left."""

from __future__ import annotations

import sys
import time
from typing import TextIO

WIDTH = 30
# Redraw at most this often (seconds) on a terminal; print a line this often elsewhere.
TTY_INTERVAL = 0.2
LOG_INTERVAL = 10.0


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"


class Progress:
    """Progress of reading ``total`` bytes, redrawn as lines are counted."""

    def __init__(self, total: int, label: str, stream: TextIO | None = None) -> None:
        self.total = max(total, 1)
        self.label = label
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.started = time.monotonic()
        self.drawn = 0.0

    def update(self, done: int, lines: int, force: bool = False) -> None:
        """Show ``done`` bytes and ``lines`` lines read (throttled unless ``force``)."""
        now = time.monotonic()
        if not force and now - self.drawn < (TTY_INTERVAL if self.tty else LOG_INTERVAL):
            return
        self.drawn = now
        elapsed = max(now - self.started, 1e-6)
        fraction = min(done / self.total, 1.0)
        eta = elapsed * (1 - fraction) / fraction if fraction else 0
        bar = "#" * int(WIDTH * fraction)
        text = (f"{self.label} [{bar:<{WIDTH}}] {fraction:4.0%} {lines} lines "
                f"{lines / elapsed:,.0f} lines/s ETA {_duration(eta)}")
        self.stream.write(("\r" + text) if self.tty else text + "\n")
        self.stream.flush()

    def finish(self, done: int, lines: int) -> None:
        """Draw the final state and end the line."""
        self.update(done, lines, force=True)
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()
