"""Offering ES256 next to RS256: add a next key, rotate it in, sign for the clients that ask."""

from __future__ import annotations

import pytest
from signing_helpers import (
    by_state,
    files_store,
    header_of,
    jwks_of,
    keys_of,
    listing,
    log_in,
    setup_rp_and_user,
    verify,
)

from idp.signing.service import RotationRefused


def _discovered_algs(app) -> list[str]:
    response = app.test_client().get("/.well-known/openid-configuration")
    assert response.status_code == 200
    return response.get_json()["id_token_signing_alg_values_supported"]


def test_es256_key_signs_for_the_clients_that_ask_for_it(make_app, tmp_path):
    app = make_app(**files_store(tmp_path), IDP_KEYS_REFRESH_SECONDS=0)
    rs_client, rs_secret = setup_rp_and_user(app)
    from conftest import OIDC

    es_client, es_secret = OIDC(app, app.test_client()).register_client(
        name="RP ES256", id_token_alg="ES256")
    service = keys_of(app)
    assert _discovered_algs(app) == ["RS256"]
    rs_before = by_state(listing(app), "RS256")

    with app.app_context():
        added = service.add_next("ES256")
    assert added["alg"] == "ES256"
    # Published before it signs, but not offered yet.
    published = {k["kid"]: k for k in jwks_of(app.test_client())["keys"]}
    assert published[added["next"]]["alg"] == "ES256"
    assert published[added["next"]]["kty"] == "EC" and "d" not in published[added["next"]]
    assert _discovered_algs(app) == ["RS256"]
    with app.app_context(), pytest.raises(RotationRefused, match="already a next key"):
        service.add_next("ES256")

    with app.app_context():
        rotated = service.rotate("ES256", force=True)
    assert rotated["rotated"] is True and rotated["current"] == added["next"]
    assert rotated["retired"] is None
    assert sorted(_discovered_algs(app)) == ["ES256", "RS256"]
    es_states = by_state(listing(app), "ES256")
    assert es_states["current"] == [added["next"]] and es_states["next"] == [rotated["next"]]
    # RS256 keys are untouched by the ES256 rotation.
    assert by_state(listing(app), "RS256") == rs_before

    es_token = log_in(app, es_client, es_secret)["id_token"]
    assert header_of(es_token)["alg"] == "ES256"
    decoded = verify(es_token, jwks_of(app.test_client()), alg="ES256")
    assert decoded.header["kid"] == added["next"]
    assert decoded.claims["aud"] in (es_client, [es_client])

    rs_token = log_in(app, rs_client, rs_secret)["id_token"]
    assert header_of(rs_token)["alg"] == "RS256"
    assert verify(rs_token, jwks_of(app.test_client())).header["kid"] == rs_before["current"][0]
