"""Validation of a card certificate and of the card's signature.

Pure functions over ``cryptography`` objects, plus one small class holding the
configured trust anchors and CRL cache. The order of the checks fixes which
reason a doubly bad certificate gets: parse, chain, validity, usage, revocation.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
import time
from collections.abc import Callable
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from idp.cps import errors
from idp.cps.crl import CrlCache

# Deep enough for root → intermediate(s) → card; bounds a hostile bundle.
MAX_CHAIN = 5
MAX_CERTIFICATE_TEXT = 16 * 1024
_PEM = re.compile(r"-----BEGIN CERTIFICATE-----(.+?)-----END CERTIFICATE-----", re.S)


def load_certificate(text: str) -> x509.Certificate:
    """A certificate from PEM or from base64 (standard or URL-safe) DER; MALFORMED otherwise."""
    text = (text or "").strip()
    if not text or len(text) > MAX_CERTIFICATE_TEXT:
        raise errors.reject(errors.MALFORMED)
    match = _PEM.search(text)
    body = re.sub(r"\s+", "", match.group(1) if match else text)
    try:
        der = base64.b64decode(body.replace("-", "+").replace("_", "/")
                               + "=" * (-len(body) % 4), validate=True)
        return x509.load_der_x509_certificate(der)
    except (binascii.Error, ValueError):
        raise errors.reject(errors.MALFORMED) from None


def load_bundle(path: Path) -> tuple[x509.Certificate, ...]:
    """Every certificate of a PEM bundle (the configured trust anchors)."""
    certificates = tuple(x509.load_pem_x509_certificates(Path(path).read_bytes()))
    if not certificates:
        raise ValueError(f"{path} holds no PEM certificate")
    return certificates


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return False
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return constraints.ca
    return constraints.ca and usage.key_cert_sign


def build_chain(cert: x509.Certificate, anchors: tuple[x509.Certificate, ...]) -> list:
    """[card, issuer, ..., root]: every link signed by the next, every issuer a configured CA."""
    chain = [cert]
    while len(chain) <= MAX_CHAIN:
        current = chain[-1]
        if current is not cert and current.issuer == current.subject and _issued_by(current, current):
            return chain
        issuer = next((a for a in anchors if a.subject == current.issuer and _is_ca(a)
                       and _issued_by(current, a)), None)
        if issuer is None:
            if current is cert:
                raise errors.reject(errors.UNKNOWN_CA)
            return chain  # an intermediate configured as an anchor, without its root
        if any(issuer == c for c in chain):
            return chain
        chain.append(issuer)
    raise errors.reject(errors.UNKNOWN_CA)


def check_validity(chain: list, now: dt.datetime) -> None:
    """Every certificate of the chain is within its validity period."""
    for cert in chain:
        if now > cert.not_valid_after_utc:
            raise errors.reject(errors.EXPIRED)
        if now < cert.not_valid_before_utc:
            raise errors.reject(errors.NOT_YET_VALID)


def check_usage(cert: x509.Certificate) -> None:
    """keyUsage with digitalSignature, and clientAuth when an extended key usage is present."""
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        raise errors.reject(errors.KEY_USAGE) from None
    if not usage.digital_signature:
        raise errors.reject(errors.KEY_USAGE)
    try:
        extended = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return
    if ExtendedKeyUsageOID.CLIENT_AUTH not in extended:
        raise errors.reject(errors.KEY_USAGE)


def verify_signature(cert: x509.Certificate, challenge: bytes, signature: bytes) -> None:
    """The card signed exactly ``challenge`` (RSA PKCS #1 v1.5 or ECDSA, SHA-256)."""
    key = cert.public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, challenge, padding.PKCS1v15(), hashes.SHA256())
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, challenge, ec.ECDSA(hashes.SHA256()))
        else:
            raise errors.reject(errors.KEY_USAGE)
    except InvalidSignature:
        raise errors.reject(errors.BAD_SIGNATURE) from None


class CertificateValidator:
    """Validates card certificates against the configured anchors and CRLs."""

    def __init__(self, anchors: tuple[x509.Certificate, ...], crls: CrlCache,
                 clock: Callable[[], float] = time.time) -> None:
        self.anchors = anchors
        self.crls = crls
        self.clock = clock

    def validate(self, cert: x509.Certificate) -> list:
        """The validated chain; :class:`~idp.cps.errors.CardRejected` says why not."""
        chain = build_chain(cert, self.anchors)
        check_validity(chain, dt.datetime.fromtimestamp(self.clock(), dt.UTC))
        check_usage(cert)
        self.crls.check(cert, chain[1])
        return chain
