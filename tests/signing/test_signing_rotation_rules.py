"""Rotation rules: publication delay, what may be removed, retiring the current key."""

from __future__ import annotations

import pytest
from clock_support import Clock
from signing_helpers import (
    by_state,
    files_store,
    jwks_of,
    keys_of,
    listing,
    log_in,
    published_kids,
    setup_rp_and_user,
    verify,
)

from idp.signing.service import KeyService, RotationRefused
from idp.signing.setup import load_keys
from idp.signing.stores import FileKeyStore


@pytest.fixture
def app(make_app, tmp_path):
    """An IdP with a key store of its own (JWKS cached for 300 s)."""
    return make_app(**files_store(tmp_path), IDP_JWKS_MAX_AGE=300, IDP_KEYS_REFRESH_SECONDS=0)


def _record(app, kid):
    return next(r for r in listing(app) if r["kid"] == kid)


def test_rotate_is_refused_while_the_next_key_is_younger_than_the_jwks_cache(app):
    service = keys_of(app)
    before = listing(app)
    states = by_state(before)
    nxt = _record(app, states["next"][0])
    clock = Clock(nxt["created_at"] + 299)
    service.clock = clock
    with app.app_context(), pytest.raises(RotationRefused) as refused:
        service.rotate()
    message = str(refused.value)
    assert states["next"][0] in message and "300 s" in message and "--force" in message
    assert listing(app) == before
    # Once published for longer than the JWKS may be cached, it may sign.
    clock.advance(2)
    with app.app_context():
        result = service.rotate()
    assert result["rotated"] is True
    assert (result["current"], result["retired"]) == (states["next"][0], states["current"][0])


def test_force_overrides_the_publication_delay(app):
    states = by_state(listing(app))
    with app.app_context():
        result = keys_of(app).rotate(force=True)
    assert result["rotated"] is True and result["current"] == states["next"][0]
    after = by_state(listing(app))
    assert after["current"] == states["next"]
    assert after["retired"] == states["current"]
    assert after["next"] == [result["next"]] and result["next"] not in states["next"]
    # The new next key is published at once.
    assert result["next"] in published_kids(app.test_client())


def test_publication_delay_is_counted_in_real_seconds(tmp_path):
    """A next key published 1.1 s ago must not sign when relying parties cache the JWKS 2 s."""
    clock = Clock(1_000_000.0)
    service = KeyService(FileKeyStore(tmp_path / "keys"), passphrase=None, jwks_max_age=2,
                         token_lifetime=300, refresh_seconds=0, clock=clock)
    load_keys(service)
    clock.now = 1_000_010.9
    published = service.rotate()["next"]  # published at 1_000_010.9
    clock.now = 1_000_012.0  # 1.1 s later: a JWKS fetched at 1_000_010.8 is still cached
    with pytest.raises(RotationRefused):
        service.rotate()
    clock.now = 1_000_012.95  # 2.05 s later
    assert service.rotate()["current"] == published


def test_publication_delay_counts_from_when_the_new_key_exists(tmp_path, monkeypatch):
    """Generating a key takes time: the delay starts once it is written, not before."""
    from idp.signing import material

    clock = Clock(1_000_000.0)
    service = KeyService(FileKeyStore(tmp_path / "keys"), passphrase=None, jwks_max_age=2,
                         token_lifetime=300, refresh_seconds=0, clock=clock)
    load_keys(service)
    generate = material.generate

    def slow_generate(alg):
        key = generate(alg)
        clock.advance(1.5)  # an RSA key under load
        return key

    monkeypatch.setattr(material, "generate", slow_generate)
    clock.now = 1_000_010.0
    published = service.rotate(force=True)["next"]  # written at 1_000_011.5
    clock.now = 1_000_012.1  # 2.1 s after the rotation began, 0.6 s after the key was written
    with pytest.raises(RotationRefused):
        service.rotate()
    clock.now = 1_000_013.6  # 2.1 s after the key was written
    assert service.rotate()["current"] == published


def test_remove_refuses_current_and_next_keys_even_forced(app):
    states = by_state(listing(app))
    service = keys_of(app)
    with app.app_context():
        for kid in (states["current"][0], states["next"][0]):
            for force in (False, True):
                with pytest.raises(RotationRefused, match="retire it first"):
                    service.remove(kid, force=force)
        with pytest.raises(RotationRefused, match="no key with kid"):
            service.remove("no-such-kid", force=True)
    assert by_state(listing(app)) == states


def test_remove_refuses_a_retired_key_before_remove_after_unless_forced(app):
    service = keys_of(app)
    with app.app_context():
        retired = service.rotate(force=True)["retired"]
    record = _record(app, retired)
    settings = app.config["IDP_SETTINGS"]
    assert record["remove_after"] == record["retired_at"] + settings.id_token_ttl + 300
    service.clock = Clock(record["remove_after"] - 1)
    with app.app_context(), pytest.raises(RotationRefused, match="--force"):
        service.remove(retired)
    assert retired in published_kids(app.test_client())
    with app.app_context():
        assert service.remove(retired, force=True) == {"removed": retired}
    assert retired not in {r["kid"] for r in listing(app)}
    assert retired not in published_kids(app.test_client())


def test_retiring_the_current_key_promotes_the_next_at_once(app):
    client_id, secret = setup_rp_and_user(app)
    states = by_state(listing(app))
    old, nxt = states["current"][0], states["next"][0]
    service = keys_of(app)
    with app.app_context():
        assert service.retire(old) == {"retired": old, "current": nxt}
    after = by_state(listing(app))
    assert after["current"] == [nxt]
    assert after["retired"] == [old]
    assert len(after["next"]) == 1 and after["next"][0] not in (old, nxt)
    assert _record(app, nxt)["activated_at"] is not None
    assert _record(app, old)["remove_after"] is not None
    # The new next key and the retired one are published; tokens are signed by the promoted key.
    assert published_kids(app.test_client()) == {old, nxt, after["next"][0]}
    token = log_in(app, client_id, secret)["id_token"]
    assert verify(token, jwks_of(app.test_client())).header["kid"] == nxt
    with app.app_context(), pytest.raises(RotationRefused, match="already retired"):
        service.retire(old)


def test_retiring_the_next_key_leaves_the_current_one_signing(app):
    states = by_state(listing(app))
    service = keys_of(app)
    with app.app_context():
        assert service.retire(states["next"][0]) == {"retired": states["next"][0],
                                                     "current": None}
        assert service.signing_key().kid == states["current"][0]
    assert by_state(listing(app))["current"] == states["current"]
