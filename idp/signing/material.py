"""Key material: generation, PEM serialisation (encrypted at rest when configured), JWKs."""

from __future__ import annotations

import json

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from joserfc.jwk import ECKey, RSAKey

# RS256 is mandatory for OpenID Connect; PS256 and ES256 are offered to clients that ask.
ALGORITHMS = ("RS256", "PS256", "ES256")
DEFAULT_ALG = "RS256"
# 3072-bit RSA: ANSSI's recommendation for use past 2030.
RSA_BITS = 3072


class KeyMaterialError(ValueError):
    """Key material cannot be read, decrypted or used with the requested algorithm."""


def generate(alg: str):
    """A new private key for ``alg``."""
    if alg in ("RS256", "PS256"):
        return rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
    if alg == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    raise KeyMaterialError(f"unsupported algorithm {alg!r}; choose one of {', '.join(ALGORITHMS)}")


def check_alg(private_key, alg: str, where: str = "this key") -> None:
    """Refuse a key that cannot sign with ``alg``; the error names ``where`` it came from."""
    if alg in ("RS256", "PS256") and isinstance(private_key, rsa.RSAPrivateKey):
        if private_key.key_size < 2048:
            raise KeyMaterialError(f"{where}: RSA keys must have at least 2048 bits")
        return
    if alg == "ES256" and isinstance(private_key, ec.EllipticCurvePrivateKey) \
            and isinstance(private_key.curve, ec.SECP256R1):
        return
    raise KeyMaterialError(f"{where} cannot sign with {alg}")


def to_pem(private_key, passphrase: bytes | None) -> bytes:
    """PKCS#8 PEM, encrypted with ``passphrase`` when one is configured."""
    encryption = (serialization.BestAvailableEncryption(passphrase) if passphrase
                  else serialization.NoEncryption())
    return private_key.private_bytes(serialization.Encoding.PEM,
                                     serialization.PrivateFormat.PKCS8, encryption)


def from_pem(pem: bytes, passphrase: bytes | None, where: str):
    """Load a private key from PEM; a clear error names ``where`` it came from."""
    encrypted = b"ENCRYPTED" in pem[:64]
    if encrypted and not passphrase:
        raise KeyMaterialError(f"{where} is encrypted: set IDP_KEY_ENCRYPTION_KEY")
    try:
        return serialization.load_pem_private_key(pem, password=passphrase if encrypted else None)
    except (ValueError, TypeError) as exc:
        hint = " (wrong IDP_KEY_ENCRYPTION_KEY?)" if encrypted else ""
        raise KeyMaterialError(f"cannot read the private key of {where}{hint}: {exc}") from exc


def from_import(data: bytes):
    """A private key from an exported PEM (PKCS#8 or traditional) or a private JWK (JSON)."""
    text = data.strip()
    if text.startswith(b"{"):
        try:
            jwk = json.loads(text)
        except ValueError as exc:
            raise KeyMaterialError(f"not a JSON Web Key: {exc}") from exc
        if "d" not in jwk:
            raise KeyMaterialError("the JWK has no private part ('d')")
        key_cls = {"RSA": RSAKey, "EC": ECKey}.get(jwk.get("kty"))
        if key_cls is None:
            raise KeyMaterialError(f"unsupported JWK key type {jwk.get('kty')!r}")
        return key_cls.import_key(jwk).private_key
    return from_pem(text, None, "the imported file")


def to_jwk(private_key):
    """The joserfc key object used to sign."""
    if isinstance(private_key, rsa.RSAPrivateKey):
        return RSAKey.import_key(private_key)
    return ECKey.import_key(private_key)


def new_kid(private_key) -> str:
    """A key id derived from the RFC 7638 thumbprint (stable, not secret)."""
    return to_jwk(private_key).thumbprint()[:16]
