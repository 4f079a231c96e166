"""Importing a referential file: batched, idempotent upserts, malformed lines set aside.

A line is parsed and checked whole before any of its rows is kept, so a
malformed line is skipped entirely (and reported with its number) while the
rest of the file is imported; the caller reports the summary. Rows are
upserted by their natural key, so importing the same file twice changes nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import String, func, select

from idp.extensions import db
from idp.models import Establishment, Professional, ProfessionalActivity
from idp.referentials import finess, rpps
from idp.referentials.progress import Progress
from idp.referentials.reader import LineError, read_lines

BATCH_SIZE = 5000


class ImportAborted(Exception):
    """The file is not of the expected kind: nothing was imported."""


@dataclass
class Summary:
    """What an import did."""

    lines: int = 0
    ignored: int = 0
    upserted: dict[str, int] = field(default_factory=dict)
    created: dict[str, int] = field(default_factory=dict)
    rejected: list[tuple[int, str]] = field(default_factory=list)
    seconds: float = 0.0


def _limits(model) -> dict[str, int]:
    return {c.name: c.type.length for c in model.__table__.columns
            if isinstance(c.type, String) and c.type.length}


def _insert(model):
    """An INSERT … ON CONFLICT statement builder for the database in use."""
    if db.engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(model.__table__)


def _upsert(model, key: str, rows: list[dict]) -> None:
    statement = _insert(model)
    columns = [c.name for c in model.__table__.columns if c.name not in (key, "id")]
    statement = statement.on_conflict_do_update(
        index_elements=[key], set_={c: statement.excluded[c] for c in columns})
    db.session.execute(statement, rows)


class _Batches:
    """Rows waiting to be written, one buffer per model, deduplicated by key."""

    def __init__(self, models: dict, summary: Summary, batch_size: int) -> None:
        self.models = models  # model -> key column
        self.limits = {m: _limits(m) for m in models}
        self.buffers: dict = {m: {} for m in models}
        self.summary = summary
        self.batch_size = batch_size

    def check(self, model, row: dict) -> None:
        """Refuse values longer than their column (a damaged line, not data to truncate)."""
        for name, limit in self.limits[model].items():
            if row.get(name) and len(row[name]) > limit:
                raise LineError(f"{name} longer than {limit} characters")

    def add(self, model, row: dict) -> None:
        """Keep a row; write every buffer once one is full."""
        self.buffers[model][row[self.models[model]]] = row
        if len(self.buffers[model]) >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        """Write and commit every buffered row."""
        for model, rows in self.buffers.items():
            if rows:
                _upsert(model, self.models[model], list(rows.values()))
                name = model.__tablename__
                self.summary.upserted[name] = self.summary.upserted.get(name, 0) + len(rows)
                rows.clear()
        db.session.commit()


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _run(path: Path, check_first: Callable[[str], None], parse: Callable, models: dict,
         label: str, show_progress: bool, batch_size: int) -> Summary:
    summary = Summary()
    started = time.monotonic()
    before = {m: _count(m) for m in models}
    batches = _Batches(models, summary, batch_size)
    progress = Progress(path.stat().st_size, label) if show_progress else None
    line = None
    for line in read_lines(path):
        summary.lines = line.number
        if line.number == 1:
            try:
                check_first(line.text)
            except LineError as exc:
                raise ImportAborted(f"{path}: {exc}") from None
            continue
        try:
            records = parse(line.text)
            for model, row in records:
                batches.check(model, row)
        except LineError as exc:
            summary.rejected.append((line.number, str(exc)))
            continue
        if not records:
            summary.ignored += 1
        for model, row in records:
            batches.add(model, row)
        if progress:
            progress.update(line.offset, line.number)
    if line is None:
        raise ImportAborted(f"{path}: empty file")
    batches.flush()
    if progress:
        progress.finish(line.offset, line.number)
    summary.created = {m.__tablename__: _count(m) - before[m] for m in models}
    summary.seconds = time.monotonic() - started
    return summary


def import_finess(path: Path, *, check_key: bool = True, show_progress: bool = False,
                  batch_size: int = BATCH_SIZE) -> Summary:
    """Import the establishments of a FINESS etalab extract."""
    def parse(text: str):
        row = finess.parse(text, check_key)
        return [] if row is None else [(Establishment, row)]

    return _run(path, finess.check_marker, parse, {Establishment: "finess"}, "FINESS",
                show_progress, batch_size)


def import_rpps(path: Path, *, check_key: bool = True, show_progress: bool = False,
                batch_size: int = BATCH_SIZE) -> Summary:
    """Import the professionals and activities of an RPPS extract."""
    def parse(text: str):
        person, activity = rpps.parse(text, check_key)
        return [(Professional, person), (ProfessionalActivity, activity)]

    return _run(path, rpps.check_header, parse,
                {Professional: "national_id", ProfessionalActivity: "key"}, "RPPS",
                show_progress, batch_size)
