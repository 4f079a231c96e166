"""Where signing keys live: files (embedded default) or the database (clusters).

Both offer the same three operations: ``load()`` every key, a cheap ``version()``
to notice changes made by another process, and an exclusive ``transaction()``
across processes, inside which the caller reads fresh records and writes
changes. Rotation is correct because it happens inside that transaction.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import select, text

from idp.signing.records import STATES, KeyRecord


class KeyStoreError(RuntimeError):
    """A stored key is unreadable, corrupt or unsafe: never silently replaced."""


class Transaction:
    """Fresh records plus the writes to apply when the transaction ends."""

    def __init__(self, records: list[KeyRecord]) -> None:
        self.records = records
        self.puts: list[KeyRecord] = []
        self.deletes: list[str] = []

    def put(self, record: KeyRecord) -> None:
        """Add or update a key."""
        self.puts.append(record)

    def delete(self, kid: str) -> None:
        """Remove a key for good."""
        self.deletes.append(kid)


@contextmanager
def _flock(path: Path, mode: int = fcntl.LOCK_EX) -> Iterator[None]:
    """A lock between processes of this host: exclusive, or shared with ``LOCK_SH``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, mode)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _check_record(record: KeyRecord, where: str) -> KeyRecord:
    if record.state not in STATES or not record.kid or not record.pem:
        raise KeyStoreError(f"{where}: invalid key record (state {record.state!r})")
    return record


_PLAIN_KID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def file_stem(kid: str) -> str:
    """The file name of a key: its kid when that is a plain name, else a digest of it.

    An imported key keeps the kid it had elsewhere, often a URL or a path: it must
    never choose where the file goes.
    """
    if _PLAIN_KID.fullmatch(kid) and not kid.startswith("kid-"):
        return kid
    return "kid-" + hashlib.sha256(kid.encode()).hexdigest()[:40]


class FileKeyStore:
    """``<stem>.pem`` (PKCS#8, mode 0600) and ``<stem>.json`` (metadata) in one directory.

    Writers hold an exclusive lock on ``.lock`` for a whole change (several files);
    readers take it shared, so that no reader sees half of a rotation.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def _write(self, path: Path, data: bytes) -> None:
        tmp = path.with_suffix(path.suffix + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)

    def load(self) -> list[KeyRecord]:
        """Every key of the directory; any unreadable or unsafe file is an error."""
        with _flock(self.directory / ".lock", fcntl.LOCK_SH):
            return self._load()

    def _load(self) -> list[KeyRecord]:
        records = []
        for pem_path in sorted(self.directory.glob("*.pem")):
            meta_path = pem_path.with_suffix(".json")
            if not meta_path.exists():
                raise KeyStoreError(f"{pem_path} has no metadata file {meta_path.name}; restore it "
                                    "from a backup or import the key with 'idp keys import'")
            if pem_path.stat().st_mode & 0o077:
                raise KeyStoreError(f"{pem_path} is readable by other users; run: chmod 600 {pem_path}")
            try:
                meta = json.loads(meta_path.read_text())
                record = KeyRecord(**meta, pem=pem_path.read_bytes())
            except (OSError, ValueError, TypeError) as exc:
                raise KeyStoreError(f"cannot read signing key {pem_path.stem}: {exc}. Restore it "
                                    "from a backup; it is never replaced automatically.") from exc
            if file_stem(record.kid) != pem_path.stem:
                raise KeyStoreError(f"{meta_path} holds key {record.kid!r}, not {pem_path.stem!r}: "
                                    "a file was renamed; restore the key files from a backup")
            records.append(_check_record(record, str(meta_path)))
        for meta_path in self.directory.glob("*.json"):
            if not meta_path.with_suffix(".pem").exists():
                raise KeyStoreError(f"{meta_path} has no private key file; restore it from a backup")
        return records

    def version(self) -> tuple:
        """Names, sizes and modification times: changes when any key file changes."""
        if not self.directory.exists():
            return ()
        return tuple(sorted((p.name, p.stat().st_mtime_ns, p.stat().st_size)
                            for p in self.directory.iterdir() if p.suffix in (".pem", ".json")))

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """Exclusive between processes of this host (a lock file next to the keys)."""
        with _flock(self.directory / ".lock"):
            tx = Transaction(self._load())
            yield tx
            for record in tx.puts:
                pem_path = self.directory / f"{file_stem(record.kid)}.pem"
                if not pem_path.exists():
                    self._write(pem_path, record.pem)
                self._write(pem_path.with_suffix(".json"),
                            json.dumps(record.metadata(), indent=2).encode())
            for kid in tx.deletes:
                (self.directory / f"{file_stem(kid)}.json").unlink(missing_ok=True)
                (self.directory / f"{file_stem(kid)}.pem").unlink(missing_ok=True)


class DatabaseKeyStore:
    """The ``signing_keys`` table: every IdP instance of a cluster sees the same keys."""

    def __init__(self, db, lock_dir: Path) -> None:
        self.db = db
        self.lock_path = Path(lock_dir) / "signing-keys.lock"

    def _model(self):
        from idp.models import SigningKey

        return SigningKey

    def load(self) -> list[KeyRecord]:
        """Every key in the table."""
        model = self._model()
        rows = self.db.session.scalars(select(model).order_by(model.created_at, model.kid)).all()
        records = [self._record(row) for row in rows]
        self.db.session.commit()
        return records

    def _record(self, row) -> KeyRecord:
        try:
            return _check_record(KeyRecord(
                kid=row.kid, alg=row.alg, state=row.state, created_at=row.created_at,
                activated_at=row.activated_at, retired_at=row.retired_at,
                remove_after=row.remove_after, source=row.source, pem=row.pem.encode()),
                f"signing_keys row {row.kid}")
        except (AttributeError, TypeError) as exc:
            raise KeyStoreError(f"signing_keys row {row.kid} is corrupt: {exc}") from exc

    def version(self) -> tuple:
        """Key ids, states and change counters (no private material is read)."""
        model = self._model()
        rows = self.db.session.execute(select(model.kid, model.state, model.revision)).all()
        self.db.session.commit()
        return tuple(sorted(tuple(r) for r in rows))

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """Exclusive across hosts: an advisory lock on PostgreSQL, a lock file on SQLite."""
        session = self.db.session
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(7314823901)"))
            yield from self._apply(session)
        else:
            with _flock(self.lock_path):
                yield from self._apply(session)

    def _apply(self, session) -> Iterator[Transaction]:
        model = self._model()
        try:
            rows = session.scalars(select(model)).all()
            tx = Transaction([self._record(row) for row in rows])
            yield tx
            by_kid = {row.kid: row for row in rows}
            for record in tx.puts:
                row = by_kid.get(record.kid) or model(kid=record.kid, pem=record.pem.decode(),
                                                      revision=0)
                for field, value in record.metadata().items():
                    setattr(row, field, value)
                row.revision = (row.revision or 0) + 1
                session.add(row)
            for kid in tx.deletes:
                if kid in by_kid:
                    session.delete(by_kid[kid])
            session.commit()
        except BaseException:
            session.rollback()
            raise
