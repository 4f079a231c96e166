"""The signing key service: the in-memory key set the IdP signs with, and rotation.

Keys are parsed once and kept in memory. Every ``refresh_seconds`` the service
asks its store for a cheap version stamp and reloads only when another process
(an admin command, another worker or host) changed the keys: a rotation reaches
every instance within that delay, without a restart.

Life cycle: a **next** key is published in the JWKS before it signs; **rotate**
promotes it to **current** (one per algorithm) once it has been published for
longer than relying parties may cache the JWKS, retires the old current key and
publishes a new next key. A **retired** key stays published until every token
it signed has expired; then it may be **removed**.
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
import time
from dataclasses import dataclass

from idp.signing import material
from idp.signing.records import CURRENT, NEXT, RETIRED, KeyRecord
from idp.signing.stores import KeyStoreError

log = logging.getLogger(__name__)


# Parsed keys by (kid, PEM, passphrase), shared by every app of the process: parsing and
# checking an RSA key costs milliseconds, and a worker may build several apps (tests do).
_PARSED: dict[tuple[str, bytes, bytes | None], object] = {}


class RotationRefused(RuntimeError):
    """The operation would break relying parties or tokens; the message says why."""


@dataclass(frozen=True)
class SigningKey:
    """A parsed key: what signs (``jwk``) and what is published (``public_jwk``)."""

    kid: str
    alg: str
    state: str
    jwk: object

    def public_jwk(self) -> dict:
        """The public half as a JWK with ``kid``, ``alg`` and ``use``."""
        data = self.jwk.as_dict(private=False)
        data.update(kid=self.kid, alg=self.alg, use="sig")
        return data


@dataclass(frozen=True)
class Snapshot:
    """The keys as loaded at one version of the store."""

    version: tuple
    keys: tuple[SigningKey, ...]
    records: tuple[KeyRecord, ...]
    jwks_json: str

    def current(self, alg: str) -> SigningKey | None:
        """The key signing with ``alg`` now."""
        return next((k for k in self.keys if k.state == CURRENT and k.alg == alg), None)


class KeyService:
    """Signing keys of one IdP instance, kept in step with the shared store."""

    def __init__(self, store, *, passphrase: bytes | None, jwks_max_age: int,
                 token_lifetime: int, refresh_seconds: int = 5, clock=time.time) -> None:
        self.store = store
        self.passphrase = passphrase
        self.jwks_max_age = jwks_max_age
        self.token_lifetime = token_lifetime
        self.refresh_seconds = refresh_seconds
        self.clock = clock
        self._lock = threading.Lock()
        self._snapshot: Snapshot | None = None
        self._checked_at = 0.0

    # --- reading -------------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        """The current key set, reloaded when the store changed (checked every few seconds)."""
        now = self.clock()
        if self._snapshot is not None and now - self._checked_at < self.refresh_seconds:
            return self._snapshot
        with self._lock:
            if self._snapshot is None or now - self._checked_at >= self.refresh_seconds:
                version = self.store.version()
                if self._snapshot is None or version != self._snapshot.version:
                    self._snapshot = self._load(version)
                self._checked_at = now
        return self._snapshot

    def _load(self, version: tuple) -> Snapshot:
        records = self.store.load()
        keys = []
        for record in records:
            cache_key = (record.kid, record.pem, self.passphrase)
            if cache_key not in _PARSED:
                try:
                    private = material.from_pem(record.pem, self.passphrase,
                                                f"signing key {record.kid}")
                    material.check_alg(private, record.alg, f"signing key {record.kid}")
                except material.KeyMaterialError as exc:
                    raise KeyStoreError(f"{exc}. Restore the key from a backup; it is never "
                                        "replaced automatically.") from exc
                _PARSED[cache_key] = material.to_jwk(private)
            keys.append(SigningKey(record.kid, record.alg, record.state, _PARSED[cache_key]))
        jwks = {"keys": [k.public_jwk() for k in keys]}
        return Snapshot(version, tuple(keys), tuple(records),
                        json.dumps(jwks, separators=(",", ":")))

    def signing_key(self, alg: str = material.DEFAULT_ALG) -> SigningKey:
        """The current key for ``alg``; an error when none signs with it."""
        key = self.snapshot().current(alg)
        if key is None:
            raise KeyStoreError(f"no current signing key for {alg}")
        return key

    def verification_keys(self, alg: str) -> list[SigningKey]:
        """Every published key of ``alg`` (tokens are checked against each, never by kid)."""
        return [k for k in self.snapshot().keys if k.alg == alg]

    def algorithms(self) -> list[str]:
        """Algorithms that have a current key (for discovery)."""
        keys = self.snapshot().keys
        return [alg for alg in material.ALGORITHMS
                if any(k.alg == alg and k.state == CURRENT for k in keys)]

    def listing(self) -> list[dict]:
        """Metadata of every key, for ``idp keys list``."""
        # Whole seconds, like the other dates (the store keeps the fraction).
        return [{**r.metadata(), "created_at": int(r.created_at)}
                for r in self.snapshot_fresh().records]

    def snapshot_fresh(self) -> Snapshot:
        """The key set re-read from the store now (admin commands)."""
        self._checked_at = 0.0
        return self.snapshot()

    # --- changing --------------------------------------------------------------------------

    @property
    def publication_delay(self) -> float:
        """How long a next key is published before it may sign.

        A relying party may cache the JWKS for ``jwks_max_age`` seconds, and another
        instance of the IdP may serve its previous key set for up to ``refresh_seconds``.
        """
        return self.jwks_max_age + self.refresh_seconds

    def _new_record(self, alg: str, state: str, private=None, source: str = "generated",
                    kid: str | None = None) -> KeyRecord:
        private = private if private is not None else material.generate(alg)
        material.check_alg(private, alg)
        pem = material.to_pem(private, self.passphrase)
        # Stamped once the key exists, just before it is written: the publication delay counts
        # from when relying parties can see it, and generating (and encrypting) an RSA key
        # takes up to a second or more. Stamped before, a key could sign that long too early.
        now = self.clock()
        return KeyRecord(kid=kid or material.new_kid(private), alg=alg, state=state,
                         created_at=now, activated_at=int(now) if state == CURRENT else None,
                         source=source, pem=pem)

    def _retire(self, record: KeyRecord, now: float) -> KeyRecord:
        # Published until every token it signed has expired and every cached JWKS is fresh.
        return record.evolve(state=RETIRED, retired_at=int(now),
                             remove_after=int(now) + self.token_lifetime + self.jwks_max_age)

    def ensure_initialised(self, created: list[str] | None = None) -> None:
        """On a first start, create a current and a next RS256 key."""
        with self.store.transaction() as tx:
            if tx.records:
                return
            tx.put(self._new_record(material.DEFAULT_ALG, CURRENT))
            tx.put(self._new_record(material.DEFAULT_ALG, NEXT))
        if created is not None:
            created.append(f"signing keys ({material.DEFAULT_ALG}, current and next) in "
                           f"{getattr(self.store, 'directory', 'the database')}")

    def rotate(self, alg: str = material.DEFAULT_ALG, *, force: bool = False,
               due_before: int | None = None) -> dict:
        """Promote next → current, current → retired, publish a new next key.

        ``due_before``: rotate only if the current key was activated before that time
        (the scheduled rotation; re-checked inside the lock so two workers rotate once).
        """
        with self.store.transaction() as tx:
            now = self.clock()
            current = next((r for r in tx.records if r.alg == alg and r.state == CURRENT), None)
            nxt = next((r for r in tx.records if r.alg == alg and r.state == NEXT), None)
            if due_before is not None and current is not None \
                    and (current.activated_at or current.created_at) >= due_before:
                return {"rotated": False, "reason": "not due"}
            if nxt is None:
                tx.put(self._new_record(alg, NEXT))
                return {"rotated": False, "reason": "no next key: one was published; rotate again "
                        f"in {self.jwks_max_age} s"}
            age = now - nxt.created_at
            if current is not None and age < self.publication_delay and not force:
                raise RotationRefused(
                    f"next key {nxt.kid} was published {age:.1f} s ago; relying parties may cache "
                    f"the JWKS for {self.jwks_max_age} s. Rotate in "
                    f"{math.ceil(self.publication_delay - age)} s or use --force.")
            tx.put(nxt.evolve(state=CURRENT, activated_at=int(now)))
            if current is not None:
                tx.put(self._retire(current, now))
            new_next = self._new_record(alg, NEXT)
            tx.put(new_next)
        self._checked_at = 0.0
        log.info("signing key rotation %s: %s is current, %s is next", alg, nxt.kid, new_next.kid)
        return {"rotated": True, "current": nxt.kid, "retired": current.kid if current else None,
                "next": new_next.kid}

    def retire(self, kid: str) -> dict:
        """Retire a key now (e.g. compromised). A current key is replaced by its next at once."""
        with self.store.transaction() as tx:
            now = self.clock()
            record = _find(tx.records, kid)
            if record.state == RETIRED:
                raise RotationRefused(f"key {kid} is already retired")
            tx.put(self._retire(record, now))
            promoted = None
            if record.state == CURRENT:
                nxt = next((r for r in tx.records if r.alg == record.alg and r.state == NEXT), None)
                promoted = (nxt.evolve(state=CURRENT, activated_at=int(now)) if nxt
                            else self._new_record(record.alg, CURRENT))
                tx.put(promoted)
                tx.put(self._new_record(record.alg, NEXT))
        self._checked_at = 0.0
        return {"retired": kid, "current": promoted.kid if promoted else None}

    def remove(self, kid: str, *, force: bool = False) -> dict:
        """Delete a retired key once no token it signed can still be valid."""
        with self.store.transaction() as tx:
            record = _find(tx.records, kid)
            if record.state != RETIRED:
                raise RotationRefused(f"key {kid} is {record.state}: retire it first")
            now = self.clock()
            if not force and record.remove_after and now < record.remove_after:
                raise RotationRefused(
                    f"tokens signed by {kid} may be valid until {record.remove_after} "
                    f"({record.remove_after - now} s from now); use --force to remove it anyway")
            tx.delete(kid)
        self._checked_at = 0.0
        return {"removed": kid}

    def add_next(self, alg: str) -> dict:
        """Publish a new next key for ``alg`` (e.g. to start offering ES256)."""
        with self.store.transaction() as tx:
            if any(r.alg == alg and r.state == NEXT for r in tx.records):
                raise RotationRefused(f"there is already a next key for {alg}")
            record = self._new_record(alg, NEXT)
            tx.put(record)
        self._checked_at = 0.0
        return {"next": record.kid, "alg": alg}

    def import_key(self, data: bytes, alg: str, kid: str | None = None) -> dict:
        """Import a private key (PEM or JWK, e.g. an HSM export) as the next key of ``alg``."""
        if kid is not None and not _KEPT_KID.fullmatch(kid):
            raise RotationRefused("a kid is 1 to 64 printable ASCII characters, without spaces")
        private = material.from_import(data)
        with self.store.transaction() as tx:
            record = self._new_record(alg, NEXT, private=private,
                                      source="imported", kid=kid)
            if any(r.kid == record.kid for r in tx.records):
                raise RotationRefused(f"a key with kid {record.kid} already exists")
            for other in tx.records:
                if other.alg == alg and other.state == NEXT:
                    tx.put(self._retire(other, self.clock()))
            tx.put(record)
        self._checked_at = 0.0
        return {"imported": record.kid, "alg": alg, "state": NEXT}


# A kept kid is published in the JWKS and stored in a 64-character column.
_KEPT_KID = re.compile(r"[\x21-\x7e]{1,64}")


def _find(records, kid: str) -> KeyRecord:
    record = next((r for r in records if r.kid == kid), None)
    if record is None:
        raise RotationRefused(f"no key with kid {kid!r}")
    return record
