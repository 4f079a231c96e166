"""The JWKS: every published key, public members only, cacheable for IDP_JWKS_MAX_AGE."""

from __future__ import annotations

import json

import pytest
from signing_helpers import PRIVATE_MEMBERS, by_state, files_store, keys_of, listing


@pytest.fixture
def app(make_app, tmp_path):
    return make_app(**files_store(tmp_path), IDP_JWKS_MAX_AGE=123, IDP_KEYS_REFRESH_SECONDS=0)


def _check_public_key(key: dict) -> None:
    assert not set(PRIVATE_MEMBERS) & set(key), key
    assert key["use"] == "sig"
    assert key["kid"]
    if key["alg"] in ("RS256", "PS256"):
        assert key["kty"] == "RSA" and {"n", "e"} <= set(key)
    else:
        assert key["alg"] == "ES256"
        assert key["kty"] == "EC" and key["crv"] == "P-256" and {"x", "y"} <= set(key)


def test_jwks_publishes_public_members_only(app):
    with app.app_context():
        keys_of(app).add_next("ES256")
        keys_of(app).rotate(force=True)  # a retired RS256 key too
    response = app.test_client().get("/jwks")
    assert response.status_code == 200
    assert response.mimetype in ("application/jwk-set+json", "application/json")
    body = response.get_data(as_text=True)
    assert "PRIVATE" not in body
    keys = json.loads(body)["keys"]
    for key in keys:
        _check_public_key(key)
    # Every key of the store is published (next, current and retired), each once.
    rows = listing(app)
    assert sorted(k["kid"] for k in keys) == sorted(r["kid"] for r in rows)
    assert {k["kid"]: k["alg"] for k in keys} == {r["kid"]: r["alg"] for r in rows}
    assert {"current", "next", "retired"} == {r["state"] for r in rows}
    assert len(by_state(rows, "ES256")["next"]) == 1


def test_jwks_cache_control_is_the_configured_max_age(app):
    response = app.test_client().get("/jwks")
    assert response.headers["Cache-Control"] == "public, max-age=123"


def test_jwks_default_max_age_is_300(make_app, tmp_path):
    app = make_app(**files_store(tmp_path))
    assert app.test_client().get("/jwks").headers["Cache-Control"] == "public, max-age=300"
