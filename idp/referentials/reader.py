"""Reading an open-data extract line by line, whatever its encoding, with its position."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


class LineError(ValueError):
    """A malformed line; the message says what is wrong with it."""


@dataclass(frozen=True)
class Line:
    """One line of the file: its number (from 1), its text and the bytes read so far."""

    number: int
    text: str
    offset: int


def read_lines(path: Path) -> Iterator[Line]:
    """Decode each line as UTF-8, or Windows-1252 (older FINESS files) when it is not."""
    offset = 0
    with open(path, "rb") as fh:
        for number, raw in enumerate(fh, start=1):
            offset += len(raw)
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                text = raw.decode("cp1252", errors="replace")
            if number == 1:
                text = text.removeprefix("\ufeff")
            yield Line(number, text.rstrip("\r\n"), offset)
