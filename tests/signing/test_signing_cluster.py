"""Database key store: instances of a cluster share the keys and follow each other's rotations."""

from __future__ import annotations

import pytest
from clock_support import Clock
from signing_helpers import (
    by_state,
    database_store,
    header_of,
    init_keys,
    isolated_signing_keys,
    jwks_of,
    keys_of,
    listing,
    log_in,
    setup_rp_and_user,
    verify,
)


@pytest.fixture
def isolated_table(base_config):
    with isolated_signing_keys(base_config["IDP_DATABASE_URL"]):
        yield


def test_rotation_through_one_instance_signs_on_the_other(make_app, isolated_table):
    first = make_app(**database_store(IDP_KEYS_REFRESH_SECONDS=0))
    init_keys(first)
    second = make_app(**database_store(IDP_KEYS_REFRESH_SECONDS=0))
    client_id, secret = setup_rp_and_user(first)
    states = by_state(listing(first))
    assert by_state(listing(second)) == states

    before = log_in(second, client_id, secret)["id_token"]
    assert header_of(before)["kid"] == states["current"][0]
    assert jwks_of(second.test_client()) == jwks_of(first.test_client())

    with first.app_context():
        rotated = keys_of(first).rotate(force=True)
    assert rotated["current"] == states["next"][0]
    # The other instance signs with the new current key and publishes the new next one.
    token = log_in(second, client_id, secret)["id_token"]
    assert header_of(token)["kid"] == rotated["current"]
    jwks = jwks_of(second.test_client())
    assert jwks == jwks_of(first.test_client())
    assert rotated["next"] in {k["kid"] for k in jwks["keys"]}
    assert verify(token, jwks).header["kid"] == rotated["current"]
    # A token signed before the rotation still verifies.
    assert verify(before, jwks).header["kid"] == rotated["retired"]
    with second.app_context():
        assert keys_of(second).signing_key().kid == rotated["current"]


def test_an_instance_follows_a_rotation_at_its_next_snapshot(make_app, isolated_table):
    admin = make_app(**database_store(IDP_KEYS_REFRESH_SECONDS=0))
    init_keys(admin)
    worker = make_app(**database_store(IDP_KEYS_REFRESH_SECONDS=30))
    clock = Clock()
    keys_of(worker).clock = clock
    client_id, secret = setup_rp_and_user(admin)
    before = log_in(worker, client_id, secret)["id_token"]
    with admin.app_context():
        rotated = keys_of(admin).rotate(force=True)
    assert header_of(before)["kid"] == rotated["retired"]
    clock.advance(30)
    after = log_in(worker, client_id, secret)["id_token"]
    assert header_of(after)["kid"] == rotated["current"]
    assert rotated["next"] in {k["kid"] for k in jwks_of(worker.test_client())["keys"]}
