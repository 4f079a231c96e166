"""``idp keys``: list (no private material), rotate, retire, add, import — with clear refusals."""

from __future__ import annotations

import json

import pytest
from conftest import checked_cli_result
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc.jwk import RSAKey
from signing_helpers import (
    by_state,
    clear_idp_environment,
    cli_env,
    database_store,
    files_store,
    init_keys,
    isolated_signing_keys,
    json_output,
    run_idp,
)

METADATA = {"kid", "alg", "state", "created_at", "activated_at", "retired_at", "remove_after"}


@pytest.fixture
def idp(tmp_path, base_config, monkeypatch):
    """Run ``idp ...`` with a files store of its own; the click result."""
    clear_idp_environment(monkeypatch)
    env = cli_env(base_config, **files_store(tmp_path), IDP_JWKS_MAX_AGE=300,
                  IDP_DATA_DIR=tmp_path / "data")

    def run(*args, ok=True):
        return checked_cli_result(run_idp(env, *args), ok)

    return run


def _check_listing(result) -> list[dict]:
    assert "PRIVATE" not in result.output and "pem" not in result.output.lower()
    rows = json_output(result)
    assert isinstance(rows, list) and rows
    for row in rows:
        assert METADATA <= set(row), row
        assert "pem" not in row
        assert row["state"] in ("next", "current", "retired")
        assert isinstance(row["created_at"], int)
    return rows


def test_list_json_shows_states_and_dates_without_private_material(idp):
    rows = _check_listing(idp("keys", "list", "--json"))
    states = by_state(rows)
    assert len(states["current"]) == 1 and len(states["next"]) == 1 and not states["retired"]
    current = next(r for r in rows if r["state"] == "current")
    assert current["alg"] == "RS256" and current["activated_at"] is not None

    rotated = json_output(idp("keys", "rotate", "--force", "--json"))
    rows = _check_listing(idp("keys", "list", "--json"))
    retired = next(r for r in rows if r["kid"] == rotated["retired"])
    assert retired["state"] == "retired"
    assert retired["remove_after"] > retired["retired_at"] >= retired["created_at"]
    table = idp("keys", "list").output
    assert "PRIVATE" not in table and rotated["retired"] in table and "retired" in table


def test_list_json_with_the_database_store(base_config, make_app, tmp_path, monkeypatch):
    with isolated_signing_keys(base_config["IDP_DATABASE_URL"]):
        init_keys(make_app(**database_store()))
        clear_idp_environment(monkeypatch)
        env = cli_env(base_config, **database_store(), IDP_DATA_DIR=tmp_path / "data")
        result = run_idp(env, "keys", "list", "--json")
        assert result.exit_code == 0, result.output
        states = by_state(_check_listing(result))
        assert len(states["current"]) == 1 and len(states["next"]) == 1


def test_rotate_without_force_is_refused_with_the_reason(idp):
    before = json_output(idp("keys", "list", "--json"))
    refused = idp("keys", "rotate", ok=False)
    assert "next key" in refused.output and "300 s" in refused.output
    assert "--force" in refused.output
    assert json_output(idp("keys", "list", "--json")) == before
    forced = json_output(idp("keys", "rotate", "--force", "--json"))
    assert forced["rotated"] is True and forced["current"] == by_state(before)["next"][0]


def test_retire_the_current_key(idp):
    states = by_state(json_output(idp("keys", "list", "--json")))
    result = json_output(idp("keys", "retire", states["current"][0], "--json"))
    assert result == {"retired": states["current"][0], "current": states["next"][0]}
    refused = idp("keys", "retire", states["current"][0], ok=False)
    assert "already retired" in refused.output


def test_add_es256_then_rotate_it_in(idp):
    added = json_output(idp("keys", "add", "--alg", "ES256", "--json"))
    assert added["alg"] == "ES256"
    assert "already a next key" in idp("keys", "add", "--alg", "ES256", ok=False).output
    rotated = json_output(idp("keys", "rotate", "--alg", "ES256", "--force", "--json"))
    assert rotated["current"] == added["next"]
    rows = json_output(idp("keys", "list", "--json"))
    assert by_state(rows, "ES256")["current"] == [added["next"]]
    assert len(by_state(rows, "RS256")["current"]) == 1


def test_import_pem_and_refuse_public_jwk(idp, tmp_path):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = tmp_path / "exported.pem"
    pem.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
    imported = json_output(idp("keys", "import", str(pem), "--kid", "hsm-1", "--json"))
    assert imported == {"imported": "hsm-1", "alg": "RS256", "state": "next"}
    assert by_state(json_output(idp("keys", "list", "--json")))["next"] == ["hsm-1"]

    public = tmp_path / "public.jwk"
    public.write_text(json.dumps(RSAKey.import_key(key.public_key()).as_dict()))
    before = json_output(idp("keys", "list", "--json"))
    refused = idp("keys", "import", str(public), ok=False)
    assert "no private part" in refused.output
    assert json_output(idp("keys", "list", "--json")) == before
