"""Tokens signed before a rotation verify until they expire; removing the key ends that."""

from __future__ import annotations

import pytest
from clock_support import Clock
from conftest import ISSUER
from joserfc.errors import JoseError
from signing_helpers import (
    by_state,
    clear_idp_environment,
    cli_env,
    files_store,
    json_output,
    jwks_of,
    keys_of,
    listing,
    log_in,
    published_kids,
    run_idp,
    setup_rp_and_user,
    verify,
)

from idp.oauth.id_token import decode_id_token_hint
from idp.signing.service import RotationRefused


def _hint_claims(app, token):
    with app.app_context():
        return decode_id_token_hint(keys=keys_of(app), issuer=ISSUER, token=token)


def _signed_then_rotated(make_app, tmp_path):
    app = make_app(**files_store(tmp_path), IDP_KEYS_REFRESH_SECONDS=0)
    client_id, secret = setup_rp_and_user(app)
    old_token = log_in(app, client_id, secret)["id_token"]
    old_kid = verify(old_token, jwks_of(app.test_client())).header["kid"]
    with app.app_context():
        result = keys_of(app).rotate(force=True)
    assert result["rotated"] is True and result["retired"] == old_kid
    return app, client_id, secret, old_token, old_kid


def test_token_signed_before_a_rotation_still_verifies(make_app, tmp_path):
    app, client_id, secret, old_token, old_kid = _signed_then_rotated(make_app, tmp_path)
    http = app.test_client()
    assert old_kid in by_state(listing(app))["retired"]
    # Still published, so relying parties keep validating tokens it signed...
    assert old_kid in published_kids(http)
    claims = verify(old_token, jwks_of(http)).claims
    # ...and the IdP itself still accepts them (id_token_hint).
    assert _hint_claims(app, old_token)["sub"] == claims["sub"]
    # New tokens are signed by the promoted key, and verify too.
    new_token = log_in(app, client_id, secret)["id_token"]
    new_kid = verify(new_token, jwks_of(http)).header["kid"]
    assert new_kid == by_state(listing(app))["current"][0] != old_kid
    # Published at least until the tokens it signed expire, plus a JWKS cache lifetime.
    record = next(r for r in listing(app) if r["kid"] == old_kid)
    settings = app.config["IDP_SETTINGS"]
    assert record["remove_after"] >= claims["exp"] + settings.jwks_max_age
    assert record["remove_after"] >= record["retired_at"] + settings.id_token_ttl


def test_removed_after_its_tokens_expired_the_key_is_gone(make_app, tmp_path):
    app, _, _, old_token, old_kid = _signed_then_rotated(make_app, tmp_path)
    service = keys_of(app)
    record = next(r for r in listing(app) if r["kid"] == old_kid)
    with app.app_context(), pytest.raises(RotationRefused, match="--force"):
        service.remove(old_kid)
    assert old_kid in published_kids(app.test_client())
    clock = Clock(record["remove_after"] + 1)
    service.clock = clock
    with app.app_context():
        assert service.remove(old_kid) == {"removed": old_kid}
    assert old_kid not in {r["kid"] for r in listing(app)}
    assert old_kid not in published_kids(app.test_client())
    with pytest.raises(JoseError):
        verify(old_token, jwks_of(app.test_client()))
    assert _hint_claims(app, old_token) is None


def test_remove_force_from_the_command_line(make_app, tmp_path, base_config, monkeypatch):
    app, _, _, old_token, old_kid = _signed_then_rotated(make_app, tmp_path)
    clear_idp_environment(monkeypatch)
    env = cli_env(base_config, **files_store(tmp_path))
    refused = run_idp(env, "keys", "remove", old_kid, "--json")
    assert refused.exit_code != 0
    assert "--force" in refused.output and "Traceback" not in refused.output
    assert old_kid in published_kids(app.test_client())

    removed = run_idp(env, "keys", "remove", old_kid, "--force", "--json")
    assert removed.exit_code == 0, removed.output
    assert json_output(removed) == {"removed": old_kid}
    # The running app sees the change made by the command (another process, in real life).
    assert old_kid not in published_kids(app.test_client())
    with pytest.raises(JoseError):
        verify(old_token, jwks_of(app.test_client()))
    assert _hint_claims(app, old_token) is None
