"""Revocation of card certificates from CRLs, cached, failing closed when they are too old.

CRLs come from configured files or URLs (``IDP_CPS_CRLS``) and from the URLs
of the certificate's CRL distribution points. A CRL counts only if its issuer
is the certificate's issuer and its signature verifies with that issuer's key.
Each issuer's CRL is kept in memory and reloaded every ``refresh`` seconds or
once past its nextUpdate. If no CRL newer than nextUpdate + ``grace`` can be
had, the card is refused: an attacker able to block the CRL download must not
turn revocation off.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

import requests
from cryptography import x509
from cryptography.x509.oid import ExtensionOID

from idp.cps import errors

log = logging.getLogger(__name__)

FETCH_TIMEOUT = 5
MAX_CRL_BYTES = 20 * 1024 * 1024


def _fetch(source: str) -> bytes:
    """The bytes of a CRL file or URL."""
    if source.startswith(("http://", "https://")):
        response = requests.get(source, timeout=FETCH_TIMEOUT, stream=True)
        response.raise_for_status()
        data = response.raw.read(MAX_CRL_BYTES + 1, decode_content=True)
        if len(data) > MAX_CRL_BYTES:
            raise ValueError("CRL too large")
        return data
    return Path(source).read_bytes()


def parse_crl(data: bytes) -> x509.CertificateRevocationList:
    """A CRL in DER or PEM."""
    if data.lstrip().startswith(b"-----BEGIN"):
        return x509.load_pem_x509_crl(data)
    return x509.load_der_x509_crl(data)


def distribution_points(cert: x509.Certificate) -> list[str]:
    """The http(s) URLs of the certificate's CRL distribution points."""
    try:
        ext = cert.extensions.get_extension_for_oid(ExtensionOID.CRL_DISTRIBUTION_POINTS).value
    except x509.ExtensionNotFound:
        return []
    return [name.value for point in ext for name in (point.full_name or [])
            if isinstance(name, x509.UniformResourceIdentifier)
            and name.value.startswith(("http://", "https://"))]


class CrlCache:
    """Per-issuer CRLs in memory; :meth:`check` says whether a certificate is revoked."""

    def __init__(self, sources: tuple[str, ...], *, refresh: int, grace: int,
                 clock: Callable[[], float] = time.time,
                 fetch: Callable[[str], bytes] = _fetch) -> None:
        self.sources = sources
        self.refresh = refresh
        self.grace = grace
        self.clock = clock
        self.fetch = fetch
        self._cache: dict[bytes, tuple[x509.CertificateRevocationList, float]] = {}
        self._lock = threading.Lock()

    def check(self, cert: x509.Certificate, issuer: x509.Certificate) -> None:
        """Raise :class:`~idp.cps.errors.CardRejected` if revoked or if revocation is unknown."""
        crl = self._current(cert, issuer)
        now = dt.datetime.fromtimestamp(self.clock(), dt.UTC)
        if crl is None or now > crl.next_update_utc + dt.timedelta(seconds=self.grace):
            raise errors.reject(errors.REVOCATION_UNKNOWN)
        if crl.get_revoked_certificate_by_serial_number(cert.serial_number) is not None:
            raise errors.reject(errors.REVOKED)

    def _current(self, cert, issuer) -> x509.CertificateRevocationList | None:
        key = issuer.subject.public_bytes()
        with self._lock:
            cached = self._cache.get(key)
            now = self.clock()
            if cached is not None and not self._stale(*cached, now):
                return cached[0]
            fresh = self._load(cert, issuer)
            if fresh is not None and (cached is None
                                      or fresh.last_update_utc >= cached[0].last_update_utc):
                self._cache[key] = (fresh, now)
                return fresh
            # Keep what we had: check() refuses it once past nextUpdate + grace.
            return cached[0] if cached else None

    def _stale(self, crl, loaded_at: float, now: float) -> bool:
        return (now - loaded_at >= self.refresh
                or dt.datetime.fromtimestamp(now, dt.UTC) >= crl.next_update_utc)

    def _load(self, cert, issuer) -> x509.CertificateRevocationList | None:
        # The certificate's own URLs are tried only when the configured sources have
        # nothing for this issuer (no network call on every login when files are configured).
        best = self._best(self.sources, issuer)
        # (A CRL with no entry has len() 0: compare with None, not truthiness.)
        return best if best is not None else self._best(distribution_points(cert), issuer)

    def _best(self, sources, issuer) -> x509.CertificateRevocationList | None:
        best = None
        for source in sources:
            try:
                crl = parse_crl(self.fetch(source))
            except (OSError, ValueError, requests.RequestException) as exc:
                log.warning("CRL source %s unusable: %s", source, type(exc).__name__)
                continue
            if crl.issuer != issuer.subject or not crl.is_signature_valid(issuer.public_key()):
                continue
            if crl.next_update_utc is None:
                continue
            if best is None or crl.last_update_utc > best.last_update_utc:
                best = crl
        return best
