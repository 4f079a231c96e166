"""Importing a private key (PEM or JWK) as the next key; public or unusable keys are refused."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from joserfc.jwk import ECKey, RSAKey
from signing_helpers import (
    by_state,
    file_snapshot,
    files_store,
    header_of,
    keys_of,
    listing,
    log_in,
    published_kids,
    setup_rp_and_user,
)

from idp.signing.material import KeyMaterialError
from idp.signing.service import RotationRefused


@pytest.fixture(scope="module")
def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def app(make_app, tmp_path):
    return make_app(**files_store(tmp_path), IDP_KEYS_REFRESH_SECONDS=0)


def _pem(key, fmt=serialization.PrivateFormat.PKCS8) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption())


def _import(app, data: bytes, alg="RS256", kid=None) -> dict:
    with app.app_context():
        return keys_of(app).import_key(data, alg, kid)


@pytest.mark.parametrize("fmt", ["PKCS8", "TraditionalOpenSSL"])
def test_imported_pem_becomes_the_next_key_and_then_signs(app, rsa_key, fmt):
    client_id, secret = setup_rp_and_user(app)
    before = by_state(listing(app))
    result = _import(app, _pem(rsa_key, getattr(serialization.PrivateFormat, fmt)))
    kid = RSAKey.import_key(rsa_key).thumbprint()[:16]
    assert result == {"imported": kid, "alg": "RS256", "state": "next"}
    after = by_state(listing(app))
    assert after["next"] == [kid]
    assert after["current"] == before["current"]
    # The next key it replaces was never used to sign: it is retired, still published.
    assert before["next"][0] in after["retired"]
    record = next(r for r in listing(app) if r["kid"] == kid)
    assert record["source"] == "imported"
    assert kid in published_kids(app.test_client())

    with app.app_context():
        keys_of(app).rotate(force=True)
    token = log_in(app, client_id, secret)["id_token"]
    assert header_of(token)["kid"] == kid
    # Signed by the very key we imported.
    from joserfc import jwt

    jwt.decode(token, RSAKey.import_key(rsa_key.public_key()), algorithms=["RS256"])


def test_imported_private_jwk_becomes_the_next_key(app):
    jwk = ECKey.generate_key("P-256", private=True)
    result = _import(app, json.dumps(jwk.as_dict(private=True)).encode(), "ES256",
                     kid="hsm-es256-1")
    assert result == {"imported": "hsm-es256-1", "alg": "ES256", "state": "next"}
    assert by_state(listing(app), "ES256")["next"] == ["hsm-es256-1"]
    published = {k["kid"]: k for k in app.test_client().get("/jwks").get_json()["keys"]}
    assert published["hsm-es256-1"]["x"] == jwk.as_dict()["x"]
    assert "d" not in published["hsm-es256-1"]


def test_imported_private_rsa_jwk(app):
    jwk = RSAKey.generate_key(2048, private=True)
    result = _import(app, json.dumps(jwk.as_dict(private=True)).encode())
    assert result["state"] == "next"
    assert by_state(listing(app))["next"] == [result["imported"]]


@pytest.mark.parametrize("case", ["public JWK", "public PEM", "RSA key for ES256",
                                  "EC key for RS256", "1024-bit RSA", "garbage"])
def test_unusable_keys_are_refused_and_change_nothing(app, tmp_path, rsa_key, case):
    data, alg = {
        "public JWK": (json.dumps(RSAKey.import_key(rsa_key.public_key()).as_dict()), "RS256"),
        "public PEM": (rsa_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo), "RS256"),
        "RSA key for ES256": (_pem(rsa_key), "ES256"),
        "EC key for RS256": (_pem(ec.generate_private_key(ec.SECP256R1())), "RS256"),
        "1024-bit RSA": (_pem(rsa.generate_private_key(public_exponent=65537, key_size=1024)),
                         "RS256"),
        "garbage": (b"not a key at all", "RS256"),
    }[case]
    data = data.encode() if isinstance(data, str) else data
    before = file_snapshot(tmp_path / "keys")
    with pytest.raises(KeyMaterialError):
        _import(app, data, alg)
    assert file_snapshot(tmp_path / "keys") == before


def test_public_jwk_refusal_says_why(app, rsa_key):
    public = json.dumps(RSAKey.import_key(rsa_key.public_key()).as_dict()).encode()
    with pytest.raises(KeyMaterialError, match="no private part"):
        _import(app, public)


def test_importing_the_same_key_twice_is_refused(app, rsa_key):
    _import(app, _pem(rsa_key))
    before = listing(app)
    with pytest.raises(RotationRefused, match="already exists"):
        _import(app, _pem(rsa_key))
    assert listing(app) == before


@pytest.mark.parametrize("kid", ["../outside", "https://vault.example/keys/k1/0a1b"])
def test_a_kept_kid_never_escapes_the_key_directory(app, tmp_path, rsa_key, kid):
    """``--kid`` keeps the id a key had elsewhere (KMS key ids are often URLs or paths)."""
    before = {p.relative_to(tmp_path) for p in tmp_path.rglob("*")}
    next_before = by_state(listing(app))["next"]
    try:
        _import(app, _pem(rsa_key), kid=kid)
    except (RotationRefused, KeyMaterialError):
        # Refused: nothing changed.
        assert by_state(listing(app))["next"] == next_before
    else:
        # Accepted: stored in the store like any other key, and published.
        assert by_state(listing(app))["next"] == [kid]
        assert kid in published_kids(app.test_client())
    created = {p.relative_to(tmp_path) for p in tmp_path.rglob("*")} - before
    assert all(p.parts[0] == "keys" and len(p.parts) == 2 for p in created), created
